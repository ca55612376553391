"""PodiumClient (MlflowClient) and the fluent API in embedded mode, on a real database and real files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

import podium
from podium import MlflowClient, PodiumClient
from podium.domain.entities import Metric, Param, RunTag
from podium.errors import ArchivedAliasWarning, InvalidParameterValue, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist


def _files(path) -> list[str]:
    path = Path(path)
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A local model directory as a flavor would write it."""
    path = tmp_path / "local-model"
    (path / "data").mkdir(parents=True)
    (path / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (path / "data" / "model.pkl").write_bytes(b"\x80\x04weights")
    return path


@pytest.fixture
def logged_run(client, model_dir):
    """A finished run with a text artifact and a READY logged model "model" (as log_model does)."""
    experiment_id = client.create_experiment("exp")
    run = client.create_run(experiment_id, run_name="train")
    run_id = run.info.run_id
    client.log_param(run_id, "C", 1.0)
    client.log_metric(run_id, "accuracy", 0.9, step=0)
    client.log_text(run_id, "hello notes", "notes/readme.txt")
    model = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    client.log_model_artifacts(model.model_id, str(model_dir))
    client.finalize_logged_model(model.model_id, "READY")
    client.set_terminated(run_id)
    return run_id, model


# ============================================================================ client basics
def test_mlflow_client_is_podium_client(client, db_url):
    assert MlflowClient is PodiumClient
    assert client.tracking_uri == db_url
    assert podium.get_tracking_uri() == db_url
    assert PodiumClient().tracking_uri == db_url  # the fluent tracking URI is the default


def test_client_registry_round_trip(client):
    model = client.create_registered_model("wine", tags={"n": 1}, description="d")
    assert (model.name, model.tags, model.description) == ("wine", {"n": "1"}, "d")
    version = client.create_model_version("wine", "/models/wine", tags={"k": "v"})
    assert (version.version, version.current_stage) == (1, "None")
    client.set_registered_model_alias("wine", "champion", "1")
    assert client.get_model_version_by_alias("wine", "champion").version == 1
    client.set_model_version_tag("wine", "1", "approved_by", "luca")
    client.update_model_version("wine", 1, description="first")
    fetched = client.get_model_version("wine", "1")
    assert (fetched.tags, fetched.description, fetched.aliases) == (
        {"k": "v", "approved_by": "luca"},
        "first",
        ["champion"],
    )
    assert client.get_model_version_download_uri("wine", 1) == "/models/wine"
    renamed = client.rename_registered_model("wine", "wine2")
    assert renamed.name == "wine2"
    assert [m.name for m in client.search_registered_models("name LIKE 'wine%'")] == ["wine2"]
    assert [v.version for v in client.search_model_versions("name = 'wine2'")] == [1]
    client.delete_registered_model_alias("wine2", "champion")
    client.delete_model_version("wine2", 1)
    client.delete_registered_model("wine2")
    with pytest.raises(ResourceDoesNotExist):
        client.get_registered_model("wine2")


def test_client_stage_calls_warn_like_mlflow(client):
    client.create_registered_model("wine")
    client.create_model_version("wine", "/x")
    with pytest.warns(FutureWarning):
        moved = client.transition_model_version_stage("wine", 1, "staging")
    assert moved.current_stage == "Staging"
    with pytest.warns(FutureWarning):
        assert [v.version for v in client.get_latest_versions("wine", ["Staging"])] == [1]


def test_client_warns_when_a_transition_archives_an_aliased_version(client):
    client.create_registered_model("wine")
    client.create_model_version("wine", "/x")
    client.set_registered_model_alias("wine", "champion", 1)
    with pytest.warns(ArchivedAliasWarning, match="alias 'champion' points at version 1, now Archived"), \
            pytest.warns(FutureWarning):
        assert client.transition_model_version_stage("wine", 1, "Archived").current_stage == "Archived"


def test_client_model_version_tag_by_stage(client):
    client.create_registered_model("wine")
    client.create_model_version("wine", "/x")
    client.create_model_version("wine", "/y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage("wine", 2, "Production")
    client.set_model_version_tag("wine", key="k", value="v", stage="Production")
    assert client.get_model_version("wine", 2).tags == {"k": "v"}
    client.delete_model_version_tag("wine", key="k", stage="production")
    assert client.get_model_version("wine", 2).tags == {}
    with pytest.raises(InvalidParameterValue):
        client.set_model_version_tag("wine", 1, "k", "v", stage="Production")
    with pytest.raises(ResourceDoesNotExist):
        client.set_model_version_tag("wine", key="k", value="v", stage="Staging")


def test_client_copy_model_version(client):
    client.create_registered_model("src")
    client.create_model_version("src", "/models/src", tags={"k": "v"})
    copy = client.copy_model_version("models:/src/1", "dst")
    assert (copy.name, copy.version, copy.tags) == ("dst", 1, {"k": "v"})
    assert client.get_model_version_download_uri("dst", 1) == "/models/src"


def test_client_create_model_version_infers_model_id_from_a_models_source(client, logged_run):
    run_id, model = logged_run
    client.create_registered_model("wine")
    version = client.create_model_version("wine", f"models:/{model.model_id}")
    assert (version.run_id, version.model_id) == (run_id, model.model_id)
    assert client.get_model_version_download_uri("wine", 1) == model.artifact_location


def test_client_runs_and_metrics(client):
    experiment_id = client.create_experiment("exp", tags={"team": "ml"})
    run = client.create_run(experiment_id, tags={"team": "wine"}, run_name="r1")
    run_id = run.info.run_id
    assert run.info.run_name == "r1" and run.data.tags["mlflow.runName"] == "r1"
    assert run.info.user_id  # the current user
    assert client.log_param(run_id, "C", 1.0) == 1.0
    for step, value in enumerate([0.5, 0.7, 0.9]):
        client.log_metric(run_id, "accuracy", value, timestamp=1000 + step, step=step)
    client.set_tag(run_id, "stage", 2)
    client.log_batch(run_id, metrics=[Metric("loss", 0.1, 5, 0)], params=[Param("kernel", "rbf")],
                     tags=[RunTag("extra", "x")])
    data = client.get_run(run_id).data
    assert data.params == {"C": "1.0", "kernel": "rbf"}
    assert data.metrics == {"accuracy": 0.9, "loss": 0.1}
    assert (data.tags["stage"], data.tags["extra"], data.tags["team"]) == ("2", "x", "wine")
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "accuracy")] == [(0, 0.5), (1, 0.7), (2, 0.9)]
    client.delete_tag(run_id, "extra")
    client.update_run(run_id, status="FINISHED", name="renamed")
    info = client.get_run(run_id).info
    assert (info.status, info.run_name) == ("FINISHED", "renamed")
    assert info.end_time is not None
    with pytest.raises(InvalidParameterValue):
        client.log_param(run_id, "C", 2.0)


