"""Webhooks against a real ``podium server`` and a real receiver (tests/webhook_receiver.py).

The real mlflow 3.17 client's webhook methods work unchanged; deliveries are MLflow's envelope,
signed so that a receiver written for MLflow verifies them; retries back off, honour
``Retry-After``, never follow a redirect; a 410 disables the webhook; disabling takes effect at
once. The server allows http to 127.0.0.1 only through ``--webhook-allowed-network`` (private
addresses stay refused) and retries after 50-200 ms, so nothing waits for long.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.webhook_receiver import Receiver, verify_mlflow

from .helpers import A2, error, ok, start_server, stop_server

pytest.importorskip("mlflow")

PODIUM = "/api/podium/v1"
FAST = ("--webhook-allowed-scheme", "http", "--webhook-allowed-network", "127.0.0.1/32",
        "--webhook-retry-initial-ms", "50", "--webhook-retry-max-ms", "200", "--webhook-poll-ms", "50")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's server (tests/server/conftest.py's ``api`` talks to it)."""
    running = start_server(tmp_path_factory.mktemp("podium-webhooks"), *FAST)
    yield running
    stop_server(running)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def mlflow_client(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def _name() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def _hook(api, url: str, events: list[tuple[str, str]], **extra) -> dict:
    body = {"name": f"h-{uuid.uuid4().hex[:8]}", "url": url,
            "events": [{"entity": e, "action": a} for e, a in events], **extra}
    return ok(api.post(f"{A2}/webhooks", json=body))["webhook"]


def _deliveries(api, webhook_id: str) -> list[dict]:
    return ok(api.get(f"{PODIUM}/webhooks/{webhook_id}/deliveries"))["deliveries"]


def test_the_mlflow_client_manages_webhooks_unchanged(mlflow_client, receiver):
    from mlflow.exceptions import MlflowException

    client = mlflow_client
    hook = client.create_webhook(name="deploy-hook", url=receiver.url(), description="trace", secret="s3cr3t",
                                 events=["model_version.created", "model_version_alias.created",
                                         "registered_model.created"])
    assert hook.status.value == "ACTIVE" and hook.description == "trace" and hook.url == receiver.url()
    assert sorted(str(e) for e in hook.events) == ["model_version.created", "model_version_alias.created",
                                                   "registered_model.created"]
    assert not hasattr(hook, "secret") or not hook.secret
    assert client.get_webhook(hook.webhook_id).name == "deploy-hook"
    assert hook.webhook_id in [w.webhook_id for w in client.list_webhooks()]
    updated = client.update_webhook(hook.webhook_id, name="deploy-hook-2", description="updated")
    assert (updated.name, updated.description, updated.url) == ("deploy-hook-2", "updated", receiver.url())
    assert updated.last_updated_timestamp >= updated.creation_timestamp

    result = client.test_webhook(hook.webhook_id)
    assert (result.success, result.response_status, result.response_body) == (True, 200, "ok")
    test = receiver.wait_for(1)[0]
    assert test.json["entity"] == "model_version" and test.json["action"] == "created"  # the first event
    assert verify_mlflow("s3cr3t", test)
    result = client.test_webhook(hook.webhook_id, event="model_version_alias.created")
    assert receiver.wait_for(2)[1].json["data"] == {"name": "example_model", "alias": "champion", "version": "1"}

    disabled = client.update_webhook(hook.webhook_id, status="DISABLED")
    assert disabled.status.value == "DISABLED"
    client.delete_webhook(hook.webhook_id)
    with pytest.raises(MlflowException, match=f"Webhook with ID {hook.webhook_id} not found.") as missing:
        client.get_webhook(hook.webhook_id)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="Invalid webhook URL scheme: 'ftp'. Allowed schemes are: http."):
        client.create_webhook(name="bad", url="ftp://x", events=["model_version.created"])


