"""The little HTTP layer under the routes: a request wrapper and three response kinds, on bare ASGI.

Podium speaks ASGI directly instead of through a framework (decision 0002): a JSON response is one
``orjson.dumps`` and two ``send`` calls. Bodies stream both ways without being held in memory:
:meth:`Request.read_some` hands an upload to the artifact store in ~1 MiB pieces, and
:class:`FileResponse` sends a file in 1 MiB chunks read on the thread pool, :class:`StreamResponse`
the chunks of any iterator (an object store's body), pulled on the thread pool.

Big artifacts skip the event loop when the server's own protocol lends the request its connection
(:class:`Connection`, ``podium server`` on Linux without TLS; decision 0025): an upload's body is
moved from the socket into the store's temporary file by the kernel (:class:`SocketBody`,
``os.splice``), a local file is sent with ``os.sendfile``. Both run on the file thread pool; bytes
never pass through Python, and memory stays flat. Without a lent connection (another ASGI server,
tests calling the app in process) the same routes stream through ASGI as above.
"""

from __future__ import annotations

import asyncio
import json
import fcntl
import mimetypes
import os
import select
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from podium.errors import BadRequest, RequestTooLarge

try:
    import orjson

    def dumps(obj) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - orjson is a declared dependency

    def dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


__all__ = ["CONNECTION_EXTENSION", "ClientDisconnected", "ClientStalled", "Connection", "FileResponse", "JSONResponse",
           "Request", "Response", "SocketBody", "StreamResponse", "dumps"]