def test_client_get_metric_history_follows_pages(client):
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, metrics=[Metric("m", float(i), i, i) for i in range(1000)])
    client.log_batch(run_id, metrics=[Metric("m", float(i), i, i) for i in range(1000, 1500)])
    history = client.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(1500))


def test_client_search_runs_pages(client):
    run_ids = [client.create_run("0", start_time=1000 + i).info.run_id for i in range(3)]
    first = client.search_runs("0", max_results=2)
    assert [r.info.run_id for r in first] == run_ids[::-1][:2] and first.token
    rest = client.search_runs(["0"], max_results=2, page_token=first.token)
    assert [r.info.run_id for r in rest] == [run_ids[0]] and rest.token is None


def test_client_parent_run(client):
    parent = client.create_run("0").info.run_id
    child = client.create_run("0", tags={"mlflow.parentRunId": parent}).info.run_id
    assert client.get_parent_run(child).info.run_id == parent
    assert client.get_parent_run(parent) is None


def test_client_experiments(client, artifact_root):
    experiment_id = client.create_experiment("exp")
    experiment = client.get_experiment(experiment_id)
    assert experiment.artifact_location == f"{artifact_root}/{experiment_id}"
    assert client.get_experiment_by_name("exp") == experiment
    assert client.get_experiment_by_name("nope") is None
    client.set_experiment_tag(experiment_id, "k", "v")
    client.rename_experiment(experiment_id, "exp2")
    client.delete_experiment(experiment_id)
    assert [e.name for e in client.search_experiments(view_type="DELETED_ONLY")] == ["exp2"]
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).tags == {"k": "v"}
    with pytest.raises(ResourceAlreadyExists):
        client.create_experiment("exp2")


