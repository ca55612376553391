"""The seed workflow driven by Podium's own client over HTTP (``import podium as mlflow``), and models
moving between the two clients through the same server.

Podium's ``ModelVersion.version`` is an ``int`` (a documented difference); the mlflow client sees
the same versions as strings.
"""

from __future__ import annotations

import importlib
import uuid
import warnings
from dataclasses import dataclass

import pytest

import podium as mlflow  # the drop-in: MLflow-style code, Podium underneath
import podium.pyfunc  # noqa: F401  (registers the lazy submodules)
import podium.sklearn  # noqa: F401

from .helpers import PIP_REQS, same_predictions, same_sklearn_model

real_mlflow = importlib.import_module("mlflow")
real_pyfunc = importlib.import_module("mlflow.pyfunc")
real_sklearn = importlib.import_module("mlflow.sklearn")

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(autouse=True)
def podium_on_server(server_url):
    """Podium's fluent API and default client on the server (the root conftest resets them per test)."""
    mlflow.set_tracking_uri(server_url)
    yield server_url


@dataclass
class PodiumSeed:
    name: str
    experiment_id: str
    run1: str
    run2: str
    model_id1: str
    model_id2: str
    info1: object
    mv2: object
    transitions: list
    m1: object
    m2: object


@pytest.fixture(scope="module")
def pseed(server_url, wine, models):
    m1, m2 = models
    token = uuid.uuid4().hex[:8]
    name = f"podium-wine-{token}"
    mlflow.set_tracking_uri(server_url)
    experiment = mlflow.set_experiment(f"podium-seed-{token}")
    with mlflow.start_run(run_name="wine-lr-1") as run1:
        mlflow.log_params({"C": 1.0, "max_iter": 1000})
        for step, value in enumerate([0.8, 0.9, 0.95]):
            mlflow.log_metric("accuracy", value, step=step)
        mlflow.set_tag("team", "wine")
        mlflow.log_text("hello from run 1\n", "notes/readme.txt")
        info1 = mlflow.sklearn.log_model(m1, name="model", registered_model_name=name, input_example=wine.X[:3])
    with mlflow.start_run(run_name="wine-lr-2") as run2:
        mlflow.log_param("C", 0.05)
        info2 = mlflow.sklearn.log_model(m2, "model")  # the positional artifact_path form
    mv2 = mlflow.register_model(f"runs:/{run2.info.run_id}/model", name)
    client = mlflow.MlflowClient()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        transitions = [
            client.transition_model_version_stage(name, 2, "Staging"),
            client.transition_model_version_stage(name, 2, "Production"),
            client.transition_model_version_stage(name, 1, "Production"),
            client.transition_model_version_stage(name, 2, "Production", archive_existing_versions=True),
        ]
    client.set_registered_model_alias(name, "champion", 2)
    return PodiumSeed(name, experiment.experiment_id, run1.info.run_id, run2.info.run_id, info1.model_id,
                      info2.model_id, info1, mv2, transitions, m1, m2)


def test_log_model_registers_version_1(pseed):
    assert int(pseed.info1.registered_model_version) == 1
    mv = mlflow.MlflowClient().get_model_version(pseed.name, 1)
    assert mv.source == f"models:/{pseed.model_id1}"
    assert mv.run_id == pseed.run1
    assert mv.current_stage == "Archived"


def test_register_model_from_runs_uri(pseed):
    assert int(pseed.mv2.version) == 2
    assert pseed.mv2.run_id == pseed.run2
    assert pseed.mv2.source == f"models:/{pseed.model_id2}"
    assert mlflow.get_logged_model(pseed.model_id2).name == "model"


def test_stage_transitions(pseed):
    assert [mv.current_stage for mv in pseed.transitions] == ["Staging", "Production", "Production", "Production"]
    found = mlflow.search_model_versions(filter_string=f"name = '{pseed.name}'")
    stages = {int(v.version): v.current_stage for v in found}
    assert stages == {1: "Archived", 2: "Production"}


@pytest.mark.parametrize(
    "uri, which",
    [
        ("models:/{name}/Production", 2),
        ("models:/{name}/2", 2),
        ("models:/{name}/1", 1),
        ("models:/{name}@champion", 2),
        ("models:/{name}/latest", 2),
        ("models:/{model_id1}", 1),
        ("runs:/{run1}/model", 1),
        ("runs:/{run2}/model", 2),
    ],
)
def test_load_sklearn_and_pyfunc(pseed, wine, uri, which):
    uri = uri.format(name=pseed.name, model_id1=pseed.model_id1, run1=pseed.run1, run2=pseed.run2)
    trained = pseed.m1 if which == 1 else pseed.m2
    same_sklearn_model(mlflow.sklearn.load_model(uri), trained, wine.X)
    same_predictions(mlflow.pyfunc.load_model(uri), trained, wine.X)


