"""Raw wire format the mlflow client relies on (reference §2, §4, §5, §6.12), checked with ``httpx``."""

from __future__ import annotations

import base64
import uuid

import pytest

from .helpers import A2, ART


@pytest.fixture(scope="module")
def wired(api):
    """A registered model with one version (runs:/ source) in a fresh experiment, made over raw REST."""
    token = uuid.uuid4().hex[:8]
    exp_id = api.post(f"{A2}/experiments/create", json={"name": f"wire-{token}"}).json()["experiment_id"]
    run = api.post(f"{A2}/runs/create", json={"experiment_id": exp_id, "start_time": 1_700_000_000_000}).json()["run"]
    run_id = run["info"]["run_id"]
    name = f"wire-{token}"
    assert api.post(f"{A2}/registered-models/create", json={"name": name}).status_code == 200
    r = api.post(f"{A2}/model-versions/create",
                 json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})
    assert r.status_code == 200, r.text
    return {"exp_id": exp_id, "run_id": run_id, "run": run, "name": name}


def test_entities_use_mlflow_json_types(api, wired):
    mv = api.get(f"{A2}/model-versions/get", params={"name": wired["name"], "version": "1"}).json()["model_version"]
    assert mv["version"] == "1"  # a JSON string
    assert isinstance(mv["creation_timestamp"], int) and isinstance(mv["last_updated_timestamp"], int)
    assert (mv["current_stage"], mv["status"]) == ("None", "READY")
    assert "tags" not in mv and "aliases" not in mv  # empty lists are omitted (proto3)
    rm = api.get(f"{A2}/registered-models/get", params={"name": wired["name"]}).json()["registered_model"]
    assert isinstance(rm["creation_timestamp"], int)
    assert [v["version"] for v in rm["latest_versions"]] == ["1"]
    assert "tags" not in rm and "aliases" not in rm
    info = wired["run"]["info"]
    assert info["run_id"] == info["run_uuid"]
    assert info["status"] == "RUNNING" and info["lifecycle_stage"] == "active"
    assert info["start_time"] == 1_700_000_000_000
    assert info["artifact_uri"] == f"mlflow-artifacts:/{wired['exp_id']}/{wired['run_id']}/artifacts"
    exp = api.get(f"{A2}/experiments/get", params={"experiment_id": wired["exp_id"]}).json()["experiment"]
    assert exp["artifact_location"] == f"mlflow-artifacts:/{wired['exp_id']}"
    assert isinstance(exp["creation_time"], int)


def test_empty_responses_are_empty_objects(api, wired):
    r = api.post(f"{A2}/registered-models/set-tag", json={"name": wired["name"], "key": "k", "value": "v"})
    assert (r.status_code, r.json()) == (200, {})
    r = api.get(f"{A2}/model-versions/search", params={"filter": f"name = '{wired['name']}-nope'"})
    assert (r.status_code, r.json()) == (200, {})  # no "model_versions": [] and no token
    assert r.headers["content-type"].startswith("application/json")


def test_paging_tokens(api, wired):
    for i in range(3):
        api.post(f"{A2}/model-versions/create", json={"name": wired["name"], "source": f"runs:/{wired['run_id']}/model",
                                                      "run_id": wired["run_id"]})
    first = api.get(f"{A2}/model-versions/search",
                    params={"filter": f"name = '{wired['name']}'", "max_results": "2"}).json()
    assert len(first["model_versions"]) == 2 and isinstance(first["next_page_token"], str)
    second = api.get(f"{A2}/model-versions/search", params={"filter": f"name = '{wired['name']}'", "max_results": "2",
                                                            "page_token": first["next_page_token"]}).json()
    assert len(second["model_versions"]) == 2
    assert "next_page_token" not in second  # omitted on the last page
    # MLflow's own token format (base64 JSON offset) is accepted too
    token = base64.b64encode(b'{"offset": 3}').decode()
    third = api.get(f"{A2}/model-versions/search", params={"filter": f"name = '{wired['name']}'", "max_results": "2",
                                                           "page_token": token, "order_by": "version_number ASC"})
    assert third.status_code in (200, 400)  # opaque tokens are allowed to differ, but never a 5xx


def test_repeated_query_params_and_delete_bodies(api, wired):
    r = api.get(f"{A2}/model-versions/search", params=[("filter", f"name = '{wired['name']}'"),
                                                        ("order_by", "name ASC"), ("order_by", "version_number DESC")])
    assert [v["version"] for v in r.json()["model_versions"]][0] == max(
        (v["version"] for v in r.json()["model_versions"]), key=int)
    r = api.request("DELETE", f"{A2}/registered-models/delete-tag", json={"name": wired["name"], "key": "k"})
    assert (r.status_code, r.json()) == (200, {})


def test_get_latest_versions_get_variant(api, wired):
    r = api.get(f"{A2}/registered-models/get-latest-versions", params={"name": wired["name"]})
    assert r.status_code == 200
    assert [v["current_stage"] for v in r.json()["model_versions"]] == ["None"]


def test_run_uuid_alias_is_accepted(api, wired):
    run_id = wired["run_id"]
    assert api.get(f"{A2}/runs/get", params={"run_uuid": run_id}).status_code == 200
    r = api.post(f"{A2}/runs/log-metric",
                 json={"run_uuid": run_id, "key": "m", "value": 1.5, "timestamp": 5, "step": 2})
    assert r.status_code == 200, r.text
    r = api.get(f"{A2}/metrics/get-history", params={"run_uuid": run_id, "metric_key": "m"})
    assert r.json()["metrics"] == [{"key": "m", "value": 1.5, "timestamp": 5, "step": 2}]


def test_artifact_proxy_shapes(api, wired):
    base = f"{wired['exp_id']}/{wired['run_id']}/artifacts"
    r = api.put(f"{ART}/{base}/d/f.txt", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and r.content == b""
    listing = api.get(ART, params={"path": base}).json()
    assert listing == {"files": [{"path": "d", "is_dir": True}]}  # basenames; no file_size for dirs
    listing = api.get(ART, params={"path": f"{base}/d"}).json()
    assert listing == {"files": [{"path": "f.txt", "is_dir": False, "file_size": 5}]}
    assert api.get(ART, params={"path": f"{base}/d/f.txt"}).json() == {}  # a file lists as empty
    r = api.get(f"{ART}/{base}/d/f.txt")
    assert r.content == b"hello"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers.get("x-content-type-options") == "nosniff"
    r = api.get(f"{ART}/{base}/model")  # what the runs:/<run>/model fallback relies on
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_health_and_server_info(api):
    assert api.get("/health").text.strip() == "OK"
    info = api.get("/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False and info["multipart_downloads_enabled"] is False
