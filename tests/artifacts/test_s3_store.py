"""S3ArtifactStore's own mechanics on moto: client settings, multipart uploads, requests per operation,
keys from the bucket, presigned transfers, and embedded mode with ``PODIUM_ARTIFACT_ROOT=s3://...``."""

from __future__ import annotations

import hashlib
import os
import tracemalloc

import httpx
import pytest

from podium.errors import InvalidParameterValue, PodiumError, ResourceDoesNotExist

MiB = 1 << 20


@pytest.fixture
def s3_store(bucket):
    from podium.store.artifacts.s3 import S3ArtifactStore

    store = S3ArtifactStore(f"s3://{bucket}/root/prefix")
    store.part_size = 5 * MiB
    return store


class _Counting:
    """The boto3 client with a count of each operation the store calls."""

    def __init__(self, client) -> None:
        self._client, self.calls = client, {}

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return attr(*args, **kwargs)

        return call


# ----------------------------------------------------------------------------- URIs and the client
@pytest.mark.parametrize("uri, expected", [
    ("s3://bucket", ("bucket", "")),
    ("s3://bucket/", ("bucket", "")),
    ("s3://bucket/a/b/", ("bucket", "a/b")),
])
def test_parse_s3_uri(uri, expected):
    from podium.store.artifacts.s3 import parse_s3_uri

    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["s3://", "s3:///prefix", "s3://b/../x", "http://b/x"])
def test_parse_s3_uri_refuses_malformed_uris(uri):
    from podium.store.artifacts.s3 import parse_s3_uri

    with pytest.raises(InvalidParameterValue):
        parse_s3_uri(uri)


def test_artifact_store_for_an_s3_uri():
    from podium.compose import artifact_store_for
    from podium.store.artifacts.s3 import S3ArtifactStore

    store = artifact_store_for("s3://models/team-a/1/abc/artifacts")
    assert isinstance(store, S3ArtifactStore)
    assert (store.bucket, store.prefix, store.root_uri) == ("models", "team-a/1/abc/artifacts",
                                                           "s3://models/team-a/1/abc/artifacts")


def test_the_client_uses_the_endpoint_path_style_and_the_region(s3_env, monkeypatch):
    from podium.store.artifacts.s3 import s3_client

    client = s3_client()
    assert client.meta.endpoint_url == s3_env.url
    assert client.meta.config.s3["addressing_style"] == "path"
    assert client.meta.region_name == "us-east-1"
    assert s3_client() is client  # cached
    monkeypatch.delenv("PODIUM_S3_ENDPOINT_URL")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_env.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    fallback = s3_client()
    assert fallback.meta.endpoint_url == s3_env.url and fallback.meta.region_name == "eu-west-3"


def test_a_missing_bucket_is_a_clear_server_error(s3_env):
    from podium.store.artifacts.s3 import S3ArtifactStore

    with pytest.raises(PodiumError, match="S3 bucket 'no-such-bucket' does not exist"):
        S3ArtifactStore("s3://no-such-bucket/x").list_artifacts()


# ----------------------------------------------------------------------------- writes
def test_objects_live_under_the_prefix_with_a_content_type(s3_store, s3, bucket):
    s3_store.write_stream("run/notes.json", iter([b"{}"]))
    head = s3.head_object(Bucket=bucket, Key="root/prefix/run/notes.json")
    assert head["ContentLength"] == 2 and head["ContentType"] == "application/json"
    assert "-" not in head["ETag"]  # a single PutObject


def test_large_streams_are_multipart_uploads_with_parallel_parts(s3_store, s3, bucket):
    s3_store._client = counting = _Counting(s3)
    data = os.urandom(20 * MiB)
    assert s3_store.write_stream("big.bin", iter([data[i:i + MiB] for i in range(0, len(data), MiB)])) == len(data)
    head = s3.head_object(Bucket=bucket, Key="root/prefix/big.bin")
    assert head["ETag"].strip('"').endswith("-4")  # four 5 MiB parts
    assert counting.calls["upload_part"] == 4 and counting.calls["complete_multipart_upload"] == 1
    assert "put_object" not in counting.calls
    assert hashlib.sha256(b"".join(s3_store.open_read("big.bin"))).digest() == hashlib.sha256(data).digest()


def test_an_upload_memory_stays_bounded_by_the_parts_in_flight(s3_store):
    """80 MiB through 5 MiB parts: Python allocations stay near a few parts (~34 MiB measured), not the file."""
    block = os.urandom(MiB)

    def body():
        for _ in range(80):
            yield block

    tracemalloc.start()
    try:
        s3_store.write_stream("flat.bin", body())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # parts in flight + the part being read + its join + botocore's buffers
    bound = (s3_store.upload_concurrency + 3) * s3_store.part_size + 4 * MiB
    assert peak < bound < 40 * MiB, (peak, bound)


