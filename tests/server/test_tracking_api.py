"""Tracking endpoints over HTTP: experiments, runs, metrics and logged models, in MLflow's shapes."""

from __future__ import annotations

import pytest

from .helpers import A2, error, ok

RUN_INFO_KEYS = {"run_uuid", "experiment_id", "run_name", "user_id", "status", "start_time", "artifact_uri",
                 "lifecycle_stage", "run_id"}


@pytest.fixture
def experiment(api, unique):
    return ok(api.post(f"{A2}/experiments/create", json={"name": unique("exp")}))["experiment_id"]


@pytest.fixture
def run(api, experiment):
    body = {"experiment_id": experiment, "user_id": "root", "run_name": "wine-lr-1", "start_time": 1795746947416,
            "tags": [{"key": "mlflow.user", "value": "root"}]}
    return ok(api.post(f"{A2}/runs/create", json=body))["run"]


def test_experiment_create_get_and_get_by_name(api, unique):
    name = unique("exp")
    exp_id = ok(api.post(f"{A2}/experiments/create", json={"name": name}))["experiment_id"]
    assert isinstance(exp_id, str)
    exp = ok(api.get(f"{A2}/experiments/get", params={"experiment_id": exp_id}))["experiment"]
    assert set(exp) == {"experiment_id", "name", "artifact_location", "lifecycle_stage", "last_update_time",
                        "creation_time", "workspace"}
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}" and exp["workspace"] == "default"
    assert ok(api.get(f"{A2}/experiments/get-by-name", params={"experiment_name": name}))["experiment"] == exp


def test_experiment_search_post_and_get_update_tags_delete_restore(api, unique):
    name = unique("exp")
    exp_id = ok(api.post(f"{A2}/experiments/create", json={"name": name}))["experiment_id"]
    ok(api.post(f"{A2}/experiments/set-experiment-tag", json={"experiment_id": exp_id, "key": "k", "value": "v"}))
    found = ok(api.post(f"{A2}/experiments/search", json={"max_results": 1000, "view_type": "ACTIVE_ONLY",
                                                           "filter": f"name = '{name}'"}))
    assert [e["tags"] for e in found["experiments"]] == [[{"key": "k", "value": "v"}]]
    assert ok(api.get(f"{A2}/experiments/search", params={"filter": f"name = '{name}'"}))["experiments"][0]["name"] == name
    ok(api.post(f"{A2}/experiments/update", json={"experiment_id": exp_id, "new_name": name + "-2"}))
    ok(api.post(f"{A2}/experiments/delete", json={"experiment_id": exp_id}))
    assert ok(api.get(f"{A2}/experiments/get", params={"experiment_id": exp_id}))["experiment"]["lifecycle_stage"] == "deleted"
    ok(api.post(f"{A2}/experiments/restore", json={"experiment_id": exp_id}))
    ok(api.post(f"{A2}/experiments/delete-experiment-tag", json={"experiment_id": exp_id, "key": "k"}))


def test_run_create_returns_info_data_inputs(api, run, experiment):
    assert set(run["info"]) == RUN_INFO_KEYS
    assert run["info"]["run_uuid"] == run["info"]["run_id"] and run["info"]["status"] == "RUNNING"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/{experiment}/{run['info']['run_id']}/artifacts"
    assert {"key": "mlflow.user", "value": "root"} in run["data"]["tags"] and run["inputs"] == {}


