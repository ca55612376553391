"""Tracking through the real mlflow client: experiments, runs, metrics, logged models, artifacts."""

from __future__ import annotations

import hashlib
import json
import os
import time

import mlflow
import mlflow.artifacts
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from .helpers import PIP_REQS, same_predictions


@pytest.fixture
def c():
    return MlflowClient()


@pytest.fixture
def exp(c, unique):
    """A fresh experiment (id) for this test."""
    return c.create_experiment(unique("exp"))


# ---------------------------------------------------------------------------------- experiments
def test_create_get_experiment(c, unique):
    name = unique("exp")
    exp_id = c.create_experiment(name, tags={"team": "ml"})
    assert isinstance(exp_id, str)
    e = c.get_experiment(exp_id)
    assert (e.experiment_id, e.name, e.lifecycle_stage) == (exp_id, name, "active")
    assert e.artifact_location == f"mlflow-artifacts:/{exp_id}"
    assert e.tags == {"team": "ml"}
    assert e.creation_time > 0 and e.last_update_time >= e.creation_time
    by_name = c.get_experiment_by_name(name)
    assert by_name.experiment_id == exp_id
    assert c.get_experiment_by_name(unique("no-such-exp")) is None  # 404 -> None in the client
    assert mlflow.get_experiment_by_name(name).experiment_id == exp_id
    assert mlflow.get_experiment(exp_id).name == name


def test_set_experiment_creates_then_reuses(unique):
    name = unique("exp")
    first = mlflow.set_experiment(name)
    again = mlflow.set_experiment(name)
    assert first.experiment_id == again.experiment_id
    assert mlflow.set_experiment(experiment_id=first.experiment_id).name == name
    assert mlflow.create_experiment(unique("exp2")) != first.experiment_id


def test_search_experiments(c, unique):
    p = unique("sexp")
    ids = [c.create_experiment(f"{p}-{i}", tags={"i": str(i)}) for i in range(3)]
    found = c.search_experiments(filter_string=f"name LIKE '{p}-%'")
    assert sorted(e.experiment_id for e in found) == sorted(ids)
    found = c.search_experiments(filter_string=f"name LIKE '{p}-%'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"{p}-2", f"{p}-1", f"{p}-0"]
    found = c.search_experiments(filter_string=f"name LIKE '{p}-%' AND tags.i = '1'")
    assert [e.experiment_id for e in found] == [ids[1]]
    # paging
    pages, token = [], None
    for _ in range(10):
        page = c.search_experiments(filter_string=f"name LIKE '{p}-%'", max_results=1, page_token=token,
                                    order_by=["name ASC"])
        pages.append([e.name for e in page])
        token = page.token
        if not token:
            break
    assert pages == [[f"{p}-0"], [f"{p}-1"], [f"{p}-2"]]
    assert sorted(e.experiment_id for e in mlflow.search_experiments(filter_string=f"name LIKE '{p}-%'")) \
        == sorted(ids)


def test_delete_restore_rename_experiment(c, unique):
    name = unique("exp")
    exp_id = c.create_experiment(name)
    c.delete_experiment(exp_id)
    assert c.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = c.search_experiments(filter_string=f"name = '{name}'")
    deleted = c.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in active] == []
    assert [e.experiment_id for e in deleted] == [exp_id]
    c.restore_experiment(exp_id)
    assert c.get_experiment(exp_id).lifecycle_stage == "active"
    new = unique("renamed")
    c.rename_experiment(exp_id, new)
    assert c.get_experiment(exp_id).name == new
    assert c.get_experiment_by_name(new).experiment_id == exp_id
    assert c.get_experiment_by_name(name) is None


def test_deleting_an_experiment_deletes_its_runs(c, unique):
    exp_id = c.create_experiment(unique("exp"))
    run_id = c.create_run(exp_id).info.run_id
    c.delete_experiment(exp_id)
    assert c.get_run(run_id).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in c.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)] == [run_id]
    with pytest.raises(MlflowException) as e:
        c.log_metric(run_id, "m", 1.0)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    c.restore_experiment(exp_id)
    assert c.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in c.search_runs([exp_id])] == [run_id]