def test_an_interrupted_multipart_upload_is_aborted(s3_store, s3, bucket):
    def failing():
        yield os.urandom(11 * MiB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        s3_store.write_stream("half.bin", failing())
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_part_that_fails_aborts_the_upload(s3_store, s3, bucket, monkeypatch):
    def broken_part(key, upload_id, number, data):
        if number == 2:
            raise OSError("network down")
        return type(s3_store)._upload_part(s3_store, key, upload_id, number, data)

    monkeypatch.setattr(s3_store, "_upload_part", broken_part)
    with pytest.raises(OSError, match="network down"):
        s3_store.write_stream("f.bin", iter([os.urandom(MiB) for _ in range(16)]))
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# ----------------------------------------------------------------------------- listing, deleting, keys
def test_listing_pages_through_list_objects_v2(s3_store, s3):
    for i in range(10):
        s3_store.write_stream(f"d/f{i}.txt", iter([b"x"]))
    s3_store._client = counting = _Counting(s3)
    s3_store.page_size = 3
    assert len(s3_store.list_artifacts("d")) == 10
    assert counting.calls["list_objects_v2"] == 4


def test_deletes_go_in_batches(s3_store, s3, bucket):
    for i in range(7):
        s3_store.write_stream(f"t/f{i}.txt", iter([b"x"]))
    s3_store._client = counting = _Counting(s3)
    s3_store.page_size = 3
    s3_store.delete_artifacts("t")
    assert counting.calls["delete_objects"] == 3  # 3 + 3 + 2 keys (the first batch carries 't' itself)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_keys_that_would_escape_are_neither_listed_nor_downloaded(s3_store, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="root/prefix/evil/../../../outside.txt", Body=b"pwned")
    s3.put_object(Bucket=bucket, Key="root/prefix/evil/ok.txt", Body=b"ok")
    s3.put_object(Bucket=bucket, Key="root/prefix/evil/marker/", Body=b"")  # a "folder" object
    dst = tmp_path / "dst" / "inner"
    s3_store.download_artifacts("evil", str(dst))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["dst/inner/evil/ok.txt"]
    assert [f.path for f in s3_store.list_artifacts("evil")] == ["evil/marker", "evil/ok.txt"]
    assert s3_store.list_artifacts("evil/marker") == []


# ----------------------------------------------------------------------------- presigned transfers
def test_presigned_multipart_upload_and_ranged_download(s3_store):
    from podium.store.artifacts.base import PresignedTransfers

    assert isinstance(s3_store, PresignedTransfers)
    data = os.urandom(11 * MiB)
    upload_id, urls = s3_store.create_multipart_upload("up/big.bin", 3)
    assert len(urls) == 3
    parts = []
    for number, url in enumerate(urls, start=1):
        chunk = data[(number - 1) * 5 * MiB:number * 5 * MiB]
        response = httpx.put(url, content=chunk, timeout=60)
        assert response.status_code == 200, response.text
        parts.append((number, response.headers["etag"]))
    s3_store.complete_multipart_upload("up/big.bin", upload_id, reversed(parts))  # any order
    url, size = s3_store.presigned_download_url("up/big.bin")
    assert size == len(data)
    ranged = httpx.get(url, headers={"Range": "bytes=100-199"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    with pytest.raises(ResourceDoesNotExist):
        s3_store.presigned_download_url("up/missing.bin")


def test_an_aborted_presigned_upload_leaves_nothing(s3_store, s3, bucket):
    upload_id, urls = s3_store.create_multipart_upload("a/x.bin", 2)
    assert httpx.put(urls[0], content=os.urandom(5 * MiB), timeout=60).status_code == 200
    s3_store.abort_multipart_upload("a/x.bin", upload_id)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not s3_store.exists("a/x.bin")


@pytest.mark.parametrize("num_parts", [0, 10_001])
def test_part_counts_outside_s3s_limits_are_refused(s3_store, num_parts):
    with pytest.raises(InvalidParameterValue):
        s3_store.create_multipart_upload("x.bin", num_parts)


def test_completing_with_a_wrong_etag_is_a_client_error(s3_store):
    upload_id, urls = s3_store.create_multipart_upload("w.bin", 1)
    httpx.put(urls[0], content=b"tiny", timeout=60)
    with pytest.raises(InvalidParameterValue):
        s3_store.complete_multipart_upload("w.bin", upload_id, [(1, '"0123456789abcdef0123456789abcdef"')])


# ----------------------------------------------------------------------------- embedded mode
def test_embedded_mode_keeps_run_and_model_artifacts_in_s3(s3_env, s3, bucket, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import podium

    monkeypatch.setenv("PODIUM_ARTIFACT_ROOT", f"s3://{bucket}/embedded")
    podium.set_tracking_uri(f"sqlite:///{tmp_path / 'podium.db'}")
    x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    with podium.start_run() as run:
        podium.log_text("hello", "notes/readme.txt")
        podium.sklearn.log_model(LogisticRegression().fit(x, y), name="model", registered_model_name="s3-model")
    assert run.info.artifact_uri.startswith(f"s3://{bucket}/embedded/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.endswith("/artifacts/notes/readme.txt") for k in keys)
    assert any(k.endswith("/MLmodel") for k in keys)
    assert not list(tmp_path.rglob("MLmodel"))  # nothing on the local disk
    local = podium.artifacts.download_artifacts(f"runs:/{run.info.run_id}/notes/readme.txt",
                                                dst_path=str(tmp_path / "dl"))
    assert open(local).read() == "hello"
    model = podium.sklearn.load_model("models:/s3-model/1")
    assert list(model.predict(x)) == [0, 0, 1, 1]


def test_boto3_is_imported_only_when_s3_is_used():
    import subprocess
    import sys

    code = ("import sys, podium, podium.compose, podium.server.app, podium.store.artifacts.s3; "
            "from podium.server.api import all_routes; all_routes(); "
            "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