def test_run_logging_and_get_accept_run_uuid(api, run):
    rid = run["info"]["run_id"]
    ok(api.post(f"{A2}/runs/log-batch", json={"run_id": rid, "params": [{"key": "C", "value": "1.0"}]}))
    for step, value in enumerate([0.8, 0.9, 0.95]):
        ok(api.post(f"{A2}/runs/log-metric", json={"run_uuid": rid, "run_id": rid, "key": "accuracy", "value": value,
                                                   "timestamp": 1795746947669 + step, "step": step}))
    ok(api.post(f"{A2}/runs/log-parameter", json={"run_uuid": rid, "key": "max_iter", "value": "5000"}))
    ok(api.post(f"{A2}/runs/set-tag", json={"run_uuid": rid, "key": "team", "value": "wine"}))
    got = ok(api.get(f"{A2}/runs/get", params={"run_uuid": rid}))["run"]
    assert got["data"]["metrics"] == [{"key": "accuracy", "value": 0.95, "timestamp": 1795746947671, "step": 2}]
    assert {p["key"]: p["value"] for p in got["data"]["params"]} == {"C": "1.0", "max_iter": "5000"}
    assert {"key": "team", "value": "wine"} in got["data"]["tags"]
    ok(api.post(f"{A2}/runs/delete-tag", json={"run_id": rid, "key": "team"}))
    info = ok(api.post(f"{A2}/runs/update", json={"run_id": rid, "status": "FINISHED", "end_time": 1795746951787}))
    assert info["run_info"]["status"] == "FINISHED" and info["run_info"]["end_time"] == 1795746951787


def test_metric_history_pages(api, run):
    rid = run["info"]["run_id"]
    metrics = [{"key": "loss", "value": v, "timestamp": 1000 + i, "step": i} for i, v in enumerate([3.0, 2.0, 1.0])]
    ok(api.post(f"{A2}/runs/log-batch", json={"run_id": rid, "metrics": metrics}))
    first = ok(api.get(f"{A2}/metrics/get-history", params={"run_id": rid, "metric_key": "loss", "max_results": "2"}))
    assert [m["value"] for m in first["metrics"]] == [3.0, 2.0]
    rest = ok(api.get(f"{A2}/metrics/get-history", params={"run_id": rid, "metric_key": "loss", "max_results": "2",
                                                           "page_token": first["next_page_token"]}))
    assert rest == {"metrics": [{"key": "loss", "value": 1.0, "timestamp": 1002, "step": 2}]}


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_metric_values_round_trip_as_proto_strings(api, run, value):
    rid = run["info"]["run_id"]
    ok(api.post(f"{A2}/runs/log-metric", json={"run_id": rid, "key": "odd", "value": value, "timestamp": 5}))
    odd = ok(api.get(f"{A2}/metrics/get-history", params={"run_uuid": rid, "metric_key": "odd"}))
    assert odd["metrics"][0]["value"] == value


