"""The artifact proxy over HTTP: upload, list, download, delete; errors; streaming and atomicity."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

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


def test_a_half_finished_upload_is_never_visible(api, server, unique):
    base = unique("atomic")
    target = f"{ART}/{base}/big.bin"
    payload = os.urandom(3 << 20)
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


def test_an_aborted_upload_leaves_nothing_behind(api, server, unique):
    base = unique("aborted")
    sock, head = _raw_put_headers(server.url, f"{ART}/{base}/gone.bin", 1 << 20)
    with sock:
        sock.sendall(head + b"x" * 1000)
    time.sleep(0.3)
    assert ok(api.get(ART, params={"path": base})) == {}
    leftovers = list((server.artifacts / base).glob("*")) if (server.artifacts / base).exists() else []
    assert leftovers == []


def test_large_files_stream_with_flat_server_memory(api, server, unique):
    """256 MiB up and down (chunked request, streamed response): server RSS grows far less than the file."""
    size, block = 256 << 20, os.urandom(1 << 20)
    path = f"{ART}/{unique('big')}/blob.bin"
    before = _rss_kb(server.process.pid)

    def body():
        for _ in range(size // len(block)):
            yield block

    assert api.put(path, content=body(), timeout=120).status_code == 200
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
