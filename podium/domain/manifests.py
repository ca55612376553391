"""A registered version's file manifest: what its files were when it was registered.

A manifest lists every file below the version's storage location: its path (relative, POSIX), its
size in bytes and its SHA-256, plus one digest over the whole list, so two manifests are the same
exactly when their digests are::

    digest = sha256( for each file, sorted by path:  "<sha256> <size> <path as a JSON string>\\n" )

:func:`compare_files` tells what differs between a manifest and the files found now (missing,
truncated, modified, added), and :func:`integrity_error` turns that into one
:class:`~podium.errors.IntegrityCheckFailed` (``DATA_LOSS``) naming the first file.

Storage locations are compared as *location keys* (:func:`location_key`): one spelling per place,
so ``mlflow-artifacts://host/1/x/``, ``mlflow-artifacts:/1/x`` and ``mlflow-artifacts:1/x`` are the
same key, and a local path is absolute. :func:`key_prefixes` lists a key and every directory above
it: a write to a path is refused when one of them is a registered version's location.

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from podium.errors import IntegrityCheckFailed

__all__ = [
    "ADDED",
    "MISSING",
    "MODIFIED",
    "TRUNCATED",
    "Discrepancy",
    "Manifest",
    "ManifestFile",
    "compare_files",
    "hash_chunks",
    "integrity_error",
    "join_key",
    "key_prefixes",
    "location_hash",
    "location_key",
    "manifest_digest",
]

#: how a file differs from its manifest entry
MISSING, TRUNCATED, MODIFIED, ADDED = "missing", "truncated", "modified", "added"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Manifest:
    """Every file of a version at registration (sorted by path) and their digest."""

    files: tuple[ManifestFile, ...]
    digest: str
    #: the location key the files were read from
    location: str | None = None
    #: when the manifest was recorded, ms since the epoch
    created_at: int | None = None

    @classmethod
    def of(cls, files: Iterable[ManifestFile], location: str | None = None, created_at: int | None = None) -> Manifest:
        ordered = tuple(sorted(files, key=lambda f: f.path))
        return cls(ordered, manifest_digest(ordered), location, created_at)

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "location": self.location,
            "created_at": self.created_at,
            "file_count": self.file_count,
            "total_bytes": self.total_bytes,
            "files": [f.to_dict() for f in self.files],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        files = tuple(ManifestFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data.get("files") or ())
        return cls(files, str(data["digest"]), data.get("location"), data.get("created_at"))


def manifest_digest(files: Iterable[ManifestFile]) -> str:
    """The digest of a file list (order does not matter; see the module docstring)."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.sha256} {f.size} {json.dumps(f.path)}\n".encode("utf-8"))
    return h.hexdigest()


def hash_chunks(chunks: Iterable[bytes]) -> tuple[int, str]:
    """``(size, sha256 hex)`` of a stream of byte chunks, read once, never held whole."""
    h = hashlib.sha256()
    size = 0
    for block in chunks:
        h.update(block)
        size += len(block)
    return size, h.hexdigest()


