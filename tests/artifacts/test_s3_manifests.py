"""Integrity with an ``s3://`` artifact root (moto): manifests of versions stored in S3, tampering
behind the store's back detected, overwrites through the client refused."""

from __future__ import annotations

import hashlib

import pytest

import podium
from podium.artifacts import download_artifacts
from podium.errors import IntegrityCheckFailed, ResourceConflict


@pytest.fixture
def s3_client_on(db_url, bucket, monkeypatch):
    monkeypatch.setenv("PODIUM_ARTIFACT_ROOT", f"s3://{bucket}/podium")
    podium.set_tracking_uri(db_url)
    return podium.MlflowClient(db_url)


def test_versions_stored_in_s3_are_hashed_verified_and_protected(s3_client_on, s3, bucket, tmp_path):
    client = s3_client_on
    src = tmp_path / "model"
    src.mkdir()
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / "weights.bin").write_bytes(b"\x07" * 3000)
    run = client.create_run("0")
    client.log_artifacts(run.info.run_id, str(src), "model")
    client.create_registered_model("s3-model")
    client.create_model_version("s3-model", f"runs:/{run.info.run_id}/model", run.info.run_id)
    location = client.get_model_version_download_uri("s3-model", 1)
    assert location.startswith(f"s3://{bucket}/podium/")
    manifest = client.get_model_version_manifest("s3-model", 1)
    assert {f.path: f.sha256 for f in manifest.files} == {
        "MLmodel": hashlib.sha256(b"flavors: {}\n").hexdigest(),
        "weights.bin": hashlib.sha256(b"\x07" * 3000).hexdigest()}
    assert client.verify_model_version("s3-model", 1)["status"] == "intact"
    download_artifacts("models:/s3-model/1", tracking_uri=client.tracking_uri)

    with pytest.raises(ResourceConflict):
        client.log_artifact(run.info.run_id, str(src / "weights.bin"), "model")

    key = location.removeprefix(f"s3://{bucket}/") + "/weights.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=b"\x07" * 2999)  # behind Podium's back
    with pytest.raises(IntegrityCheckFailed, match="'weights.bin' is truncated"):
        client.verify_model_version("s3-model", 1)
    with pytest.raises(IntegrityCheckFailed, match="'weights.bin' is truncated"):
        download_artifacts("models:/s3-model/1", tracking_uri=client.tracking_uri)
