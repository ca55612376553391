"""Approvals and policy gates through ``PodiumClient`` on the embedded store (every backend).

Embedded mode has no authentication: the actor is the OS user, or whoever ``acting_as`` says;
the self-approval rule applies by name. Who may approve (the policy's approvers) is a server rule,
tested over HTTP in tests/server/test_approvals_api.py.
"""

from __future__ import annotations

import uuid

import pytest

from podium.auth.actor import Actor, acting_as
from podium.errors import InvalidParameterValue, PermissionDenied, PodiumError, ResourceAlreadyExists

ALICE, BOB, CAROL = Actor("alice", via="local"), Actor("bob", via="local"), Actor("carol", via="local")

MLMODEL_SIGNED = """\
flavors:
  python_function: {loader_module: podium.pyfunc}
signature:
  inputs: '[{"type": "double", "name": "alcohol", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
"""
MLMODEL_UNSIGNED = "flavors:\n  python_function: {loader_module: podium.pyfunc}\n"


@pytest.fixture
def make_version(client, tmp_path):
    """``make_version(name, metrics, signed=True)``: a version from a run with ``metrics`` and a model
    directory whose MLmodel has (or lacks) a signature."""

    def make(name: str, metrics: dict | None = None, signed: bool = True):
        run = client.create_run("0")
        for key, value in (metrics or {}).items():
            client.log_metric(run.info.run_id, key, value)
        folder = tmp_path / uuid.uuid4().hex
        folder.mkdir()
        (folder / "MLmodel").write_text(MLMODEL_SIGNED if signed else MLMODEL_UNSIGNED)
        return client.create_model_version(name, str(folder), run_id=run.info.run_id)

    return make


def _model(client, *, gates=(), required=1, aliases=()) -> str:
    name = f"m-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    client.set_model_policy(name, ["Production"], list(aliases), "manage", True, required_approvals=required,
                            gates=list(gates))
    return name


def _stage(client, name, version) -> str:
    return client.get_model_version(name, version).current_stage


def test_request_then_approval_by_someone_else_applies_the_move_and_records_events(client, make_version):
    name = _model(client)
    make_version(name, {"accuracy": 0.8})
    v2 = make_version(name, {"accuracy": 0.9})
    with pytest.warns(FutureWarning):  # embedded: no authorizer, a direct move is allowed
        client.transition_model_version_stage(name, 1, "Production")
    with acting_as(ALICE):
        request = client.request_model_version(name, v2.version, stage="production", comment="better")
    assert (request.status, request.target_kind, request.target, request.requester) == \
        ("pending", "stage", "Production", "alice")
    assert request.required_approvals == 1
    assert _stage(client, name, 2) == "None"
    with acting_as(BOB):
        applied = client.approve_request(request.id, comment="lgtm")
    assert applied.status == "applied" and applied.decided_by == "bob"
    assert [a.approver for a in applied.approvals] == ["bob"]
    assert _stage(client, name, 2) == "Production"
    assert _stage(client, name, 1) == "Archived"  # a promotion archives the previous holder
    assert client.get_request(request.id).status == "applied"
    history = client.get_model_history(name)
    actions = [(e.action, e.actor, e.request_id) for e in history]
    assert ("request_created", "alice", request.id) in actions
    assert ("request_approved", "bob", request.id) in actions
    assert ("request_applied", "bob", request.id) in actions
    moved = [e for e in history if e.action == "stage_transitioned" and e.version == 2]
    assert moved and moved[-1].cause == "request" and moved[-1].request_id == request.id


def test_requester_cannot_approve_their_own_request(client, make_version):
    name = _model(client)
    make_version(name)
    with acting_as(ALICE):
        request = client.request_model_version(name, 1, stage="Production")
        with pytest.raises(PermissionDenied, match="cannot approve their own request"):
            client.approve_request(request.id)
    assert client.get_request(request.id).status == "pending"
    assert _stage(client, name, 1) == "None"


