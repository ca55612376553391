"""The artifact proxy over HTTP: upload, list, download, delete; errors; streaming and atomicity."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from .helpers import ART, error, ok


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_upload_list_download_delete(api, unique):
    base = f"1/{unique('run')}/artifacts"
    assert api.put(f"{ART}/{base}/notes/readme.txt", content=b"hello from run 1\n").status_code == 200
    assert api.put(f"{ART}/{base}/model/MLmodel", content=b"flavors: {}\n").status_code == 200
    listing = ok(api.get(ART, params={"path": base}))
    assert listing == {"files": [{"path": "model", "is_dir": True}, {"path": "notes", "is_dir": True}]}
    assert ok(api.get(ART, params={"path": f"{base}/notes"})) == {
        "files": [{"path": "readme.txt", "is_dir": False, "file_size": 17}]}
    assert ok(api.get(ART, params={"path": f"{base}/notes/readme.txt"})) == {}  # a file lists as empty
    assert ok(api.get(ART, params={"path": f"{base}/missing"})) == {}
    response = api.get(f"{ART}/{base}/notes/readme.txt")
    assert response.status_code == 200 and response.content == b"hello from run 1\n"
    assert response.headers["content-disposition"] == 'attachment; filename="readme.txt"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("text/plain")
    assert ok(api.delete(f"{ART}/{base}/notes")) == {}
    error(api.get(f"{ART}/{base}/notes/readme.txt"), 404, "RESOURCE_DOES_NOT_EXIST",
          f"No such artifact: '{base}/notes/readme.txt'")


def test_an_empty_file_downloads_as_a_complete_empty_answer(api, server, unique):
    """Its response ends like any other (an empty final body), so the connection stays usable: the
    server once left it unfinished and uvicorn closed the connection under the next request."""
    path = f"{unique('empty')}/empty.txt"
    assert api.put(f"{ART}/{path}", content=b"").status_code == 200
    for _ in range(3):  # one keep-alive connection
        response = api.get(f"{ART}/{path}")
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-length"] == "0"
    assert "ASGI callable returned without completing response" not in server.log()


def test_upload_overwrites_and_ajax_prefix_works(api, unique):
    path = f"{unique('ow')}/file.bin"
    api.put(f"{ART}/{path}", content=b"one")
    api.put(f"/ajax-api/2.0/mlflow-artifacts/artifacts/{path}", content=b"two")
    assert api.get(f"{ART}/{path}").content == b"two"


def test_download_of_a_directory_is_400(api, unique):
    base = unique("dir")
    api.put(f"{ART}/{base}/sub/a.txt", content=b"a")
    error(api.get(f"{ART}/{base}/sub"), 400, "INVALID_PARAMETER_VALUE")
    error(api.put(f"{ART}/{base}/sub", content=b"x"), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("method, path", [
    ("GET", f"{ART}?path=../../etc"),
    ("GET", f"{ART}?path=/etc"),
    ("GET", f"{ART}/a/%2E%2E/%2E%2E/etc/passwd"),
    ("PUT", f"{ART}/a/%2E%2E/%2E%2E/evil.txt"),
    ("DELETE", f"{ART}/%2E%2E"),
])
def test_path_traversal_is_400(api, server, method, path):
    error(api.request(method, path, content=b"x" if method == "PUT" else None), 400, "INVALID_PARAMETER_VALUE",
          "Invalid path")
    assert not (server.artifacts.parent / "evil.txt").exists()


def test_multipart_and_presigned_are_501_with_mlflows_messages(api):
    upload = "Multipart upload is not supported for the current artifact repository"
    for op in ("create", "complete", "abort"):
        error(api.post(f"/api/2.0/mlflow-artifacts/mpu/{op}/1/r/artifacts", json={"path": "/tmp/big.bin", "num_parts": 3}),
              501, "NOT_IMPLEMENTED", upload)
    error(api.get("/api/2.0/mlflow-artifacts/presigned/1/r/artifacts/big.bin"), 501, "NOT_IMPLEMENTED",
          "Multipart download is not supported for the current artifact repository")


def _raw_put_headers(url: str, path: str, length: int) -> tuple[socket.socket, bytes]:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()
    return sock, head


# the three ways an upload's body reaches the store (podium.server.http): read whole on the event loop
# (<= 2 MiB), ~1 MiB blocks through ASGI (chunked, or 2-4 MiB), the socket spliced into the file (>= 4 MiB)
BODY_PATHS = pytest.mark.parametrize("size", [1 << 20, 3 << 20, 9 << 20], ids=["whole", "asgi", "socket"])


@BODY_PATHS
def test_a_half_finished_upload_is_never_visible(api, server, unique, size):
    base = unique("atomic")
    target = f"{ART}/{base}/big.bin"
    payload = os.urandom(size)
    sock, head = _raw_put_headers(server.url, target, len(payload))
    with sock:
        sock.sendall(head + payload[: len(payload) // 2])
        time.sleep(0.3)  # the server has written the first half to its temporary file by now
        assert ok(api.get(ART, params={"path": base})) == {}
        error(api.get(target), 404, "RESOURCE_DOES_NOT_EXIST")
        sock.sendall(payload[len(payload) // 2:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    assert api.get(target).content == payload
    assert ok(api.get(ART, params={"path": base})) == {
        "files": [{"path": "big.bin", "is_dir": False, "file_size": len(payload)}]}


@BODY_PATHS
def test_an_aborted_upload_leaves_nothing_behind(api, server, unique, size):
    base = unique("aborted")
    sock, head = _raw_put_headers(server.url, f"{ART}/{base}/gone.bin", size)
    with sock:
        sock.sendall(head + b"x" * (size // 2))
    time.sleep(0.3)
    assert ok(api.get(ART, params={"path": base})) == {}
    leftovers = list((server.artifacts / base).glob("*")) if (server.artifacts / base).exists() else []
    assert leftovers == []


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked-asgi", "content-length-socket"])
def test_large_files_stream_with_flat_server_memory(api, server, unique, chunked):
    """256 MiB up and down (a chunked request goes through ASGI, one with a Content-Length is spliced from
    the socket; the answer is sent with sendfile): server RSS grows far less than the file."""
    size, block = 256 << 20, os.urandom(1 << 20)
    path = f"{ART}/{unique('big')}/blob.bin"
    before = _rss_kb(server.process.pid)

    def body():
        for _ in range(size // len(block)):
            yield block

    headers = {} if chunked else {"Content-Length": str(size)}
    assert api.put(path, content=body(), headers=headers, timeout=120).status_code == 200
    after_upload = _rss_kb(server.process.pid)
    digest, received = hashlib.sha256(), 0
    with api.stream("GET", path, timeout=120) as response:
        assert response.status_code == 200 and int(response.headers["content-length"]) == size
        for chunk in response.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    after_download = _rss_kb(server.process.pid)
    assert received == size
    assert digest.hexdigest() == hashlib.sha256(block * (size // len(block))).hexdigest()
    assert after_upload - before < 64 * 1024, (before, after_upload)
    assert after_download - before < 64 * 1024, (before, after_download)


def _read_answer(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a Content-Length: (status line, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(1 << 20)
    return status.encode(), headers, body


def test_a_big_upload_closes_its_connection_and_the_client_reconnects(api, server, unique):
    """A body read from the socket (>= 4 MiB with a Content-Length) ends its connection after the answer
    (the HTTP parser never saw those bytes); a keep-alive client opens a new one for the next request."""
    payload = os.urandom(5 << 20)
    path = f"{ART}/{unique('reconnect')}/model.bin"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.put(path, content=payload)
        assert response.status_code == 200 and response.headers.get("connection") == "close"
        assert client.get(path).content == payload  # a new connection
        small = client.put(f"{path}.small", content=b"tiny")
        assert small.status_code == 200 and small.headers.get("connection") != "close"


def test_a_big_upload_that_expects_100_continue_gets_it(api, server, unique):
    """curl sends ``Expect: 100-continue`` for big bodies and waits for the interim answer first."""
    payload = os.urandom(6 << 20)
    path = f"{ART}/{unique('continue')}/model.bin"
    sock, head = _raw_put_headers(server.url, path, len(payload))
    with sock:
        sock.sendall(head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(payload)
        status, _, _ = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 200")
    assert api.get(path).content == payload


def test_a_sent_file_keeps_the_connection_for_the_next_request(api, server, unique):
    """A download sent with sendfile completes the HTTP answer: the same connection serves the next
    request, and HEAD still answers without a body."""
    payload = os.urandom(3 << 20)
    base = unique("sendfile")
    assert api.put(f"{ART}/{base}/a.bin", content=payload).status_code == 200
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        for _ in range(2):
            sock.sendall(f"GET {ART}/{base}/a.bin HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status, headers, body = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 200") and headers.get("connection") != "close"
            assert body == payload
        sock.sendall(f"GET {ART}?path={base} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status, _, body = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 200") and b"a.bin" in body
    head = httpx.head(f"{server.url}{ART}/{base}/a.bin")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(payload)


def test_a_client_leaving_mid_download_leaves_the_server_serving(api, server, unique):
    """A sendfile download whose client closes after the first bytes ends that connection only."""
    payload = os.urandom(24 << 20)
    path = f"{ART}/{unique('leaver')}/big.bin"
    assert api.put(path, content=payload).status_code == 200
    host, port = server.url.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port))) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(api.get(path).content).digest() == hashlib.sha256(payload).digest()
    assert api.get(ART, params={"path": "nowhere"}).status_code == 200
