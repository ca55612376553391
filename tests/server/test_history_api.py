"""Audit history, state at a time and rollback over HTTP, against real ``podium server`` processes.

Two servers per backend (SQLite and PostgreSQL): one without ``--auth`` (events are anonymous), one
with ``--auth --default-role read`` and users admin, manager (manage on the models), editor (edit),
reader (read), where the actor of every event is the authenticated user and rollback follows the
rules for moving a protected stage or alias (docs/governance.md, "Rollback"). Changes go through
MLflow's REST routes; history, ``at`` and rollback through Podium's own ``/api/podium/v1`` routes
and the Python client. No route changes or deletes an event.
"""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest

from podium.client import PodiumClient
from podium.errors import InvalidParameterValue, PermissionDenied
from podium.server.api import all_routes
from tests.auth_server import AuthServer, BearerAuth, start_auth_server
from tests.conftest import BACKEND_PARAMS
from tests.databases import SERVER_DB_ENV

from .helpers import A2, error, live_server_on, ok

PODIUM = "/api/podium/v1/registered-models"
_BACKENDS = [p for p in BACKEND_PARAMS if p.values[0] != "mysql"]


@pytest.fixture(scope="module", params=_BACKENDS)
def live(request, tmp_path_factory):
    """A server without --auth on SQLite or on a fresh PostgreSQL database, and an httpx client on it."""
    with live_server_on(request.param, tmp_path_factory.mktemp(f"podium-history-{request.param}")) as live_pair:
        yield live_pair


def mark() -> int:
    time.sleep(0.005)
    now = int(time.time() * 1000)
    time.sleep(0.005)
    return now


def promote(api, name: str, version: int, stage: str = "Production", archive: bool = True) -> None:
    ok(api.post(f"{A2}/model-versions/transition-stage", json={
        "name": name, "version": str(version), "stage": stage, "archive_existing_versions": archive}))


def make_model(api, name: str, versions: int = 3) -> None:
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
    for _ in range(versions):
        ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run}/model", "run_id": run}))


def history(api, name: str, **params) -> list[dict]:
    return ok(api.get(f"{PODIUM}/history", params={"name": name, **params}))["events"]


def production(api, name: str) -> list[int]:
    found = ok(api.post(f"{A2}/registered-models/get-latest-versions", json={"name": name, "stages": ["Production"]}))
    return [int(v["version"]) for v in found.get("model_versions", [])]


# ------------------------------------------------------------------------------ without --auth
def test_history_records_every_change_made_over_http(live):
    _, api = live
    name = f"h-{uuid.uuid4().hex[:8]}"
    make_model(api, name, 2)
    promote(api, name, 1)
    promote(api, name, 2)
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"}))
    ok(api.post(f"{A2}/registered-models/set-tag", json={"name": name, "key": "team", "value": "ml"}))
    events = history(api, name)
    assert [e["action"] for e in events] == [
        "model_created", "version_created", "version_created", "stage_transitioned", "stage_transitioned",
        "stage_transitioned", "alias_set", "model_tag_set"]
    assert all(e["actor_via"] == "anonymous" and "actor" not in e for e in events)  # no --auth: anonymous
    assert events[5] | {"id": 0, "timestamp": 0} == {
        "id": 0, "timestamp": 0, "action": "stage_transitioned", "model_name": name, "actor_via": "anonymous",
        "version": 1, "target": "Archived", "before": {"stage": "Production"},
        "after": {"stage": "Archived", "replaced_by": 2}, "cause": "archive_existing_versions"}
    assert [e["version"] for e in history(api, name, version="1")] == [1, 1, 1]
    newest = ok(api.get(f"{PODIUM}/history", params={"name": name, "newest_first": "true", "max_results": 3}))
    assert [e["action"] for e in newest["events"]] == ["model_tag_set", "alias_set", "stage_transitioned"]
    rest = history(api, name, newest_first="true", page_token=newest["next_page_token"])
    assert [e["id"] for e in newest["events"] + rest] == sorted((e["id"] for e in events), reverse=True)
    error(api.get(f"{PODIUM}/history", params={"name": f"{name}-missing"}), 404, "RESOURCE_DOES_NOT_EXIST")
    error(api.get(f"{PODIUM}/history", params={"name": name, "max_results": 5000}), 400, "INVALID_PARAMETER_VALUE")
    error(api.get(f"{PODIUM}/history"), 400, "INVALID_PARAMETER_VALUE")
    moves = history(api, name, action=["alias_set", "model_tag_set"], newest_first="true")
    assert [e["action"] for e in moves] == ["model_tag_set", "alias_set"]
    assert history(api, name, actor="nobody") == []
    error(api.get(f"{PODIUM}/history", params={"name": name, "action": "bogus"}), 400, "INVALID_PARAMETER_VALUE")


