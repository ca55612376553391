"""``podium webhooks`` on a SQLite file (CliRunner), with a real receiver for ``test``. Deliveries
made here wait in the outbox for a server on the same database (tests/server/test_webhooks_api.py
runs the commands against a live server)."""

from __future__ import annotations

import json

import pytest

from tests.webhook_receiver import Receiver, verify_mlflow

from .helpers import assert_one_line_error


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def allow_http(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")


def _create(podium_cli, url: str, *extra: str) -> dict:
    result = podium_cli("webhooks", "create", "deploy", url, "-e", "registered_model.created",
                        "-e", "model_version_stage.transitioned", "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["webhook"]


def test_create_show_list_test_and_delete(podium_cli, receiver, allow_http, tmp_path):
    created = podium_cli("webhooks", "create", "deploy", receiver.url(), "-e", "registered_model.created",
                         "--secret-stdin", "--json", input="s3cr3t\n")
    hook = json.loads(created.stdout)["webhook"]
    assert hook["has_secret"] is True and "secret" not in hook
    shown = podium_cli("webhooks", "show", hook["webhook_id"])
    assert "set (encrypted, never shown)" in shown.stdout and "s3cr3t" not in shown.stdout
    assert hook["webhook_id"] in podium_cli("webhooks", "list").stdout
    key_file = tmp_path / "webhook-secret.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert b"s3cr3t" not in (tmp_path / "podium.db").read_bytes()  # encrypted at rest

    tested = podium_cli("webhooks", "test", hook["webhook_id"])
    assert tested.exit_code == 0 and "the endpoint answered 200" in tested.stdout
    (got,) = receiver.received
    assert got.json["entity"] == "registered_model" and verify_mlflow("s3cr3t", got)

    assert podium_cli("webhooks", "delete", hook["webhook_id"]).exit_code == 0
    assert_one_line_error(podium_cli("webhooks", "show", hook["webhook_id"]), 3, "RESOURCE_DOES_NOT_EXIST")


def test_deliveries_wait_in_the_outbox_and_can_be_resent(podium_cli, seed, allow_http):
    hook = _create(podium_cli, "https://hooks.example.com/podium")
    seed.create_registered_model("wine")
    listed = json.loads(podium_cli("webhooks", "deliveries", hook["webhook_id"], "--json").stdout)["deliveries"]
    assert [(d["event"], d["status"]) for d in listed] == [("registered_model.created", "pending")]
    assert "registered_model.created" in podium_cli("webhooks", "deliveries", hook["webhook_id"]).stdout
    disabled = podium_cli("webhooks", "update", hook["webhook_id"], "--disable", "--json")
    assert json.loads(disabled.stdout)["webhook"]["status"] == "DISABLED"
    cancelled = json.loads(podium_cli("webhooks", "deliveries", hook["webhook_id"], "--status", "cancelled",
                                      "--json").stdout)["deliveries"]
    assert [d["delivery_id"] for d in cancelled] == [listed[0]["delivery_id"]]
    again = podium_cli("webhooks", "redeliver", listed[0]["delivery_id"])
    assert again.exit_code == 0 and listed[0]["delivery_id"] in again.stdout


def test_mistakes_are_one_line_errors(podium_cli, seed, allow_http):
    seed.search_registered_models()  # the store exists
    assert podium_cli("webhooks", "create", "deploy", "https://x.example").exit_code == 2  # no --event
    assert_one_line_error(podium_cli("webhooks", "create", "deploy", "ftp://x", "-e", "model_version.created"),
                          1, "INVALID_PARAMETER_VALUE")
    assert_one_line_error(podium_cli("webhooks", "create", "deploy", "https://x.example", "-e", "model.exploded"),
                          1, "INVALID_PARAMETER_VALUE")
    assert_one_line_error(podium_cli("webhooks", "create", "bad name", "https://x.example", "-e",
                                     "model_version.created"), 1, "INVALID_PARAMETER_VALUE")
    refused = _create(podium_cli, "http://169.254.169.254/latest")
    result = podium_cli("webhooks", "test", refused["webhook_id"])
    assert result.exit_code == 1 and "metadata" in result.stderr
