"""A registered version's files and metrics as the services read them.

Shared by :mod:`podium.services.integrity` (manifests, verification), :mod:`podium.services.compare`
(versions side by side) and :mod:`podium.services.approvals` (metric and signature gates), so no
service reaches into another's helpers.

* :data:`Locate`: how this process reads a storage location (built by :mod:`podium.compose`);
* :func:`list_store_files`, :func:`hash_store_files`: every file below a location, and their SHA-256;
  :func:`hash_location` both at once, with :func:`local_files`' walk on local disk;
* :func:`read_small`, :func:`parse_mlmodel`: a small file (``MLmodel``, ``requirements.txt``) and the
  ``MLmodel`` mapping;
* :func:`latest_metrics`: a logged model's latest value per metric.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from podium.domain.entities import Metric
from podium.domain.manifests import ManifestFile, hash_chunks
from podium.errors import PodiumError, ResourceDoesNotExist
from podium.store.artifacts.base import RESERVED_PREFIX, ArtifactStore
from podium.uris import is_local_path

__all__ = [
    "HASH_THREADS",
    "Locate",
    "MAX_FILES",
    "MAX_SMALL_FILE",
    "SEQUENTIAL_BYTES",
    "hash_location",
    "hash_store_files",
    "latest_metrics",
    "list_store_files",
    "local_files",
    "parse_mlmodel",
    "read_small",
]

#: how this process reads a storage location: ``(store, path below its root)``, or None
Locate = Callable[[str], "tuple[ArtifactStore, str] | None"]

HASH_THREADS = 8
#: a local location holding at most this many bytes is hashed on the calling thread
SEQUENTIAL_BYTES = 8 << 20
#: files of a version a manifest may list (a location with more is not hashed: it is not a model)
MAX_FILES = 100_000
#: bytes per read when hashing a local file
_LOCAL_CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: files read whole (MLmodel, requirements.txt) larger than this are skipped
MAX_SMALL_FILE = 4 << 20


def list_store_files(store: ArtifactStore, root: str = "") -> list[tuple[str, int | None]]:
    """``(path relative to root, size)`` of every file below ``root`` in ``store``, depth first."""
    out: list[tuple[str, int | None]] = []
    prefix = root.strip("/")
    pending = [prefix]
    while pending:
        directory = pending.pop()
        for info in store.list_artifacts(directory or None):
            if info.is_dir:
                pending.append(info.path)
                continue
            rel = info.path[len(prefix) + 1:] if prefix else info.path
            out.append((rel, info.file_size))
            if len(out) > MAX_FILES:
                raise PodiumError(f"More than {MAX_FILES} files below the location; not hashing them.")
    return sorted(out)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _hash_pool() -> ThreadPoolExecutor:
    """One long-lived pool for the whole process: starting threads per registration cost more than
    hashing a small model's files (measured: ~4 ms of 16 per version created)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="podium-hash")
        return _pool


def _join(root: str, path: str) -> str:
    prefix = root.strip("/")
    return f"{prefix}/{path}" if prefix else path


def hash_store_files(store: ArtifactStore, root: str, paths: Sequence[str], *,
                     total_bytes: int | None = None) -> list[ManifestFile]:
    """Stream and hash ``paths`` (relative to ``root``) from ``store``: several at a time, unless the
    store is local and ``total_bytes`` (when known) is small enough that one thread is faster."""

    def one(path: str) -> ManifestFile:
        size, digest = hash_chunks(store.open_read(_join(root, path)))
        return ManifestFile(path, size, digest)

    small = total_bytes is not None and total_bytes <= SEQUENTIAL_BYTES and is_local_path(store.root_uri)
    if len(paths) <= 1 or small:
        return [one(p) for p in paths]
    return list(_hash_pool().map(one, paths))