def test_state_at_over_http(live):
    _, api = live
    name = f"at-{uuid.uuid4().hex[:8]}"
    before = mark()
    make_model(api, name, 2)
    promote(api, name, 1)
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}))
    t1 = mark()
    promote(api, name, 2)
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"}))
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t1 // 1000)) + f".{t1 % 1000:03d}Z"
    state = ok(api.get(f"{PODIUM}/at", params={"name": name, "time": iso}))["state"]
    assert state["exists"] is True and state["complete"] is True
    assert state["stages"] == {"Production": {"version": 1, "versions": [1]}} and state["aliases"] == {"champion": 1}
    now = ok(api.get(f"{PODIUM}/at", params={"name": name, "time": str(mark())}))["state"]
    assert now["stages"]["Production"] == {"version": 2, "versions": [2]} and now["aliases"] == {"champion": 2}
    early = ok(api.get(f"{PODIUM}/at", params={"name": name, "time": str(before)}))["state"]
    assert early["exists"] is False and early["stages"] == {} and early["aliases"] == {}
    error(api.get(f"{PODIUM}/at", params={"name": name, "time": "last tuesday"}), 400, "INVALID_PARAMETER_VALUE")
    error(api.get(f"{PODIUM}/at", params={"name": name}), 400, "INVALID_PARAMETER_VALUE")
    # a deleted model keeps its history, found by its last name
    ok(api.request("DELETE", f"{A2}/registered-models/delete", json={"name": name}))
    assert ok(api.get(f"{PODIUM}/at", params={"name": name, "time": iso}))["state"]["aliases"] == {"champion": 1}
    assert history(api, name)[-1]["action"] == "model_deleted"


def test_rollback_over_http(live):
    _, api = live
    name = f"rb-{uuid.uuid4().hex[:8]}"
    make_model(api, name)
    for v in (1, 2, 3):
        promote(api, name, v)
    done = ok(api.post(f"{PODIUM}/rollback", json={"name": name, "stage": "Production", "reason": "v3 drifts"}))
    assert done["rollback"] | {"event_id": 0, "timestamp": 0} == {
        "name": name, "stage": "Production", "from_version": 3, "to_version": 2, "event_id": 0, "timestamp": 0}
    assert production(api, name) == [2]
    last = history(api, name)[-3:]
    assert [e["action"] for e in last] == ["rollback", "stage_transitioned", "stage_transitioned"]
    assert last[0]["comment"] == "v3 drifts" and last[0]["id"] == done["rollback"]["event_id"]
    assert last[1]["cause"] == "rollback"
    ok(api.post(f"{PODIUM}/rollback", json={"name": name, "stage": "production", "reason": "v2 too"}))
    assert production(api, name) == [1]
    error(api.post(f"{PODIUM}/rollback", json={"name": name, "stage": "Production", "reason": "and v1?"}),
          400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{PODIUM}/rollback", json={"name": name, "stage": "Production"}), 400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{PODIUM}/rollback", json={"name": name, "reason": "r"}), 400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{PODIUM}/rollback", json={"name": f"{name}-x", "alias": "a", "reason": "r"}),
          404, "RESOURCE_DOES_NOT_EXIST")
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "3"}))
    ok(api.post(f"{PODIUM}/rollback", json={"name": name, "alias": "champion", "reason": "r"}))
    got = ok(api.get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}))
    assert got["model_version"]["version"] == "1"


def test_python_client_against_the_server(live):
    server, api = live
    name = f"cl-{uuid.uuid4().hex[:8]}"
    make_model(api, name, 2)
    promote(api, name, 1)
    promote(api, name, 2)
    client = PodiumClient(server.url)
    page = client.get_model_history(name, max_results=2)
    assert [e.action for e in page] == ["model_created", "version_created"] and page.token
    assert [e.version for e in client.get_model_history(name, version=2)] == [2, 2]
    assert [e.version for e in client.get_model_history(name, actions="version_created")] == [1, 2]
    assert list(client.get_model_history(name, actions=["stage_transitioned"], actor="nobody")) == []
    assert client.get_model_state_at(name, int(time.time() * 1000) + 1000)["stages"]["Production"]["version"] == 2
    done = client.rollback_model(name, stage="Production", reason="client")
    assert (done["from_version"], done["to_version"]) == (2, 1)
    with pytest.raises(InvalidParameterValue):
        client.rollback_model(name, stage="Production", reason="again")


