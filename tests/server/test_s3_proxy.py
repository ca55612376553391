"""``podium server --artifacts-destination s3://bucket/prefix`` against ``moto_server`` (separate processes).

The proxy streams both ways to S3; MLflow's multipart protocol (``mpu/create|complete|abort``,
``presigned/``) hands out presigned URLs so that the REAL mlflow client moves the bytes of big files
straight to and from S3, which the server's access log and moto's request log both show.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import socket
import time

import httpx
import pytest

from tests.artifacts.moto import S3_ENV, start_moto, stop_moto

from .helpers import ART, error, ok, start_server, stop_server

if not all(importlib.util.find_spec(m) for m in ("boto3", "moto", "flask")):
    pytest.skip("needs moto's server and boto3: pip install 'moto[s3]' flask flask-cors boto3", allow_module_level=True)

MiB = 1 << 20
MPU = "/api/2.0/mlflow-artifacts/mpu"
PRESIGNED = "/api/2.0/mlflow-artifacts/presigned"
BUCKET, PREFIX = "podium-proxy", "proxy-root"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop_moto(server)


@pytest.fixture(scope="module")
def s3(moto):
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=moto.url, region_name=S3_ENV["AWS_DEFAULT_REGION"],
                          aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
                          config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def s3_server(moto, s3, tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("podium-s3"), "--artifacts-destination", f"s3://{BUCKET}/{PREFIX}",
                           env=moto.env())
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def api(s3_server):
    with httpx.Client(base_url=s3_server.url, timeout=60) as client:
        yield client


def _keys(s3, prefix: str) -> dict[str, int]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/{prefix}")
    return {o["Key"][len(PREFIX) + 1:]: o["Size"] for page in pages for o in page.get("Contents", ())}


def _uploads_in_progress(s3) -> list:
    return s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def test_server_info_advertises_multipart_transfers(api):
    info = ok(api.get("/api/3.0/mlflow/server-info"))
    assert info["multipart_uploads_enabled"] is True and info["multipart_downloads_enabled"] is True


def test_upload_list_download_delete_through_the_proxy(api, s3, unique):
    base = f"1/{unique('run')}/artifacts"
    big = os.urandom(12 * MiB)  # more than one 8 MiB part: a multipart upload behind the proxy
    assert api.put(f"{ART}/{base}/notes/readme.txt", content=b"hello from S3\n").status_code == 200
    assert api.put(f"{ART}/{base}/blobs/big.bin", content=big).status_code == 200
    assert _keys(s3, base) == {f"{base}/notes/readme.txt": 14, f"{base}/blobs/big.bin": len(big)}
    assert ok(api.get(ART, params={"path": base})) == {
        "files": [{"path": "blobs", "is_dir": True}, {"path": "notes", "is_dir": True}]}
    assert ok(api.get(ART, params={"path": f"{base}/blobs"})) == {
        "files": [{"path": "big.bin", "is_dir": False, "file_size": len(big)}]}
    assert ok(api.get(ART, params={"path": f"{base}/blobs/big.bin"})) == {}

    small = api.get(f"{ART}/{base}/notes/readme.txt")
    assert small.status_code == 200 and small.content == b"hello from S3\n"
    assert small.headers["content-disposition"] == 'attachment; filename="readme.txt"'
    assert small.headers["x-content-type-options"] == "nosniff"
    assert small.headers["content-type"].startswith("text/plain")
    with api.stream("GET", f"{ART}/{base}/blobs/big.bin") as response:
        assert response.status_code == 200 and int(response.headers["content-length"]) == len(big)
        assert hashlib.sha256(response.read()).digest() == hashlib.sha256(big).digest()

    assert ok(api.delete(f"{ART}/{base}/blobs")) == {}
    assert _keys(s3, base) == {f"{base}/notes/readme.txt": 14}
    error(api.get(f"{ART}/{base}/blobs/big.bin"), 404, "RESOURCE_DOES_NOT_EXIST",
          f"No such artifact: '{base}/blobs/big.bin'")


def test_directories_missing_files_and_escapes(api, s3_server, unique):
    base = unique("dirs")
    api.put(f"{ART}/{base}/sub/a.txt", content=b"a")
    error(api.get(f"{ART}/{base}/sub"), 400, "INVALID_PARAMETER_VALUE")
    error(api.put(f"{ART}/{base}/sub", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
    error(api.get(f"{ART}/{base}/nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    for method, path in (("GET", f"{ART}?path=../x"), ("GET", f"{ART}/a/%2E%2E/%2E%2E/x"),
                         ("PUT", f"{ART}/a/%2E%2E/%2E%2E/evil.txt"), ("GET", f"{PRESIGNED}/a/%2E%2E/%2E%2E/x"),
                         ("POST", f"{MPU}/create/a/%2E%2E/%2E%2E")):
        body = {"json": {"path": "/tmp/x.bin", "num_parts": 1}} if method == "POST" else {}
        error(api.request(method, path, content=b"x" if method == "PUT" else None, **body), 400,
              "INVALID_PARAMETER_VALUE", "Invalid path")


def test_an_interrupted_upload_leaves_no_object_and_no_pending_upload(s3_server, s3, moto, unique):
    base = unique("cut")
    host, port = s3_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"PUT {ART}/{base}/big.bin HTTP/1.1\r\nHost: {host}\r\nContent-Length: {40 * MiB}\r\n\r\n".encode())
        sock.sendall(os.urandom(20 * MiB))  # two 8 MiB parts are on their way to S3 by now
        time.sleep(0.5)
    deadline = time.monotonic() + 15
    while _uploads_in_progress(s3) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _uploads_in_progress(s3) == []
    assert _keys(s3, base) == {}
    moto_log = re.sub(r"\x1b\[[0-9;]*m", "", moto.log_path.read_text(errors="replace"))
    assert re.search(rf'"PUT /{BUCKET}/{PREFIX}/{base}/big.bin\?[^"]*partNumber=1', moto_log)  # it had begun
    assert re.search(rf'"DELETE /{BUCKET}/{PREFIX}/{base}/big.bin\?uploadId=', moto_log)  # and was aborted


def test_multipart_endpoints_with_presigned_urls(api, s3, unique):
    base = f"1/{unique('mpu')}/artifacts/blobs"
    data = os.urandom(11 * MiB)
    created = ok(api.post(f"{MPU}/create/{base}", json={"path": "/home/me/data/big.bin", "num_parts": 3}))
    assert [c["part_number"] for c in created["credentials"]] == [1, 2, 3]
    assert all(c["headers"] == {} for c in created["credentials"])
    parts = []
    for credential in created["credentials"]:
        n = credential["part_number"]
        response = httpx.put(credential["url"], content=data[(n - 1) * 5 * MiB:n * 5 * MiB], timeout=60)
        assert response.status_code == 200, response.text
        parts.append({"part_number": n, "etag": response.headers["etag"], "url": credential["url"]})
    assert ok(api.post(f"{MPU}/complete/{base}", json={"path": "/home/me/data/big.bin",
                                                       "upload_id": created["upload_id"], "parts": parts})) == {}
    assert api.get(f"{ART}/{base}/big.bin").content == data

    presigned = ok(api.get(f"{PRESIGNED}/{base}/big.bin"))
    assert presigned["file_size"] == len(data) and presigned["headers"] == {}
    ranged = httpx.get(presigned["url"], headers={"Range": f"bytes={6 * MiB}-{6 * MiB + 99}"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == data[6 * MiB:6 * MiB + 100]
    error(api.get(f"{PRESIGNED}/{base}/missing.bin"), 404, "RESOURCE_DOES_NOT_EXIST")

    aborted = ok(api.post(f"{MPU}/create/{base}", json={"path": "C:\\Users\\me\\other.bin", "num_parts": 1}))
    assert ok(api.post(f"{MPU}/abort/{base}", json={"path": "C:\\Users\\me\\other.bin",
                                                    "upload_id": aborted["upload_id"]})) == {}
    assert _uploads_in_progress(s3) == []
    assert sorted(_keys(s3, base)) == [f"{base}/big.bin"]


def test_multipart_requests_missing_their_fields_are_400(api, unique):
    base = unique("bad")
    error(api.post(f"{MPU}/create/{base}", json={"num_parts": 2}), 400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{MPU}/complete/{base}", json={"path": "/x/f.bin", "upload_id": "u"}), 400,
          "INVALID_PARAMETER_VALUE")
    error(api.post(f"{MPU}/abort/{base}", json={"path": "/x/f.bin"}), 400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{MPU}/create/{base}", json={"path": "/x/f.bin", "num_parts": 10_001}), 400,
          "INVALID_PARAMETER_VALUE")


# ----------------------------------------------------------------------------- the real mlflow client
@pytest.fixture
def mlflow_multipart(s3_server, monkeypatch):
    pytest.importorskip("mlflow")
    for name, value in {
        "MLFLOW_TRACKING_URI": s3_server.url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
        "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(5 * MiB),
        "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MiB),
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "true",
        "MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE": str(5 * MiB),
    }.items():
        monkeypatch.setenv(name, value)
    import mlflow

    mlflow.set_tracking_uri(s3_server.url)
    yield mlflow
    mlflow.set_tracking_uri(None)


def test_the_mlflow_client_moves_big_files_through_presigned_urls(mlflow_multipart, s3_server, moto, s3, tmp_path):
    mlflow = mlflow_multipart
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MiB))
    (tmp_path / "small.txt").write_text("small files still go through the proxy\n")
    mlflow.set_experiment("s3-multipart")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "blobs")
        mlflow.log_artifact(str(tmp_path / "small.txt"), "blobs")
    run_id = run.info.run_id
    experiment_id = run.info.experiment_id
    key = f"{experiment_id}/{run_id}/artifacts/blobs/big.bin"
    assert _keys(s3, f"{experiment_id}/{run_id}/") == {key: 12 * MiB,
                                                       f"{experiment_id}/{run_id}/artifacts/blobs/small.txt": 39}

    dst = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="blobs/big.bin",
                                              dst_path=str(tmp_path / "dl"))
    assert hashlib.sha256(open(dst, "rb").read()).digest() == hashlib.sha256(big.read_bytes()).digest()

    log = s3_server.log()
    assert f"POST {MPU}/create/{experiment_id}/{run_id}/artifacts/blobs 200" in log
    assert f"POST {MPU}/complete/{experiment_id}/{run_id}/artifacts/blobs 200" in log
    assert f"GET {PRESIGNED}/{key} 200" in log
    assert f"{ART}/{key}" not in log  # neither PUT nor GET of the big file went through the proxy
    assert f"PUT {ART}/{experiment_id}/{run_id}/artifacts/blobs/small.txt 200" in log
    moto_log = re.sub(r"\x1b\[[0-9;]*m", "", moto.log_path.read_text(errors="replace"))  # werkzeug colours
    part_puts = re.findall(rf'"PUT /{BUCKET}/{PREFIX}/{key}\?[^"]*partNumber=\d[^"]* HTTP/1.1" 200', moto_log)
    ranged_gets = re.findall(rf'"GET /{BUCKET}/{PREFIX}/{key}\?[^"]*X-Amz-Signature[^"]* HTTP/1.1" 206', moto_log)
    assert len(part_puts) == 3 and len(ranged_gets) == 3, (part_puts, ranged_gets)