def local_files(store: ArtifactStore, root: str = "") -> list[tuple[str, int, str]] | None:
    """``(path relative to root, size, path on disk)`` of every file below ``root``, sorted, when
    ``store`` keeps its files on this machine (it has ``local_directory``) and the tree below ``root``
    holds only plain files and directories; None otherwise, and the caller takes the store's own
    listing and reads (:func:`list_store_files`, ``open_read``). No directory at ``root`` (nothing
    there, or a file): ``[]``, what the store's listing says of it, without listing.

    One ``realpath`` for ``root`` (the store checks it lies inside its root), then ``os.scandir``:
    where :func:`list_store_files` and ``open_read`` resolve every directory and file again. Refusing
    symlinks is what makes that safe: with none below the resolved root, every path joined below it
    stays inside it. Names the stores keep for themselves (``.podium-*``) are skipped at every level,
    as ``list_artifacts`` skips them."""
    local_directory = getattr(store, "local_directory", None)
    if local_directory is None:
        return None
    top = local_directory(root.strip("/") or None)
    if top is None:  # no directory there (nothing, or one file): no files, as the store would list
        return []
    out: list[tuple[str, int, str]] = []
    pending = [(top, "")]
    while pending:
        directory, rel_dir = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(RESERVED_PREFIX):
                    continue
                info = entry.stat(follow_symlinks=False)
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if stat.S_ISDIR(info.st_mode):
                    pending.append((entry.path, rel))
                elif stat.S_ISREG(info.st_mode):
                    out.append((rel, info.st_size, entry.path))
                    if len(out) > MAX_FILES:
                        raise PodiumError(f"More than {MAX_FILES} files below the location; not hashing them.")
                else:  # a symlink, fifo, socket or device: the store's own (checked) path decides
                    return None
    out.sort()
    return out


def _hash_local(path: str) -> tuple[int, str]:
    """``(bytes read, sha256 hex)`` of a file on disk, read once to its end."""
    digest, size = hashlib.sha256(), 0
    # O_NOFOLLOW: a file swapped for a symlink since the walk saw it is refused (ELOOP), not followed
    with open(os.open(path, os.O_RDONLY | _NOFOLLOW), "rb", buffering=0) as handle:
        while block := handle.read(_LOCAL_CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def hash_location(store: ArtifactStore, root: str = "") -> list[ManifestFile]:
    """Every file below ``root`` in ``store`` with its size and SHA-256 (each file read once to its end;
    the size is what was read). On local disk the walk and reads are :func:`local_files`'; a location
    with symlinks, or in any other store, is listed and read through the store."""
    found = local_files(store, root)
    if found is None:
        listed = list_store_files(store, root)
        sizes = [size for _, size in listed]
        total = None if any(size is None for size in sizes) else sum(sizes)
        return hash_store_files(store, root, [path for path, _ in listed], total_bytes=total)

    def one(item: tuple[str, int, str]) -> ManifestFile:
        size, digest = _hash_local(item[2])
        return ManifestFile(item[0], size, digest)

    if len(found) <= 1 or sum(size for _, size, _ in found) <= SEQUENTIAL_BYTES:
        return [one(item) for item in found]
    return list(_hash_pool().map(one, found))


def read_small(store: ArtifactStore, path: str, root: str = "") -> bytes | None:
    """The bytes of ``path`` (below ``root``), or None when it is missing or bigger than
    :data:`MAX_SMALL_FILE`."""
    path = _join(root, path)
    try:
        if not store.exists(path) or store.is_dir(path):
            return None
        chunks, size = [], 0
        for block in store.open_read(path):
            size += len(block)
            if size > MAX_SMALL_FILE:
                return None
            chunks.append(block)
    except ResourceDoesNotExist:
        return None
    return b"".join(chunks)


def parse_mlmodel(raw: bytes | None) -> dict[str, Any]:
    """An ``MLmodel`` file's mapping; ``{}`` when there is none or it is not a YAML mapping."""
    if raw is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(raw.decode("utf-8", "replace"))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def latest_metrics(metrics: Sequence[Metric]) -> dict[str, float]:
    """The latest value per key (highest step, then timestamp), as MLflow's run data shows it."""
    best: dict[str, Metric] = {}
    for m in metrics:
        current = best.get(m.key)
        if current is None or (m.step, m.timestamp) >= (current.step, current.timestamp):
            best[m.key] = m
    return {k: m.value for k, m in best.items()}