def test_deleted_experiment_rules(c, unique):
    name = unique("exp")
    exp_id = c.create_experiment(name)
    c.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:  # the name stays taken while the experiment is deleted
        c.create_experiment(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as e:
        c.create_run(exp_id)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="Cannot set a deleted experiment"):
        mlflow.set_experiment(name)
    other = c.create_experiment(unique("other"))
    with pytest.raises(MlflowException) as e:
        c.rename_experiment(other, name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_deleted_runs_reject_logging(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.delete_run(run_id)
    for call in (lambda: c.log_metric(run_id, "m", 1.0), lambda: c.log_param(run_id, "p", "1"),
                 lambda: c.set_tag(run_id, "t", "1"), lambda: c.log_batch(run_id, metrics=[Metric("m", 1, 0, 0)])):
        with pytest.raises(MlflowException) as e:
            call()
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        assert "must be in the 'active' state" in str(e.value)
    c.restore_run(run_id)
    c.log_metric(run_id, "m", 1.0)
    c.set_terminated(run_id)
    c.log_metric(run_id, "m", 2.0)  # a finished run still takes metrics (only deleted ones refuse)
    assert c.get_run(run_id).data.metrics == {"m": 2.0}


def test_experiment_tags(c, exp):
    c.set_experiment_tag(exp, "owner", "luca")
    c.set_experiment_tag(exp, "note", "x")
    c.set_experiment_tag(exp, "note", "y")
    assert c.get_experiment(exp).tags == {"owner": "luca", "note": "y"}
    c.delete_experiment_tag(exp, "note")
    assert c.get_experiment(exp).tags == {"owner": "luca"}
    mlflow.set_experiment(experiment_id=exp)
    mlflow.set_experiment_tag("fluent", "1")
    assert c.get_experiment(exp).tags["fluent"] == "1"


# ----------------------------------------------------------------------------------------- runs
def test_create_get_update_run(c, exp):
    run = c.create_run(exp, run_name="r1", tags={"team": "ml"}, start_time=1_700_000_000_000)
    info = run.info
    assert (info.experiment_id, info.run_name, info.status, info.lifecycle_stage) == (exp, "r1", "RUNNING", "active")
    assert info.start_time == 1_700_000_000_000
    assert info.artifact_uri == f"mlflow-artifacts:/{exp}/{info.run_id}/artifacts"
    assert run.data.tags["team"] == "ml"
    assert run.data.tags["mlflow.runName"] == "r1"
    c.update_run(info.run_id, status="KILLED", name="r1-renamed")
    got = c.get_run(info.run_id)
    assert (got.info.status, got.info.run_name) == ("KILLED", "r1-renamed")
    assert got.data.tags["mlflow.runName"] == "r1-renamed"
    c.set_terminated(info.run_id, "FINISHED", end_time=1_700_000_001_000)
    got = c.get_run(info.run_id)
    assert (got.info.status, got.info.end_time) == ("FINISHED", 1_700_000_001_000)


def test_log_param_metric_tag_and_delete_tag(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.log_param(run_id, "lr", 0.1)
    c.log_metric(run_id, "loss", 1.5, step=0)
    c.log_metric(run_id, "loss", 0.5, step=1)
    c.set_tag(run_id, "t", "v")
    c.set_tag(run_id, "gone", "v")
    c.delete_tag(run_id, "gone")
    data = c.get_run(run_id).data
    assert data.params == {"lr": "0.1"}
    assert data.metrics == {"loss": 0.5}  # the latest value
    assert data.tags["t"] == "v" and "gone" not in data.tags


def test_log_batch_and_metric_history(c, exp):
    run_id = c.create_run(exp).info.run_id
    t = int(time.time() * 1000)
    c.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5 + i / 10, t + i, i) for i in range(5)] + [Metric("f1", 0.7, t, 0)],
        params=[Param("p1", "x"), Param("p2", "3")],
        tags=[RunTag("t1", "v1")],
    )
    c.log_batch(run_id, metrics=[Metric("acc", 0.99, t + 10, 5)])
    history = c.get_metric_history(run_id, "acc")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (i, 0.5 + i / 10, t + i) for i in range(5)
    ] + [(5, 0.99, t + 10)]
    assert all(m.key == "acc" for m in history)
    data = c.get_run(run_id).data
    assert data.metrics == {"acc": 0.99, "f1": 0.7}
    assert data.params == {"p1": "x", "p2": "3"}
    assert data.tags["t1"] == "v1"
    assert c.get_metric_history(run_id, "never-logged") == []


