"""Raw-socket requests, as an attacker sends them: bodies that are announced but never finished,
chunked bodies pushed until the server answers. httpx would wait to send the whole body first."""

from __future__ import annotations

import json
import select
import socket
from urllib.parse import urlsplit

MIB = 1 << 20


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=60)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: podium", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answered(sock: socket.socket, wait: float = 0.0) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of the response on ``sock`` (a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response: {data!r}")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


def push(url: str, method: str, path: str, total: int, *, chunked: bool = False, headers: dict | None = None,
         block: int = 64 << 10, stall_after: int | None = None) -> tuple[int, dict, dict, int]:
    """Send up to ``total`` body bytes (announced with Content-Length, or chunked) and stop as soon
    as the server answers; with ``stall_after``, stop sending after that many bytes and wait for
    the answer with the body unfinished. ``(status, headers, json body, bytes sent)``."""
    until = total if stall_after is None else stall_after
    announce = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    with connect(url) as sock:
        sock.sendall(head(method, path, {"Content-Type": "application/json", **announce, **(headers or {})}))
        sent, piece = 0, b"[" + b" " * (block - 1)
        try:
            while sent < until and not answered(sock, 0.001):
                data = piece[: min(block, until - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked and stall_after is None and sent >= total and not answered(sock):
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        status, response_headers, body = read_response(sock)
    return status, response_headers, json.loads(body or b"{}"), sent
