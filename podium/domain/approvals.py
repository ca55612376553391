"""Approval requests and policy gates: entities and the gate grammar (standard library only).

A *request* asks for one protected move of one version: into a stage (``--stage Production``) or
onto an alias (``--alias champion``). Its lifecycle::

    pending --(last required approval; gates pass)--> applied
    pending --(an approver rejects)-----------------> rejected
    pending --(the requester withdraws it)---------> cancelled

An *approval* is one approver's yes; approvals of one request are unique per approver.

Gates (a model policy's ``gates``) are checked when a request is created and again when the last
approval lands. The grammar, one gate per string:

==========================================  ===================================================
``metrics.<key> <op> <number>``             the version's metric against a threshold
``metrics.<key> <op> current``              against the same metric of the target's current
                                            holder (passes when there is no holder, or the holder
                                            lacks the metric)
``signature``                               the version's ``MLmodel`` has a signature (inputs)
==========================================  ===================================================

``<op>`` is one of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``. A version's metrics are its
source run's (latest value per key), overlaid by its logged model's. "Not worse than the current
holder" is ``metrics.accuracy >= current`` (higher is better) or ``metrics.rmse <= current``.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InvalidParameterValue, ResourceDoesNotExist

__all__ = ["GATE_GRAMMAR", "REQUEST_STATUSES", "Approval", "ApprovalRequest", "Gate", "GateResult",
           "parse_approver", "parse_gate", "request_not_found"]

REQUEST_STATUSES = ("pending", "applied", "rejected", "cancelled")


def request_not_found(request_id: int) -> ResourceDoesNotExist:
    """The answer for a request that does not exist, and for one of a model the caller cannot read."""
    return ResourceDoesNotExist(f"Request {request_id} not found")

GATE_GRAMMAR = "'metrics.<key> <op> <number>', 'metrics.<key> <op> current' or 'signature' (op: >= > <= < == !=)"

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
        "!=": operator.ne}
_METRIC_GATE = re.compile(r"^metrics\.(?P<key>[^\s<>=!]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>\S+)$")
_APPROVER = re.compile(r"^(?P<kind>user|group|role):(?P<who>.+)$")
APPROVER_ROLES = ("manage", "admin")


@dataclass(frozen=True)
class Gate:
    """One parsed gate. ``kind``: ``metric`` (``key``, ``op``, ``threshold`` or ``against_current``)
    or ``signature``."""

    text: str
    kind: str
    key: str | None = None
    op: str | None = None
    threshold: float | None = None
    against_current: bool = False

    def check(self, metrics: dict[str, float], holder_metrics: dict[str, float] | None, holder: str | None,
              has_signature: bool) -> "GateResult":
        if self.kind == "signature":
            return GateResult(self.text, has_signature,
                              "the MLmodel has a signature" if has_signature else "the version has no signature "
                              "in its MLmodel (log the model with a signature)")
        value = metrics.get(self.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return GateResult(self.text, False, f"the version has no metric '{self.key}' (run or logged model)")
        if self.against_current:
            other = (holder_metrics or {}).get(self.key) if holder else None
            if holder is None:
                return GateResult(self.text, True, f"{self.key}={value:g}; no current holder to compare with")
            if other is None:
                return GateResult(self.text, True, f"{self.key}={value:g}; the current holder ({holder}) has none")
            passed = _OPS[self.op](value, other)
            return GateResult(self.text, passed, f"{self.key}={value:g} vs {other:g} of the current holder ({holder})")
        passed = _OPS[self.op](value, self.threshold)
        return GateResult(self.text, passed, f"{self.key}={value:g} (needs {self.op} {self.threshold:g})")


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "passed": self.passed, "detail": self.detail}


def parse_gate(text: Any) -> Gate:
    """``"metrics.accuracy >= 0.9"`` -> :class:`Gate`; anything else is ``INVALID_PARAMETER_VALUE``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameterValue(f"Invalid gate {text!r}: expected {GATE_GRAMMAR}.")
    clean = " ".join(text.split())
    if clean.lower() in ("signature", "signature required"):
        return Gate("signature", "signature")
    found = _METRIC_GATE.match(clean)
    if not found:
        raise InvalidParameterValue(f"Invalid gate {text!r}: expected {GATE_GRAMMAR}.")
    key, op, value = found["key"], found["op"], found["value"]
    if value.lower() == "current":
        return Gate(f"metrics.{key} {op} current", "metric", key, op, None, True)
    try:
        threshold = float(value)
    except ValueError:
        raise InvalidParameterValue(
            f"Invalid gate {text!r}: {value!r} is neither a number nor 'current' ({GATE_GRAMMAR}).") from None
    if math.isnan(threshold):
        raise InvalidParameterValue(f"Invalid gate {text!r}: the threshold is not a number.")
    return Gate(f"metrics.{key} {op} {value}", "metric", key, op, threshold)


def parse_approver(text: Any) -> str:
    """``user:alice``, ``group:ml-leads``, ``role:manage`` or ``role:admin`` (canonical form)."""
    found = _APPROVER.match(text.strip()) if isinstance(text, str) else None
    if not found or not found["who"].strip():
        raise InvalidParameterValue(
            f"Invalid approver {text!r}: expected user:NAME, group:NAME, role:manage or role:admin.")
    kind, who = found["kind"], found["who"].strip()
    if kind == "role" and who.lower() not in APPROVER_ROLES:
        raise InvalidParameterValue(f"Invalid approver {text!r}: a role is manage or admin.")
    return f"{kind}:{who.lower() if kind == 'role' else who}"


@dataclass(frozen=True)
class Approval:
    approver: str
    created_at: int
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"approver": self.approver, "created_at": self.created_at, "comment": self.comment}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class ApprovalRequest:
    """A request to move ``version`` of model ``name`` into a stage or onto an alias (``target_kind``)."""

    id: int
    name: str
    version: int
    target_kind: str  # "stage" | "alias"
    target: str
    status: str
    requester: str | None = None
    comment: str | None = None
    created_at: int = 0
    decided_at: int | None = None
    decided_by: str | None = None
    decision_comment: str | None = None
    approvals: tuple[Approval, ...] = ()
    required_approvals: int | None = None  # from the model's current policy, when known
    gate_results: tuple[GateResult, ...] = field(default=())

    @property
    def target_label(self) -> str:
        return f"@{self.target}" if self.target_kind == "alias" else self.target

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "name": self.name, "version": self.version, "target_kind": self.target_kind,
               "target": self.target, "status": self.status, "requester": self.requester, "comment": self.comment,
               "created_at": self.created_at, "decided_at": self.decided_at, "decided_by": self.decided_by,
               "decision_comment": self.decision_comment, "approvals": [a.to_dict() for a in self.approvals],
               "required_approvals": self.required_approvals,
               "gate_results": [g.to_dict() for g in self.gate_results]}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ApprovalRequest":
        return cls(
            int(d["id"]), d["name"], int(d["version"]), d["target_kind"], d["target"], d["status"],
            d.get("requester"), d.get("comment"), int(d.get("created_at") or 0), d.get("decided_at"),
            d.get("decided_by"), d.get("decision_comment"),
            tuple(Approval(a["approver"], int(a.get("created_at") or 0), a.get("comment"))
                  for a in d.get("approvals") or ()),
            d.get("required_approvals"),
            tuple(GateResult(g["gate"], bool(g["passed"]), g.get("detail", "")) for g in d.get("gate_results") or ()),
        )
