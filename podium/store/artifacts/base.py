"""The artifact store contract and the path rules every implementation shares.

An artifact store is rooted at one URI (a run's, a logged model's, or the server's destination)
and addresses files by relative POSIX paths below it. A path that would leave the root (``..``,
an absolute path, a NUL byte) is refused with ``INVALID_PARAMETER_VALUE``. Writes are atomic: a
file is either absent or complete, never half-written.
"""

from __future__ import annotations

import posixpath
from typing import BinaryIO, Iterator, Protocol

from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue

__all__ = ["ArtifactStore", "clean_relative_path"]


def clean_relative_path(path: str | None) -> str:
    """Normalise a relative artifact path; ``""`` means the root. Refuses anything escaping it."""
    if path is None:
        return ""
    if "\x00" in path or "\\" in path:
        raise InvalidParameterValue(f"Invalid artifact path: '{path}'")
    if path.startswith("/"):
        raise InvalidParameterValue(f"Invalid artifact path: '{path}' must be relative")
    normalized = posixpath.normpath(path) if path else ""
    if normalized in (".", ""):
        return ""
    if normalized == ".." or normalized.startswith("../"):
        raise InvalidParameterValue(f"Invalid artifact path: '{path}' escapes the artifact root")
    return normalized


class ArtifactStore(Protocol):
    """Files below one root URI."""

    root_uri: str

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory below the root)."""

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory tree into ``artifact_path``."""

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of ``path`` (paths relative to the root); ``[]`` for a file or nothing."""

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        """Copy a file or a directory tree into ``dst_path``; returns the local path."""

    def is_dir(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool: ...

    def file_size(self, path: str) -> int: ...

    def open_read(self, path: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream a file's bytes (``RESOURCE_DOES_NOT_EXIST`` if absent)."""

    def write_stream(self, path: str, chunks: BinaryIO | Iterator[bytes]) -> int:
        """Write a file from a stream, atomically; returns the number of bytes written."""

    def delete_artifacts(self, path: str | None = None) -> None: ...