def test_runs_delete_restore_search_and_outputs(api, run, experiment):
    rid = run["info"]["run_id"]
    ok(api.post(f"{A2}/runs/log-metric", json={"run_id": rid, "key": "accuracy", "value": 0.9, "timestamp": 1}))
    found = ok(api.post(f"{A2}/runs/search", json={"experiment_ids": [experiment], "run_view_type": "ACTIVE_ONLY",
                                                   "filter": "metrics.accuracy > 0", "max_results": 10000,
                                                   "order_by": ["start_time DESC"]}))
    assert [r["info"]["run_id"] for r in found["runs"]] == [rid]
    ok(api.post(f"{A2}/runs/delete", json={"run_id": rid}))
    assert ok(api.post(f"{A2}/runs/search", json={"experiment_ids": [experiment]})) == {}
    assert len(ok(api.post(f"{A2}/runs/search", json={"experiment_ids": [experiment], "run_view_type": "ALL"}))["runs"]) == 1
    ok(api.post(f"{A2}/runs/restore", json={"run_id": rid}))
    ok(api.post(f"{A2}/runs/log-inputs", json={"run_id": rid, "datasets": [
        {"tags": [{"key": "mlflow.data.context", "value": "training"}],
         "dataset": {"name": "wine", "digest": "2e3dd1dd", "source_type": "code", "source": "{}"}}]}))
    lm = ok(api.post(f"{A2}/logged-models", json={"experiment_id": experiment, "name": "model", "source_run_id": rid}))
    model_id = lm["model"]["info"]["model_id"]
    ok(api.post(f"{A2}/runs/outputs", json={"run_id": rid, "models": [{"model_id": model_id, "step": 0}]}))
    got = ok(api.get(f"{A2}/runs/get", params={"run_id": rid}))["run"]
    assert got["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 0}]}
    assert got["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "wine"


def test_log_batch_with_model_id_keeps_run_history_and_fills_logged_model_metrics(api, run, experiment):
    rid = run["info"]["run_id"]
    ok(api.post(f"{A2}/runs/log-metric", json={"run_id": rid, "key": "f1", "value": 0.95, "timestamp": 7, "step": 0}))
    lm = ok(api.post(f"{A2}/logged-models", json={"experiment_id": experiment, "name": "model", "source_run_id": rid}))
    model_id = lm["model"]["info"]["model_id"]
    point = {"key": "f1", "value": 0.95, "timestamp": 7, "step": 0, "model_id": model_id}
    ok(api.post(f"{A2}/runs/log-batch", json={"run_id": rid, "metrics": [point]}))
    history = ok(api.get(f"{A2}/metrics/get-history", params={"run_id": rid, "metric_key": "f1"}))["metrics"]
    assert len(history) == 1
    data = ok(api.get(f"{A2}/logged-models/{model_id}"))["model"]["data"]
    assert data["metrics"] == [{**point, "run_id": rid}]


def test_logged_model_lifecycle(api, run, experiment):
    rid = run["info"]["run_id"]
    body = {"experiment_id": experiment, "name": "model", "source_run_id": rid,
            "params": [{"key": "C", "value": "1.0"}], "tags": [{"key": "mlflow.user", "value": "root"}]}
    model = ok(api.post(f"{A2}/logged-models", json=body))["model"]
    info = model["info"]
    assert info["model_id"].startswith("m-") and len(info["model_id"]) == 34
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["model_type"] == ""
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment}/models/{info['model_id']}/artifacts"
    assert model["data"] == {"params": [{"key": "C", "value": "1.0"}]}
    model_id = info["model_id"]
    ready = ok(api.patch(f"{A2}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"}))
    assert ready["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert ok(api.patch(f"{A2}/logged-models/{model_id}/tags", json={"tags": [{"key": "k", "value": "v"}]})) == {}
    ok(api.post(f"{A2}/logged-models/{model_id}/params", json={"params": [{"key": "extra", "value": "1"}]}))
    got = ok(api.get(f"{A2}/logged-models/{model_id}"))["model"]
    assert {"key": "k", "value": "v"} in got["info"]["tags"] and {"key": "extra", "value": "1"} in got["data"]["params"]
    assert ok(api.delete(f"{A2}/logged-models/{model_id}/tags/k")) == {}
    assert ok(api.delete(f"{A2}/logged-models/{model_id}")) == {}
    error(api.get(f"{A2}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_logged_model_search_by_name_with_paging_and_order(api, run, experiment):
    rid = run["info"]["run_id"]
    ids = [ok(api.post(f"{A2}/logged-models", json={"experiment_id": experiment, "name": "model", "source_run_id": rid}))
           ["model"]["info"]["model_id"] for _ in range(3)]
    body = {"experiment_ids": [experiment], "filter": "name = 'model'", "max_results": 2,
            "order_by": [{"field_name": "creation_timestamp", "ascending": True}]}
    first = ok(api.post(f"{A2}/logged-models/search", json=body))
    rest = ok(api.post(f"{A2}/logged-models/search", json={**body, "page_token": first["next_page_token"]}))
    assert "next_page_token" not in rest
    assert sorted(m["info"]["model_id"] for m in first["models"] + rest["models"]) == sorted(ids)
    assert ok(api.post(f"{A2}/logged-models/search", json={"experiment_ids": [experiment], "filter": "name = 'nope'"})) == {}
