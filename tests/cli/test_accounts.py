"""``podium users|groups|tokens`` on the database and ``podium models grant|revoke|grants|policy``
(embedded here; against a server in tests/server/test_auth_server.py), with click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from podium.cli import main

from .helpers import assert_one_line_error


@pytest.fixture
def cli(db_uri):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["--tracking-uri", db_uri, *args], input=input, catch_exceptions=False)

    return invoke


def test_users_create_list_set_password_set_admin_delete(cli, db_uri):
    created = cli("users", "create", "admin", "--admin", "--password-stdin", input="admin-password\n")
    assert created.exit_code == 0, created.output
    assert created.stdout == "Created admin admin.\n"
    prompted = cli("users", "create", "alice", input="alice-password\nalice-password\n")
    assert prompted.exit_code == 0 and "Created user alice." in prompted.stdout
    assert cli("users", "create", "svc", "--no-password").exit_code == 0
    listed = json.loads(cli("users", "list", "--json").stdout)["users"]
    assert [(u["name"], u["is_admin"], u["has_password"]) for u in listed] == [
        ("admin", True, True), ("alice", False, True), ("svc", False, False)]
    assert "hash" not in json.dumps(listed)
    table = cli("users", "list").stdout
    assert "admin" in table and "no (tokens only)" in table
    assert cli("users", "set-password", "alice", "--password-stdin", input="another-password\n").exit_code == 0
    assert cli("users", "set-admin", "alice").stdout == "alice is now an admin.\n"
    assert cli("users", "set-admin", "alice", "--revoke").stdout == "alice is no longer an admin.\n"
    assert cli("users", "delete", "svc").exit_code == 0
    assert [u["name"] for u in json.loads(cli("users", "list", "--json").stdout)["users"]] == ["admin", "alice"]

    from podium.auth.passwords import verify_password
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.engine import Database

    db = Database(db_uri)
    assert verify_password("another-password", SqlAuthStore(db).get_user("alice").password_hash)
    db.dispose()


def test_user_errors_are_one_line_with_the_usual_exit_codes(cli):
    cli("users", "create", "alice", "--password-stdin", input="alice-password\n")
    assert_one_line_error(cli("users", "create", "alice", "--password-stdin", input="alice-password\n"), 1,
                          "RESOURCE_ALREADY_EXISTS")
    assert_one_line_error(cli("users", "delete", "nobody"), 3, "RESOURCE_DOES_NOT_EXIST")
    assert_one_line_error(cli("users", "create", "bob", "--password-stdin", input="short\n"), 1,
                          "INVALID_PARAMETER_VALUE")
    assert_one_line_error(cli("users", "create", "a:b", "--no-password"), 1, "INVALID_PARAMETER_VALUE")
    mismatch = cli("users", "create", "carol", input="one-password\nother-password\none-password\none-password\n")
    assert mismatch.exit_code == 0 and "Error: The two entered values do not match." in mismatch.output
    both = cli("users", "create", "dave", "--no-password", "--password-stdin")
    assert both.exit_code == 2


def test_account_commands_refuse_a_server_url():
    result = CliRunner().invoke(main, ["users", "list", "--backend-store-uri", "http://127.0.0.1:5000"])
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "is a server, not a database" in result.stderr


def test_groups_create_add_remove_list_delete(cli):
    for user in ("alice", "bob"):
        cli("users", "create", user, "--no-password")
    assert cli("groups", "create", "team").stdout == "Created group team.\n"
    assert cli("groups", "add", "team", "alice", "bob").stdout == "team: added alice, bob.\n"
    assert json.loads(cli("groups", "list", "--json").stdout) == {"groups": [{"name": "team", "members": ["alice", "bob"]}]}
    assert cli("groups", "remove", "team", "bob").exit_code == 0
    assert "alice" in cli("groups", "list").stdout
    assert_one_line_error(cli("groups", "add", "team", "nobody"), 3, "RESOURCE_DOES_NOT_EXIST")
    assert_one_line_error(cli("groups", "create", "team"), 1, "RESOURCE_ALREADY_EXISTS")
    assert cli("groups", "delete", "team").exit_code == 0
    assert json.loads(cli("groups", "list", "--json").stdout) == {"groups": []}


def test_tokens_create_prints_the_token_once_list_shows_only_the_prefix_revoke(cli):
    cli("users", "create", "ci", "--no-password")
    created = cli("tokens", "create", "--user", "ci", "--name", "deploy", "--expires-in", "30")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("podium_") and "\n" not in token
    assert "Copy it now: it is not shown again." in created.stderr
    as_json = json.loads(cli("tokens", "create", "--user", "ci", "--json").stdout)
    assert as_json["token"].startswith("podium_") and as_json["expires_at"] is None and as_json["state"] == "active"
    listed = json.loads(cli("tokens", "list", "--user", "ci", "--json").stdout)["tokens"]
    assert [(t["name"], t["state"]) for t in listed] == [("deploy", "active"), (None, "active")]
    assert abs(listed[0]["expires_at"] - listed[0]["created_at"] - 30 * 86_400_000) < 5_000
    assert token not in json.dumps(listed) and token.split("_")[1] == listed[0]["prefix"]
    assert token not in cli("tokens", "list", "--user", "ci").stdout
    revoked = cli("tokens", "revoke", str(listed[0]["id"]))
    assert revoked.stdout == f"Revoked token {listed[0]['id']} (deploy) of ci.\n"
    assert json.loads(cli("tokens", "list", "--user", "ci", "--json").stdout)["tokens"][0]["state"] == "revoked"
    assert_one_line_error(cli("tokens", "create", "--user", "nobody"), 3, "RESOURCE_DOES_NOT_EXIST")
    assert_one_line_error(cli("tokens", "revoke", "999"), 3, "RESOURCE_DOES_NOT_EXIST")
    assert cli("tokens", "create", "--user", "ci", "--expires-in", "0").exit_code == 2


def test_models_grant_revoke_grants_and_policy(cli, registry):
    cli("users", "create", "alice", "--no-password")
    cli("groups", "create", "team")
    granted = cli("models", "grant", "wine", "--user", "alice", "--permission", "edit")
    assert granted.exit_code == 0, granted.output
    assert granted.stdout.strip() == "user alice: edit on wine"
    assert cli("models", "grant", "wine", "--group", "team", "--permission", "READ").exit_code == 0
    assert json.loads(cli("models", "grants", "wine", "--json").stdout)["grants"] == [
        {"name": "wine", "principal_type": "user", "principal": "alice", "permission": "edit"},
        {"name": "wine", "principal_type": "group", "principal": "team", "permission": "read"}]
    assert cli("models", "revoke", "wine", "--group", "team").exit_code == 0
    assert "team" not in cli("models", "grants", "wine").stdout
    assert cli("models", "grant", "wine", "--user", "alice", "--group", "team", "--permission", "read").exit_code == 2
    assert_one_line_error(cli("models", "grant", "nope", "--user", "alice", "--permission", "read"), 3,
                          "RESOURCE_DOES_NOT_EXIST")

    set_policy = cli("models", "policy", "wine", "--protect-stage", "production", "--protect-alias", "champion",
                     "--require-role", "admin", "--requires-approval", "--json")
    assert set_policy.exit_code == 0, set_policy.output
    expected = {"name": "wine", "protected_stages": ["Production"], "protected_aliases": ["champion"],
                "require_role": "admin", "requires_approval": True, "required_approvals": 1, "approvers": [],
                "gates": []}
    assert json.loads(set_policy.stdout) == {"policy": expected}
    assert json.loads(cli("models", "policy", "wine", "--show", "--json").stdout) == {"policy": expected}
    shown = cli("models", "policy", "wine", "--show").stdout
    assert "Production" in shown and "@champion" in shown and "admin" in shown
    assert cli("models", "policy", "wine").exit_code == 2
    assert cli("models", "policy", "wine", "--show", "--protect-stage", "Staging").exit_code == 2
    assert_one_line_error(cli("models", "policy", "wine", "--protect-stage", "prod"), 1, "INVALID_PARAMETER_VALUE")


def test_creating_accounts_before_the_first_server_start_leaves_the_default_experiment_to_the_server(cli, db_uri):
    """Accounts are made on a fresh database before `podium server --auth` first starts (docs/security.md):
    that must not create the Default experiment with this process's local artifact directory, or the
    server's clients would write beside the CLI and the server's source rules would refuse them."""
    from podium.compose import MLFLOW_ARTIFACTS_ROOT, build

    assert cli("users", "create", "ada", "--password-stdin", input="a-long-password-1\n").exit_code == 0
    backend = build(db_uri, artifact_root=MLFLOW_ARTIFACTS_ROOT)  # what the server builds
    try:
        assert backend.tracking.get_experiment("0").artifact_location == "mlflow-artifacts:/0"
    finally:
        backend.close()
