"""The real mlflow client against a Podium server: a registered version's files are immutable, and
what Podium loads from it is verified against the manifest the server recorded at registration."""

from __future__ import annotations

import pytest
import requests

import mlflow
from mlflow.exceptions import MlflowException

from .helpers import PIP_REQS

#: how mlflow's HTTP artifact repository reports a refused upload (it raises requests' error as is)
REFUSED = (MlflowException, requests.HTTPError)


def _log_and_register(wine, model, name: str):
    with mlflow.start_run() as run:
        mlflow.log_param("C", model.C)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, pip_requirements=PIP_REQS,
                                        input_example=wine.X.head(3))
    return run, info


def test_log_artifact_into_a_registered_runs_model_directory_fails(client, unique, tmp_path):
    """MLflow 2 style: files logged as run artifacts, registered from ``runs:/<run>/model``."""
    name = unique("immutable")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "weights.bin").write_bytes(b"\x01" * 1000)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    replacement = tmp_path / "weights.bin"
    replacement.write_bytes(b"\x02" * 1000)
    with mlflow.start_run(run_id=run.info.run_id):
        with pytest.raises(REFUSED, match="RESOURCE_CONFLICT"):
            mlflow.log_artifact(str(replacement), artifact_path="model")
        with pytest.raises(REFUSED, match="RESOURCE_CONFLICT"):
            mlflow.log_artifact(str(replacement), artifact_path="model/sub")
        mlflow.log_artifact(str(replacement), artifact_path="other")  # elsewhere in the run: fine
    local = mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model/weights.bin",
                                                dst_path=str(tmp_path / "d"))
    assert open(local, "rb").read() == b"\x01" * 1000


def test_a_logged_and_registered_models_location_refuses_uploads(client, unique, wine, models, tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    name = unique("immutable-lm")
    _, info = _log_and_register(wine, models[0], name)
    location = client.get_model_version_download_uri(name, "1")
    assert location.startswith("mlflow-artifacts:/")
    repo = get_artifact_repository(location)
    hacked = tmp_path / "MLmodel"
    hacked.write_text("flavors: {}\n")
    with pytest.raises(REFUSED, match="RESOURCE_CONFLICT"):
        repo.log_artifact(str(hacked))
    with pytest.raises(REFUSED, match="RESOURCE_CONFLICT"):
        repo.delete_artifacts("MLmodel")
    report = _podium_client(client).verify_model_version(name, 1)
    assert report["status"] == "intact"


def test_podium_compares_and_verifies_versions_logged_by_mlflow(client, unique, wine, models, podium_server):
    import podium
    from podium.errors import IntegrityCheckFailed

    name = unique("mlflow-compare")
    _log_and_register(wine, models[0], name)
    _log_and_register(wine, models[1], name)
    comparison = _podium_client(client).compare_model_versions(name, [1, 2])
    params = next(s for s in comparison["sections"] if s["name"] == "params")
    assert {r["key"]: r["values"] for r in params["rows"] if r["different"]} == {"C": ["1.0", "0.05"]}
    assert podium.sklearn.load_model(f"models:/{name}/2").C == 0.05
    # tamper with v2's stored model file behind the server's back
    location = client.get_model_version_download_uri(name, "2").removeprefix("mlflow-artifacts:/")
    directory = podium_server.artifacts / location
    victim = next(p for p in directory.iterdir() if p.name.startswith("model."))
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(IntegrityCheckFailed, match=victim.name):
        podium.sklearn.load_model(f"models:/{name}/2")


def _podium_client(client):
    from podium.client import PodiumClient

    return PodiumClient(client._tracking_client.tracking_uri)