def test_no_route_changes_or_deletes_an_event(live):
    """The only routes of the history API are two reads, the rollback and a scorer's serving event,
    which append; any other method on them is refused, and no route changes or deletes an event."""
    _, api = live
    routes = [r for r in all_routes() if "/api/podium/" in r.path and any(
        word in r.path for word in ("history", "event", "/at", "rollback"))]
    assert sorted((r.method, r.path) for r in routes) == [
        ("GET", f"{PODIUM}/at"), ("GET", f"{PODIUM}/history"), ("POST", SERVING), ("POST", f"{PODIUM}/rollback")]
    assert [r.path for r in all_routes() if "event" in r.path.lower()] == [SERVING]
    name = f"ro-{uuid.uuid4().hex[:8]}"
    make_model(api, name, 1)
    count = len(history(api, name))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in (f"{PODIUM}/history", f"{PODIUM}/at", f"{PODIUM}/events"):
            response = api.request(method, path, params={"name": name}, json={"name": name, "id": 1})
            assert response.status_code in (404, 405), (method, path, response.status_code)
    assert len(history(api, name)) == count


# ------------------------------------------------------------------------------ with --auth
USERS = {"admin": True, "manager": False, "editor": False, "reader": False}


@pytest.fixture(scope="module", params=_BACKENDS)
def auth(request, tmp_path_factory):
    """A server with --auth --default-role read on SQLite or PostgreSQL; ``admin`` is an httpx client."""
    saved = os.environ.get(SERVER_DB_ENV)
    os.environ[SERVER_DB_ENV] = request.param
    try:
        server = start_auth_server(tmp_path_factory.mktemp(f"history-auth-{request.param}"), USERS, None,
                                   {"manager-token": "manager"}, "read", "--allowed-source-prefix", "s3://bucket")
    finally:
        if saved is None:
            os.environ.pop(SERVER_DB_ENV, None)
        else:
            os.environ[SERVER_DB_ENV] = saved
    clients = {user: httpx.Client(base_url=server.url, timeout=60, auth=AuthServer.basic(user)) for user in USERS}
    clients["manager-token"] = httpx.Client(base_url=server.url, timeout=60,
                                            auth=BearerAuth(server.tokens["manager-token"]))
    clients["anonymous"] = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield server, clients
    finally:
        for client in clients.values():
            client.close()
        server.stop()