def test_two_required_approvals_apply_on_the_second_and_count_each_approver_once(client, make_version):
    name = _model(client, required=2, aliases=["champion"])
    make_version(name)
    with acting_as(ALICE):
        request = client.request_model_version(name, 1, alias="champion")
    with acting_as(BOB):
        first = client.approve_request(request.id)
        assert first.status == "pending" and first.required_approvals == 2
        with pytest.raises(PodiumError, match="already approved") as caught:
            client.approve_request(request.id)
        assert caught.value.error_code == "INVALID_STATE"
    with pytest.raises(PodiumError):
        client.get_model_version_by_alias(name, "champion")
    with acting_as(CAROL):
        second = client.approve_request(request.id)
    assert second.status == "applied"
    assert sorted(a.approver for a in second.approvals) == ["bob", "carol"]
    assert client.get_model_version_by_alias(name, "champion").version in (1, "1")


def test_reject_and_cancel_close_a_request_and_it_cannot_be_decided_again(client, make_version):
    name = _model(client)
    make_version(name)
    make_version(name)
    with acting_as(ALICE):
        first = client.request_model_version(name, 1, stage="Production")
        second = client.request_model_version(name, 2, stage="Production")
    with acting_as(BOB):
        rejected = client.reject_request(first.id, comment="not yet")
    assert (rejected.status, rejected.decided_by, rejected.decision_comment) == ("rejected", "bob", "not yet")
    with acting_as(ALICE):
        cancelled = client.reject_request(second.id)
    assert cancelled.status == "cancelled"
    with acting_as(CAROL):
        with pytest.raises(PodiumError, match="already rejected") as caught:
            client.approve_request(first.id)
        assert caught.value.error_code == "INVALID_STATE"
        with pytest.raises(PodiumError, match="already cancelled"):
            client.reject_request(second.id)
    assert _stage(client, name, 1) == _stage(client, name, 2) == "None"
    assert [r.status for r in client.list_requests(name)] == ["cancelled", "rejected"]
    assert [r.id for r in client.list_requests(name, "rejected")] == [first.id]
    actions = [e.action for e in client.get_model_history(name)]
    assert "request_rejected" in actions and "request_cancelled" in actions


def test_threshold_gate_refuses_a_request_and_is_checked_again_at_approval(client, make_version):
    name = _model(client, gates=["metrics.accuracy >= 0.9"])
    low = make_version(name, {"accuracy": 0.85})
    high = make_version(name, {"accuracy": 0.95})
    with acting_as(ALICE):
        with pytest.raises(PodiumError, match=r"metrics.accuracy >= 0.9: accuracy=0.85") as caught:
            client.request_model_version(name, low.version, stage="Production")
        assert caught.value.error_code == "INVALID_STATE"
        request = client.request_model_version(name, high.version, stage="Production")
    assert [(g.gate, g.passed) for g in request.gate_results] == [("metrics.accuracy >= 0.9", True)]
    # the metric changes before the approval (a later step): the gate is evaluated again
    client.log_metric(high.run_id, "accuracy", 0.5, step=10)
    with acting_as(BOB):
        with pytest.raises(PodiumError, match="cannot be applied.*accuracy=0.5"):
            client.approve_request(request.id)
    assert client.get_request(request.id).status == "pending" and _stage(client, name, 2) == "None"
    client.log_metric(high.run_id, "accuracy", 0.97, step=20)
    with acting_as(BOB):
        assert client.approve_request(request.id).status == "applied"


