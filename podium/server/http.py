"""The little HTTP layer under the routes: a request wrapper and three response kinds, on bare ASGI.

Podium speaks ASGI directly instead of through a framework (decision 0002): a JSON response is one
``orjson.dumps`` and two ``send`` calls. Bodies stream both ways without being held in memory:
:meth:`Request.read_some` hands an upload to the artifact store in ~1 MiB pieces, and
:class:`FileResponse` sends a file in 1 MiB chunks read on the thread pool, :class:`StreamResponse`
the chunks of any iterator (an object store's body), pulled on the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from pathlib import Path
from urllib.parse import quote

from podium.errors import BadRequest, RequestTooLarge

try:
    import orjson

    def dumps(obj) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - orjson is a declared dependency

    def dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


__all__ = ["ClientDisconnected", "ClientStalled", "FileResponse", "JSONResponse", "Request", "Response", "StreamResponse", "dumps"]

CHUNK = 1 << 20
_TEXT_SUFFIXES = {".txt", ".yaml", ".yml", ".json", ".md", ".csv", ".py", ".log", ""}


class ClientDisconnected(BadRequest):
    """The client went away before sending its whole body (nobody reads the answer)."""

    def __init__(self) -> None:
        super().__init__("The client disconnected before sending the whole request body.")


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"Request body is larger than the server's limit of {limit} bytes for JSON requests "
        "(--max-json-body-bytes); artifacts are uploaded with PUT to the artifact routes instead."
    )


class ClientStalled(BadRequest):
    """The client stopped sending its body (nothing for ``seconds``): the request is dropped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The client sent no part of the request body for {seconds:g} s (--body-idle-timeout); "
                         "closing the connection.")


class Request:
    """What a streaming handler gets besides its parameters: headers and the body stream.

    :meth:`body` holds at most ``max_body`` bytes: a declared ``Content-Length`` above it is refused
    before anything is read, and a chunked body is refused as soon as it grows past it (413).
    A body that stops arriving for ``idle_timeout`` seconds is dropped (:class:`ClientStalled`), so a
    stalled upload does not hold a file thread forever.
    """

    __slots__ = ("scope", "receive", "max_body", "idle_timeout", "_done", "_pending")

    def __init__(self, scope: dict, receive, max_body: int | None = None, idle_timeout: float | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self._done = False
        self._pending = b""

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.scope.get("headers", ()):
            if k == key:
                return v.decode("latin-1")
        return None

    @property
    def has_unread_body(self) -> bool:
        """Did the client announce a body that was not read to its end (answered early: 401, 413)?"""
        if self._done:
            return False
        length = self.header("content-length")
        return self.header("transfer-encoding") is not None or (length is not None and length.strip() not in ("", "0"))

    async def body(self) -> bytes:
        """The whole body (for JSON requests, which are small): at most ``max_body`` bytes, else 413."""
        limit = self.max_body
        if limit is not None:
            declared = self.header("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > limit:
                raise too_large(limit)
        parts, have = [], 0
        while not self._done:
            part = await self._next()
            have += len(part)
            if limit is not None and have > limit:
                raise too_large(limit)
            parts.append(part)
        return b"".join(parts)

    async def read_some(self, size: int = CHUNK) -> bytes:
        """The next ~``size`` bytes of the body; ``b""`` at its end."""
        parts, have = [], 0
        while have < size and not self._done:
            part = await self._next()
            parts.append(part)
            have += len(part)
        return b"".join(parts)

    async def _next(self) -> bytes:
        if self.idle_timeout is None:
            message = await self.receive()
        else:
            try:
                async with asyncio.timeout(self.idle_timeout):  # a timer, no extra task per message
                    message = await self.receive()
            except TimeoutError:
                raise ClientStalled(self.idle_timeout) from None
        if message["type"] == "http.disconnect":
            self._done = True
            raise ClientDisconnected()
        if not message.get("more_body", False):
            self._done = True
        return message.get("body", b"")


class Response:
    """A complete response: status, raw body, extra headers."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, body: bytes = b"", status: int = 200, content_type: str | None = "text/plain; charset=utf-8",
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append((b"content-type", content_type.encode("latin-1")))

    async def send(self, send, executor=None) -> None:
        headers = self.headers + [(b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


class JSONResponse(Response):
    __slots__ = ()

    def __init__(self, obj, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(dumps(obj), status, "application/json", headers)


def guess_content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return "text/plain"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _disposition(name: str) -> bytes:
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'.encode()
    return f"attachment; filename*=UTF-8''{quote(name)}".encode()


class FileResponse:
    """A file sent as an attachment in 1 MiB chunks; memory stays flat whatever its size."""

    __slots__ = ("path", "status")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.status = 200

    async def send(self, send, executor=None) -> None:
        loop = asyncio.get_running_loop()
        handle = await loop.run_in_executor(executor, open, self.path, "rb")
        try:
            size = await loop.run_in_executor(executor, lambda: Path(self.path).stat().st_size)
            name = self.path.name
            headers = [
                (b"content-type", guess_content_type(name).encode()),
                (b"content-length", str(size).encode()),
                (b"content-disposition", _disposition(name)),
                (b"x-content-type-options", b"nosniff"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            remaining = size
            while remaining > 0:
                chunk = await loop.run_in_executor(executor, handle.read, min(CHUNK, remaining))
                if not chunk:  # the file shrank under us; end the body where it ends
                    break
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
            if remaining > 0:
                await send({"type": "http.response.body", "body": b""})
        finally:
            handle.close()


class StreamResponse:
    """An attachment whose bytes come from an iterator (pulled on the thread pool, one chunk at a time).

    ``size`` is sent as Content-Length; the iterator is closed when the response ends or the client
    goes away, so an object store's connection is released either way.
    """

    __slots__ = ("name", "size", "chunks", "status")

    def __init__(self, name: str, size: int, chunks) -> None:
        self.name = name
        self.size = size
        self.chunks = chunks
        self.status = 200

    async def send(self, send, executor=None) -> None:
        loop = asyncio.get_running_loop()
        iterator = iter(self.chunks)
        try:
            headers = [
                (b"content-type", guess_content_type(self.name).encode()),
                (b"content-length", str(self.size).encode()),
                (b"content-disposition", _disposition(self.name)),
                (b"x-content-type-options", b"nosniff"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            remaining = self.size
            while remaining > 0:
                chunk = await loop.run_in_executor(executor, next, iterator, b"")
                if not chunk:  # the object ended early; end the body where it ends
                    break
                chunk = chunk[:remaining]
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
            if remaining > 0 or self.size == 0:
                await send({"type": "http.response.body", "body": b""})
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    await loop.run_in_executor(executor, close)
                except ValueError:  # still running in a thread whose await was cancelled
                    pass