def test_client_logged_models(client):
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="model", source_run_id=run_id, params={"C": 1})
    client.set_logged_model_tags(model.model_id, {"a": 1})
    client.log_model_params(model.model_id, {"k": "v"})
    client.finalize_logged_model(model.model_id, "READY")
    fetched = client.get_logged_model(model.model_id)
    assert (fetched.status, fetched.tags, fetched.params) == ("LOGGED_MODEL_READY", {"a": "1"}, {"C": "1", "k": "v"})
    found = client.search_logged_models(["0"], filter_string=f"name = 'model' AND source_run_id = '{run_id}'")
    assert [m.model_id for m in found] == [model.model_id]
    client.delete_logged_model_tag(model.model_id, "a")
    client.delete_logged_model(model.model_id)
    with pytest.raises(ResourceDoesNotExist):
        client.get_logged_model(model.model_id)


# ============================================================================ artifacts
def test_client_log_text_and_dict(client, artifact_root):
    run = client.create_run("0")
    run_id = run.info.run_id
    client.log_text(run_id, "hello", "notes/readme.txt")
    client.log_text(run_id, "top", "top.txt")
    client.log_dict(run_id, {"a": 1, "b": [1, 2]}, "config/params.json")
    client.log_dict(run_id, {"a": 1, "b": [1, 2]}, "config/params.yaml")
    base = Path(run.info.artifact_uri)
    assert base == artifact_root / "0" / run_id / "artifacts"
    assert (base / "notes" / "readme.txt").read_text() == "hello"
    assert (base / "top.txt").read_text() == "top"
    assert json.loads((base / "config" / "params.json").read_text()) == {"a": 1, "b": [1, 2]}
    assert yaml.safe_load((base / "config" / "params.yaml").read_text()) == {"a": 1, "b": [1, 2]}


def test_client_log_artifact_and_artifacts(client, model_dir, tmp_path):
    run_id = client.create_run("0").info.run_id
    single = tmp_path / "one.txt"
    single.write_text("1")
    client.log_artifact(run_id, str(single))
    client.log_artifact(run_id, str(single), "nested/dir")
    client.log_artifact(run_id, str(model_dir), "dirs")  # a directory keeps its name
    client.log_artifacts(run_id, str(model_dir), "copied")
    listing = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in listing] == [
        ("copied", True),
        ("dirs", True),
        ("nested", True),
        ("one.txt", False),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "dirs/local-model")] == [
        "dirs/local-model/MLmodel",
        "dirs/local-model/data",
    ]
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "copied/data")] == [
        ("copied/data/model.pkl", len(b"\x80\x04weights"))
    ]
    assert client.list_artifacts(run_id, "one.txt") == []


def test_client_download_artifacts(client, model_dir, tmp_path):
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, str(model_dir), "model-files")
    client.log_text(run_id, "hello", "notes/readme.txt")
    local = client.download_artifacts(run_id, "notes/readme.txt", str(tmp_path / "a"))
    assert Path(local).read_text() == "hello"
    local = client.download_artifacts(run_id, "model-files", str(tmp_path / "b"))
    assert Path(local).name == "model-files"
    assert _files(local) == ["MLmodel", "data/model.pkl"]
    with pytest.raises(ResourceDoesNotExist):
        client.download_artifacts(run_id, "missing.txt", str(tmp_path / "c"))


