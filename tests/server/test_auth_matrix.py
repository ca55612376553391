"""The whole permission matrix over HTTP, against a real ``podium server --auth --default-role read``.

Every role (no credentials, bad credentials, a revoked token, a user without grants, read, edit
directly / through a group / by token, manage, admin) calls every registry operation on an
unprotected and a protected target, and every registry-wide operation (tracking, artifacts, model
creation, server routes); each answer must be 200, 401 UNAUTHENTICATED or 403 PERMISSION_DENIED as
the rules in docs/security.md say. A refused call changes nothing, so refusals and reads share one
model; an allowed change gets a fresh model of its own.

Every model has versions 1 (Production, alias @champion) and 2 (None); its policy protects the stage
Production and the alias champion (require_role manage); grants: manager manage, editor edit,
reader read, group team (member: teammate) edit.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.auth_server import AuthServer, BearerAuth, start_auth_server

from .helpers import A2, ART

PODIUM = "/api/podium/v1"
UNAUTH, READ, EDIT, MANAGE = "401", 1, 2, 3
USERS = {"admin": True, "manager": False, "editor": False, "reader": False, "teammate": False, "outsider": False}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("auth-matrix"), USERS, {"team": ["teammate"]},
                               {"editor-token": "editor", "revoked": "editor"}, "read", "--allowed-source-prefix", "s3://bucket")
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        _revoke(server.db_url, server.tokens["revoked"])
        server.admin = admin
        yield server
    server.stop()


def _revoke(db_url: str, token: str) -> None:
    from podium.auth.tokens import prefix_of
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.engine import Database

    db = Database(db_url)
    store = SqlAuthStore(db)
    record, _ = store.find_token(prefix_of(token))
    store.revoke_token(record.id)
    db.dispose()


@pytest.fixture(scope="module")
def clients(auth_server):
    """One HTTP client per role, reused across the matrix."""
    made = {role: httpx.Client(base_url=auth_server.url, timeout=30, auth=credentials)
            for role, (credentials, _, _) in _roles(auth_server).items()}
    yield made
    for client in made.values():
        client.close()


#: role -> (credentials, model-level permission it holds on the matrix models, registry-wide role)
def _roles(server) -> dict:
    basic = AuthServer.basic
    return {
        "anonymous": (None, UNAUTH, UNAUTH),
        "wrong-password": (basic("editor", "not-the-password"), UNAUTH, UNAUTH),
        "unknown-user": (basic("nobody", "whatever-password"), UNAUTH, UNAUTH),
        "revoked-token": (BearerAuth(server.tokens["revoked"]), UNAUTH, UNAUTH),
        "outsider": (basic("outsider"), READ, READ),  # no grant: the default role (read)
        "reader": (basic("reader"), READ, READ),
        "editor": (basic("editor"), EDIT, READ),
        "editor-bearer-token": (BearerAuth(server.tokens["editor-token"]), EDIT, READ),
        "editor-basic-token": (basic("editor", server.tokens["editor-token"]), EDIT, READ),
        "team-member": (basic("teammate"), EDIT, READ),  # edit through the group "team"
        "manager": (basic("manager"), MANAGE, READ),
        "admin": (basic("admin"), MANAGE, MANAGE),
    }


ROLE_NAMES = ["anonymous", "wrong-password", "unknown-user", "revoked-token", "outsider", "reader", "editor",
              "editor-bearer-token", "editor-basic-token", "team-member", "manager", "admin"]
_ROLE_USER = {"outsider": "outsider", "reader": "reader", "editor": "editor", "editor-bearer-token": "editor",
              "editor-basic-token": "editor", "team-member": "teammate", "manager": "manager", "admin": "admin"}


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json()


def fresh_model(admin: httpx.Client) -> str:
    name = f"m-{uuid.uuid4().hex[:10]}"
    ok(admin.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(2):
        ok(admin.post(f"{A2}/model-versions/create", json={"name": name, "source": f"s3://bucket/{name}"}))
    ok(admin.post(f"{A2}/model-versions/transition-stage",
                  json={"name": name, "version": "1", "stage": "Production", "archive_existing_versions": False}))
    ok(admin.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}))
    ok(admin.post(f"{PODIUM}/registered-models/policy",
                  json={"name": name, "protected_stages": ["Production"], "protected_aliases": ["champion"]}))
    for user, permission in (("manager", "manage"), ("editor", "edit"), ("reader", "read")):
        ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": name, "user": user, "permission": permission}))
    ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": name, "group": "team", "permission": "edit"}))
    return name


def _transition(version: str, stage: str):
    return lambda c, n: c.post(f"{A2}/model-versions/transition-stage",
                               json={"name": n, "version": version, "stage": stage, "archive_existing_versions": False})


#: model operation -> (permission needed, protected target it moves or None, call(client, model))
MODEL_OPS = {
    # read
    "get-model": (READ, None, lambda c, n: c.get(f"{A2}/registered-models/get", params={"name": n})),
    "search-models": (READ, None, lambda c, n: c.get(f"{A2}/registered-models/search", params={"filter": f"name = '{n}'"})),
    "latest-versions": (READ, None, lambda c, n: c.post(f"{A2}/registered-models/get-latest-versions", json={"name": n})),
    "get-version": (READ, None, lambda c, n: c.get(f"{A2}/model-versions/get", params={"name": n, "version": "1"})),
    "download-uri": (READ, None, lambda c, n: c.get(f"{A2}/model-versions/get-download-uri",
                                                   params={"name": n, "version": "1"})),
    "get-by-alias": (READ, None, lambda c, n: c.get(f"{A2}/registered-models/alias", params={"name": n, "alias": "champion"})),
    "search-versions": (READ, None, lambda c, n: c.get(f"{A2}/model-versions/search", params={"filter": f"name = '{n}'"})),
    "get-policy": (READ, None, lambda c, n: c.get(f"{PODIUM}/registered-models/policy", params={"name": n})),
    # edit, unprotected targets
    "update-model": (EDIT, None, lambda c, n: c.patch(f"{A2}/registered-models/update", json={"name": n, "description": "d"})),
    "set-model-tag": (EDIT, None, lambda c, n: c.post(f"{A2}/registered-models/set-tag", json={"name": n, "key": "k", "value": "v"})),
    "delete-model-tag": (EDIT, None, lambda c, n: c.request("DELETE", f"{A2}/registered-models/delete-tag",
                                                            json={"name": n, "key": "k"})),
    "create-version": (EDIT, None, lambda c, n: c.post(f"{A2}/model-versions/create", json={"name": n, "source": "s3://bucket/x"})),
    "update-version": (EDIT, None, lambda c, n: c.patch(f"{A2}/model-versions/update",
                                                        json={"name": n, "version": "2", "description": "d"})),
    "set-version-tag": (EDIT, None, lambda c, n: c.post(f"{A2}/model-versions/set-tag",
                                                        json={"name": n, "version": "2", "key": "k", "value": "v"})),
    "delete-version-tag": (EDIT, None, lambda c, n: c.request("DELETE", f"{A2}/model-versions/delete-tag",
                                                              json={"name": n, "version": "2", "key": "k"})),
    "transition-unprotected": (EDIT, None, _transition("2", "Staging")),
    "set-alias-unprotected": (EDIT, None, lambda c, n: c.post(f"{A2}/registered-models/alias",
                                                              json={"name": n, "alias": "challenger", "version": "2"})),
    "delete-alias-unprotected": (EDIT, None, lambda c, n: c.request("DELETE", f"{A2}/registered-models/alias",
                                                                    json={"name": n, "alias": "challenger"})),
    # protected targets (policy: require_role manage)
    "transition-into-protected": (MANAGE, "Production", _transition("2", "Production")),
    "transition-out-of-protected": (MANAGE, "Production", _transition("1", "Archived")),
    "set-alias-protected": (MANAGE, "champion", lambda c, n: c.post(f"{A2}/registered-models/alias",
                                                                    json={"name": n, "alias": "champion", "version": "2"})),
    "delete-alias-protected": (MANAGE, "champion", lambda c, n: c.request("DELETE", f"{A2}/registered-models/alias",
                                                                          json={"name": n, "alias": "champion"})),
    # manage
    "delete-version-unprotected": (MANAGE, None, lambda c, n: c.request("DELETE", f"{A2}/model-versions/delete",
                                                                        json={"name": n, "version": "2"})),
    "delete-version-protected": (MANAGE, None, lambda c, n: c.request("DELETE", f"{A2}/model-versions/delete",
                                                                      json={"name": n, "version": "1"})),
    "rename-model": (MANAGE, None, lambda c, n: c.post(f"{A2}/registered-models/rename",
                                                       json={"name": n, "new_name": n + "-renamed"})),
    "delete-model": (MANAGE, None, lambda c, n: c.request("DELETE", f"{A2}/registered-models/delete", json={"name": n})),
    "get-grants": (MANAGE, None, lambda c, n: c.get(f"{PODIUM}/registered-models/grants", params={"name": n})),
    "set-grant": (MANAGE, None, lambda c, n: c.post(f"{PODIUM}/registered-models/grants",
                                                    json={"name": n, "user": "outsider", "permission": "read"})),
    "delete-grant": (MANAGE, None, lambda c, n: c.request("DELETE", f"{PODIUM}/registered-models/grants",
                                                          json={"name": n, "user": "reader"})),
    "set-policy": (MANAGE, None, lambda c, n: c.post(f"{PODIUM}/registered-models/policy",
                                                     json={"name": n, "protected_stages": ["Staging"]})),
}
_MUTATING = {op for op, (level, _, _) in MODEL_OPS.items() if level > READ}


@pytest.fixture(scope="module")
def shared_model(auth_server) -> str:
    return fresh_model(auth_server.admin)


@pytest.mark.parametrize("op", list(MODEL_OPS))
@pytest.mark.parametrize("role", ROLE_NAMES)
def test_model_operation_matrix(auth_server, clients, shared_model, role, op):
    _, have, _ = _roles(auth_server)[role]
    need, target, call = MODEL_OPS[op]
    allowed = have != UNAUTH and have >= need
    model = fresh_model(auth_server.admin) if allowed and op in _MUTATING else shared_model
    response = call(clients[role], model)
    body = response.json()
    if have == UNAUTH:
        assert response.status_code == 401, body
        assert body["error_code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == 'Basic realm="podium"'
    elif allowed:
        assert response.status_code == 200, body
        if op == "search-models":
            assert [m["name"] for m in body["registered_models"]] == [model]
    else:
        assert response.status_code == 403, body
        assert body["error_code"] == "PERMISSION_DENIED"
        user = _ROLE_USER[role]
        level = {READ: "read", EDIT: "edit", MANAGE: "manage"}
        if target is not None and have >= EDIT:  # allowed to edit, but the target is protected
            assert body["message"] == (f"moving '{target}' of model '{model}' needs manage on '{model}' or admin; "
                                       f"you ({user}) have {level[have]}")
        else:  # a protected target is moved by an edit operation: below edit, edit is what is missing
            missing = EDIT if target is not None else need
            assert body["message"].endswith(f"model '{model}' needs {level[missing]} on '{model}' or admin; "
                                            f"you ({user}) have {level[have]}"), body["message"]


#: registry-wide operation -> (role needed: READ / EDIT, None = any authenticated user, "public"; call(client, run))
REGISTRY_OPS = {
    "health": ("public", lambda c, r: c.get("/health")),
    "version": ("public", lambda c, r: c.get("/version")),
    "metrics": ("public", lambda c, r: c.get("/metrics")),
    "server-info": (None, lambda c, r: c.get("/api/3.0/mlflow/server-info")),
    "openapi": (None, lambda c, r: c.get("/openapi.json")),
    "whoami": (None, lambda c, r: c.get(f"{PODIUM}/whoami")),
    "search-experiments": (READ, lambda c, r: c.post(f"{A2}/experiments/search", json={})),
    "get-run": (READ, lambda c, r: c.get(f"{A2}/runs/get", params={"run_id": r})),
    "search-runs": (READ, lambda c, r: c.post(f"{A2}/runs/search", json={"experiment_ids": ["0"]})),
    "metric-history": (READ, lambda c, r: c.get(f"{A2}/metrics/get-history", params={"run_id": r, "metric_key": "m"})),
    "list-artifacts": (READ, lambda c, r: c.get(ART, params={"path": f"0/{r}/artifacts"})),
    "create-model": (EDIT, lambda c, r: c.post(f"{A2}/registered-models/create", json={"name": f"new-{uuid.uuid4().hex[:8]}"})),
    "create-experiment": (EDIT, lambda c, r: c.post(f"{A2}/experiments/create", json={"name": f"e-{uuid.uuid4().hex[:8]}"})),
    "create-run": (EDIT, lambda c, r: c.post(f"{A2}/runs/create", json={"experiment_id": "0"})),
    "log-metric": (EDIT, lambda c, r: c.post(f"{A2}/runs/log-metric", json={"run_id": r, "key": "m", "value": 1.0,
                                                                              "timestamp": 1, "step": 0})),
    "upload-artifact": (EDIT, lambda c, r: c.put(f"{ART}/0/{r}/artifacts/f-{uuid.uuid4().hex[:6]}.txt", content=b"x")),
    "delete-artifact": (EDIT, lambda c, r: c.request("DELETE", f"{ART}/0/{r}/artifacts/none.txt")),
}


@pytest.fixture(scope="module")
def run_id(auth_server) -> str:
    return ok(auth_server.admin.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]


@pytest.mark.parametrize("op", list(REGISTRY_OPS))
@pytest.mark.parametrize("role", ROLE_NAMES)
def test_registry_wide_operation_matrix(auth_server, clients, run_id, role, op):
    _, _, have = _roles(auth_server)[role]
    need, call = REGISTRY_OPS[op]
    response = call(clients[role], run_id)
    if need == "public" or (response.status_code == 200 and have != UNAUTH):
        assert response.status_code == 200 and (need == "public" or need is None or have >= need), response.text
        return
    body = response.json()
    if have == UNAUTH:
        assert (response.status_code, body["error_code"]) == (401, "UNAUTHENTICATED"), body
    elif need is None or have >= need:
        assert response.status_code == 200, body
    else:
        assert (response.status_code, body["error_code"]) == (403, "PERMISSION_DENIED"), body
        assert "needs the registry-wide role edit or admin" in body["message"]
        assert f"you ({_ROLE_USER[role]}) have read (the server's --default-role)" in body["message"]


# ------------------------------------------------------------------ stricter policies
@pytest.fixture
def strict_model(auth_server):
    def make(**policy) -> str:
        name = fresh_model(auth_server.admin)
        ok(auth_server.admin.post(f"{PODIUM}/registered-models/policy",
                                  json={"name": name, "protected_stages": ["Production"],
                                        "protected_aliases": ["champion"], **policy}))
        return name

    return make


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_requires_approval_refuses_everyone_and_names_the_request_command(auth_server, strict_model, role):
    name = strict_model(requires_approval=True)
    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic(role)) as client:
        moved = _transition("2", "Production")(client, name)
        aliased = client.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"})
        unprotected = _transition("2", "Staging")(client, name)
    assert moved.status_code == 403 and moved.json()["error_code"] == "PERMISSION_DENIED"
    assert moved.json()["message"] == (
        f"moving 'Production' of model '{name}' needs an approved request: the model's policy refuses direct "
        f"changes. Ask for one with: podium models request {name} 2 --stage Production")
    assert f"podium models request {name} 2 --alias champion" in aliased.json()["message"]
    assert unprotected.status_code == 200


def test_require_role_admin_refuses_a_manager_and_admits_an_admin(auth_server, strict_model):
    name = strict_model(require_role="admin")
    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic("manager")) as manager:
        refused = _transition("2", "Production")(manager, name)
        loosen = manager.post(f"{PODIUM}/registered-models/policy", json={"name": name, "protected_stages": []})
    assert refused.status_code == 403
    assert refused.json()["message"] == f"moving 'Production' of model '{name}' needs admin; you (manager) have manage on '{name}'"
    assert loosen.status_code == 403  # a manager cannot loosen a policy that binds managers
    assert "needs admin while it requires admin" in loosen.json()["message"]
    assert _transition("2", "Production")(auth_server.admin, name).status_code == 200


def test_a_grant_below_the_default_role_lowers_it_for_that_model(auth_server):
    name = fresh_model(auth_server.admin)
    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic("outsider")) as outsider:
        assert outsider.get(f"{A2}/registered-models/get", params={"name": name}).status_code == 200
        ok(auth_server.admin.post(f"{PODIUM}/registered-models/grants",
                                  json={"name": name, "user": "outsider", "permission": "edit"}))
        assert outsider.patch(f"{A2}/registered-models/update", json={"name": name, "description": "x"}).status_code == 200
        ok(auth_server.admin.request("DELETE", f"{PODIUM}/registered-models/grants", json={"name": name, "user": "outsider"}))
        assert outsider.patch(f"{A2}/registered-models/update", json={"name": name, "description": "y"}).status_code == 403


# ------------------------------------------------------------------ webhooks: admins only
@pytest.mark.parametrize("role", ["anonymous", "reader", "editor", "manager", "admin"])
def test_webhooks_are_for_admins_only(auth_server, clients, role):
    _, _, have = _roles(auth_server)[role]
    client = clients[role]
    created = client.post(f"{A2}/webhooks", json={"name": "w", "url": "https://example.com/hook",
                                                  "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]})
    listed = client.get(f"{A2}/webhooks")
    if role == "admin":
        webhook_id = ok(created)["webhook"]["webhook_id"]
        assert webhook_id in [w["webhook_id"] for w in ok(listed)["webhooks"]]
        ok(client.delete(f"{A2}/webhooks/{webhook_id}"))
        return
    for response in (created, listed):
        if have == UNAUTH:
            assert response.status_code == 401
        else:
            body = response.json()
            assert (response.status_code, body["error_code"]) == (403, "PERMISSION_DENIED")
            assert body["message"] == f"managing webhooks needs admin; you ({_ROLE_USER[role]}) are not one"