def test_not_worse_than_the_current_holder(client, make_version):
    name = _model(client, gates=["metrics.accuracy >= current"], aliases=["champion"])
    make_version(name, {"accuracy": 0.9})
    make_version(name, {"accuracy": 0.8})
    make_version(name, {"accuracy": 0.92})
    with acting_as(ALICE):
        first = client.request_model_version(name, 1, alias="champion")  # no holder yet: passes
        assert "no current holder" in first.gate_results[0].detail
    with acting_as(BOB):
        client.approve_request(first.id)
    with acting_as(ALICE):
        with pytest.raises(PodiumError, match=r"accuracy=0.8 vs 0.9 of the current holder \(version 1\)"):
            client.request_model_version(name, 2, alias="champion")
        better = client.request_model_version(name, 3, alias="champion")
    with acting_as(BOB):
        assert client.approve_request(better.id).status == "applied"
    assert int(client.get_model_version_by_alias(name, "champion").version) == 3


def test_signature_gate(client, make_version):
    name = _model(client, gates=["signature"])
    make_version(name, signed=False)
    make_version(name, signed=True)
    with acting_as(ALICE):
        with pytest.raises(PodiumError, match="no signature"):
            client.request_model_version(name, 1, stage="Production")
        assert client.request_model_version(name, 2, stage="Production").gate_results[0].passed


def test_requests_need_an_approval_policy_and_valid_input(client, make_version):
    name = f"m-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    make_version(name)
    with pytest.raises(InvalidParameterValue, match="needs no approval"):
        client.request_model_version(name, 1, stage="Production")
    client.set_model_policy(name, ["Production"], [], "manage", True)
    with pytest.raises(InvalidParameterValue, match="needs no approval"):
        client.request_model_version(name, 1, stage="Staging")
    with pytest.raises(InvalidParameterValue, match="exactly one"):
        client.request_model_version(name, 1, stage="Production", alias="champion")
    with pytest.raises(InvalidParameterValue):
        client.approve_request("seven")
    request = client.request_model_version(name, 1, stage="Production")
    with pytest.raises(ResourceAlreadyExists, match="already pending"):
        client.request_model_version(name, 1, stage="Production")
    assert client.list_requests(name, "pending")[0].id == request.id
    with pytest.raises(InvalidParameterValue, match="Invalid status"):
        client.list_requests(name, "done")


@pytest.mark.parametrize("gate", ["accuracy >= 0.9", "metrics.accuracy => 0.9", "metrics.accuracy >= high", ""])
def test_policy_refuses_malformed_gates(client, gate):
    name = f"m-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    with pytest.raises(InvalidParameterValue, match="Invalid gate"):
        client.set_model_policy(name, ["Production"], [], "manage", True, gates=[gate])


def test_policy_stores_approvals_approvers_and_gates(client):
    name = f"m-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    policy = client.set_model_policy(name, ["Production"], ["champion"], "manage", True, required_approvals=2,
                                     approvers=["user:bob", "group:ml-leads", "role:MANAGE"],
                                     gates=["metrics.accuracy>=0.9", "signature required"])
    assert client.get_model_policy(name) == policy
    assert policy.required_approvals == 2
    assert policy.approvers == ("user:bob", "group:ml-leads", "role:manage")
    assert policy.gates == ("metrics.accuracy >= 0.9", "signature")
    with pytest.raises(InvalidParameterValue, match="Invalid approver"):
        client.set_model_policy(name, ["Production"], [], "manage", True, approvers=["bob"])
    with pytest.raises(InvalidParameterValue, match="required_approvals"):
        client.set_model_policy(name, ["Production"], [], "manage", True, required_approvals=0)


def test_moving_a_version_out_of_a_protected_stage_is_requested_too(client, make_version):
    name = _model(client)
    make_version(name)
    with acting_as(ALICE):
        promote = client.request_model_version(name, 1, stage="Production")
    with acting_as(BOB):
        client.approve_request(promote.id)
    with acting_as(ALICE):
        retire = client.request_model_version(name, 1, stage="Archived", comment="retire v1")
        with pytest.raises(PodiumError, match="already in Production") as caught:
            client.request_model_version(name, 1, stage="Production")
        assert caught.value.error_code == "INVALID_STATE"
    with acting_as(BOB):
        assert client.approve_request(retire.id).status == "applied"
    assert _stage(client, name, 1) == "Archived"