def test_metric_history_pages_through_many_points(c, exp):
    run_id = c.create_run(exp).info.run_id
    t = int(time.time() * 1000)
    for start in range(0, 2500, 1000):  # log_batch takes at most 1000 metrics
        c.log_batch(run_id, metrics=[Metric("m", float(i), t + i, i) for i in range(start, min(start + 1000, 2500))])
    history = c.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(2500))


def test_fluent_logging_in_a_run(unique):
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run(run_name="fluent", tags={"a": "b"}) as run:
        mlflow.log_params({"p": 1, "q": "two"})
        mlflow.log_metrics({"m1": 1.0, "m2": 2.0}, step=3)
        mlflow.set_tags({"t1": "v1", "t2": "v2"})
        mlflow.delete_tag("t2")
        assert mlflow.active_run().info.run_id == run.info.run_id
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"p": "1", "q": "two"}
    assert got.data.metrics == {"m1": 1.0, "m2": 2.0}
    assert got.data.tags["t1"] == "v1" and "t2" not in got.data.tags and got.data.tags["a"] == "b"
    assert mlflow.last_active_run().info.run_id == run.info.run_id


def test_run_that_raises_is_failed(unique):
    mlflow.set_experiment(unique("exp"))
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs(unique):
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            pass
    got = mlflow.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert MlflowClient().get_parent_run(child.info.run_id).info.run_id == parent.info.run_id


def test_set_terminated(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.set_terminated(run_id, status="FAILED")
    info = c.get_run(run_id).info
    assert info.status == "FAILED"
    assert info.end_time is not None and info.end_time >= info.start_time
    run_id = c.create_run(exp).info.run_id
    c.set_terminated(run_id)
    assert c.get_run(run_id).info.status == "FINISHED"


def test_delete_restore_run(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.delete_run(run_id)
    assert c.get_run(run_id).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in c.search_runs([exp])] == []
    assert [r.info.run_id for r in c.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)] == [run_id]
    assert [r.info.run_id for r in c.search_runs([exp], run_view_type=ViewType.ALL)] == [run_id]
    c.restore_run(run_id)
    assert c.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in c.search_runs([exp])] == [run_id]
    mlflow.delete_run(run_id)
    assert c.get_run(run_id).info.lifecycle_stage == "deleted"


@pytest.fixture
def three_runs(c, exp):
    ids = []
    for i, (acc, model) in enumerate([(0.7, "lr"), (0.9, "rf"), (0.8, "lr")]):
        run = c.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i * 1000,
                           tags={"team": "a" if i < 2 else "b"})
        c.log_batch(run.info.run_id, metrics=[Metric("acc", acc, 0, 0)], params=[Param("model", model)])
        ids.append(run.info.run_id)
    c.set_terminated(ids[2], "FAILED")
    return exp, ids


@pytest.mark.parametrize(
    "filter_string, order_by, expected",
    [
        ("", None, [2, 1, 0]),  # default: start_time DESC
        ("metrics.acc > 0.75", None, [2, 1]),
        ("metrics.acc >= 0.8 AND params.model = 'lr'", None, [2]),
        ("params.model = 'lr'", ["metrics.acc DESC"], [2, 0]),
        ("params.model != 'lr'", None, [1]),
        ("tags.team = 'a'", ["start_time ASC"], [0, 1]),
        ("attributes.run_name = 'run-1'", None, [1]),
        ("attributes.status = 'FAILED'", None, [2]),
        ("run_name LIKE 'run-%'", ["attributes.run_name ASC"], [0, 1, 2]),
        ("params.model LIKE 'r%'", None, [1]),
        ("", ["metrics.acc ASC"], [0, 2, 1]),
        ("", ["params.model ASC", "metrics.acc DESC"], [2, 0, 1]),
        ("metrics.acc < 0", None, []),
    ],
)
def test_search_runs_filters_and_order(c, three_runs, filter_string, order_by, expected):
    exp, ids = three_runs
    found = c.search_runs([exp], filter_string, order_by=order_by)
    assert [r.info.run_id for r in found] == [ids[i] for i in expected]