def test_run_artifacts_do_not_list_the_logged_model(client, logged_run):
    run_id, _ = logged_run
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [("notes", True)]
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "notes")] == [("notes/readme.txt", 11)]


def test_list_artifacts_falls_back_to_the_logged_model_of_that_name(client, logged_run):
    run_id, model = logged_run
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "model")] == [
        ("model/MLmodel", False),
        ("model/data", True),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "model/data")] == ["model/data/model.pkl"]
    assert client.list_artifacts(run_id, "no-such-model") == []
    assert [f.path for f in client.list_logged_model_artifacts(model.model_id)] == ["MLmodel", "data"]


def test_download_runs_uri_falls_back_to_the_logged_model(client, logged_run, tmp_path):
    run_id, _ = logged_run
    local = podium.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=str(tmp_path / "dl"))
    assert _files(local) == ["MLmodel", "data/model.pkl"]
    assert (Path(local) / "data" / "model.pkl").read_bytes() == b"\x80\x04weights"
    local = client.download_artifacts(run_id, "model/MLmodel", str(tmp_path / "one"))
    assert Path(local).read_text().startswith("artifact_path: model")
    local = podium.artifacts.download_artifacts(run_id=run_id, artifact_path="model/data", dst_path=str(tmp_path / "d"))
    assert _files(local) == ["model.pkl"]


def test_download_runs_uri_prefers_the_run_own_artifacts(client, logged_run, tmp_path):
    run_id, _ = logged_run
    other = tmp_path / "f.txt"
    other.write_text("run's own")
    client.log_artifact(run_id, str(other), "model")
    local = client.download_artifacts(run_id, "model/f.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "run's own"


def test_download_runs_uri_of_a_logged_model_lands_under_its_name(client, logged_run, tmp_path):
    run_id, _ = logged_run
    dst = tmp_path / "dl"
    local = client.download_artifacts(run_id, "model", str(dst))
    assert Path(local) == dst / "model"
    assert _files(dst) == ["model/MLmodel", "model/data/model.pkl"]


def test_download_of_a_whole_run_lands_in_dst(client, logged_run, tmp_path):
    run_id, _ = logged_run
    dst = tmp_path / "dl"
    local = client.download_artifacts(run_id, "", str(dst))
    assert Path(local) == dst
    assert _files(dst) == ["notes/readme.txt"]


def test_download_models_uris(client, logged_run, tmp_path):
    run_id, model = logged_run
    for name in ("wine",):
        client.create_registered_model(name)
        client.create_model_version(name, f"models:/{model.model_id}", model_id=model.model_id)
    client.set_registered_model_alias("wine", "champion", 1)
    for i, uri in enumerate(
        [f"models:/{model.model_id}", "models:/wine/1", "models:/wine@champion", "models:/wine/latest",
         "models:/wine/None"]
    ):
        local = podium.artifacts.download_artifacts(uri, dst_path=str(tmp_path / str(i)))
        assert _files(local) == ["MLmodel", "data/model.pkl"], uri
    local = podium.artifacts.download_artifacts("models:/wine/1/MLmodel", dst_path=str(tmp_path / "file"))
    assert Path(local).name == "MLmodel"
    with pytest.raises(ResourceDoesNotExist):
        podium.artifacts.download_artifacts("models:/wine/Production", dst_path=str(tmp_path / "x"))


def test_download_a_version_registered_from_runs_uri_without_logged_model(client, model_dir, tmp_path):
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, str(model_dir), "sk-model")
    client.create_registered_model("wine")
    client.create_model_version("wine", f"runs:/{run_id}/sk-model", run_id=run_id)
    local = podium.artifacts.download_artifacts("models:/wine/1", dst_path=str(tmp_path / "dl"))
    assert _files(local) == ["MLmodel", "data/model.pkl"]


