"""The OpenAPI document, operational routes, and that the route table covers the mlflow client's calls."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from podium.server.api import all_routes
from podium.server.openapi import ERROR_STATUSES, LINKS
from podium.version import __version__

from .helpers import A2, ok

#: shared/ sits beside the repository (a checkout, and CI's clone, alike; a worktree one level deeper)
TRACE_DIR = next((p / "shared" / "reference" / "mlflow-trace" for p in Path(__file__).resolve().parents[3:5]
                  if (p / "shared" / "reference" / "mlflow-trace").exists()),
                 Path(__file__).resolve().parents[3] / "shared" / "reference" / "mlflow-trace")


def _resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_lists_every_route_with_params_bodies_and_errors(api):
    doc = ok(api.get("/openapi.json"))
    assert doc["openapi"].startswith("3.1") and doc["info"]["version"] == __version__
    routes = all_routes()
    for route in routes:
        path = route.path.replace(":path}", "}")
        op = doc["paths"][path][route.method.lower()]
        assert set(ERROR_STATUSES) <= set(op["responses"]) and "200" in op["responses"], (route.method, path)
        for status in ERROR_STATUSES:
            assert op["responses"][status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        declared = {p["name"] for p in op.get("parameters", [])}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        declared |= set(body.get("properties", {}))
        for p in route.params:
            assert p.name in declared, (route.method, path, p.name)
        for p in op.get("parameters", []):
            if p["in"] == "path":
                assert "{" + p["name"] + "}" in path and p["required"] is True
    operations = sum(len(methods) for methods in doc["paths"].values())
    assert operations == len(routes)
    ids = [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))


def test_openapi_links_chain_each_create_to_the_reads_of_what_it_made(api):
    """The links stateful testing follows: each names an operation and parameters it has, and each
    points into the create's own response (followed here for a registered model and a version)."""
    doc = ok(api.get("/openapi.json"))
    ops = {op["operationId"]: op for methods in doc["paths"].values() for op in methods.values()}
    assert set(LINKS) <= set(ops)
    for source, targets in LINKS.items():
        links = ops[source]["responses"]["200"]["links"]
        assert set(links) == set(targets)
        for target, link in links.items():
            names = {p["name"] for p in ops[target].get("parameters", [])}
            assert link["operationId"] == target and set(link["parameters"]) <= names, (source, target)
    name = f"linked-{uuid.uuid4().hex[:8]}"
    created = ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    pointer = LINKS["create_registered_model"]["get_registered_model"]["name"].split("#")[1].strip("/").split("/")
    value = created
    for part in pointer:
        value = value[part]
    assert ok(api.get(f"{A2}/registered-models/get", params={"name": value}))["registered_model"]["name"] == name
    for ref in set(_refs(doc)):
        assert _resolve(doc, ref), ref


def test_response_schemas_name_the_fields_the_server_sends(api, unique):
    """A real response's fields all appear in the documented schema (the docs follow podium.wire)."""
    doc = ok(api.get("/openapi.json"))
    schemas = doc["components"]["schemas"]
    name = unique("schema")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name, "tags": [{"key": "k", "value": "v"}]}))
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": name}))["experiment_id"]
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": exp}))["run"]
    mv = ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run['info']['run_id']}/m",
                                                           "run_id": run["info"]["run_id"]}))["model_version"]
    rm = ok(api.get(f"{A2}/registered-models/get", params={"name": name}))["registered_model"]
    assert set(mv) <= set(schemas["ModelVersion"]["properties"])
    assert set(rm) <= set(schemas["RegisteredModel"]["properties"])
    assert set(run["info"]) <= set(schemas["RunInfo"]["properties"])
    exp_body = ok(api.get(f"{A2}/experiments/get", params={"experiment_id": exp}))["experiment"]
    assert set(exp_body) <= set(schemas["Experiment"]["properties"])


def _trace_endpoints() -> set[tuple[str, str]]:
    seen = set()
    for file in sorted(TRACE_DIR.glob("*.jsonl")):
        for line in file.read_text().splitlines():
            record = json.loads(line)
            if "does-not-exist" in record["path"] or record["status"] == 405:
                continue  # the error cases that probe unknown routes and wrong methods
            path = re.sub(r"/m-[0-9a-f]{32}", "/{model_id}", record["path"])
            path = re.sub(r"^(/api/2\.0/mlflow-artifacts/(artifacts|presigned|mpu/\w+))/.+", r"\1/{path}", path)
            seen.add((record["method"], path))
    return seen


def _is_webhook_id(endpoint: tuple[str, str]) -> bool:
    """A webhook call names the webhook's id in its path: checked against the templates below."""
    return re.fullmatch(r"/api/2\.0/mlflow/webhooks/.+", endpoint[1]) is not None


@pytest.mark.skipif(not TRACE_DIR.exists(), reason="reference traces not available")
def test_every_endpoint_the_mlflow_client_called_has_a_route():
    served = {(r.method, re.sub(r"\{(\w+)(:path)?\}", lambda m: "{path}" if m.group(2) else "{" + m.group(1) + "}", r.path))
              for r in all_routes()}
    missing = {e for e in _trace_endpoints() if e not in served and not _is_webhook_id(e)}
    assert missing == set()
    webhook_calls = {(m, re.sub(r"/webhooks/[^/]+", "/webhooks/{webhook_id}", p)) for m, p in _trace_endpoints()
                     if p.startswith("/api/2.0/mlflow/webhooks")}
    assert webhook_calls and webhook_calls <= served


def test_server_info_health_and_version(api):
    info = ok(api.get("/api/3.0/mlflow/server-info"))
    assert info["store_type"] == "SqlStore" and info["multipart_uploads_enabled"] is False
    assert info["multipart_downloads_enabled"] is False and info["workspaces_enabled"] is False
    assert ok(api.get("/ajax-api/3.0/mlflow/server-info")) == info
    health = api.get("/health")
    assert health.status_code == 200 and health.text == "OK"
    assert api.get("/version").text == __version__


def test_route_table_size_is_stable():
    routes = all_routes()
    assert len({(r.method, r.path) for r in routes}) == len(routes)
    assert len(routes) >= 60


def test_rest_api_docs_list_every_route_and_setting():
    from podium.server.settings import SETTINGS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "rest-api.md").read_text()
    listed = set(re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", doc, re.M))
    served = {(r.method, r.path.replace(":path}", "}")) for r in all_routes()}
    assert listed == served
    for setting in SETTINGS:
        assert f"`{setting.flag}`" in doc and f"`{setting.env}`" in doc, setting.field