def test_search_runs_paging(c, three_runs):
    exp, ids = three_runs
    pages, token = [], None
    for _ in range(10):
        page = c.search_runs([exp], max_results=1, order_by=["start_time ASC"], page_token=token)
        pages.append([r.info.run_id for r in page])
        token = page.token
        if not token:
            break
    assert pages == [[ids[0]], [ids[1]], [ids[2]]]


def test_mlflow_search_runs_pandas(three_runs):
    exp, ids = three_runs
    df = mlflow.search_runs([exp], "metrics.acc > 0", order_by=["metrics.acc DESC"])
    assert isinstance(df, pd.DataFrame)
    assert list(df["run_id"]) == [ids[1], ids[2], ids[0]]
    assert list(df["metrics.acc"]) == [0.9, 0.8, 0.7]
    assert list(df["params.model"]) == ["rf", "lr", "lr"]
    assert list(df["status"]) == ["RUNNING", "FAILED", "RUNNING"]
    assert {"experiment_id", "artifact_uri", "start_time", "end_time", "tags.team", "tags.mlflow.runName"} \
        <= set(df.columns)
    assert (df["experiment_id"] == exp).all()
    runs = mlflow.search_runs([exp], output_format="list", order_by=["start_time ASC"])
    assert [r.info.run_id for r in runs] == ids
    by_name = mlflow.search_runs(experiment_names=[MlflowClient().get_experiment(exp).name])
    assert len(by_name) == 3


def test_log_inputs_dataset(c, unique):
    mlflow.set_experiment(unique("exp"))
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(df, name="wine-head"), context="training")
    inputs = c.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["wine-head"]
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"


# ------------------------------------------------------------------------------- logged models
def test_logged_models(c, unique, models, wine):
    m1, m2 = models
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.91)
        info1 = mlflow.sklearn.log_model(m1, name="model", pip_requirements=PIP_REQS, params={"C": "1.0"})
        assert mlflow.last_logged_model().model_id == info1.model_id
        info2 = mlflow.sklearn.log_model(m2, name="other", pip_requirements=PIP_REQS)
        assert mlflow.last_logged_model().model_id == info2.model_id
        mlflow.log_metric("val", 0.5, model_id=info1.model_id)
        mlflow.log_metric("val", 0.95, model_id=info2.model_id)
    exp_id = run.info.experiment_id

    lm = mlflow.get_logged_model(info1.model_id)
    assert lm.model_id == info1.model_id
    assert (lm.name, lm.experiment_id, lm.source_run_id) == ("model", exp_id, run.info.run_id)
    assert lm.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{lm.model_id}/artifacts"
    assert str(lm.status).endswith("READY")
    assert lm.params == {"C": "1.0"}
    # log_model re-logs the run's metrics with the model's id (both models get "accuracy")
    assert sorted((m.key, m.value, m.run_id) for m in lm.metrics) == [
        ("accuracy", 0.91, run.info.run_id), ("val", 0.5, run.info.run_id)
    ]
    assert len(c.get_metric_history(run.info.run_id, "accuracy")) == 1  # no duplicates in the run history
    assert lm.creation_timestamp > 0

    found = mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")
    assert sorted(m.model_id for m in found) == sorted([info1.model_id, info2.model_id])
    df = mlflow.search_logged_models(experiment_ids=[exp_id])
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    by_name = mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="name = 'other'",
                                          output_format="list")
    assert [m.model_id for m in by_name] == [info2.model_id]
    by_metric = mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="metrics.val > 0.9",
                                            output_format="list")
    assert [m.model_id for m in by_metric] == [info2.model_id]
    ordered = mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list",
                                          order_by=[{"field_name": "creation_timestamp", "ascending": True}])
    assert [m.model_id for m in ordered] == [info1.model_id, info2.model_id]
    page = c.search_logged_models(experiment_ids=[exp_id], max_results=1)
    assert len(page) == 1 and page.token
    rest = c.search_logged_models(experiment_ids=[exp_id], max_results=1, page_token=page.token)
    assert len(rest) == 1 and {page[0].model_id, rest[0].model_id} == {info1.model_id, info2.model_id}

    c.set_logged_model_tags(info1.model_id, {"stage": "candidate", "x": "1"})
    c.delete_logged_model_tag(info1.model_id, "x")
    assert {k: v for k, v in c.get_logged_model(info1.model_id).tags.items() if not k.startswith("mlflow.")} \
        == {"stage": "candidate"}
    same_predictions(mlflow.sklearn.load_model(f"models:/{info2.model_id}"), m2, wine.X)