# ============================================================================ registration
def test_register_model_from_runs_uri_uses_the_logged_model(client, logged_run):
    run_id, model = logged_run
    version = podium.register_model(f"runs:/{run_id}/model", "wine")
    assert (version.name, version.version) == ("wine", 1)
    assert version.source == f"models:/{model.model_id}"
    assert (version.run_id, version.model_id) == (run_id, model.model_id)
    assert client.get_model_version_download_uri("wine", 1) == model.artifact_location
    tag = json.loads(client.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert tag == [{"name": "wine", "version": 1}]


def test_register_model_twice_creates_the_next_version(client, logged_run):
    run_id, model = logged_run
    podium.register_model(f"runs:/{run_id}/model", "wine")
    second = podium.register_model(f"models:/{model.model_id}", "wine", tags={"k": "v"})
    assert (second.version, second.run_id, second.model_id, second.tags) == (2, run_id, model.model_id, {"k": "v"})
    tag = json.loads(client.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert tag == [{"name": "wine", "version": 1}, {"name": "wine", "version": 2}]


def test_register_model_from_runs_uri_without_logged_model_keeps_the_runs_source(client, model_dir):
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, str(model_dir), "files")
    version = podium.register_model(f"runs:/{run_id}/files", "wine")
    assert (version.source, version.run_id, version.model_id) == (f"runs:/{run_id}/files", run_id, None)


def test_register_model_from_models_uri_of_a_logged_model(client, logged_run):
    run_id, model = logged_run
    version = podium.register_model(model.model_uri, "wine")
    assert (version.source, version.run_id, version.model_id) == (model.model_uri, run_id, model.model_id)


def test_register_model_from_a_registry_uri_copies_the_storage(client, logged_run):
    _, model = logged_run
    podium.register_model(model.model_uri, "wine")
    version = podium.register_model("models:/wine/1", "wine-prod")
    assert client.get_model_version_download_uri("wine-prod", version.version) == model.artifact_location


def test_register_model_with_invalid_name_is_rejected(client, logged_run):
    _, model = logged_run
    with pytest.raises(InvalidParameterValue):
        podium.register_model(model.model_uri, "bad/name")


# ============================================================================ fluent runs
def test_start_run_context_manager_finishes_the_run(client):
    with podium.start_run(run_name="fluent") as run:
        assert podium.active_run().info.run_id == run.info.run_id
        podium.log_param("C", 1.0)
        podium.log_params({"kernel": "rbf", "n": 3})
        podium.log_metric("accuracy", 0.5, step=0)
        podium.log_metric("accuracy", 0.9, step=1)
        podium.log_metrics({"loss": 0.1, "f1": 0.8}, step=1)
        podium.set_tag("team", "wine")
        podium.set_tags({"a": 1, "b": "2"})
    assert podium.active_run() is None
    finished = client.get_run(run.info.run_id)
    assert finished.info.status == "FINISHED"
    assert finished.info.end_time is not None and finished.info.end_time >= finished.info.start_time
    assert finished.info.run_name == "fluent" and finished.info.experiment_id == "0"
    assert finished.data.params == {"C": "1.0", "kernel": "rbf", "n": "3"}
    assert finished.data.metrics == {"accuracy": 0.9, "loss": 0.1, "f1": 0.8}
    tags = finished.data.tags
    assert (tags["team"], tags["a"], tags["b"], tags["mlflow.source.type"]) == ("wine", "1", "2", "LOCAL")
    assert "mlflow.user" in tags and "mlflow.source.name" in tags
    assert podium.last_active_run().info.run_id == run.info.run_id


def test_start_run_context_manager_marks_the_run_failed_on_exception(client):
    with pytest.raises(ZeroDivisionError):
        with podium.start_run() as run:
            podium.log_param("before", "error")
            1 / 0  # noqa: B018
    assert podium.active_run() is None
    failed = client.get_run(run.info.run_id)
    assert failed.info.status == "FAILED"
    assert failed.data.params == {"before": "error"}


def test_nested_runs_record_their_parent(client):
    with podium.start_run(run_name="parent") as parent:
        with pytest.raises(PodiumError) as info:
            podium.start_run()
        assert info.value.error_code == "INVALID_STATE" and info.value.http_status == 400
        with podium.start_run(run_name="child", nested=True) as child:
            assert podium.active_run().info.run_id == child.info.run_id
            podium.log_param("level", "child")
        assert podium.active_run().info.run_id == parent.info.run_id
        podium.log_param("level", "parent")
    child_run = client.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child_run.data.params == {"level": "child"}
    assert client.get_run(parent.info.run_id).data.params == {"level": "parent"}
    assert {client.get_run(r.info.run_id).info.status for r in (parent, child)} == {"FINISHED"}


def test_end_run_with_status_and_without_active_run(client):
    run = podium.start_run()
    podium.end_run("KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    podium.end_run()  # nothing active: a no-op


def test_logging_without_an_active_run_starts_one(client):
    podium.log_param("implicit", "yes")
    run = podium.active_run()
    assert run is not None
    podium.end_run()
    assert client.get_run(run.info.run_id).data.params == {"implicit": "yes"}


def test_start_run_resumes_an_existing_run(client):
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id)
    with podium.start_run(run_id=run_id) as run:
        assert run.info.status == "RUNNING"
        podium.log_param("resumed", "yes")
    assert client.get_run(run_id).info.status == "FINISHED"


def test_start_run_with_tags_and_description(client):
    with podium.start_run(tags={"k": "v"}, description="notes") as run:
        pass
    tags = client.get_run(run.info.run_id).data.tags
    assert (tags["k"], tags["mlflow.note.content"]) == ("v", "notes")


def test_fluent_artifacts(client, model_dir, tmp_path):
    single = tmp_path / "one.txt"
    single.write_text("1")
    with podium.start_run() as run:
        podium.log_text("hello", "notes/readme.txt")
        podium.log_dict({"a": 1}, "cfg.json")
        podium.log_artifact(str(single), "files")
        podium.log_artifacts(str(model_dir), "model-files")
        uri = podium.get_artifact_uri()
        assert podium.get_artifact_uri("notes/readme.txt") == f"{uri}/notes/readme.txt"
    run_id = run.info.run_id
    assert uri == client.get_run(run_id).info.artifact_uri
    assert [f.path for f in client.list_artifacts(run_id)] == ["cfg.json", "files", "model-files", "notes"]
    local = podium.artifacts.download_artifacts(f"runs:/{run_id}/notes/readme.txt", dst_path=str(tmp_path / "d"))
    assert Path(local).read_text() == "hello"


def test_set_experiment_creates_and_activates_an_experiment(client):
    experiment = podium.set_experiment("wine-seed")
    assert experiment.name == "wine-seed" and experiment.lifecycle_stage == "active"
    assert client.get_experiment_by_name("wine-seed").experiment_id == experiment.experiment_id
    with podium.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    again = podium.set_experiment("wine-seed")
    assert again.experiment_id == experiment.experiment_id
    by_id = podium.set_experiment(experiment_id=experiment.experiment_id)
    assert by_id.name == "wine-seed"


def test_set_experiment_refuses_a_deleted_experiment(client):
    experiment_id = client.create_experiment("gone")
    client.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        podium.set_experiment("gone")
    with pytest.raises(InvalidParameterValue):
        podium.set_experiment()


def test_set_tracking_uri_resets_the_active_experiment(client, db_url):
    podium.set_experiment("wine-seed")
    podium.set_tracking_uri(db_url)
    with podium.start_run() as run:
        pass
    assert run.info.experiment_id == "0"


def test_search_runs_as_pandas_and_list(client):
    experiment = podium.set_experiment("wine-seed")
    for i, (c, accuracy) in enumerate([("1.0", 0.9), ("0.5", 0.7), ("2.0", None)]):
        with podium.start_run(run_name=f"r{i}"):
            podium.log_param("C", c)
            if accuracy is not None:
                podium.log_metric("accuracy", accuracy)
    frame = podium.search_runs([experiment.experiment_id], "metrics.accuracy > 0", order_by=["metrics.accuracy DESC"])
    assert list(frame["params.C"]) == ["1.0", "0.5"]
    assert list(frame["metrics.accuracy"]) == [0.9, 0.7]
    assert {"run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
            "tags.mlflow.runName"} <= set(frame.columns)
    assert list(frame["status"]) == ["FINISHED", "FINISHED"]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    runs = podium.search_runs(filter_string="params.C = '2.0'", output_format="list")
    assert [r.info.run_name for r in runs] == ["r2"]
    assert len(podium.search_runs(experiment_names=["wine-seed"], output_format="list")) == 3
    assert podium.search_runs(filter_string="params.C = 'none'").empty
    with pytest.raises(InvalidParameterValue):
        podium.search_runs(output_format="csv")


def test_search_runs_max_results_and_all_experiments(client):
    podium.set_experiment("a")
    for _ in range(3):
        with podium.start_run():
            pass
    podium.set_experiment("b")
    with podium.start_run():
        pass
    assert len(podium.search_runs(max_results=2, output_format="list")) == 1
    assert len(podium.search_runs(search_all_experiments=True, output_format="list")) == 4
    assert len(podium.search_runs(experiment_names=["a"], max_results=2, output_format="list")) == 2


def test_fluent_registry_searches_follow_pages(client):
    for i in range(3):
        client.create_registered_model(f"m{i}")
        client.create_model_version(f"m{i}", "/x")
    assert [m.name for m in podium.search_registered_models()] == ["m0", "m1", "m2"]
    assert [m.name for m in podium.search_registered_models(max_results=2)] == ["m0", "m1"]
    assert len(podium.search_model_versions(filter_string="name LIKE 'm%'")) == 3
    assert len(podium.search_model_versions(max_results=1)) == 1


def test_fluent_experiments_and_logged_models(client):
    experiment_id = podium.create_experiment("fluent-exp")
    assert podium.get_experiment(experiment_id).name == "fluent-exp"
    assert podium.get_experiment_by_name("fluent-exp").experiment_id == experiment_id
    assert "fluent-exp" in [e.name for e in podium.search_experiments()]
    run_id = client.create_run(experiment_id).info.run_id
    model = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    assert podium.get_logged_model(model.model_id).name == "model"
    frame = podium.search_logged_models([experiment_id])
    assert list(frame["model_id"]) == [model.model_id]
    assert [m.model_id for m in podium.search_logged_models([experiment_id], output_format="list")] == [model.model_id]
    podium.delete_experiment(experiment_id)
    assert podium.get_experiment(experiment_id).lifecycle_stage == "deleted"


def test_clients_on_two_databases_stay_apart(client, tmp_path):
    other_url = f"sqlite:///{(tmp_path / 'other' / 'other.db').as_posix()}"
    other = PodiumClient(other_url)
    other.create_registered_model("only-in-other")
    assert [m.name for m in other.search_registered_models()] == ["only-in-other"]
    assert client.search_registered_models() == []


# ============================================================================ quotes in artifact paths
def test_list_artifacts_of_a_missing_path_with_a_quote_is_empty(client):
    run_id = client.create_run("0").info.run_id
    assert client.list_artifacts(run_id, "o'brien") == []


def test_download_of_a_missing_file_with_a_quote_is_not_found(client, tmp_path):
    run_id = client.create_run("0").info.run_id
    with pytest.raises(ResourceDoesNotExist):
        client.download_artifacts(run_id, "o'brien.txt", str(tmp_path / "dl"))


def test_artifact_files_with_quotes_in_their_names_work(client, tmp_path):
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "hi", "notes/o'brien.txt")
    assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/o'brien.txt"]
    assert Path(client.download_artifacts(run_id, "notes/o'brien.txt", str(tmp_path / "dl"))).read_text() == "hi"


