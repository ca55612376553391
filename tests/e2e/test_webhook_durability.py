"""Webhook deliveries survive ``kill -9`` and are sent once by many server processes on one database.

* A server acknowledges a change and is SIGKILLed before it delivers (it runs without the delivery
  worker, so nothing can be sent before the kill); a server started on the same database delivers
  the event within 10 s of start-up, with the delivery id recorded before the kill.
* Two servers (two workers each: four delivery workers) on one database, changes made through
  both: every event reaches the receiver exactly once (at-least-once delivery, not duplicated in
  the normal case).
"""

from __future__ import annotations

import time
import uuid

import httpx

from tests.webhook_receiver import Receiver

from .conftest import A2, OBSERVATIONS

PODIUM = "/api/podium/v1"
ALLOW_RECEIVER = ("--webhook-allowed-scheme", "http", "--webhook-allowed-network", "127.0.0.1/32",
                  "--webhook-poll-ms", "100")


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json()


def _flags(factory) -> tuple[str, ...]:
    """Every server on one database shares the key that encrypts webhook secrets."""
    return (*ALLOW_RECEIVER, "--webhook-secret-key-file", str(factory.root / "webhook-secret.key"))


def _hook(url: str, receiver: Receiver) -> str:
    body = {"name": "durable", "url": receiver.url(), "secret": "s3cr3t",
            "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}
    return _ok(httpx.post(f"{url}{A2}/webhooks", json=body, timeout=30))["webhook"]["webhook_id"]


def test_an_acknowledged_change_is_delivered_after_kill_9_and_restart(server_factory):
    database = server_factory.database()
    with Receiver() as receiver:
        first = server_factory.new("first", workers=1, backend_store_uri=database)
        first.extra = (*_flags(server_factory), "--no-webhook-delivery")
        first.start()
        webhook_id = _hook(first.url, receiver)
        name = f"m-{uuid.uuid4().hex[:8]}"
        _ok(httpx.post(f"{first.url}{A2}/registered-models/create", json={"name": name}, timeout=30))
        (pending,) = _ok(httpx.get(f"{first.url}{PODIUM}/webhooks/{webhook_id}/deliveries", timeout=30))["deliveries"]
        assert pending["status"] == "pending"
        first.kill()  # SIGKILL, the whole process tree
        assert receiver.received == []

        second = server_factory.new("second", workers=1, backend_store_uri=database)
        second.extra = _flags(server_factory)
        began = time.monotonic()
        second.start()
        ready = time.monotonic()
        (got,) = receiver.wait_for(1, timeout=10)  # within 10 s of start-up
        OBSERVATIONS.append(("kill -9", f"delivered {time.monotonic() - ready:.2f} s after the restarted server was "
                                        f"ready ({ready - began:.1f} s to start)"))
        assert got.headers["X-MLflow-Delivery-Id"] == pending["delivery_id"]
        assert got.json["data"]["name"] == name


def test_two_servers_on_one_database_deliver_each_event_once(server_factory):
    database = server_factory.database()
    changes = 24
    with Receiver() as receiver:
        servers = []
        for label in ("a", "b"):
            srv = server_factory.new(label, workers=2, backend_store_uri=database)
            srv.extra = _flags(server_factory)
            servers.append(srv.start())
        webhook_id = _hook(servers[0].url, receiver)
        names = [f"m{i}-{uuid.uuid4().hex[:6]}" for i in range(changes)]
        for i, name in enumerate(names):
            _ok(httpx.post(f"{servers[i % 2].url}{A2}/registered-models/create", json={"name": name}, timeout=30))
        receiver.wait_for(changes, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every delivery recorded as sent
            log = _ok(httpx.get(f"{servers[1].url}{PODIUM}/webhooks/{webhook_id}/deliveries", timeout=30))["deliveries"]
            if len(log) == changes and all(d["status"] == "succeeded" for d in log):
                break
            time.sleep(0.1)
        got = receiver.at("/hook")
        assert sorted(r.json["data"]["name"] for r in got) == sorted(names)  # each event once
        assert len({r.headers["X-MLflow-Delivery-Id"] for r in got}) == changes
        assert all(d["attempts"] == 1 for d in log)
