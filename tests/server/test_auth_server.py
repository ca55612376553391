"""``podium server --auth`` beyond the matrix: the actor, default roles, tokens, first start, clients.

Servers are real processes; accounts are made in their databases beforehand (tests/auth_server.py).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.auth_server import AuthServer, BearerAuth, password_of, start_auth_server

from .helpers import A2, ART, start_server, stop_server

PODIUM = "/api/podium/v1"


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json() if response.content else {}


def denied(response: httpx.Response) -> str:
    assert response.status_code == 403, f"{response.status_code}: {response.text}"
    assert response.json()["error_code"] == "PERMISSION_DENIED"
    return response.json()["message"]


def _name(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def _client(server: AuthServer, user: str, password: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic(user, password))


# ------------------------------------------------------------------ default role: edit
@pytest.fixture(scope="module")
def edit_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("auth-edit"), {"admin": True, "carol": False, "dave": False},
                               {}, {"carol-token": "carol"}, "edit", "--allowed-source-prefix", "s3://bucket")
    yield server
    server.stop()


def test_the_actor_becomes_user_id_and_a_body_user_id_is_ignored(edit_server):
    model = _name("owned")
    with _client(edit_server, "carol") as carol:
        run = ok(carol.post(f"{A2}/runs/create", json={
            "experiment_id": "0", "user_id": "mallory", "tags": [{"key": "mlflow.user", "value": "mallory"}]}))["run"]
        assert run["info"]["user_id"] == "carol"
        assert {t["key"]: t["value"] for t in run["data"]["tags"]}["mlflow.user"] == "carol"
        created = ok(carol.post(f"{A2}/registered-models/create", json={"name": model, "user_id": "mallory"}))
        assert created["registered_model"]["user_id"] == "carol"
        version = ok(carol.post(f"{A2}/model-versions/create",
                                json={"name": model, "source": "s3://bucket/m", "user_id": "mallory"}))["model_version"]
        assert version["user_id"] == "carol"
    with httpx.Client(base_url=edit_server.url, auth=BearerAuth(edit_server.tokens["carol-token"])) as by_token:
        assert ok(by_token.post(f"{A2}/runs/create", json={"experiment_id": "0", "user_id": "x"}))["run"]["info"]["user_id"] == "carol"
        assert ok(by_token.get(f"{PODIUM}/whoami"))["user"] == {"name": "carol", "is_admin": False, "via": "token",
                                                               "groups": []}


def test_the_creator_of_a_model_gets_manage_and_others_the_default_role(edit_server):
    model = _name("created")
    with _client(edit_server, "carol") as carol, _client(edit_server, "dave") as dave:
        ok(carol.post(f"{A2}/registered-models/create", json={"name": model}))
        assert ok(carol.get(f"{PODIUM}/registered-models/grants", params={"name": model}))["grants"] == [
            {"name": model, "principal_type": "user", "principal": "carol", "permission": "manage"}]
        ok(dave.patch(f"{A2}/registered-models/update", json={"name": model, "description": "edit is the default"}))
        assert "needs manage" in denied(dave.request("DELETE", f"{A2}/registered-models/delete", json={"name": model}))
        # an existing name is answered "already exists" whoever asks (mlflow's register_model relies on it)
        again = dave.post(f"{A2}/registered-models/create", json={"name": model})
        assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")


def test_a_password_change_and_a_deleted_user_take_effect_at_once(edit_server):
    from podium.auth.identity import IdentityService
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.engine import Database

    db = Database(edit_server.db_url)
    identity = IdentityService(SqlAuthStore(db))
    identity.create_user("erin", password_of("erin"))
    try:
        with _client(edit_server, "erin") as erin:
            ok(erin.get(f"{PODIUM}/whoami"))  # verified, and cached
            identity.set_password("erin", "a-new-password")
            assert erin.get(f"{PODIUM}/whoami").status_code == 401
        with _client(edit_server, "erin", "a-new-password") as erin:
            ok(erin.get(f"{PODIUM}/whoami"))
            identity.delete_user("erin")
            assert erin.get(f"{PODIUM}/whoami").status_code == 401
    finally:
        db.dispose()


def test_tokens_record_last_use_and_stop_working_when_revoked_or_expired(edit_server):
    from podium.auth.identity import IdentityService
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.auth_tables import tokens
    from podium.store.sql.engine import Database

    db = Database(edit_server.db_url)
    identity = IdentityService(SqlAuthStore(db))
    try:
        secret, record = identity.create_token("dave", "short-lived")
        assert record.last_used_at is None
        with httpx.Client(base_url=edit_server.url, auth=BearerAuth(secret)) as client:
            ok(client.get(f"{PODIUM}/whoami"))
            used = [t for t in identity.list_tokens("dave") if t.id == record.id][0]
            assert used.last_used_at is not None and used.state(int(time.time() * 1000)) == "active"
            with db.write() as conn:  # expire it
                conn.execute(tokens.update().where(tokens.c.id == record.id).values(expires_at=1))
            assert client.get(f"{PODIUM}/whoami").status_code == 401
        secret2, record2 = identity.create_token("dave")
        with httpx.Client(base_url=edit_server.url, auth=BearerAuth(secret2)) as client:
            ok(client.get(f"{PODIUM}/whoami"))
            identity.revoke_token(record2.id)
            response = client.get(f"{PODIUM}/whoami")
            assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
        # a token as the Basic password must belong to that user
        with _client(edit_server, "carol", edit_server.tokens["carol-token"]) as right:
            ok(right.get(f"{PODIUM}/whoami"))
        with _client(edit_server, "dave", edit_server.tokens["carol-token"]) as wrong:
            assert wrong.get(f"{PODIUM}/whoami").status_code == 401
    finally:
        db.dispose()


@pytest.mark.parametrize("header", ["Digest abc", "Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Bearer nope"])
def test_malformed_or_unsupported_credentials_are_401(edit_server, header):
    response = httpx.get(f"{edit_server.url}{PODIUM}/whoami", headers={"Authorization": header})
    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == 'Basic realm="podium"'


def test_podium_client_and_cli_manage_grants_and_policies_on_an_auth_server(edit_server, monkeypatch):
    from click.testing import CliRunner

    from podium import PodiumClient
    from podium.compose import reset_backends
    from podium.cli import main
    from podium.client import http

    model = _name("client")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password_of("carol"))
    http._sessions.clear()
    reset_backends()
    client = PodiumClient(edit_server.url)
    client.create_registered_model(model)
    granted = client.set_model_grant(model, "read", user="dave")
    assert (granted.principal, granted.permission.label) == ("dave", "read")
    policy = client.set_model_policy(model, ["production"], ["champion"], "admin", requires_approval=False)
    assert (policy.protected_stages, policy.protected_aliases, policy.require_role) == (("Production",), ("champion",), "admin")
    assert client.get_model_policy(model) == policy
    cli = CliRunner()
    shown = cli.invoke(main, ["--tracking-uri", edit_server.url, "models", "policy", model, "--show", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"require_role": "admin"' in shown.output
    revoked = cli.invoke(main, ["--tracking-uri", edit_server.url, "models", "revoke", model, "--user", "dave"])
    assert revoked.exit_code == 0, revoked.output
    assert [g.principal for g in client.get_model_grants(model)] == ["carol"]
    # carol manages the model but its policy now requires admin: changing it needs admin
    refused = cli.invoke(main, ["--tracking-uri", edit_server.url, "models", "policy", model, "--protect-stage", "Staging"])
    assert refused.exit_code == 1 and "Error: PERMISSION_DENIED: changing the policy of model" in refused.output
    http._sessions.clear()
    reset_backends()


# ------------------------------------------------------------------ default role: none
@pytest.fixture(scope="module")
def none_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("auth-none"), {"admin": True, "rita": False, "sam": False},
                               {"readers": ["sam"]}, {}, "none", "--allowed-source-prefix", "s3://bucket")
    yield server
    server.stop()


def test_with_default_role_none_searches_show_only_readable_models(none_server):
    with _client(none_server, "admin") as admin:
        names = [_name("visible"), _name("hidden"), _name("group's"), "it's-" + uuid.uuid4().hex[:6]]
        for name in names:
            ok(admin.post(f"{A2}/registered-models/create", json={"name": name}))
            ok(admin.post(f"{A2}/model-versions/create", json={"name": name, "source": "s3://bucket/m"}))
        for name, who in ((names[0], {"user": "rita"}), (names[2], {"group": "readers"}), (names[3], {"user": "rita"})):
            ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": name, "permission": "read", **who}))
    with _client(none_server, "rita") as rita:
        found = ok(rita.get(f"{A2}/registered-models/search", params={"max_results": 1000}))["registered_models"]
        assert {m["name"] for m in found} & set(names) == {names[0], names[3]}
        versions = ok(rita.get(f"{A2}/model-versions/search"))["model_versions"]
        assert {v["name"] for v in versions} & set(names) == {names[0], names[3]}
        filtered = ok(rita.get(f"{A2}/registered-models/search", params={"filter": "name LIKE 'hidden%'"}))
        assert filtered == {}
        page = ok(rita.get(f"{A2}/registered-models/search", params={"max_results": 1}))
        assert len(page["registered_models"]) == 1 and "next_page_token" in page
        second = ok(rita.get(f"{A2}/registered-models/search", params={"max_results": 1, "page_token": page["next_page_token"]}))
        assert second["registered_models"][0]["name"] != page["registered_models"][0]["name"]
        assert denied(rita.get(f"{A2}/registered-models/get", params={"name": names[1]})) == (
            f"reading model '{names[1]}' needs read on '{names[1]}' or admin; you (rita) have none")
        assert "registry-wide role read" in denied(rita.post(f"{A2}/experiments/search", json={}))
    with _client(none_server, "sam") as sam:  # through the group
        found = ok(sam.get(f"{A2}/registered-models/search"))["registered_models"]
        assert {m["name"] for m in found} & set(names) == {names[2]}
    with _client(none_server, "admin") as admin:
        found = ok(admin.get(f"{A2}/registered-models/search", params={"max_results": 1000}))["registered_models"]
        assert set(names) <= {m["name"] for m in found}


def test_with_default_role_none_a_model_reader_may_download_its_artifacts_only(none_server):
    with _client(none_server, "admin") as admin:
        runs = [ok(admin.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"] for _ in range(2)]
        for run in runs:
            ok(admin.put(f"{ART}/0/{run}/artifacts/model/MLmodel", content=b"flavors: {}\n"))
        model = _name("served")
        ok(admin.post(f"{A2}/registered-models/create", json={"name": model}))
        ok(admin.post(f"{A2}/model-versions/create", json={"name": model, "source": f"runs:/{runs[0]}/model",
                                                            "run_id": runs[0]}))
        ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": model, "user": "rita", "permission": "read"}))
    with _client(none_server, "rita") as rita:
        uri = ok(rita.get(f"{A2}/model-versions/get-download-uri", params={"name": model, "version": "1"}))
        assert uri["artifact_uri"] == f"mlflow-artifacts:/0/{runs[0]}/artifacts/model"
        listing = ok(rita.get(ART, params={"path": f"0/{runs[0]}/artifacts/model"}))
        assert [f["path"] for f in listing["files"]] == ["MLmodel"]
        assert rita.get(f"{ART}/0/{runs[0]}/artifacts/model/MLmodel").content == b"flavors: {}\n"
        assert "reading artifacts needs" in denied(rita.get(f"{ART}/0/{runs[1]}/artifacts/model/MLmodel"))
        assert "writing artifacts" in denied(rita.put(f"{ART}/0/{runs[0]}/artifacts/model/x", content=b"x"))


# ------------------------------------------------------------------ first start
def test_first_start_without_users_logs_how_to_create_the_first_admin(tmp_path):
    server = start_server(tmp_path, "--auth")
    try:
        assert httpx.get(f"{server.url}{PODIUM}/whoami").status_code == 401
        assert httpx.get(f"{server.url}/health").text == "OK"
    finally:
        stop_server(server)
    log = server.log()
    assert "there are no users yet" in log and "podium users create admin --admin" in log


def test_first_start_with_podium_admin_password_creates_the_admin(tmp_path):
    server = start_server(tmp_path, "--auth", env={"PODIUM_ADMIN_PASSWORD": "first-admin-pw"})
    try:
        me = ok(httpx.get(f"{server.url}{PODIUM}/whoami", auth=("admin", "first-admin-pw")))
        assert me["user"]["is_admin"] is True and me["default_role"] == "read"
    finally:
        stop_server(server)
    assert "Created the first admin user 'admin'" in server.log()
    # a second start with another password changes nothing: there are users now
    again = start_server(tmp_path, "--auth", env={"PODIUM_ADMIN_PASSWORD": "another-password"})
    try:
        assert httpx.get(f"{again.url}{PODIUM}/whoami", auth=("admin", "another-password")).status_code == 401
    finally:
        stop_server(again)


def test_a_too_short_podium_admin_password_stops_the_server_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "podium.server", "--auth", "--port", "0", "--backend-store-uri",
                           f"sqlite:///{tmp_path / 'p.db'}", "--artifacts-destination", str(tmp_path / "a")],
                          env={"PODIUM_ADMIN_PASSWORD": "short", "PATH": ""}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Error: INVALID_PARAMETER_VALUE: A password needs at least 8 characters." in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ auth off: nothing changes
def test_without_auth_user_id_is_what_the_client_sends_and_policies_are_stored_not_enforced(api, unique):
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0", "user_id": "mallory"}))["run"]
    assert run["info"]["user_id"] == "mallory"
    assert ok(api.get(f"{PODIUM}/whoami")) == {"auth": False, "default_role": "read", "user": None}
    model = unique("open")
    ok(api.post(f"{A2}/registered-models/create", json={"name": model}))
    ok(api.post(f"{A2}/model-versions/create", json={"name": model, "source": f"runs:/{run['info']['run_id']}/m",
                                                      "run_id": run["info"]["run_id"]}))
    assert ok(api.get(f"{PODIUM}/registered-models/grants", params={"name": model})) == {"grants": []}
    ok(api.post(f"{PODIUM}/registered-models/policy",
                json={"name": model, "protected_stages": ["Production"], "requires_approval": True}))
    ok(api.post(f"{A2}/model-versions/transition-stage",
                json={"name": model, "version": "1", "stage": "Production", "archive_existing_versions": False}))