def test_register_model_from_runs_uri_naming_a_logged_model_with_a_quote(client, model_dir):
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="it's", source_run_id=run_id)
    client.log_model_artifacts(model.model_id, str(model_dir))
    version = podium.register_model(f"runs:/{run_id}/it's", "quoted")
    assert version.model_id == model.model_id


# ============================================================================ tracking URIs and backends
def test_set_tracking_uri_accepts_a_db_file_path(tmp_path):
    from podium.compose import backend_for

    path = tmp_path / "local" / "podium.db"
    podium.set_tracking_uri(str(path))
    assert podium.get_tracking_uri() == f"sqlite:///{path.resolve().as_posix()}"
    client = PodiumClient()
    run = client.create_run("0")
    # artifacts live beside the database unless PODIUM_ARTIFACT_ROOT says otherwise
    assert run.info.artifact_uri == f"{path.parent.resolve()}/artifacts/0/{run.info.run_id}/artifacts"
    assert backend_for(podium.get_tracking_uri()) is backend_for(podium.get_tracking_uri())


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    mlflow_url = f"sqlite:///{tmp_path / 'mlflow.db'}"
    podium_url = f"sqlite:///{tmp_path / 'podium.db'}"
    explicit = f"sqlite:///{tmp_path / 'explicit.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_url)
    assert podium.get_tracking_uri() == mlflow_url
    monkeypatch.setenv("PODIUM_TRACKING_URI", podium_url)
    assert podium.get_tracking_uri() == podium_url
    podium.set_tracking_uri(explicit)
    assert podium.get_tracking_uri() == explicit
    assert PodiumClient().tracking_uri == explicit