def test_logged_model_lifecycle_through_the_client(c, exp):
    lm = c.create_logged_model(exp, name="manual", params={"a": "1"}, tags={"t": "v"})
    assert str(lm.status).endswith("PENDING")
    c.log_model_params(lm.model_id, {"b": "2"})
    from mlflow.entities import LoggedModelStatus

    done = c.finalize_logged_model(lm.model_id, LoggedModelStatus.READY)
    assert str(done.status).endswith("READY")
    got = c.get_logged_model(lm.model_id)
    assert got.params == {"a": "1", "b": "2"}
    assert got.tags["t"] == "v"
    c.delete_logged_model(lm.model_id)
    with pytest.raises(MlflowException) as e:
        c.get_logged_model(lm.model_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ------------------------------------------------------------------------------------ artifacts
@pytest.fixture
def tree(tmp_path):
    """A directory with nested subdirectories, text and binary files."""
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.txt").write_text("top\n")
    (root / "sub" / "a.json").write_text(json.dumps({"a": 1}))
    (root / "sub" / "deeper" / "b.bin").write_bytes(bytes(range(256)) * 4)
    (root / "sub" / "deeper" / "with space.txt").write_text("spaced\n")
    return root


def _files(directory) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, names in os.walk(directory):
        for n in names:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, directory)] = open(p, "rb").read()
    return out


def test_log_artifact_and_list(c, exp, tree):
    run_id = c.create_run(exp).info.run_id
    c.log_artifact(run_id, str(tree / "top.txt"))
    c.log_artifact(run_id, str(tree / "sub" / "a.json"), artifact_path="configs/json")
    root = c.list_artifacts(run_id)
    assert [(f.path, f.is_dir, f.file_size) for f in root] == [("configs", True, None), ("top.txt", False, 4)]
    assert [(f.path, f.is_dir) for f in c.list_artifacts(run_id, "configs")] == [("configs/json", True)]
    assert [(f.path, f.file_size) for f in c.list_artifacts(run_id, "configs/json")] == [
        ("configs/json/a.json", len(json.dumps({"a": 1})))
    ]
    assert c.list_artifacts(run_id, "nope") == []


def test_log_artifacts_nested_and_download(c, exp, tree, tmp_path):
    run_id = c.create_run(exp).info.run_id
    c.log_artifacts(run_id, str(tree))
    c.log_artifacts(run_id, str(tree / "sub"), artifact_path="copy")
    assert {f.path for f in c.list_artifacts(run_id)} == {"copy", "sub", "top.txt"}
    assert {(f.path, f.is_dir) for f in c.list_artifacts(run_id, "sub")} == {
        ("sub/a.json", False), ("sub/deeper", True)}
    assert {f.path for f in c.list_artifacts(run_id, "sub/deeper")} == {"sub/deeper/b.bin", "sub/deeper/with space.txt"}
    assert {f.path for f in c.list_artifacts(run_id, "copy/deeper")} == {
        "copy/deeper/b.bin", "copy/deeper/with space.txt"}

    # a single file
    local = c.download_artifacts(run_id, "sub/deeper/with space.txt", str(tmp_path / "one"))
    assert open(local).read() == "spaced\n"
    # a directory
    local = c.download_artifacts(run_id, "sub", str(tmp_path / "dir"))
    assert _files(local) == _files(tree / "sub")
    # everything
    local = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "all"))
    assert {k: v for k, v in _files(local).items() if not k.startswith("copy")} == _files(tree)
    # by URI
    local = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/sub/deeper", dst_path=str(tmp_path / "uri"))
    assert _files(local) == _files(tree / "sub" / "deeper")
    artifact_uri = c.get_run(run_id).info.artifact_uri
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"{artifact_uri}/top.txt", dst_path=str(tmp_path / "au"))
    assert open(local).read() == "top\n"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/top.txt") == "top\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/sub/a.json") == {"a": 1}