CHUNK = 1 << 20
#: the scope extension under which ``podium server``'s protocol lends a request its connection
CONNECTION_EXTENSION = "podium.connection"
#: uploads at least this big are read from the socket directly (below it, ASGI's ~64 KiB messages
#: cost less than the pipe and the connection closed after the answer)
SOCKET_BODY_MIN = 4 << 20
#: uploads up to this size are read whole on the event loop, then written in one trip to a file thread
#: (fewer thread hand-offs; at most this much held per upload)
SMALL_BODY_MAX = 2 << 20
#: files at least this big are sent with ``sendfile`` (below it, one or two ASGI messages)
SENDFILE_MIN = 1 << 20
#: a download whose client reads nothing for this long is dropped (sendfile path)
SEND_IDLE_TIMEOUT = 300.0
_SPLICE = hasattr(os, "splice")
_SENDFILE = hasattr(os, "sendfile")
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

    __slots__ = ("scope", "receive", "max_body", "idle_timeout", "_done", "_pending", "_started")

    def __init__(self, scope: dict, receive, max_body: int | None = None, idle_timeout: float | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self._done = False
        self._pending = b""
        self._started = False

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

    def connection(self) -> "Connection | None":
        """The connection the server's protocol lent this request, if any (module doc)."""
        return self.scope.get("extensions", {}).get(CONNECTION_EXTENSION)

    def socket_body(self) -> "SocketBody | None":
        """The body, read from the socket by the artifact store itself, when it is worth it: a lent
        connection, nothing of the body read yet, a ``Content-Length`` of at least ``SOCKET_BODY_MIN``
        (not chunked). None otherwise: read it with :meth:`read_some`. After this the event loop no
        longer reads the connection, and it is closed once the answer is sent."""
        connection = self.connection()
        declared = self.content_length()
        if connection is None or self._started or self._done or declared is None or declared < SOCKET_BODY_MIN:
            return None
        fd = connection.socket_fd()
        if fd is None:
            return None
        prefix = connection.take_body()
        self._done = True
        return SocketBody(fd, prefix, declared - len(prefix), self.idle_timeout)

    def content_length(self) -> int | None:
        """The declared ``Content-Length``; None for a chunked body or none declared."""
        declared = (self.header("content-length") or "").strip()
        if self.header("transfer-encoding") is not None or not declared.isdigit():
            return None
        return int(declared)

    async def _next(self) -> bytes:
        self._started = True
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


class Connection(Protocol):
    """What ``podium server``'s protocol lends a request (``podium.server.runner._UvicornConnection``);
    documented here as the interface this module uses."""

    def socket_fd(self) -> int | None: ...  # the TCP socket, None when it cannot be used (TLS, closing)
    def take_body(self) -> bytes: ...  # stop reading; the body bytes already read; close after the answer
    def write_buffer_size(self) -> int: ...  # response bytes still queued in the event loop
    def body_sent(self, nbytes: int) -> None: ...  # body bytes sent on the socket directly
    def close(self) -> None: ...


class SocketBody:
    """The rest of an upload's body, read from the connection's socket on a file thread.

    A store calls ``write_into(file)`` to move it into its temporary file (Linux: ``os.splice``,
    socket → pipe → file, no copy through Python), or iterates it for ~1 MiB blocks (an object store).
    ``ClientDisconnected`` if the socket ends early, ``ClientStalled`` if nothing arrives for
    ``idle_timeout`` seconds: the same errors as the ASGI path.
    """

    def __init__(self, fd: int, prefix: bytes, remaining: int, idle_timeout: float | None) -> None:
        self.fd = fd
        self.prefix = prefix
        self.remaining = max(0, remaining)
        self.idle_timeout = idle_timeout
        self.poll = select.poll()
        self.poll.register(fd, select.POLLIN)

    def _wait(self) -> None:
        timeout = -1 if self.idle_timeout is None else int(self.idle_timeout * 1000)
        if not self.poll.poll(timeout):
            raise ClientStalled(self.idle_timeout)

    def __iter__(self):
        if self.prefix:
            block, self.prefix = self.prefix, b""
            yield block
        while self.remaining > 0:
            try:
                block = os.read(self.fd, min(CHUNK, self.remaining))
            except BlockingIOError:
                self._wait()
                continue
            except ConnectionError:
                raise ClientDisconnected() from None
            if not block:
                raise ClientDisconnected()
            self.remaining -= len(block)
            yield block

    def write_into(self, out) -> int:
        """Write the whole body to the binary file ``out`` (at its current position); returns the bytes written."""
        written = 0
        if not _SPLICE:
            for block in self:
                out.write(block)
                written += len(block)
            return written
        if self.prefix:
            out.write(self.prefix)
            written, self.prefix = len(self.prefix), b""
        out.flush()
        target = out.fileno()
        read_end, write_end = os.pipe()
        try:
            try:
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, CHUNK)
            except (OSError, AttributeError):
                pass  # the default pipe size (64 KiB) only means more calls
            flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
            while self.remaining > 0:
                try:
                    moved = os.splice(self.fd, write_end, min(CHUNK, self.remaining), flags=flags)
                except BlockingIOError:
                    self._wait()
                    continue
                except ConnectionError:
                    raise ClientDisconnected() from None
                if not moved:
                    raise ClientDisconnected()
                self.remaining -= moved
                written += moved
                while moved:
                    moved -= os.splice(read_end, target, moved, flags=os.SPLICE_F_MOVE)
        finally:
            os.close(read_end)
            os.close(write_end)
        return written


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
    """A file sent as an attachment; memory stays flat whatever its size.

    With a lent connection (``connection``, set by the route) a file of at least ``SENDFILE_MIN``
    bytes goes out with ``os.sendfile`` on a file thread; otherwise in 1 MiB chunks read on the
    thread pool and sent through ASGI.
    """

    __slots__ = ("path", "status", "connection")

    def __init__(self, path: Path, connection: Connection | None = None) -> None:
        self.path = path
        self.status = 200
        self.connection = connection

    async def send(self, send, executor=None) -> None:
        loop = asyncio.get_running_loop()
        handle = await loop.run_in_executor(executor, open, self.path, "rb")
        try:
            size = await loop.run_in_executor(executor, lambda: os.fstat(handle.fileno()).st_size)
            name = self.path.name
            headers = [
                (b"content-type", guess_content_type(name).encode()),
                (b"content-length", str(size).encode()),
                (b"content-disposition", _disposition(name)),
                (b"x-content-type-options", b"nosniff"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            fd = self.connection.socket_fd() if self.connection is not None and size >= SENDFILE_MIN and _SENDFILE else None
            if fd is not None:
                await self._sendfile(send, loop, executor, fd, handle, size)
                return
            remaining = size
            while remaining > 0:
                chunk = await loop.run_in_executor(executor, handle.read, min(CHUNK, remaining))
                if not chunk:  # the file shrank under us; end the body where it ends
                    break
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
            if remaining > 0 or size == 0:  # an empty file's response ends with an empty body too
                await send({"type": "http.response.body", "body": b""})
        finally:
            handle.close()

    async def _sendfile(self, send, loop, executor, fd: int, handle, size: int) -> None:
        connection = self.connection
        deadline = loop.time() + SEND_IDLE_TIMEOUT
        while connection.write_buffer_size():  # the headers first, out of the event loop's buffer
            if connection.socket_fd() is None or loop.time() > deadline:
                connection.close()
                raise ConnectionResetError("the client went away before the body")
            await asyncio.sleep(0.001)
        try:
            sent = await loop.run_in_executor(executor, _sendfile, fd, handle.fileno(), size)
        except OSError:
            connection.close()  # the client went away mid-body
            raise
        connection.body_sent(sent)
        if sent < size:  # the file shrank under us: the body cannot be completed, so end the connection
            connection.close()
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})  # complete, keep-alive kept


def _sendfile(sock_fd: int, file_fd: int, size: int) -> int:
    """Send ``size`` bytes of the file to the (non-blocking) socket; returns how many went (fewer if
    the file shrank). ``TimeoutError`` if the client reads nothing for ``SEND_IDLE_TIMEOUT`` s."""
    poll = select.poll()
    poll.register(sock_fd, select.POLLOUT)
    offset = 0
    while offset < size:
        try:
            sent = os.sendfile(sock_fd, file_fd, offset, min(size - offset, 16 * CHUNK))
        except BlockingIOError:
            if not poll.poll(int(SEND_IDLE_TIMEOUT * 1000)):
                raise TimeoutError("the client read nothing for %g s" % SEND_IDLE_TIMEOUT) from None
            continue
        if not sent:
            break
        offset += sent
    return offset


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
