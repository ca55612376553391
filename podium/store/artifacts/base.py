"""The artifact store contract and the path rules every implementation shares.

An artifact store is rooted at one URI (a run's, a logged model's, or the server's destination)
and addresses files by relative POSIX paths below it. A path that would leave the root (``..``,
an absolute path, a NUL byte, a backslash) is refused with ``INVALID_PARAMETER_VALUE``, and so is one
too long for a file system or an object store (a segment over :data:`MAX_SEGMENT_BYTES` or the
whole over :data:`MAX_PATH_BYTES`, UTF-8); names starting with :data:`RESERVED_PREFIX` belong to the
store itself (its staging area) and are refused too. Writes are
atomic: a file is either absent or complete, never half-written, and an interrupted write leaves
nothing visible. ``write_stream(..., overwrite=False)`` refuses an existing file with
``RESOURCE_ALREADY_EXISTS``, atomically (registered versions are written that way).

Stores whose clients can move bytes themselves, through presigned URLs (S3), also implement
:class:`PresignedTransfers`; the server's MLflow multipart routes (``mpu/*``, ``presigned/``) and
``server-info`` capabilities follow from ``isinstance(store, PresignedTransfers)``.
"""

from __future__ import annotations

import posixpath
from typing import BinaryIO, Callable, Iterator, Protocol, runtime_checkable

from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue

__all__ = ["ArtifactStore", "ByteRange", "MAX_PATH_BYTES", "MAX_SEGMENT_BYTES", "PresignedTransfers",
           "RESERVED_PREFIX", "check_byte_range", "check_path_length", "clean_relative_path"]

#: names the stores keep for themselves (``.podium-staging``, older ``.podium-tmp-*`` files)
RESERVED_PREFIX = ".podium-"

#: a file name's limit on every common file system (NAME_MAX)
MAX_SEGMENT_BYTES = 255
#: an S3 key's limit (and well under PATH_MAX once below an artifact root)
MAX_PATH_BYTES = 1024

#: ``(first, last)`` byte offsets, both inclusive as in HTTP ``Range: bytes=first-last``; ``last=None``
#: reads to the end of the file.
ByteRange = tuple[int, int | None]


def check_path_length(path: str) -> str:
    """``path``, or ``INVALID_PARAMETER_VALUE`` if it or one of its segments is too long to store."""
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameterValue("Invalid artifact path: it is not valid UTF-8 text.") from None
    if len(encoded) > MAX_PATH_BYTES or any(len(part) > MAX_SEGMENT_BYTES for part in encoded.split(b"/")):
        shown = path if len(path) <= 60 else path[:60] + "..."
        raise InvalidParameterValue(
            f"Invalid artifact path '{shown}': too long (at most {MAX_SEGMENT_BYTES} bytes per name between "
            f"slashes and {MAX_PATH_BYTES} bytes in all, UTF-8).")
    return path


def clean_relative_path(path: str | None) -> str:
    """Normalise a relative artifact path; ``""`` means the root. Refuses anything escaping it."""
    if path is None:
        return ""
    check_path_length(path)
    if "\x00" in path or "\\" in path:
        raise InvalidParameterValue(f"Invalid artifact path: '{path}'")
    if path.startswith("/"):
        raise InvalidParameterValue(f"Invalid artifact path: '{path}' must be relative")
    normalized = posixpath.normpath(path) if path else ""
    if normalized in (".", ""):
        return ""
    if normalized == ".." or normalized.startswith("../"):
        raise InvalidParameterValue(f"Invalid artifact path: '{path}' escapes the artifact root")
    if any(part.startswith(RESERVED_PREFIX) for part in normalized.split("/")):
        raise InvalidParameterValue(
            f"Invalid artifact path: '{path}': names starting with '{RESERVED_PREFIX}' are reserved for Podium.")
    return normalized


def check_byte_range(byte_range: ByteRange | None) -> ByteRange | None:
    """Validate a ``(first, last)`` range (``last`` inclusive or None); 400 when it is malformed."""
    if byte_range is None:
        return None
    try:
        first, last = byte_range
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Invalid byte range {byte_range!r}: expected (first, last)") from None
    if not isinstance(first, int) or first < 0 or (last is not None and (not isinstance(last, int) or last < first)):
        raise InvalidParameterValue(f"Invalid byte range {byte_range!r}: need 0 <= first <= last")
    return first, last


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

    def open_read(self, path: str, chunk_size: int = 1 << 20, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        """Stream a file's bytes in chunks of about ``chunk_size``.

        ``RESOURCE_DOES_NOT_EXIST`` if absent (the local and S3 stores raise it from the call itself,
        before any chunk, so a server can still answer 404).
        ``byte_range=(first, last)`` reads bytes ``first..last`` inclusive (``last=None``: to the end);
        a range past the end is cut at the end, one starting past it yields nothing.
        """

    def write_stream(self, path: str, chunks: BinaryIO | Iterator[bytes], *, overwrite: bool = True,
                     before_commit: Callable[[], None] | None = None) -> int:
        """Write a file from a stream, atomically; returns the number of bytes written.

        With ``overwrite=False`` an existing file is refused with ``RESOURCE_ALREADY_EXISTS``, and
        the check is part of the atomic commit (two writers racing: exactly one wins).
        ``before_commit()`` is called once the bytes are stored, right before they become visible;
        if it raises, nothing is written (the guarded store re-checks immutability there).
        ``chunks`` is an iterator of blocks or a binary file; a local store also takes an object with
        ``write_into(file) -> int`` (the server's ``SocketBody``), which it lets write itself into its
        temporary file; other stores iterate it.
        """

    def delete_artifacts(self, path: str | None = None) -> None:
        """Delete a file or a directory tree (the root when ``path`` is empty); missing is not an error."""


@runtime_checkable
class PresignedTransfers(Protocol):
    """A store whose clients can upload and download directly, through presigned URLs.

    Paths are file paths relative to the store's root, as everywhere in the contract.
    """

    def create_multipart_upload(self, path: str, num_parts: int) -> tuple[str, list[str]]:
        """Start a multipart upload: ``(upload_id, [presigned PUT URL of part 1..num_parts])``."""

    def complete_multipart_upload(self, path: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the uploaded ``(part_number, etag)`` parts into the file."""

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        """Abandon an upload and free its parts (nothing becomes visible)."""

    def presigned_download_url(self, path: str) -> tuple[str, int]:
        """``(presigned GET URL, file size)``; ranged GETs on the URL are allowed."""