def test_fluent_artifacts(unique, tree, tmp_path):
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tree / "top.txt"), artifact_path="x")
        mlflow.log_artifacts(str(tree / "sub"), artifact_path="y")
        mlflow.log_text("héllo wörld ✓\n", "texts/unicode.txt")
        mlflow.log_dict({"k": [1, 2]}, "cfg/config.json")
        mlflow.log_dict({"k": "v"}, "cfg/config.yaml")
        uri = mlflow.get_artifact_uri()
    assert uri == f"mlflow-artifacts:/{run.info.experiment_id}/{run.info.run_id}/artifacts"
    run_id = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/unicode.txt") == "héllo wörld ✓\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/cfg/config.json") == {"k": [1, 2]}
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/cfg/config.yaml") == "k: v\n"  # load_dict is JSON-only
    assert sorted(f.path for f in MlflowClient().list_artifacts(run_id)) == ["cfg", "texts", "x", "y"]
    assert sorted(f.path for f in mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="y")) == [
        "y/a.json", "y/deeper"
    ]


def test_five_megabyte_binary_round_trip(c, exp, tmp_path):
    payload = os.urandom(5 * 1024 * 1024 + 123)
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    run_id = c.create_run(exp).info.run_id
    c.log_artifact(run_id, str(src), artifact_path="big")
    [listed] = c.list_artifacts(run_id, "big")
    assert (listed.path, listed.file_size) == ("big/blob.bin", len(payload))
    local = c.download_artifacts(run_id, "big/blob.bin", str(tmp_path / "dl"))
    assert hashlib.sha256(open(local, "rb").read()).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_download_missing_artifact_is_an_error(c, exp, tmp_path):
    run_id = c.create_run(exp).info.run_id
    with pytest.raises(Exception) as e:
        c.download_artifacts(run_id, "missing.txt", str(tmp_path))
    assert "500" not in str(e.value)


# Names the mlflow client puts into URLs verbatim ("#" and "?" are cut off by the client itself,
# against MLflow too, so they are not used here).
SPECIAL_NAMES = ["100%.txt", "ünï cødé.txt", "plus+sign.txt", "semi;colon.txt", "amp&=.txt", "quote'.txt",
                 "tilde~.txt", "bracket[1].txt", "comma,.txt", "at@.txt", "dollar$.txt", "paren(1).txt",
                 "colon:x.txt", "empty.txt"]


def test_artifact_names_with_special_characters_and_empty_files(c, exp, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n in SPECIAL_NAMES:
        (src / n).write_bytes(b"" if n == "empty.txt" else n.encode())
    run_id = c.create_run(exp).info.run_id
    c.log_artifacts(run_id, str(src), artifact_path="sp")
    listed = {f.path: f.file_size for f in c.list_artifacts(run_id, "sp")}
    assert listed == {f"sp/{n}": len(b"" if n == "empty.txt" else n.encode()) for n in SPECIAL_NAMES}
    local = c.download_artifacts(run_id, "sp", str(tmp_path / "dl"))
    assert _files(local) == _files(src)


def test_uploading_below_an_existing_file_is_a_client_error_not_a_5xx(c, exp, tmp_path, api):
    """PUT <run>/artifacts/x.txt/y.txt when x.txt is a file: a client mistake."""
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "y.txt").write_text("y")
    run_id = c.create_run(exp).info.run_id
    c.log_artifact(run_id, str(tmp_path / "x.txt"))
    r = api.put(f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run_id}/artifacts/x.txt/y.txt", content=b"y")
    assert r.status_code == 400, f"{r.status_code}: {r.text}"
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(Exception) as e:  # the mlflow client raises requests' HTTPError for artifact PUTs
        c.log_artifact(run_id, str(tmp_path / "y.txt"), artifact_path="x.txt")
    assert "400 Client Error" in str(e.value) and "INVALID_PARAMETER_VALUE" in str(e.value)