def governed(clients, policy: dict | None = None) -> str:
    """A model made by admin: versions 1-3, Production v1 then v2 (archiving), @champion 1 then 2;
    grants manager manage and editor edit; ``policy`` (fields of the policy route) if given."""
    admin = clients["admin"]
    name = f"gov-{uuid.uuid4().hex[:8]}"
    make_model(admin, name)
    for user, permission in (("manager", "manage"), ("editor", "edit")):
        ok(admin.post("/api/podium/v1/registered-models/grants", json={"name": name, "user": user,
                                                                       "permission": permission}))
    promote(admin, name, 1)
    promote(admin, name, 2)
    for v in ("1", "2"):
        ok(admin.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": v}))
    if policy:
        ok(admin.post("/api/podium/v1/registered-models/policy", json={"name": name, **policy}))
    return name


def rollback(client, name, reason="r", **target):
    return client.post(f"{PODIUM}/rollback", json={"name": name, "reason": reason, **target})


def test_events_record_the_authenticated_actor(auth):
    _, clients = auth
    name = governed(clients)
    promote(clients["editor"], name, 3)
    ok(rollback(clients["manager-token"], name, "token rollback", stage="Production"))
    events = history(clients["reader"], name)
    assert {(e["actor"], e["actor_via"]) for e in events[:3]} == {("admin", "password")}
    promoted = [e for e in events if e["action"] == "stage_transitioned" and e.get("version") == 3][0]
    assert (promoted["actor"], promoted["actor_via"]) == ("editor", "password")
    rolled = [e for e in events if e["action"] == "rollback"][0]
    assert (rolled["actor"], rolled["actor_via"], rolled["comment"]) == ("manager", "token", "token rollback")
    assert ok(clients["reader"].get(f"{PODIUM}/at", params={"name": name, "time": str(mark())}))["state"]["stages"][
        "Production"]["version"] == 2
    for path in ("history", "at"):
        assert clients["anonymous"].get(f"{PODIUM}/{path}", params={"name": name, "time": "1"}).status_code == 401
    assert rollback(clients["anonymous"], name, stage="Production").status_code == 401


def test_rollback_needs_edit_and_the_policy_of_the_target(auth):
    _, clients = auth
    name = governed(clients, {"protected_stages": ["Production"], "protected_aliases": [], "require_role": "manage"})
    body = error(rollback(clients["reader"], name, stage="Production"), 403, "PERMISSION_DENIED")
    assert "needs edit" in body["message"]
    body = error(rollback(clients["editor"], name, stage="Production"), 403, "PERMISSION_DENIED")
    assert "needs manage" in body["message"] and "Production" in body["message"]
    ok(rollback(clients["editor"], name, alias="champion"))  # unprotected: edit is enough
    ok(rollback(clients["manager"], name, stage="Production"))
    assert production(clients["reader"], name) == [1]
    # a refused rollback records nothing
    actions = [e["action"] for e in history(clients["reader"], name)]
    assert actions.count("rollback") == 2


def test_rollback_under_requires_approval_is_admin_only_and_marked_break_glass(auth):
    _, clients = auth
    name = governed(clients, {"protected_stages": ["Production"], "protected_aliases": ["champion"],
                              "require_role": "manage", "requires_approval": True})
    for user in ("manager", "editor"):
        body = error(rollback(clients[user], name, stage="Production"), 403, "PERMISSION_DENIED")
        assert "approved request" in body["message"] and f"podium models request {name}" in body["message"]
        assert "--stage Production" in body["message"]
    body = error(rollback(clients["manager"], name, alias="champion"), 403, "PERMISSION_DENIED")
    assert "--alias champion" in body["message"]
    done = ok(rollback(clients["admin"], name, "incident 7: break glass", stage="Production"))["rollback"]
    assert (done["from_version"], done["to_version"]) == (2, 1)
    event = [e for e in history(clients["reader"], name) if e["action"] == "rollback"][0]
    assert event["actor"] == "admin" and event["after"] == {"version": 1, "kind": "stage", "break_glass": True}
    assert event["comment"] == "incident 7: break glass"
    # a direct move stays refused even to the admin (only a rollback is break-glass)
    error(clients["admin"].post(f"{A2}/model-versions/transition-stage", json={
        "name": name, "version": "2", "stage": "Production", "archive_existing_versions": True}),
        403, "PERMISSION_DENIED")


def test_python_client_rollback_refused(auth, monkeypatch):
    server, clients = auth
    name = governed(clients, {"protected_stages": ["Production"], "protected_aliases": [], "require_role": "admin"})
    monkeypatch.setenv("PODIUM_TRACKING_TOKEN", server.tokens["manager-token"])
    client = PodiumClient(server.url)
    with pytest.raises(PermissionDenied, match="needs admin"):
        client.rollback_model(name, stage="Production", reason="r")
    assert [e.actor for e in client.get_model_history(name, max_results=1)] == ["admin"]


SERVING = "/api/podium/v1/model-versions/serving-events"


def test_a_serving_event_needs_edit_on_the_model_and_shows_in_history(auth, monkeypatch):
    server, clients = auth
    name = governed(clients)
    event = {"name": name, "version": "3", "action": "serving.swap_failed", "scorer": "scorer-0:5000 pid 7",
             "model_uri": f"models:/{name}@champion", "serving_version": "2", "reason": "manifest mismatch"}
    assert clients["anonymous"].post(SERVING, json=event).status_code == 401
    assert "needs edit" in error(clients["reader"].post(SERVING, json=event), 403, "PERMISSION_DENIED")["message"]
    recorded = ok(clients["editor"].post(SERVING, json=event))["event"]
    assert (recorded["action"], recorded["version"], recorded["target"], recorded["actor"]) == (
        "serving.swap_failed", 3, "champion", "editor")
    error(clients["editor"].post(SERVING, json={**event, "action": "model_deleted"}), 400, "INVALID_PARAMETER_VALUE")
    error(clients["editor"].post(SERVING, json={**event, "version": "99"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert history(clients["reader"], name, newest_first="true")[0] == recorded
    assert ok(clients["reader"].get("/openapi.json"))["paths"][SERVING]["post"]["operationId"] == "record_serving_event"
    monkeypatch.setenv("PODIUM_TRACKING_TOKEN", server.tokens["manager-token"])  # what `podium serve` does
    swapped = PodiumClient(server.url).record_serving_event(name, 2, "serving.swapped", "scorer-1:5000 pid 8",
                                                            model_uri=f"models:/{name}/Production", serving_version=3)
    assert (swapped.actor, swapped.target, swapped.before, swapped.after["serving"]) == ("manager", "Production",
                                                                                         {"serving": 3}, 2)
