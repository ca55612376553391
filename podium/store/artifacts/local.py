"""``LocalArtifactStore``: artifacts as files below a directory.

Every write goes to a temporary file and is renamed into place when complete (``os.replace`` is
atomic on POSIX), so a reader never sees a partial file. The temporary file is in the store's
staging directory, ``<root>/.podium-staging/``, when the root has one (the server creates it in its
artifact destination at start-up, :func:`prepare_staging`), else beside the target as
``.podium-tmp-*`` (an embedded store rooted at a run's directory stays free of Podium's files). A write with
``overwrite=False`` commits with ``os.link`` instead, which fails if the name exists: of two racing
writers exactly one wins (on a file system without hard links it falls back to check-then-rename).

The staging directory is outside the clients' namespace: it is never listed or downloaded, and
paths naming it (any name starting with ``.podium-``) are refused. A temporary file is named
``<host>-<pid>-<random>``; :func:`prepare_staging` (run by the server at start-up) removes those of
processes that no longer run on this host, and any a day old (a ``kill -9`` leaves one behind).

With a staging directory, commits and registration exclude each other through
``<root>/.podium-staging/commit.lock``
(``flock``, so across threads and processes): a write's ``before_commit`` check and its rename hold
it shared; :meth:`LocalArtifactStore.commit_lock` ``(exclusive=True)`` is what registration holds
while it hashes a version's files and records their manifest. So an upload that was already
streaming when a version was registered either lands before the files are hashed, or is refused by
its re-check after the manifest is recorded; it never replaces a registered file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterator

from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.artifacts.base import RESERVED_PREFIX, ByteRange, check_byte_range, clean_relative_path
from podium.uris import local_path_of

__all__ = ["STAGING", "LocalArtifactStore", "prepare_staging"]

STAGING = ".podium-staging"
_LOCK_NAME = "commit.lock"
_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
#: a staging file this old is removed at start-up whoever wrote it (an upload writes it continuously)
STALE_SECONDS = 24 * 3600


class LocalArtifactStore:
    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri
        self.root = Path(local_path_of(root_uri)).expanduser().resolve()
        self._root_dir = str(self.root)
        self._root_prefix = self._root_dir.rstrip(os.sep) + os.sep
        staging = self.root / STAGING
        self.staging: Path | None = staging if staging.is_dir() else None
        self._lock_path = str(staging / _LOCK_NAME)

    @contextlib.contextmanager
    def commit_lock(self, *, exclusive: bool):
        """Held shared by each write's final check and rename, exclusive by registration (module doc);
        a store without a staging directory has no lock."""
        if self.staging is None:
            yield
            return
        # a descriptor of its own per holder: flock excludes open files, not processes, so two threads
        # of this process exclude each other only through two opens (closing it releases the lock)
        try:
            fd = os.open(self._lock_path, _LOCK_FLAGS, 0o666)
        except FileNotFoundError:  # the staging directory was removed under a running server
            self.staging.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, _LOCK_FLAGS, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def clean_staging(self) -> int:
        """Remove staging files left by processes that are gone, by this one, or a day old; returns how
        many. For start-up only (before this process uploads anything)."""
        if self.staging is None or not self.staging.is_dir():
            return 0
        host, removed, now = socket.gethostname(), 0, time.time()
        for entry in self.staging.iterdir():
            if entry.name == _LOCK_NAME:
                continue
            owner_host, _, pid = entry.name.rpartition("-")[0].rpartition("-")  # <host>-<pid>-<random>
            try:
                stale = now - entry.stat().st_mtime > STALE_SECONDS
            except FileNotFoundError:
                continue
            # our own pid too: at start-up nothing of ours is in flight, and in a restarted container
            # the new server often gets the pid of the old one
            if stale or (owner_host == host and (pid == str(os.getpid()) or not _alive(pid))):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                removed += 1
        return removed

    def _path(self, path: str | None) -> Path:
        relative = clean_relative_path(path)
        full = (self.root / relative) if relative else self.root
        resolved = full.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise InvalidParameterValue(f"Invalid artifact path: '{path}' escapes the artifact root")
        return full

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        target_dir = self._path(artifact_path)
        with open(local_file, "rb") as src:
            self.write_stream(str((target_dir / Path(local_file).name).relative_to(self.root)), src)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        base = Path(local_dir)
        if not base.is_dir():
            raise ResourceDoesNotExist(f"No such local directory: '{local_dir}'")
        prefix = clean_relative_path(artifact_path)
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = file.relative_to(base).as_posix()
            with open(file, "rb") as src:
                self.write_stream(f"{prefix}/{rel}" if prefix else rel, src)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        directory = self._path(path)
        if not directory.is_dir():
            return []
        prefix = clean_relative_path(path)
        infos = []
        for child in sorted(directory.iterdir()):
            if child.name.startswith(RESERVED_PREFIX):
                continue  # the staging directory (and temporary files of older versions) are not artifacts
            rel = f"{prefix}/{child.name}" if prefix else child.name
            if child.is_dir():
                infos.append(FileInfo(rel, True, None))
            else:
                infos.append(FileInfo(rel, False, child.stat().st_size))
        return infos

    def local_directory(self, path: str | None = None) -> str | None:
        """The directory ``path`` on disk, symlinks resolved (checked to lie inside the root, like every
        path), or None when it is not a directory (nothing is there, or a file). Lets a caller walk many
        files with ``os.scandir`` (:func:`podium.services.model_files.local_files`) instead of resolving
        each one; a caller doing so must itself refuse symlinks below it, since nothing here checks what
        it then opens.

        One ``stat`` answers the common case of a location with no files (a run that logged nothing
        there): no directory, nothing to resolve. Only a directory that exists is resolved, once."""
        relative = clean_relative_path(path)
        if not relative:
            return self._root_dir if os.path.isdir(self._root_dir) else None
        full = os.path.join(self._root_dir, relative)
        try:
            if not stat.S_ISDIR(os.stat(full).st_mode):
                return None
        except (FileNotFoundError, NotADirectoryError):
            return None
        resolved = os.path.realpath(full)
        if resolved != self._root_dir and not resolved.startswith(self._root_prefix):
            raise InvalidParameterValue(f"Invalid artifact path: '{path}' escapes the artifact root")
        return resolved

    def is_dir(self, path: str) -> bool:
        return self._path(path).is_dir()

    def exists(self, path: str) -> bool:
        return self._path(path).exists()

    def file_size(self, path: str) -> int:
        full = self._path(path)
        if not full.is_file():
            raise ResourceDoesNotExist(f"No such artifact: '{path}'")
        return full.stat().st_size

    def local_file(self, path: str) -> Path:
        """The file's own path on disk (lets the server hand it to the OS to send)."""
        full = self._path(path)
        if not full.is_file():
            raise ResourceDoesNotExist(f"No such artifact: '{path}'")
        return full

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        source = self._path(artifact_path)
        if not source.exists():
            raise ResourceDoesNotExist(f"No such artifact: '{artifact_path}'")
        rel = clean_relative_path(artifact_path)
        target = Path(dst_path) / rel if rel else Path(dst_path)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(RESERVED_PREFIX + "*"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return str(target)

    def open_read(self, path: str, chunk_size: int = 1 << 20, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        first, last = check_byte_range(byte_range) or (0, None)
        handle = open(self.local_file(path), "rb")  # noqa: SIM115 - closed by the generator

        def chunks() -> Iterator[bytes]:
            with handle:
                if first:
                    handle.seek(first)
                remaining = None if last is None else last - first + 1
                while remaining is None or remaining > 0:
                    block = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
                    if not block:
                        return
                    if remaining is not None:
                        remaining -= len(block)
                    yield block

        return chunks()

    def write_stream(self, path: str, chunks: BinaryIO | Iterator[bytes], *, overwrite: bool = True,
                     before_commit=None) -> int:
        target = self._path(path)
        if not clean_relative_path(path):
            raise InvalidParameterValue("Cannot write to the artifact root itself; give a file path.")
        if target.is_dir():
            raise InvalidParameterValue(f"Cannot overwrite directory '{path}' with a file.")
        if not overwrite and target.exists():
            raise _already_exists(path)  # early, before reading the stream; the commit checks again
        _make_parent_dirs(target, path)
        if self.staging is not None:
            self.staging.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{socket.gethostname()}-{os.getpid()}-", dir=self.staging)
        else:
            fd, tmp = tempfile.mkstemp(prefix=".podium-tmp-", dir=target.parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                if hasattr(chunks, "write_into"):  # a body that writes itself (the server's socket: splice)
                    written = chunks.write_into(out)
                elif hasattr(chunks, "read"):
                    while block := chunks.read(1 << 20):
                        out.write(block)
                        written += len(block)
                else:
                    for block in chunks:
                        out.write(block)
                        written += len(block)
            os.chmod(tmp, 0o644)
            with self.commit_lock(exclusive=False):
                if before_commit is not None:
                    before_commit()
                if overwrite:
                    os.replace(tmp, target)
                else:
                    _commit_exclusive(tmp, target, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def delete_artifacts(self, path: str | None = None) -> None:
        full = self._path(path)
        if full.is_dir():
            shutil.rmtree(full)
        elif full.exists():
            full.unlink()


def prepare_staging(root_uri: str) -> int:
    """Give the store at ``root_uri`` a staging directory (the server's destination), and remove the
    unfinished uploads of processes that are gone; returns how many were removed."""
    (Path(local_path_of(root_uri)).expanduser().resolve() / STAGING).mkdir(parents=True, exist_ok=True)
    return LocalArtifactStore(root_uri).clean_staging()


def _alive(pid: str) -> bool:
    """Is process ``pid`` (text) running on this host?"""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _make_parent_dirs(target: Path, path: str) -> None:
    """Create the directories above ``target``; a file standing where a directory must go is refused."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameterValue(
            f"Cannot write artifact '{path}': a file already exists where one of its directories must go."
        ) from None


def _already_exists(path: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Artifact '{path}' already exists and may not be overwritten.")


def _commit_exclusive(tmp: str, target: Path, path: str) -> None:
    """Move ``tmp`` to ``target`` unless ``target`` exists, atomically: ``link`` never replaces."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _already_exists(path) from None
    except OSError as exc:  # no hard links here (some network/FUSE file systems)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if target.exists():
            raise _already_exists(path) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)