def test_forced_proxy_multipart_falls_back_to_single_requests(c, exp, tmp_path, monkeypatch):
    """With multipart forced on, the server's 501 NOT_IMPLEMENTED makes the client fall back (trace 39)."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(256 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE", "1024")
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(256 * 1024))
    payload = os.urandom(600 * 1024)
    (tmp_path / "big.bin").write_bytes(payload)
    run_id = c.create_run(exp).info.run_id
    c.log_artifact(run_id, str(tmp_path / "big.bin"), artifact_path="blobs")
    local = c.download_artifacts(run_id, "blobs/big.bin", str(tmp_path / "dl"))
    assert open(local, "rb").read() == payload


def test_multipart_and_presigned_endpoints_answer_501(api, exp):
    r = api.post(f"/api/2.0/mlflow-artifacts/mpu/create/{exp}/x/artifacts", json={"path": "/tmp/x.bin", "num_parts": 2})
    assert r.status_code == 501
    assert r.json() == {"error_code": "NOT_IMPLEMENTED",
                        "message": "Multipart upload is not supported for the current artifact repository"}
    r = api.get(f"/api/2.0/mlflow-artifacts/presigned/{exp}/x/artifacts/f.bin")
    assert r.status_code == 501
    assert r.json()["message"] == "Multipart download is not supported for the current artifact repository"
    info = api.get("/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False and info["multipart_downloads_enabled"] is False


# ------------------------------------------------------------------------- values and limits
def test_nan_and_infinite_metrics_round_trip(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.log_metric(run_id, "nan", float("nan"))
    c.log_metric(run_id, "inf", float("inf"))
    c.log_metric(run_id, "ninf", float("-inf"), step=1)
    metrics = c.get_run(run_id).data.metrics
    assert metrics["inf"] == float("inf") and metrics["ninf"] == float("-inf")
    assert metrics["nan"] != metrics["nan"]
    [point] = c.get_metric_history(run_id, "ninf")
    assert (point.value, point.step) == (float("-inf"), 1)


def test_changing_a_param_is_rejected(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.log_param(run_id, "p", "1")
    c.log_param(run_id, "p", "1")  # the same value again is fine
    with pytest.raises(MlflowException) as e:
        c.log_param(run_id, "p", "2")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in str(e.value)
    with pytest.raises(MlflowException) as e:
        c.log_batch(run_id, params=[Param("p", "3")])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert c.get_run(run_id).data.params == {"p": "1"}


def test_unicode_and_long_keys(c, exp):
    run_id = c.create_run(exp).info.run_id
    key = "k" * 250  # MAX_ENTITY_KEY_LENGTH
    c.log_param(run_id, key, "ünïcødé ✓")
    c.set_tag(run_id, "tag with spaces/and.dots", "✓")
    data = c.get_run(run_id).data
    assert data.params[key] == "ünïcødé ✓"
    assert data.tags["tag with spaces/and.dots"] == "✓"
    found = c.search_runs([exp], "params.`" + key + "` = 'ünïcødé ✓'")
    assert [r.info.run_id for r in found] == [run_id]




def test_param_values_up_to_6000_characters(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.log_param(run_id, "long", "p" * 6000)
    c.log_batch(run_id, params=[Param("long2", "q" * 6000)])
    params = c.get_run(run_id).data.params
    assert (params["long"], params["long2"]) == ("p" * 6000, "q" * 6000)


def test_run_tag_values_up_to_8000_characters(c, exp):
    run_id = c.create_run(exp).info.run_id
    c.set_tag(run_id, "long", "t" * 8000)
    assert c.get_run(run_id).data.tags["long"] == "t" * 8000


def test_experiment_tag_values_up_to_20000_characters(c, exp):
    c.set_experiment_tag(exp, "long", "e" * 20000)
    assert c.get_experiment(exp).tags["long"] == "e" * 20000


def test_autolog_style_truncated_params_are_accepted(c, exp):
    """What mlflow autologging sends: params truncated to MAX_PARAM_VAL_LENGTH (6000)."""
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

    run_id = c.create_run(exp).info.run_id
    c.log_batch(run_id, params=[Param("steps", "s" * MAX_PARAM_VAL_LENGTH)],
                tags=[RunTag("estimator_html", "h" * MAX_TAG_VAL_LENGTH)])
    assert len(c.get_run(run_id).data.params["steps"]) == MAX_PARAM_VAL_LENGTH