def test_errors_are_mlflows(api):
    error(api.get(f"{A2}/webhooks/nonexistent-id"), 404, "RESOURCE_DOES_NOT_EXIST",
          "Webhook with ID nonexistent-id not found.")
    error(api.post(f"{A2}/webhooks", json={"name": "", "url": "http://127.0.0.1:9/x",
                                           "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
          400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'. See the API docs for more "
                                          "information about request parameters.")
    error(api.post(f"{A2}/webhooks", json={"name": "bad", "url": "ftp://x",
                                           "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
          400, "INVALID_PARAMETER_VALUE", "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: http.")
    error(api.post(f"{A2}/webhooks", json={"name": "bad", "url": "http://127.0.0.1:9/x",
                                           "events": [{"entity": "MODEL_VERSION", "action": "EXPLODED"}]}),
          400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{A2}/webhooks", json={"name": "bad", "url": "http://127.0.0.1:9/x", "events": []}),
          400, "INVALID_PARAMETER_VALUE")
    error(api.get(f"{A2}/webhooks", params={"max_results": 1001}), 400, "INVALID_PARAMETER_VALUE")
    error(api.post(f"{PODIUM}/webhook-deliveries/nope/redeliver", json={}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_registry_changes_arrive_signed_as_mlflow_signs_them(api, mlflow_client, receiver, tmp_path):
    client = mlflow_client
    hook = client.create_webhook(name="signed", url=receiver.url(), secret="s3cr3t-trace", events=[
        "registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
        "model_version_alias.created", "model_version_alias.deleted"])
    name = _name()
    client.create_registered_model(name)
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    src = ok(api.post(f"{A2}/experiments/create", json={"name": name}))["experiment_id"]
    run = client.create_run(src)
    client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_model_version_tag(name, "1", "approved_by", "qa")
    client.delete_model_version_tag(name, "1", "approved_by")
    client.set_registered_model_alias(name, "champion", "1")
    client.delete_registered_model_alias(name, "champion")
    got = receiver.wait_for(6)
    by_event = {(r.json["entity"], r.json["action"]): r for r in got}
    assert list(by_event) == [("registered_model", "created"), ("model_version", "created"),
                              ("model_version_tag", "set"), ("model_version_tag", "deleted"),
                              ("model_version_alias", "created"), ("model_version_alias", "deleted")]
    assert all(verify_mlflow("s3cr3t-trace", r) for r in got)
    assert not verify_mlflow("another-secret", got[0])
    first = got[0]
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["X-MLflow-Timestamp"].isdigit()
    assert by_event[("model_version", "created")].json["data"] == {
        "name": name, "version": "1", "source": f"runs:/{run.info.run_id}/model", "run_id": run.info.run_id,
        "tags": {}, "description": None}
    assert by_event[("model_version_tag", "set")].json["data"] == {"name": name, "version": "1",
                                                                   "key": "approved_by", "value": "qa"}
    assert by_event[("model_version_alias", "deleted")].json["data"] == {"name": name, "alias": "champion"}
    _poll(api, hook.webhook_id, lambda d: d["status"] == "succeeded")  # the newest: the last to be recorded
    log = _deliveries(api, hook.webhook_id)
    assert {d["delivery_id"] for d in log} == {r.headers["X-MLflow-Delivery-Id"] for r in got}
    assert all(d["status"] == "succeeded" and d["attempts"] == 1 and d["response_status"] == 200 for d in log)
    one = ok(api.get(f"{PODIUM}/webhook-deliveries/{log[0]['delivery_id']}"))["delivery"]
    assert one["payload"]["entity"] == "model_version_alias"


def test_podium_events_and_standard_webhooks_headers(api, receiver):
    hook = _hook(api, receiver.url(), [("MODEL_VERSION_STAGE", "TRANSITIONED"), ("MODEL_VERSION_ALIAS", "MOVED")],
                 secret="whsec_" + "c2VjcmV0LWtleS0xMjM0NTY=", standard_webhooks=True)
    assert hook["events"] == [] and len(hook["podium_events"]) == 2 and hook["has_secret"] is True
    assert "secret" not in hook
    name = _name()
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": name}))["experiment_id"]
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
    for _ in range(2):
        ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run}/m", "run_id": run}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "prod", "version": "1"}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "prod", "version": "2"}))
    ok(api.post(f"{A2}/model-versions/transition-stage", json={"name": name, "version": "2", "stage": "Staging",
                                                                "archive_existing_versions": False}))
    moved, staged = receiver.wait_for(2)
    assert moved.json["data"] == {"name": name, "alias": "prod", "version": "2", "previous_version": "1"}
    assert staged.json["data"]["to_stage"] == "Staging" and staged.json["data"]["from_stage"] == "None"
    import base64
    import hashlib
    import hmac

    h = moved.headers
    assert h["webhook-id"] == h["X-MLflow-Delivery-Id"] and h["webhook-timestamp"] == h["X-MLflow-Timestamp"]
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.{moved.body.decode()}".encode()
    key = base64.b64decode("c2VjcmV0LWtleS0xMjM0NTY=")
    assert h["webhook-signature"] == "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_failures_back_off_honour_retry_after_and_then_succeed(api, receiver):
    receiver.answer("/flaky", (503, {}), (429, {"Retry-After": "2"}))
    hook = _hook(api, receiver.url("/flaky"), [("REGISTERED_MODEL", "CREATED")])
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
    receiver.wait_for(2, "/flaky")
    pending = _poll(api, hook["webhook_id"], lambda d: d["attempts"] >= 2)  # the 429's outcome is recorded
    if pending["status"] == "pending":  # (the third attempt may not have happened yet)
        assert pending["next_attempt_at"] - pending["last_attempt_at"] >= 2000  # Retry-After: 2 honoured
        assert pending["response_status"] == 429 and pending["attempts"] == 2
    first, second, third = receiver.wait_for(3, "/flaky")
    assert third.at - second.at >= 1.9  # never earlier than the receiver asked
    assert len({r.headers["X-MLflow-Delivery-Id"] for r in (first, second, third)}) == 1  # one delivery id
    assert first.headers["X-MLflow-Delivery-Id"] == pending["delivery_id"]
    done = _poll(api, hook["webhook_id"], lambda d: d["status"] == "succeeded")
    assert done["attempts"] == 3 and done["response_status"] == 200


def _poll(api, webhook_id: str, condition, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = _deliveries(api, webhook_id)
        if deliveries and condition(deliveries[0]):
            return deliveries[0]
        time.sleep(0.05)
    raise AssertionError(f"delivery never reached the state: {_deliveries(api, webhook_id)}")


def test_redirects_are_not_followed(api, receiver):
    receiver.answer("/moved", (302, {"Location": receiver.url("/elsewhere")}))
    hook = _hook(api, receiver.url("/moved"), [("REGISTERED_MODEL", "CREATED")])
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
    receiver.wait_for(2, "/moved")  # retried at the same URL (then answered 200)
    assert receiver.at("/elsewhere") == []
    done = _poll(api, hook["webhook_id"], lambda d: d["status"] == "succeeded")
    assert done["attempts"] == 2


def test_410_disables_the_webhook_and_disabling_stops_deliveries_at_once(api, receiver):
    receiver.answer("/gone", (410, {}))
    hook = _hook(api, receiver.url("/gone"), [("REGISTERED_MODEL", "CREATED")])
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
    receiver.wait_for(1, "/gone")
    _poll(api, hook["webhook_id"], lambda d: d["status"] == "failed")
    assert ok(api.get(f"{A2}/webhooks/{hook['webhook_id']}"))["webhook"]["status"] == "DISABLED"
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))  # nothing for a disabled webhook
    assert len(_deliveries(api, hook["webhook_id"])) == 1

    paused = _hook(api, receiver.url("/paused"), [("REGISTERED_MODEL", "CREATED")])
    receiver.answer("/paused", *[(503, {})] * 3)
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
    receiver.wait_for(1, "/paused")
    ok(api.patch(f"{A2}/webhooks/{paused['webhook_id']}", json={"status": "DISABLED"}))
    sent = len(receiver.at("/paused"))
    cancelled = _poll(api, paused["webhook_id"], lambda d: d["status"] == "cancelled")
    assert len(receiver.at("/paused")) == sent and cancelled["last_error"] == "the webhook was disabled"
    # redelivered on demand, with the same id, once the webhook is active again
    ok(api.patch(f"{A2}/webhooks/{paused['webhook_id']}", json={"status": "ACTIVE"}))
    ok(api.post(f"{PODIUM}/webhook-deliveries/{cancelled['delivery_id']}/redeliver", json={}))
    _poll(api, paused["webhook_id"], lambda d: d["status"] in ("succeeded", "pending") and d["attempts"] > 1)
    assert receiver.at("/paused")[-1].headers["X-MLflow-Delivery-Id"] == cancelled["delivery_id"]


def test_private_addresses_are_refused_at_connect_time(tmp_path, receiver):
    strict = start_server(tmp_path / "strict", "--webhook-allowed-scheme", "http", "--webhook-poll-ms", "50")
    try:
        with httpx.Client(base_url=strict.url, timeout=30) as api:
            # a name that resolves to the loopback address: checked when connecting, not when created
            hook = _hook(api, f"http://localhost:{receiver.port}/hook", [("REGISTERED_MODEL", "CREATED")])
            result = ok(api.post(f"{A2}/webhooks/{hook['webhook_id']}/test", json={}))["result"]
            assert result["success"] is False and "loopback" in result["error_message"]
            ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
            failed = _poll(api, hook["webhook_id"], lambda d: d["status"] == "failed")
            assert "127.0.0.1 is a loopback address" in failed["last_error"]
            metadata = _hook(api, "http://169.254.169.254/latest/meta-data", [("REGISTERED_MODEL", "CREATED")])
            result = ok(api.post(f"{A2}/webhooks/{metadata['webhook_id']}/test", json={}))["result"]
            assert "metadata" in result["error_message"]
            # the worker counts an attempt just after recording its result: wait for the count too
            failed_count = 'podium_webhook_deliveries_total{event="registered_model.created",result="failed"}'
            deadline = time.monotonic() + 10
            while failed_count not in (metrics := api.get("/metrics").text) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert failed_count in metrics
            assert "podium_webhook_deliveries_pending" in metrics
    finally:
        stop_server(strict)
    assert receiver.received == []


def test_the_cli_reads_the_log_and_redelivers_over_http(server, api, receiver):
    import json

    from click.testing import CliRunner

    from podium.cli import main

    def cli(*args):
        return CliRunner().invoke(main, ["--tracking-uri", server.url, "webhooks", *args], catch_exceptions=False)

    created = cli("create", "cli-hook", receiver.url("/cli"), "-e", "registered_model.created", "--json")
    webhook_id = json.loads(created.stdout)["webhook"]["webhook_id"]
    assert webhook_id in cli("list").stdout
    ok(api.post(f"{A2}/registered-models/create", json={"name": _name()}))
    (first,) = receiver.wait_for(1, "/cli")
    delivered = _poll(api, webhook_id, lambda d: d["status"] == "succeeded")
    log = json.loads(cli("deliveries", webhook_id, "--json").stdout)["deliveries"]
    assert [d["delivery_id"] for d in log] == [delivered["delivery_id"]]
    assert cli("redeliver", delivered["delivery_id"]).exit_code == 0
    _, again = receiver.wait_for(2, "/cli")
    assert again.headers["X-MLflow-Delivery-Id"] == first.headers["X-MLflow-Delivery-Id"] and again.body == first.body
    assert cli("test", webhook_id).exit_code == 0
    assert cli("delete", webhook_id).exit_code == 0
