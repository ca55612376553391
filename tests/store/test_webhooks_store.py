"""The webhook outbox on every backend: rows written with the change (or not at all), MLflow's
envelope, only subscribed and active webhooks, leases that give each row to one claimer."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from podium.domain.webhooks import ALL_EVENTS, MLFLOW_EVENTS, DeliveryOutcome
from podium.errors import PodiumError, ResourceDoesNotExist

FAR_FUTURE = 2**62


@pytest.fixture
def store(backend):
    return backend.stores.webhooks


def _folder(tmp_path) -> str:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    return str(folder)


def _bodies(store, hook) -> list[dict]:
    return [json.loads(d.payload) for d in reversed(store.list_deliveries(hook.webhook_id, max_results=1000))]


def test_registry_changes_write_mlflow_envelopes_in_order(backend, store, tmp_path):
    hook = store.create_webhook("all", "https://example.com/hook", ALL_EVENTS)
    registry = backend.registry
    registry.create_registered_model("m", tags={"team": "a"})
    registry.create_model_version("m", _folder(tmp_path), tags={"k": "v"}, description="first")
    registry.create_model_version("m", _folder(tmp_path))
    registry.set_model_version_tag("m", "1", "approved_by", "qa")
    registry.delete_model_version_tag("m", "1", "approved_by")
    registry.set_registered_model_alias("m", "champion", "1")
    registry.set_registered_model_alias("m", "champion", "2")
    registry.delete_registered_model_alias("m", "champion")
    registry.transition_model_version_stage("m", "2", "Production", archive_existing_versions=True)
    registry.delete_model_version("m", "1")
    bodies = _bodies(store, hook)
    assert [(b["entity"], b["action"]) for b in bodies] == [
        ("registered_model", "created"), ("model_version", "created"), ("model_version", "created"),
        ("model_version_tag", "set"), ("model_version_tag", "deleted"), ("model_version_alias", "created"),
        ("model_version_alias", "created"), ("model_version_alias", "moved"), ("model_version_alias", "deleted"),
        ("model_version_stage", "transitioned"), ("model_version", "deleted")]
    assert bodies[0]["data"] == {"name": "m", "tags": {"team": "a"}, "description": ""}
    assert set(bodies[1]) == {"entity", "action", "timestamp", "data"}
    assert bodies[1]["timestamp"].endswith("+00:00")
    assert bodies[1]["data"] == {"name": "m", "version": "1", "source": bodies[1]["data"]["source"], "run_id": None,
                                 "tags": {"k": "v"}, "description": "first"}
    assert bodies[3]["data"] == {"name": "m", "version": "1", "key": "approved_by", "value": "qa"}
    assert bodies[4]["data"] == {"name": "m", "version": "1", "key": "approved_by"}
    assert bodies[6]["data"] == {"name": "m", "alias": "champion", "version": "2"}
    assert bodies[7]["data"] == {"name": "m", "alias": "champion", "version": "2", "previous_version": "1"}
    assert bodies[8]["data"] == {"name": "m", "alias": "champion"}
    assert bodies[9]["data"] == {"name": "m", "version": "2", "from_stage": "None", "to_stage": "Production",
                                 "cause": None}
    deliveries = store.list_deliveries(hook.webhook_id, max_results=1000)
    assert len({d.delivery_id for d in deliveries}) == len(deliveries)
    assert {d.status for d in deliveries} == {"pending"}


def test_only_subscribed_active_webhooks_get_a_row(backend, store, tmp_path):
    created = store.create_webhook("created", "https://example.com/a", ["model_version.created"])
    tags = store.create_webhook("tags", "https://example.com/b", ["model_version_tag.set"])
    off = store.create_webhook("off", "https://example.com/c", MLFLOW_EVENTS, status="DISABLED")
    backend.registry.create_registered_model("m")
    backend.registry.create_model_version("m", _folder(tmp_path))
    assert [d.event for d in store.list_deliveries(created.webhook_id)] == ["model_version.created"]
    assert list(store.list_deliveries(tags.webhook_id)) == []
    assert list(store.list_deliveries(off.webhook_id)) == []


def test_a_change_that_fails_writes_no_delivery(backend, store):
    hook = store.create_webhook("tags", "https://example.com/a", MLFLOW_EVENTS)
    backend.registry.create_registered_model("m")
    with pytest.raises(PodiumError):
        backend.registry.create_registered_model("m")  # already exists: rolled back
    with pytest.raises(ResourceDoesNotExist):
        backend.registry.set_model_version_tag("m", "7", "k", "v")
    assert [d.event for d in store.list_deliveries(hook.webhook_id)] == ["registered_model.created"]


def test_events_no_webhook_can_want_cost_no_statement_and_others_one(backend, store, count_statements):
    backend.registry.create_registered_model("m")
    with count_statements() as unmapped:
        backend.registry.update_registered_model("m", "a description")  # no webhook event exists for it
    store.create_webhook("w", "https://example.com/a", ["model_version.created"])
    with count_statements() as with_hooks:
        backend.registry.update_registered_model("m", "another description")
    assert with_hooks.count == unmapped.count
    with count_statements() as mapped:
        backend.registry.create_registered_model("m2")  # an event webhooks may want: one read of them
    assert sum("FROM webhooks" in s for s in mapped.statements) == 1


def test_claims_give_each_due_row_to_one_claimer(backend, store):
    hook = store.create_webhook("w", "https://example.com/a", ["registered_model.created"])
    for i in range(12):
        backend.registry.create_registered_model(f"m{i}")
    got: list[list] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claim():
        start.wait()
        rows = store.claim_due(FAR_FUTURE - 10**6, 60_000, 5)
        with lock:
            got.append([r.delivery_id for r in rows])

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [d for batch in got for d in batch]
    assert len(claimed) == len(set(claimed)) == 12
    assert store.claim_due(FAR_FUTURE - 10**6, 60_000, 50) == []  # all leased
    again = store.claim_due(FAR_FUTURE, 60_000, 50)  # leases expired: claimable again
    assert {r.delivery_id for r in again} == set(claimed) and all(r.webhook_id == hook.webhook_id for r in again)


def test_outcomes_disable_and_delete(backend, store):
    hook = store.create_webhook("w", "https://example.com/a", ["registered_model.created"])
    other = store.create_webhook("w2", "https://example.com/b", ["registered_model.created"])
    backend.registry.create_registered_model("a")
    backend.registry.create_registered_model("b")
    first, second = sorted((r for r in store.claim_due(FAR_FUTURE, 1000, 10) if r.webhook_id == hook.webhook_id),
                           key=lambda r: r.id)
    store.record_outcome(first, DeliveryOutcome("pending", 5, next_attempt_at=FAR_FUTURE, response_status=503,
                                                error="The endpoint answered 503", latency_ms=3))
    log = {d.delivery_id: d for d in store.list_deliveries(hook.webhook_id)}
    assert (log[first.delivery_id].attempts, log[first.delivery_id].response_status) == (1, 503)
    assert log[first.delivery_id].next_attempt_at == FAR_FUTURE
    store.record_outcome(second, DeliveryOutcome("failed", 6, response_status=410, disable_webhook=True))
    assert store.get_webhook(hook.webhook_id).status == "DISABLED"
    log = {d.delivery_id: d for d in store.list_deliveries(hook.webhook_id)}
    assert log[first.delivery_id].status == "cancelled" and log[second.delivery_id].status == "failed"
    assert store.redeliver(first.delivery_id).status == "pending"
    assert [r.delivery_id for r in store.claim_due(FAR_FUTURE, 1000, 10) if r.webhook_id == hook.webhook_id] == []
    store.delete_webhook(hook.webhook_id)
    with pytest.raises(ResourceDoesNotExist, match=f"Webhook with ID {hook.webhook_id} not found."):
        store.get_webhook(hook.webhook_id)
    with pytest.raises(ResourceDoesNotExist):
        store.get_delivery(first.delivery_id)
    assert len(store.list_deliveries(other.webhook_id)) == 2


def test_list_webhooks_pages_newest_first(store, clock):
    ids = [store.create_webhook(f"w{i}", "https://example.com/a", ["model_version.created"]).webhook_id
           for i in range(5)]
    first = store.list_webhooks(2)
    second = store.list_webhooks(2, first.token)
    third = store.list_webhooks(2, second.token)
    assert [w.webhook_id for w in first + second + third] == ids[::-1] and third.token is None
