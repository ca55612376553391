"""A registered version's files and metrics as the services read them.

Shared by :mod:`podium.services.integrity` (manifests, verification), :mod:`podium.services.compare`
(versions side by side) and :mod:`podium.services.approvals` (metric and signature gates), so no
service reaches into another's helpers.

* :data:`Locate`: how this process reads a storage location (built by :mod:`podium.compose`);
* :func:`list_store_files`, :func:`hash_store_files`: every file below a location, and their SHA-256;
* :func:`read_small`, :func:`parse_mlmodel`: a small file (``MLmodel``, ``requirements.txt``) and the
  ``MLmodel`` mapping;
* :func:`latest_metrics`: a logged model's latest value per metric.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from podium.domain.entities import Metric
from podium.domain.manifests import ManifestFile, hash_chunks
from podium.errors import PodiumError, ResourceDoesNotExist
from podium.store.artifacts.base import ArtifactStore
from podium.uris import is_local_path

__all__ = [
    "HASH_THREADS",
    "Locate",
    "MAX_FILES",
    "MAX_SMALL_FILE",
    "SEQUENTIAL_BYTES",
    "hash_store_files",
    "latest_metrics",
    "list_store_files",
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