def test_descriptions_tags_and_queries(pseed):
    client = mlflow.MlflowClient()
    assert client.update_model_version(pseed.name, 2, description="promoted").description == "promoted"
    client.set_model_version_tag(pseed.name, 2, "approved_by", "luca")
    client.set_registered_model_tag(pseed.name, "task", "classification")
    client.update_registered_model(pseed.name, description="Wine classifier")
    mv = client.get_model_version(pseed.name, 2)
    assert (mv.description, mv.tags, mv.aliases) == ("promoted", {"approved_by": "luca"}, ["champion"])
    rm = client.get_registered_model(pseed.name)
    assert (rm.description, rm.tags, rm.aliases) == ("Wine classifier", {"task": "classification"}, {"champion": 2})
    latest = client.get_latest_versions(pseed.name, stages=["Production"])
    assert [int(v.version) for v in latest] == [2]
    lm2 = mlflow.get_logged_model(pseed.model_id2)
    assert client.get_model_version_download_uri(pseed.name, 2) == lm2.artifact_location
    assert [rm.name for rm in client.search_registered_models(filter_string=f"name = '{pseed.name}'")] == [pseed.name]

    # the real mlflow client sees the same registry state
    real = real_mlflow.MlflowClient()
    mv = real.get_model_version(pseed.name, "2")
    assert (mv.description, mv.tags, mv.aliases, mv.current_stage) == (
        "promoted", {"approved_by": "luca"}, ["champion"], "Production"
    )


def test_runs_metrics_artifacts(pseed, tmp_path):
    client = mlflow.MlflowClient()
    history = client.get_metric_history(pseed.run1, "accuracy")
    assert [(m.step, m.value) for m in history] == [(0, 0.8), (1, 0.9), (2, 0.95)]
    run = client.get_run(pseed.run1)
    assert run.data.params == {"C": "1.0", "max_iter": "1000"}
    assert run.data.tags["team"] == "wine"
    assert [(f.path, f.is_dir) for f in client.list_artifacts(pseed.run1)] == [("notes", True)]
    local = client.download_artifacts(pseed.run1, "notes/readme.txt", str(tmp_path))
    assert open(local).read() == "hello from run 1\n"
    runs = mlflow.search_runs([pseed.experiment_id], order_by=["start_time DESC"])
    assert list(runs["run_id"]) == [pseed.run2, pseed.run1]
    # what Podium logged is what the real client reads
    real_run = real_mlflow.MlflowClient().get_run(pseed.run1)
    assert real_run.data.params == run.data.params
    assert [o.model_id for o in real_run.outputs.model_outputs] == [pseed.model_id1]
    assert real_mlflow.artifacts.load_text(f"runs:/{pseed.run1}/notes/readme.txt") == "hello from run 1\n"


# --------------------------------------------------------------------- across the two clients
def test_model_logged_by_mlflow_loads_in_podium(unique, models, wine):
    m1, _ = models
    name = unique("from-mlflow")
    real_mlflow.set_experiment(unique("exp"))
    with real_mlflow.start_run():
        info = real_sklearn.log_model(m1, name="model", registered_model_name=name, pip_requirements=PIP_REQS)
    real_mlflow.MlflowClient().set_registered_model_alias(name, "champion", info.registered_model_version)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    same_predictions(loaded, m1, wine.X)
    same_sklearn_model(mlflow.sklearn.load_model(f"models:/{name}/1"), m1, wine.X)
    same_predictions(mlflow.pyfunc.load_model(f"models:/{info.model_id}"), m1, wine.X)
    mv = mlflow.MlflowClient().get_model_version_by_alias(name, "champion")
    assert int(mv.version) == 1 and mv.source == f"models:/{info.model_id}"


def test_model_logged_by_podium_loads_in_mlflow(unique, models, wine):
    _, m2 = models
    name = unique("from-podium")
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(m2, name="model", registered_model_name=name, input_example=wine.X[:2])
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", 1)
    same_predictions(real_pyfunc.load_model(f"models:/{name}@champion"), m2, wine.X)
    same_sklearn_model(real_sklearn.load_model(f"models:/{name}/1"), m2, wine.X)
    same_predictions(real_pyfunc.load_model(f"runs:/{run.info.run_id}/model"), m2, wine.X)
    same_predictions(real_pyfunc.load_model(f"models:/{info.model_id}"), m2, wine.X)


def test_podium_client_errors_over_http(unique):
    client = mlflow.MlflowClient()
    with pytest.raises(mlflow.MlflowException) as e:
        client.get_registered_model(unique("missing"))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    name = unique("dup")
    client.create_registered_model(name)
    with pytest.raises(mlflow.MlflowException) as e:
        client.create_registered_model(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(mlflow.MlflowException) as e:
        client.get_model_version_by_alias(name, "nope")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_big_download_reads_a_mebibyte_at_a_time_and_only_while_it_lasts(unique, tmp_path, monkeypatch):
    """A body over 1 MiB is received up to 1 MiB per read (httpcore asks for 64 KiB); the file is
    whole, and the connection's next answer is read as httpcore reads it."""
    import os

    from httpcore._backends.sync import SyncStream

    asked: list[int] = []
    read = SyncStream.read

    def counting(self, max_bytes, timeout=None):
        asked.append(max_bytes)
        return read(self, max_bytes, timeout)

    monkeypatch.setattr(SyncStream, "read", counting)
    client = mlflow.MlflowClient()
    run = client.create_run(client.create_experiment(unique("downloads"))).info.run_id
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 << 20) + b"end")
    client.log_artifact(run, str(source), "data")
    asked.clear()
    local = client.download_artifacts(run, "data/big.bin", str(tmp_path / "out"))
    assert open(local, "rb").read() == source.read_bytes()
    assert max(asked) == 1 << 20
    asked.clear()
    client.list_artifacts(run, "data")  # the same pooled connection, back to its own reads
    assert asked and max(asked) == 64 << 10