# ------------------------------------------------------------------------------ comparing
@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One file that is not what the manifest says."""

    path: str
    problem: str  # missing | truncated | modified | added
    expected: ManifestFile | None = None
    actual: ManifestFile | None = None

    def describe(self) -> str:
        if self.problem == MISSING:
            return f"file '{self.path}' is missing"
        if self.problem == ADDED:
            return f"file '{self.path}' was added after registration"
        assert self.expected is not None and self.actual is not None
        if self.problem == TRUNCATED:
            return f"file '{self.path}' is truncated ({self.actual.size} of {self.expected.size} bytes)"
        if self.expected.size != self.actual.size:
            return (f"file '{self.path}' is different ({self.actual.size} bytes, registered with "
                    f"{self.expected.size} bytes)")
        return (f"file '{self.path}' is different (sha256 {self.actual.sha256[:12]}..., registered with "
                f"{self.expected.sha256[:12]}...)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "problem": self.problem,
            "expected_size": self.expected.size if self.expected else None,
            "actual_size": self.actual.size if self.actual else None,
            "expected_sha256": self.expected.sha256 if self.expected else None,
            "actual_sha256": self.actual.sha256 if self.actual else None,
            "message": self.describe(),
        }


def compare_files(expected: Sequence[ManifestFile], actual: Sequence[ManifestFile], *,
                  report_added: bool = True) -> list[Discrepancy]:
    """What differs between the manifest's files and the files found, sorted by path.

    A file may appear in ``actual`` with ``sha256 == ""`` when its size already differs (it was
    not worth hashing).
    """
    found = {f.path: f for f in actual}
    wanted = {f.path: f for f in expected}
    problems: list[Discrepancy] = []
    for path in sorted(set(wanted) | set(found)):
        want, got = wanted.get(path), found.get(path)
        if got is None:
            problems.append(Discrepancy(path, MISSING, want, None))
        elif want is None:
            if report_added:
                problems.append(Discrepancy(path, ADDED, None, got))
        elif got.size < want.size:
            problems.append(Discrepancy(path, TRUNCATED, want, got))
        elif got.size != want.size or got.sha256 != want.sha256:
            problems.append(Discrepancy(path, MODIFIED, want, got))
    return problems


def integrity_error(what: str, problems: Sequence[Discrepancy], digest: str | None = None) -> IntegrityCheckFailed:
    """One ``DATA_LOSS`` error for ``problems`` of ``what`` (e.g. ``model version 'wine' 3``)."""
    first = problems[0].describe()
    more = f" (and {len(problems) - 1} more file{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    registered = f" {digest[:12]}..." if digest else ""
    return IntegrityCheckFailed(
        f"The files of {what} do not match the manifest{registered} recorded at registration: {first}{more}. "
        "Refusing to use them."
    )


# ------------------------------------------------------------------------------ locations
_MLFLOW_ARTIFACTS = "mlflow-artifacts:"


def _has_scheme(uri: str) -> bool:
    head, sep, _ = uri.partition(":")
    return bool(sep) and len(head) > 1 and head.replace("+", "").replace("-", "").replace(".", "").isalnum()


def location_key(uri: str) -> str:
    """One spelling of a storage location, for comparing locations (see the module docstring)."""
    uri = uri.strip()
    if uri.startswith(_MLFLOW_ARTIFACTS):
        rest = uri[len(_MLFLOW_ARTIFACTS):]
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path: the path on that server
            rest = rest[2:].partition("/")[2]
        return _MLFLOW_ARTIFACTS + "/" + posixpath.normpath("/" + rest).strip("/")
    if uri.startswith("file:") or not _has_scheme(uri):
        path = uri
        if uri.startswith("file:"):
            from urllib.parse import unquote, urlparse

            path = unquote(urlparse(uri).path)
        return os.path.realpath(os.path.expanduser(path)).replace(os.sep, "/")
    scheme, sep, rest = uri.partition("://")
    if not sep:  # an opaque URI (dbfs:/x): compared as written
        return uri.rstrip("/")
    host, _, path = rest.partition("/")
    path = posixpath.normpath("/" + path).strip("/") if path else ""
    return f"{scheme.lower()}://{host}/{path}".rstrip("/")


def location_hash(key: str) -> str:
    """The indexed form of a location key (SHA-256 hex: fixed length, indexable on every database)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_prefixes(key: str) -> list[str]:
    """``key`` and the key of every directory above it, deepest first (the root itself excluded)."""
    if key.startswith(_MLFLOW_ARTIFACTS + "/"):
        head, path = _MLFLOW_ARTIFACTS + "/", key[len(_MLFLOW_ARTIFACTS) + 1:]
    elif "://" in key:
        scheme, _, rest = key.partition("://")
        host, _, path = rest.partition("/")
        head = f"{scheme}://{host}/"
    else:
        head, path = "/", key.lstrip("/")
    parts = [p for p in path.split("/") if p]
    return [head + "/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def join_key(root_key: str, relative: str) -> str:
    """The key of ``relative`` (a clean relative path) below the location ``root_key``."""
    relative = relative.strip("/")
    if not relative:
        return root_key
    return root_key.rstrip("/") + "/" + relative