def test_registry_uri_can_point_at_another_database(client, tmp_path):
    other = f"sqlite:///{(tmp_path / 'registry' / 'r.db').as_posix()}"
    podium.set_registry_uri(other)
    split = PodiumClient()
    split.create_registered_model("only-in-registry-db")
    assert [m.name for m in PodiumClient(registry_uri=other).search_registered_models()] == ["only-in-registry-db"]
    assert client.search_registered_models() == []
    assert split.get_experiment("0").name == "Default"  # tracking stays on the tracking URI


@pytest.mark.parametrize(
    ("uri", "error"),
    [("./mlruns", InvalidParameterValue), ("ftp://host/x", PodiumError), ("file:///tmp/mlruns", PodiumError)],
)
def test_unsupported_tracking_uris_are_refused(uri, error):
    with pytest.raises(error):
        PodiumClient(uri).search_registered_models()


def test_active_runs_are_per_thread(client):
    import threading

    seen = []
    with podium.start_run():
        thread = threading.Thread(target=lambda: seen.append(podium.active_run()))
        thread.start()
        thread.join()
        assert podium.active_run() is not None
    assert seen == [None]


def test_a_download_is_written_as_it_arrives_and_a_compressed_one_is_decoded():
    """No Content-Encoding: the network's pieces go to the file as they come (no re-chunking copy); a
    body a proxy compressed is decoded first."""
    import gzip

    import httpx

    from podium.client.artifacts_http import _body_pieces

    plain = httpx.Response(200, stream=httpx.ByteStream(b"weights" * 1000))
    assert b"".join(_body_pieces(plain)) == b"weights" * 1000
    squeezed = httpx.Response(200, headers={"content-encoding": "gzip"},
                              stream=httpx.ByteStream(gzip.compress(b"weights" * 1000)))
    assert b"".join(_body_pieces(squeezed)) == b"weights" * 1000
