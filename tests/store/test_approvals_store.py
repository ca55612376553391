"""``SqlApprovalStore`` on every backend: requests, approvals, and concurrent decisions applied once.

Concurrency: deciding locks the request row (``SELECT ... FOR UPDATE`` on PostgreSQL and MySQL,
``BEGIN IMMEDIATE`` on SQLite), then the model. Threads racing to approve one request must apply
it exactly once, leave exactly one version in the target stage, and record one ``request_applied``.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from podium.auth.actor import Actor, acting_as
from podium.errors import PodiumError, ResourceDoesNotExist
from podium.store.sql.approval_tables import request_approvals

RACERS = 6


@pytest.fixture
def approvals(backend):
    return backend.approvals


def _model(backend, tmp_path, versions: int = 1, required: int = 1, aliases=()) -> str:
    name = f"m-{uuid.uuid4().hex[:8]}"
    backend.registry.create_registered_model(name)
    for _ in range(versions):
        folder = tmp_path / uuid.uuid4().hex
        folder.mkdir()
        (folder / "MLmodel").write_text("flavors: {}\n")
        backend.registry.create_model_version(name, str(folder))
    backend.access.set_model_policy(name, ["Production"], list(aliases), "manage", True, required_approvals=required)
    return name


def _race(calls) -> tuple[list, list]:
    """Run ``calls`` (``(actor, fn)``) in threads released together; ``(results, errors)``."""
    barrier = threading.Barrier(len(calls))
    results, errors, lock = [], [], threading.Lock()

    def work(actor, fn):
        with acting_as(actor):
            barrier.wait()
            try:
                value = fn()
            except PodiumError as exc:
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    results.append(value)

    threads = [threading.Thread(target=work, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results, errors


def _production(backend, name) -> list[int]:
    return [int(v.version) for v in backend.registry.get_latest_versions(name, ["Production"])]


def _events(backend, name) -> list:
    from podium.store.sql.event_tables import registry_events as ev

    with backend.tracking.store.db.read() as conn:
        return conn.execute(ev.select().where(ev.c.model_name == name).order_by(ev.c.id)).all()


def test_create_get_list_and_missing(approvals, backend, tmp_path):
    name = _model(backend, tmp_path, versions=2)
    store = approvals.store
    first = store.create_request(name, 1, "stage", "Production", "alice", "please")
    second = store.create_request(name, 2, "alias", "champion", None, None)
    assert store.get_request(first.id) == first
    assert (first.status, first.requester, first.comment, first.approvals) == ("pending", "alice", "please", ())
    assert [r.id for r in store.list_requests(name)] == [second.id, first.id]
    assert store.list_requests(name, "applied") == []
    with pytest.raises(ResourceDoesNotExist):
        store.get_request(10_000_000)
    with pytest.raises(ResourceDoesNotExist):
        store.create_request(name, 99, "stage", "Production", "alice", None)
    with pytest.raises(ResourceDoesNotExist):
        store.list_requests("no-such-model")


def test_a_deleted_version_takes_its_requests_along(approvals, backend, tmp_path):
    name = _model(backend, tmp_path, versions=2)
    request = approvals.store.create_request(name, 2, "stage", "Production", "alice", None)
    backend.registry.delete_model_version(name, "2")
    with pytest.raises(ResourceDoesNotExist):
        approvals.store.get_request(request.id)


def test_racing_approvers_apply_a_request_once(approvals, backend, tmp_path):
    name = _model(backend, tmp_path, versions=2)
    with acting_as(Actor("admin", via="local")):
        backend.registry.transition_model_version_stage(name, "1", "Production")
    with acting_as(Actor("alice", via="local")):
        request = approvals.request_model_version(name, 2, stage="Production")
    calls = [(Actor(f"approver{i}", via="local"), lambda: approvals.approve_request(request.id)) for i in range(RACERS)]
    results, errors = _race(calls)
    assert len(results) == 1 and results[0].status == "applied"
    assert len(errors) == RACERS - 1
    assert all(e.error_code == "INVALID_STATE" and "already applied" in e.message for e in errors)
    assert _production(backend, name) == [2]
    assert backend.registry.get_model_version(name, "1").current_stage == "Archived"
    final = approvals.get_request(request.id)
    assert final.status == "applied" and len(final.approvals) == 1
    events = _events(backend, name)
    assert [e.action for e in events].count("request_applied") == 1
    assert [e.action for e in events].count("request_approved") == 1
    assert len([e for e in events if e.action == "stage_transitioned" and e.version == 2]) == 1


def test_the_same_approver_twice_at_once_counts_once(approvals, backend, tmp_path):
    name = _model(backend, tmp_path, required=2)
    with acting_as(Actor("alice", via="local")):
        request = approvals.request_model_version(name, 1, stage="Production")
    bob = Actor("bob", via="local")
    results, errors = _race([(bob, lambda: approvals.approve_request(request.id)) for _ in range(4)])
    assert len(results) == 1 and results[0].status == "pending"
    assert len(errors) == 3 and all("already approved" in e.message for e in errors)
    with backend.tracking.store.db.read() as conn:
        assert len(conn.execute(request_approvals.select()).all()) == 1
    assert _production(backend, name) == []


def test_racing_approvers_with_two_required_apply_once_on_the_second(approvals, backend, tmp_path):
    name = _model(backend, tmp_path, required=2)
    with acting_as(Actor("alice", via="local")):
        request = approvals.request_model_version(name, 1, stage="Production")
    calls = [(Actor(f"approver{i}", via="local"), lambda: approvals.approve_request(request.id)) for i in range(RACERS)]
    results, errors = _race(calls)
    assert sorted(r.status for r in results) == ["applied", "pending"]
    assert len(errors) == RACERS - 2 and all("already applied" in e.message for e in errors)
    final = approvals.get_request(request.id)
    assert final.status == "applied" and len(final.approvals) == 2
    assert _production(backend, name) == [1]


def test_requests_for_different_versions_approved_at_once_leave_one_version_in_production(approvals, backend,
                                                                                         tmp_path):
    name = _model(backend, tmp_path, versions=RACERS)
    with acting_as(Actor("alice", via="local")):
        requests = [approvals.request_model_version(name, v, stage="Production") for v in range(1, RACERS + 1)]
    calls = [(Actor("bob", via="local"), (lambda r=r: approvals.approve_request(r.id))) for r in requests]
    results, errors = _race(calls)
    assert not errors and all(r.status == "applied" for r in results)
    assert len(_production(backend, name)) == 1


def test_reject_racing_an_approval_decides_once(approvals, backend, tmp_path):
    name = _model(backend, tmp_path)
    with acting_as(Actor("alice", via="local")):
        request = approvals.request_model_version(name, 1, stage="Production")
    results, errors = _race([(Actor("bob", via="local"), lambda: approvals.approve_request(request.id)),
                             (Actor("carol", via="local"), lambda: approvals.reject_request(request.id))])
    assert len(results) == 1 and len(errors) == 1 and errors[0].error_code == "INVALID_STATE"
    final = approvals.get_request(request.id)
    assert final.status == results[0].status
    assert _production(backend, name) == ([1] if final.status == "applied" else [])


def test_requests_follow_a_rename_and_vanish_with_the_model(approvals, backend, tmp_path):
    name = _model(backend, tmp_path)
    with acting_as(Actor("alice", via="local")):
        request = approvals.request_model_version(name, 1, stage="Production")
    with acting_as(Actor("bob", via="local")):
        approvals.approve_request(request.id)
    backend.registry.rename_registered_model(name, f"{name}-renamed")
    assert approvals.get_request(request.id).name == f"{name}-renamed"
    assert [r.id for r in approvals.list_requests(f"{name}-renamed")] == [request.id]
    backend.registry.delete_registered_model(f"{name}-renamed")
    with pytest.raises(ResourceDoesNotExist):
        approvals.get_request(request.id)
    with backend.tracking.store.db.read() as conn:
        assert conn.execute(request_approvals.select()).all() == []


def test_every_models_requests_newest_first_and_who_may_decide(backend, tmp_path):
    """``list_all_requests`` (the web UI's /requests) spans models, newest first, with each policy's
    required approvals; ``may_decide`` is false for the requester and for a request already decided."""
    first, second = _model(backend, tmp_path), _model(backend, tmp_path, required=2)
    with acting_as(Actor("alice")):
        one = backend.approvals.request_model_version(first, "1", stage="Production")
        two = backend.approvals.request_model_version(second, "1", stage="Production")
        mine = backend.approvals.list_all_requests()
        assert [r.id for r in mine if r.name in (first, second)] == [two.id, one.id]
        older = backend.approvals.list_all_requests(before_id=two.id)  # keyset paging: the next page
        assert one.id in [r.id for r in older] and all(r.id < two.id for r in older)
        assert {r.name: r.required_approvals for r in mine if r.name in (first, second)} == {first: 1, second: 2}
        assert not backend.approvals.may_decide(one)  # alice asked: she cannot approve
    with acting_as(Actor("bob")):
        assert backend.approvals.may_decide(one)
        backend.approvals.approve_request(one.id)
        assert not backend.approvals.may_decide(backend.approvals.get_request(one.id))  # applied
        pending = backend.approvals.list_all_requests("pending")
        assert two.id in [r.id for r in pending] and one.id not in [r.id for r in pending]
