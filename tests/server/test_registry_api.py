"""Registry endpoints over HTTP: happy paths and the exact JSON shapes of MLflow 3.17.2's traces."""

from __future__ import annotations

import json

import pytest

from .helpers import A2, error, ok

MV_KEYS = {"name", "version", "creation_timestamp", "last_updated_timestamp", "current_stage", "description",
           "source", "run_id", "status", "run_link"}


@pytest.fixture(scope="module")
def run_id(api):
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": "registry-tests"}))["experiment_id"]
    return ok(api.post(f"{A2}/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]


@pytest.fixture(scope="module")
def logged_model(api, run_id):
    exp = ok(api.get(f"{A2}/runs/get", params={"run_id": run_id}))["run"]["info"]["experiment_id"]
    body = {"experiment_id": exp, "name": "model", "source_run_id": run_id}
    return ok(api.post(f"{A2}/logged-models", json=body))["model"]["info"]


def _create_version(api, name, run_id, **extra):
    body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id, **extra}
    return ok(api.post(f"{A2}/model-versions/create", json=body))["model_version"]


def test_create_registered_model_returns_mlflow_shape(api, unique):
    name = unique("rm")
    rm = ok(api.post(f"{A2}/registered-models/create", json={"name": name}))["registered_model"]
    assert set(rm) == {"name", "creation_timestamp", "last_updated_timestamp"}
    assert rm["name"] == name and isinstance(rm["creation_timestamp"], int)


def test_create_registered_model_with_tags_and_description(api, unique):
    name = unique("rm")
    body = {"name": name, "tags": [{"key": "team", "value": "ml"}], "description": "d"}
    rm = ok(api.post(f"{A2}/registered-models/create", json=body))["registered_model"]
    assert rm["tags"] == [{"key": "team", "value": "ml"}] and rm["description"] == "d"


def test_create_model_version_from_logged_model_derives_run_id_and_tags_the_model(api, unique, logged_model):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    model_id = logged_model["model_id"]
    body = {"name": name, "source": f"models:/{model_id}", "model_id": model_id}
    mv = ok(api.post(f"{A2}/model-versions/create", json=body))["model_version"]
    assert MV_KEYS <= set(mv) and mv["version"] == "1" and mv["run_id"] == logged_model["source_run_id"]
    assert mv["current_stage"] == "None" and mv["description"] == "" and mv["run_link"] == "" and mv["status"] == "READY"
    tags = ok(api.get(f"{A2}/logged-models/{model_id}"))["model"]["info"]["tags"]
    entries = json.loads({t["key"]: t["value"] for t in tags}["mlflow.modelVersions"])
    assert {"name": name, "version": 1} in entries
    uri = ok(api.get(f"{A2}/model-versions/get-download-uri", params={"name": name, "version": "1"}))
    assert uri == {"artifact_uri": logged_model["artifact_uri"]}


def test_get_registered_model_lists_latest_versions_tags_and_aliases(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(2):
        _create_version(api, name, run_id)
    ok(api.post(f"{A2}/registered-models/set-tag", json={"name": name, "key": "task", "value": "cls"}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"}))
    rm = ok(api.get(f"{A2}/registered-models/get", params={"name": name}))["registered_model"]
    assert [v["version"] for v in rm["latest_versions"]] == ["2"]
    assert rm["tags"] == [{"key": "task", "value": "cls"}]
    assert rm["aliases"] == [{"alias": "champion", "version": "2"}]


def test_stage_transitions_archive_only_versions_in_the_target_stage(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(3):
        _create_version(api, name, run_id)

    def move(version, stage, archive=False):
        body = {"name": name, "version": version, "stage": stage, "archive_existing_versions": archive}
        return ok(api.post(f"{A2}/model-versions/transition-stage", json=body))["model_version"]

    assert move("1", "staging")["current_stage"] == "Staging"
    move("2", "Production")
    assert move("3", "Production", archive=True)["current_stage"] == "Production"
    stages = {v: ok(api.get(f"{A2}/model-versions/get", params={"name": name, "version": v}))["model_version"]["current_stage"]
              for v in ("1", "2", "3")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production"}
    latest = ok(api.post(f"{A2}/registered-models/get-latest-versions", json={"name": name, "stages": ["Production"]}))
    assert [v["version"] for v in latest["model_versions"]] == ["3"]
    every = ok(api.get(f"{A2}/registered-models/get-latest-versions", params={"name": name}))
    assert sorted(v["version"] for v in every["model_versions"]) == ["1", "2", "3"]


def test_transition_that_archives_an_aliased_version_adds_warnings(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(2):
        _create_version(api, name, run_id)
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}))
    move = {"name": name, "version": "1", "stage": "Production", "archive_existing_versions": False}
    assert "warnings" not in ok(api.post(f"{A2}/model-versions/transition-stage", json=move))
    move.update(version="2", archive_existing_versions=True)
    body = ok(api.post(f"{A2}/model-versions/transition-stage", json=move))
    assert body["model_version"]["current_stage"] == "Production"
    assert body["warnings"] == ["alias 'champion' points at version 1, now Archived"]


def test_aliases_set_get_delete(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    _create_version(api, name, run_id)
    assert ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"})) == {}
    mv = ok(api.get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}))["model_version"]
    assert mv["version"] == "1" and mv["aliases"] == ["champion"]
    assert ok(api.request("DELETE", f"{A2}/registered-models/alias", json={"name": name, "alias": "champion"})) == {}
    error(api.get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}),
          400, "INVALID_PARAMETER_VALUE", "Registered model alias champion not found.")


def test_update_rename_and_delete_registered_model(api, unique, run_id):
    name, new = unique("rm"), unique("renamed")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    _create_version(api, name, run_id)
    rm = ok(api.patch(f"{A2}/registered-models/update", json={"name": name, "description": "Wine"}))["registered_model"]
    assert rm["description"] == "Wine"
    rm = ok(api.post(f"{A2}/registered-models/rename", json={"name": name, "new_name": new}))["registered_model"]
    assert rm["name"] == new and rm["latest_versions"][0]["name"] == new
    assert ok(api.request("DELETE", f"{A2}/registered-models/delete", json={"name": new})) == {}
    error(api.get(f"{A2}/registered-models/get", params={"name": new}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_model_version_update_tags_and_delete(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    _create_version(api, name, run_id)
    mv = ok(api.patch(f"{A2}/model-versions/update", json={"name": name, "version": "1", "description": "x"}))
    assert mv["model_version"]["description"] == "x"
    ok(api.post(f"{A2}/model-versions/set-tag", json={"name": name, "version": "1", "key": "approved_by", "value": "luca"}))
    mv = ok(api.get(f"{A2}/model-versions/get", params={"name": name, "version": "1"}))["model_version"]
    assert mv["tags"] == [{"key": "approved_by", "value": "luca"}]
    ok(api.request("DELETE", f"{A2}/model-versions/delete-tag", json={"name": name, "version": "1", "key": "approved_by"}))
    assert "tags" not in ok(api.get(f"{A2}/model-versions/get", params={"name": name, "version": "1"}))["model_version"]
    assert ok(api.request("DELETE", f"{A2}/model-versions/delete", json={"name": name, "version": "1"})) == {}
    error(api.get(f"{A2}/model-versions/get", params={"name": name, "version": "1"}), 404, "RESOURCE_DOES_NOT_EXIST",
          f"Model Version (name={name}, version=1) not found")
    assert _create_version(api, name, run_id)["version"] == "2"  # numbers are never reused


def test_search_registered_models_with_prompt_clause_and_paging(api, unique):
    prefix = unique("search")
    for i in range(3):
        ok(api.post(f"{A2}/registered-models/create", json={"name": f"{prefix}-{i}"}))
    prompt_clause = "tag.`mlflow.prompt.is_prompt` != 'true'"
    params = {"filter": f"name LIKE '{prefix}%' AND {prompt_clause}", "max_results": "2"}
    first = ok(api.get(f"{A2}/registered-models/search", params=params))
    assert [m["name"] for m in first["registered_models"]] == [f"{prefix}-0", f"{prefix}-1"]
    second = ok(api.get(f"{A2}/registered-models/search", params={**params, "page_token": first["next_page_token"]}))
    assert [m["name"] for m in second["registered_models"]] == [f"{prefix}-2"]
    assert "next_page_token" not in second
    ok(api.post(f"{A2}/registered-models/set-tag", json={"name": f"{prefix}-1", "key": "mlflow.prompt.is_prompt", "value": "true"}))
    hidden = ok(api.get(f"{A2}/registered-models/search", params={**params, "max_results": "100"}))
    assert [m["name"] for m in hidden["registered_models"]] == [f"{prefix}-0", f"{prefix}-2"]
    ordered = ok(api.get(f"{A2}/registered-models/search",
                         params=[("filter", f"name LIKE '{prefix}%'"), ("order_by", "name DESC")]))
    assert [m["name"] for m in ordered["registered_models"]][0] == f"{prefix}-2"
    assert ok(api.get(f"{A2}/registered-models/search", params={"filter": "name = 'nothing-here'"})) == {}


def test_search_model_versions_filters_and_orders(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(3):
        _create_version(api, name, run_id)
    found = ok(api.get(f"{A2}/model-versions/search", params={"filter": f"name='{name}' AND version_number > 1"}))
    assert sorted(v["version"] for v in found["model_versions"]) == ["2", "3"]
    paged = ok(api.get(f"{A2}/model-versions/search",
                       params=[("filter", f"name='{name}'"), ("max_results", "1"), ("order_by", "version_number ASC")]))
    assert [v["version"] for v in paged["model_versions"]] == ["1"] and paged["next_page_token"]
    by_run = ok(api.get(f"{A2}/model-versions/search", params={"filter": f"run_id = '{run_id}' AND name = '{name}'"}))
    assert len(by_run["model_versions"]) == 3


def test_deleting_missing_tags_and_aliases_is_a_no_op(api, unique, run_id):
    name = unique("rm")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    _create_version(api, name, run_id)
    assert ok(api.request("DELETE", f"{A2}/registered-models/delete-tag", json={"name": name, "key": "nope"})) == {}
    assert ok(api.request("DELETE", f"{A2}/model-versions/delete-tag",
                          json={"name": name, "version": "1", "key": "nope"})) == {}
    assert ok(api.request("DELETE", f"{A2}/registered-models/alias", json={"name": name, "alias": "nope"})) == {}


def test_ajax_api_prefix_serves_the_same_routes(api, unique):
    name = unique("ajax")
    ok(api.post("/ajax-api/2.0/mlflow/registered-models/create", json={"name": name}))
    assert ok(api.get(f"{A2}/registered-models/get", params={"name": name}))["registered_model"]["name"] == name
    assert ok(api.get("/ajax-api/2.0/mlflow/registered-models/get", params={"name": name}))["registered_model"]["name"] == name
