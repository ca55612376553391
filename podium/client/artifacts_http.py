"""``HttpArtifactStore``: artifacts behind a server's artifact proxy (``mlflow-artifacts:`` URIs).

``mlflow-artifacts:/<path>`` resolves to ``<tracking URI>/api/2.0/mlflow-artifacts/artifacts/<path>``
(``mlflow-artifacts://host:port/<path>`` names another server). Uploads and downloads stream in
1 MiB chunks, so memory stays flat whatever the file size; a download is written to a temporary
name and renamed when complete. Transfers of large files show a progress bar on a terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import quote, urlparse

from podium import settings
from podium.client.http import session_for
from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.artifacts.base import ByteRange, check_byte_range, clean_relative_path
from podium.wire import file_info_from_wire

__all__ = ["HttpArtifactStore"]

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PROGRESS_MIN_BYTES = 64 << 20
_CHUNK = 1 << 20


def _split(uri: str, tracking_uri: str) -> tuple[str, str]:
    """(server base URL, path below the proxy root) for an ``mlflow-artifacts:`` URI."""
    parsed = urlparse(uri)
    if parsed.netloc:
        base = f"{urlparse(tracking_uri).scheme or 'http'}://{parsed.netloc}"
    else:
        if not tracking_uri.startswith(("http://", "https://")):
            raise InvalidParameterValue(
                f"'{uri}' is served by a tracking server, but the tracking URI is '{tracking_uri}'. "
                "Set the tracking URI to that server's http:// address."
            )
        base = tracking_uri
    return base.rstrip("/"), parsed.path.strip("/")


class HttpArtifactStore:
    def __init__(self, root_uri: str, tracking_uri: str) -> None:
        self.root_uri = root_uri
        base, self.root_path = _split(root_uri, tracking_uri)
        self.http = session_for(base)

    # -- paths
    def _rel(self, path: str | None) -> str:
        relative = clean_relative_path(path)
        return "/".join(p for p in (self.root_path, relative) if p)

    def _url(self, path: str | None) -> str:
        return f"{ARTIFACTS}/{quote(self._rel(path))}"

    # -- listing
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        body = self.http.json_of(self.http.send("GET", ARTIFACTS, params={"path": self._rel(path)}))
        prefix = clean_relative_path(path)
        return [file_info_from_wire(f, prefix) for f in body.get("files", [])]

    def is_dir(self, path: str) -> bool:
        return bool(self.list_artifacts(path))

    def exists(self, path: str) -> bool:
        relative = clean_relative_path(path)
        if not relative or self.list_artifacts(relative):
            return True
        parent, _, name = relative.rpartition("/")
        return any(f.path.rsplit("/", 1)[-1] == name and not f.is_dir for f in self.list_artifacts(parent or None))

    def file_size(self, path: str) -> int:
        relative = clean_relative_path(path)
        parent, _, name = relative.rpartition("/")
        for f in self.list_artifacts(parent or None):
            if f.path.rsplit("/", 1)[-1] == name and not f.is_dir:
                return int(f.file_size or 0)
        raise ResourceDoesNotExist(f"No such artifact: '{path}'")

    # -- upload
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        prefix = clean_relative_path(artifact_path)
        name = Path(local_file).name
        self._put_file(local_file, f"{prefix}/{name}" if prefix else name)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        base = Path(local_dir)
        prefix = clean_relative_path(artifact_path)
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = file.relative_to(base).as_posix()
            self._put_file(str(file), f"{prefix}/{rel}" if prefix else rel)

    def _put_file(self, local_file: str, path: str) -> None:
        size = os.path.getsize(local_file)
        with _progress(f"upload {Path(local_file).name}", size) as advance, open(local_file, "rb") as fh:
            def chunks() -> Iterator[bytes]:
                while block := fh.read(_CHUNK):
                    advance(len(block))
                    yield block

            response = self.http.send("PUT", self._url(path), content=chunks(),
                                      headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        self.http.json_of(response)

    def write_stream(self, path: str, chunks: BinaryIO | Iterator[bytes], *, overwrite: bool = True) -> int:
        """Upload a stream (spooled to a temporary file first: the proxy wants a Content-Length).

        ``overwrite=False`` checks for the file first; over HTTP that check is not atomic with the
        upload (MLflow's proxy has no conditional PUT).
        """
        if not overwrite and self.exists(path) and not self.is_dir(path):
            raise ResourceAlreadyExists(f"Artifact '{path}' already exists and may not be overwritten.")
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            if hasattr(chunks, "read"):
                while block := chunks.read(_CHUNK):
                    tmp.write(block)
            else:
                for block in chunks:
                    tmp.write(block)
        try:
            self._put_file(tmp.name, clean_relative_path(path))
            return os.path.getsize(tmp.name)
        finally:
            os.unlink(tmp.name)

    # -- download
    def open_read(self, path: str, chunk_size: int = _CHUNK, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        url = self._url(path)
        first, last = check_byte_range(byte_range) or (0, None)
        headers = {"Range": f"bytes={first}-{'' if last is None else last}"} if byte_range else None

        def chunks() -> Iterator[bytes]:
            with self.http.stream("GET", url, headers=headers) as response:
                if response.status_code == 416:
                    return  # the range starts past the end
                if response.status_code >= 400:
                    response.read()
                    raise_for(self.http, response)
                if not byte_range or response.status_code == 206:
                    with _large_reads(response):
                        yield from response.iter_bytes(chunk_size)
                    return
                # the server ignored Range and sends the whole file: cut the range out of it
                offset, remaining = 0, None if last is None else last - first + 1
                for block in response.iter_bytes(chunk_size):
                    start = max(first - offset, 0)
                    offset += len(block)
                    if start >= len(block):
                        continue
                    block = block[start:] if remaining is None else block[start:start + remaining]
                    if remaining is not None:
                        remaining -= len(block)
                    yield block
                    if remaining == 0:
                        return

        return chunks()

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        relative = clean_relative_path(artifact_path)
        target = Path(dst_path) / relative if relative else Path(dst_path)
        files = self._walk(relative)
        if files is None:  # a single file
            self._download_file(relative, target)
            return str(target)
        target.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(files)))) as pool:
            list(pool.map(lambda f: self._download_file(f, Path(dst_path) / f), files))
        return str(target)

    def _walk(self, path: str) -> list[str] | None:
        """Every file below ``path``; None when ``path`` is itself a file (its listing is empty)."""
        entries = self.list_artifacts(path or None)
        if not entries:
            return None if path else []
        files: list[str] = []
        for entry in entries:
            if entry.is_dir:
                files.extend(self._walk(entry.path) or [])
            else:
                files.append(entry.path)
        return files

    def _download_file(self, path: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".podium-tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, self.http.stream("GET", self._url(path)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for(self.http, response)
                size = int(response.headers.get("Content-Length") or 0)
                with _progress(f"download {target.name}", size) as advance:
                    for block in _body_pieces(response):
                        out.write(block)
                        advance(len(block))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete_artifacts(self, path: str | None = None) -> None:
        self.http.json_of(self.http.send("DELETE", self._url(path)))


def _body_pieces(response) -> Iterator[bytes]:
    """The body as the network hands it over, written to the file as it comes: without a
    Content-Encoding there is nothing to decode, and cutting it into 1 MiB blocks first only copies it
    again (``iter_bytes(n)``); a compressed body (a proxy's) is decoded."""
    with _large_reads(response):
        if response.headers.get("content-encoding", "identity").strip().lower() in ("", "identity"):
            yield from response.iter_raw()
        else:
            yield from response.iter_bytes(_CHUNK)


@contextlib.contextmanager
def _large_reads(response) -> Iterator[None]:
    """While a body of more than 1 MiB is read, its connection receives up to 1 MiB per ``recv``.

    httpcore reads a response 64 KiB at a time (``HTTP11Connection.READ_NUM_BYTES``); for a 1 GiB
    download that is 16,384 receives, and the client's CPU, mostly the kernel's, is what limits the
    transfer (1.2 s of client CPU per GiB against 0.8 s in 1 MiB reads, decision 0029). The connection
    reads through the stream it also hands out as the response's ``network_stream`` extension; for
    this response only, that stream's reads ask for at least 1 MiB (a read returns what has arrived,
    it never waits for more). Raising httpcore's constant instead would make every small JSON answer
    cost ~10% more client CPU (a 1 MiB buffer per receive). Nothing changes when the transport
    offers no such stream."""
    stream = response.extensions.get("network_stream")
    read = getattr(stream, "read", None)
    own = getattr(stream, "__dict__", None)  # None: attributes cannot be set on it
    if int(response.headers.get("content-length") or 0) <= _CHUNK or read is None or own is None or "read" in own:
        yield
        return
    stream.read = lambda max_bytes, timeout=None: read(max(max_bytes, _CHUNK), timeout)
    try:
        yield
    finally:
        del stream.read  # the stream's own method again, for the connection's next request


def raise_for(http, response) -> None:
    http.json_of(response)  # raises the mapped PodiumError for a 4xx/5xx


class _progress:
    """A rich progress bar for transfers of at least 64 MiB on a terminal; silent otherwise."""

    def __init__(self, label: str, total: int) -> None:
        self.enabled = total >= PROGRESS_MIN_BYTES and sys.stderr.isatty() and not settings.progress_disabled()
        self.label, self.total = label, total
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
