"""The gate grammar and approver names of :mod:`podium.domain.approvals` (pure functions)."""

from __future__ import annotations

import math

import pytest

from podium.domain.approvals import Approval, ApprovalRequest, GateResult, parse_approver, parse_gate
from podium.errors import InvalidParameterValue


@pytest.mark.parametrize(("text", "canonical", "key", "op", "threshold", "current"), [
    ("metrics.accuracy >= 0.9", "metrics.accuracy >= 0.9", "accuracy", ">=", 0.9, False),
    ("  metrics.accuracy>=0.9 ", "metrics.accuracy >= 0.9", "accuracy", ">=", 0.9, False),
    ("metrics.val/loss < 1e-3", "metrics.val/loss < 1e-3", "val/loss", "<", 0.001, False),
    ("metrics.rmse <= current", "metrics.rmse <= current", "rmse", "<=", None, True),
    ("metrics.f1 != CURRENT", "metrics.f1 != current", "f1", "!=", None, True),
    ("metrics.auc == -1", "metrics.auc == -1", "auc", "==", -1.0, False),
])
def test_metric_gates_parse(text, canonical, key, op, threshold, current):
    gate = parse_gate(text)
    assert (gate.text, gate.kind, gate.key, gate.op, gate.threshold, gate.against_current) == \
        (canonical, "metric", key, op, threshold, current)


@pytest.mark.parametrize("text", ["signature", "Signature Required", " signature "])
def test_signature_gate_parses(text):
    assert parse_gate(text).kind == "signature" and parse_gate(text).text == "signature"


@pytest.mark.parametrize("text", ["", "accuracy >= 0.9", "metrics.accuracy => 0.9", "metrics.accuracy >= high",
                                  "metrics. >= 1", "metrics.a >= nan", "params.C >= 1", None, 3])
def test_malformed_gates_are_invalid_parameter_values(text):
    with pytest.raises(InvalidParameterValue, match="Invalid gate"):
        parse_gate(text)


def test_gate_checks():
    at_least = parse_gate("metrics.accuracy >= 0.9")
    assert at_least.check({"accuracy": 0.95}, None, None, False).passed
    failed = at_least.check({"accuracy": 0.85}, None, None, False)
    assert not failed.passed and failed.detail == "accuracy=0.85 (needs >= 0.9)"
    assert not at_least.check({}, None, None, False).passed
    assert not at_least.check({"accuracy": math.nan}, None, None, False).passed
    current = parse_gate("metrics.rmse <= current")
    assert current.check({"rmse": 1.0}, None, None, False).passed  # no holder
    assert current.check({"rmse": 1.0}, {}, "version 3", False).passed  # holder without the metric
    assert current.check({"rmse": 1.0}, {"rmse": 1.0}, "version 3", False).passed
    worse = current.check({"rmse": 1.2}, {"rmse": 1.0}, "version 3", False)
    assert not worse.passed and worse.detail == "rmse=1.2 vs 1 of the current holder (version 3)"
    assert parse_gate("signature").check({}, None, None, True).passed
    assert not parse_gate("signature").check({}, None, None, False).passed


@pytest.mark.parametrize(("text", "canonical"), [("user:alice", "user:alice"), ("group:ml-leads", "group:ml-leads"),
                                                 ("role:Manage", "role:manage"), (" role:admin ", "role:admin")])
def test_approvers_parse(text, canonical):
    assert parse_approver(text) == canonical


@pytest.mark.parametrize("text", ["alice", "role:owner", "user:", "team:x", None])
def test_malformed_approvers_are_refused(text):
    with pytest.raises(InvalidParameterValue, match="Invalid approver"):
        parse_approver(text)


def test_request_round_trips_through_its_dict():
    request = ApprovalRequest(7, "wine", 4, "alias", "champion", "applied", "alice", "better", 1, 2, "bob", None,
                              (Approval("bob", 2, "ok"),), 1, (GateResult("signature", True, "has one"),))
    assert ApprovalRequest.from_dict(request.to_dict()) == request
    assert request.target_label == "@champion"
