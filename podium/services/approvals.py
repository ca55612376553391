"""Approvals and policy gates: request a protected move, approve it, reject or cancel it.

A model's policy (:class:`~podium.auth.entities.ModelPolicy`) with ``requires_approval`` refuses
direct moves of its protected stages and aliases; instead someone *requests* the move
(:meth:`ApprovalService.request_model_version`) and approvers *approve* it. When the
``required_approvals``-th approval lands, the move is applied in the same transaction
(:class:`~podium.store.base.ApprovalStore`).

Rules (docs/governance.md, "Approvals and policy gates"):

* a request needs a target the policy protects with ``requires_approval`` (the destination stage or
  alias, or, for a stage request, the stage the version leaves);
* the policy's ``gates`` are evaluated at creation (a failing gate refuses the request) and again
  when the last approval lands (a failing gate refuses that approval; the request stays pending);
* approvers: the policy's ``approvers`` (``user:``, ``group:``, ``role:manage``, ``role:admin``;
  by default ``role:manage``), and admins. Checked only when an authorizer is present (``podium
  server --auth``); embedded mode and a server without ``--auth`` have no identities to check;
* nobody approves a request they made (by name: embedded mode compares OS user names); each
  approver counts once;
* reject: any approver; the requester may withdraw (cancel) their own pending request.

Every request, approval, rejection, cancellation and application is an audit event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.auth.actor import Actor, current_actor
from podium.domain import rules
from podium.domain.approvals import REQUEST_STATUSES, ApprovalRequest, GateResult, parse_gate, request_not_found
from podium.errors import InvalidParameterValue, InvalidState, PermissionDenied, PodiumError, ResourceDoesNotExist
from podium.services.model_files import latest_metrics, parse_mlmodel, read_small
from podium.store.base import ApprovalStore, AuthStore, RegistryStore, TrackingStore

if TYPE_CHECKING:
    from podium.auth.authorizer import Authorizer
    from podium.services.integrity import IntegrityService

__all__ = ["ApprovalService", "GateFailed"]

ANONYMOUS_APPROVER = "anonymous"


class GateFailed(InvalidState):
    """A policy gate refused a request (``INVALID_STATE``, 400)."""


_MAX_ID = 2**31 - 1  # the id column is a 32-bit INTEGER on PostgreSQL and MySQL
_UNREAD = object()  # may_decide: the caller has not read the policy


def _request_id(value) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):  # int() would also take "٣", "1_0" and "+1"
        raise InvalidParameterValue(f"Invalid request id {value!r}: expected a whole number.")
    number = int(text)
    if not 1 <= number <= _MAX_ID:
        raise InvalidParameterValue(f"Invalid request id {value!r}: expected a number from 1 to {_MAX_ID}.")
    return number


def _status(status) -> str | None:
    if status is None or status == "":
        return None
    status = str(status).strip().lower()
    if status not in REQUEST_STATUSES:
        raise InvalidParameterValue(f"Invalid status {status!r}: expected one of {', '.join(REQUEST_STATUSES)}.")
    return status


def _comment(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameterValue("'comment' must be a string.")
    if len(value) > 5000:
        raise InvalidParameterValue("'comment' is longer than 5000 characters.")
    return value


class ApprovalService:
    """Use cases over an :class:`~podium.store.base.ApprovalStore`, the registry and tracking
    stores, the auth store (policies, groups) and ``integrity`` (``locate``: reading a version's
    ``MLmodel`` for the signature gate). ``authorizer``: the server's
    :class:`~podium.auth.authorizer.Authorizer` with ``--auth`` (who may approve), else None."""

    def __init__(self, store: ApprovalStore, registry: RegistryStore, auth_store: AuthStore, tracking: TrackingStore,
                 integrity: IntegrityService | None = None, authorizer: Authorizer | None = None) -> None:
        self.store = store
        self.registry = registry
        self.auth_store = auth_store
        self.tracking = tracking
        self.integrity = integrity
        self.authorizer = authorizer

    # ------------------------------------------------------------------ reading
    def get_request(self, request_id) -> ApprovalRequest:
        request = self.store.get_request(_request_id(request_id))
        self._check_read(request)
        return self._with_policy(request)

    def list_requests(self, name, status: str | None = None) -> list[ApprovalRequest]:
        name = rules.validate_model_name(name)
        status = _status(status)
        policy = self.auth_store.get_policy(name)
        required = policy.required_approvals if policy is not None else None
        return [_replace(r, required_approvals=required) for r in self.store.list_requests(name, status)]

    def list_all_requests(self, status: str | None = None, max_results: int = 200,
                          before_id: int | None = None, policies: dict[str, Any] | None = None) -> list[ApprovalRequest]:
        """Every model's requests, newest first (only those older than request ``before_id`` if
        given), each with its policy's required approvals (the web UI's ``/requests``; the caller
        keeps only those of models the actor may read). ``policies``: a dict the policies read are
        left in (model name -> policy or None), for the caller's gates and :meth:`may_decide`."""
        status = _status(status)
        found = self.store.list_requests(None, status, max_results, before_id)
        policies = {} if policies is None else policies
        names = {r.name for r in found}
        read = self.auth_store.get_policies(sorted(names - policies.keys()))
        policies.update({name: read.get(name) for name in names if name not in policies})
        out = []
        for request in found:
            policy = policies[request.name]
            out.append(_replace(request, required_approvals=policy.required_approvals if policy is not None else None))
        return out

    def may_decide(self, request: ApprovalRequest, policy=_UNREAD) -> bool:
        """Could the current actor approve ``request`` now (pending, not theirs, one of its approvers)?
        What the web UI asks to show a request as "waiting for me"; approving still checks everything.
        ``policy``: the model's policy if the caller has read it already."""
        actor = current_actor()
        if request.status != "pending" or (actor.name and request.requester == actor.name):
            return False
        if any(a.approver == (actor.name or ANONYMOUS_APPROVER) for a in request.approvals):
            return False
        try:
            self._check_approver(actor, request,
                                 self.auth_store.get_policy(request.name) if policy is _UNREAD else policy)
        except PermissionDenied:
            return False
        return True

    # ------------------------------------------------------------------ requesting
    def request_model_version(self, name, version, stage: str | None = None, alias: str | None = None,
                              comment: str | None = None) -> ApprovalRequest:
        """Ask for ``version`` of ``name`` to move into ``stage`` or onto ``alias`` (exactly one)."""
        name = rules.validate_model_name(name)
        version = rules.validate_version(version)
        comment = _comment(comment)
        if bool(stage) == bool(alias):
            raise InvalidParameterValue("Give exactly one of 'stage' and 'alias'.")
        kind, target = ("stage", rules.canonical_stage(stage)) if stage else ("alias", rules.validate_alias_name(alias))
        mv = self.registry.get_model_version(name, version)
        policy = self.auth_store.get_policy(name)
        protected = policy is not None and policy.requires_approval and (
            policy.protects(kind, target) or (kind == "stage" and policy.protects("stage", mv.current_stage)))
        if not protected:
            flag = f"transition {name} {version} {target}" if kind == "stage" else f"alias {name} {target} {version}"
            raise InvalidParameterValue(
                f"'{target}' of model '{name}' needs no approval: its policy does not protect it with "
                f"requires_approval. Move it directly (podium models {flag}).")
        if kind == "stage" and mv.current_stage == target or kind == "alias" and target in (mv.aliases or ()):
            raise InvalidState(f"Version {version} of model '{name}' is already "
                              f"{'in ' + target if kind == 'stage' else 'at @' + target}.")
        results = self.evaluate_gates(policy, name, version, kind, target)
        _raise_if_failed(results, f"Request for version {version} of model '{name}' to "
                                  f"{'@' + target if kind == 'alias' else target} refused")
        request = self.store.create_request(name, version, kind, target, current_actor().name, comment)
        return _replace(request, required_approvals=policy.required_approvals, gate_results=tuple(results))

    # ------------------------------------------------------------------ deciding
    def approve_request(self, request_id, comment: str | None = None) -> ApprovalRequest:
        """Approve; the last required approval applies the move (gates re-checked first)."""
        request_id = _request_id(request_id)
        comment = _comment(comment)
        actor = current_actor()
        approver = actor.name or ANONYMOUS_APPROVER
        results: list[GateResult] = []
        if self.authorizer is not None:  # before the request's state can tell anything
            self._check_read(self.store.get_request(request_id))

        def check(request: ApprovalRequest, count: int) -> int:
            policy = self.auth_store.get_policy(request.name)
            self._check_read(request)
            if actor.name and request.requester == actor.name:
                raise PermissionDenied(
                    f"You ({actor.name}) made request {request.id}: a requester cannot approve their own request; "
                    f"another approver must.")
            self._check_approver(actor, request, policy)
            required = policy.required_approvals if policy is not None else 1
            if count >= required and policy is not None:
                results[:] = self.evaluate_gates(policy, request.name, request.version, request.target_kind,
                                                 request.target)
                _raise_if_failed(results, f"Request {request.id} cannot be applied")
            return required

        request = self.store.approve_request(request_id, approver, comment, check)
        return self._with_policy(request, tuple(results))

    def reject_request(self, request_id, comment: str | None = None) -> ApprovalRequest:
        """Reject (an approver) or cancel (the requester) a pending request."""
        request_id = _request_id(request_id)
        comment = _comment(comment)
        actor = current_actor()
        found = self.store.get_request(request_id)
        self._check_read(found)
        own = bool(actor.name) and found.requester == actor.name
        status = "cancelled" if own else "rejected"

        def check(request: ApprovalRequest) -> None:
            if not own:
                self._check_approver(actor, request, self.auth_store.get_policy(request.name), rejecting=True)

        request = self.store.decide_request(request_id, status, actor.name or ANONYMOUS_APPROVER, comment, check)
        return self._with_policy(request)

    # ------------------------------------------------------------------ gates
    def evaluate_gates(self, policy, name: str, version: int, kind: str, target: str) -> list[GateResult]:
        """Every gate of ``policy`` for moving ``version`` to ``target`` (an empty list: no gates)."""
        gates = [parse_gate(g) for g in (policy.gates if policy is not None else ())]
        if not gates:
            return []
        return self._check_gates(gates, self.registry.get_model_version(name, version), kind, target)

    def evaluate_request_gates(self, requests: list[ApprovalRequest],
                               policies: dict[str, Any]) -> dict[int, list[GateResult] | PodiumError]:
        """The gates of each request's model policy (``policies``: name -> policy or None), evaluated
        now for those requests that have gates: request id -> results, or the error that stopped
        them (a version deleted since). The runs' metrics are read at once (the web UI's /requests)."""
        with_gates, gated, out = [], [], {}
        for request in requests:
            policy = policies.get(request.name)
            gates = [parse_gate(g) for g in (policy.gates if policy is not None else ())]
            if gates:
                with_gates.append((request, gates))
        versions = self.registry.get_model_versions([(r.name, r.version) for r, _ in with_gates])
        for request, gates in with_gates:
            mv = versions.get((request.name, int(request.version)))
            if mv is None:  # deleted since the request was made
                out[request.id] = ResourceDoesNotExist(
                    f"Model Version (name={request.name}, version={request.version}) not found")
            else:
                gated.append((request, gates, mv))
        runs = self.tracking.get_latest_metrics([mv.run_id for _, _, mv in gated if mv.run_id])
        for request, gates, mv in gated:
            try:
                out[request.id] = self._check_gates(gates, mv, request.target_kind, request.target, runs)
            except PodiumError as exc:
                out[request.id] = exc
        return out

    def _check_gates(self, gates, mv, kind: str, target: str, runs: dict | None = None) -> list[GateResult]:
        metrics = self._metrics(mv, runs)
        holder, holder_metrics = None, None
        if any(g.against_current for g in gates):
            current = self._holder(mv.name, kind, target, int(mv.version))
            if current is not None:
                holder, holder_metrics = f"version {current.version}", self._metrics(current)
        signed = self._has_signature(mv) if any(g.kind == "signature" for g in gates) else False
        return [g.check(metrics, holder_metrics, holder, signed) for g in gates]

    def _metrics(self, mv, runs: dict | None = None) -> dict[str, float]:
        """The version's source run's metrics, overlaid by its logged model's (latest value per key);
        ``runs``: run id -> latest metrics, when already read for several versions."""
        out: dict[str, float] = {}
        if mv.run_id:  # the run's latest value per key (one read, nothing for a run that is gone)
            if runs is None:
                runs = self.tracking.get_latest_metrics([mv.run_id])
            out.update(runs.get(mv.run_id, {}))
        if mv.model_id:
            try:
                logged = self.tracking.get_logged_model(mv.model_id)
            except ResourceDoesNotExist:
                logged = None
            if logged is not None:
                out.update(latest_metrics(logged.metrics or ()))
        return out

    def _holder(self, name: str, kind: str, target: str, version: int):
        """The version holding ``target`` now (not ``version`` itself), or None."""
        if kind == "alias":
            try:
                current = self.registry.get_model_version_by_alias(name, target)
            except PodiumError:
                return None
        else:
            found = self.registry.get_latest_versions(name, [target])
            current = found[0] if found else None
        return current if current is not None and int(current.version) != int(version) else None

    def _has_signature(self, mv) -> bool:
        locate = getattr(self.integrity, "locate", None)
        location = mv.storage_location or mv.source
        if locate is None or not location:
            return False
        try:
            located = locate(location)
        except PodiumError:
            return False
        if located is None:
            return False
        store, root = located
        mlmodel = parse_mlmodel(read_small(store, "MLmodel", root))
        signature = mlmodel.get("signature")
        return isinstance(signature, dict) and bool(signature.get("inputs"))

    # ------------------------------------------------------------------ who may
    def _check_read(self, request: ApprovalRequest) -> None:
        """A request of a model the caller cannot read answers like one that does not exist (404)."""
        actor = current_actor()
        if self.authorizer is None or not actor.authenticated:
            return
        from podium.auth.entities import Permission

        if self.authorizer.model_permission(actor, request.name) < Permission.READ:
            raise request_not_found(request.id)

    def _check_approver(self, actor: Actor, request: ApprovalRequest, policy, *, rejecting: bool = False) -> None:
        if self.authorizer is None or not actor.authenticated or actor.is_admin:
            return
        from podium.auth.entities import Permission

        entries = (policy.approvers if policy is not None else ()) or ("role:manage",)
        groups = None
        for entry in entries:
            kind, _, who = entry.partition(":")
            if kind == "user" and who == actor.name:
                return
            if kind == "group":
                if groups is None:
                    groups = set(self.auth_store.groups_of(actor.user_id)) if actor.user_id is not None else set()
                if who in groups:
                    return
            if kind == "role" and who == "manage" and \
                    self.authorizer.model_permission(actor, request.name) >= Permission.MANAGE:
                return
        verb = "rejecting" if rejecting else "approving"
        raise PermissionDenied(
            f"{verb} request {request.id} of model '{request.name}' needs one of the policy's approvers "
            f"({', '.join(entries)}) or admin; you ({actor.display}) are not one")

    def _with_policy(self, request: ApprovalRequest, results: tuple = ()) -> ApprovalRequest:
        try:
            policy = self.auth_store.get_policy(request.name)
        except ResourceDoesNotExist:
            policy = None
        return _replace(request, required_approvals=policy.required_approvals if policy is not None else None,
                        gate_results=results)


def _replace(request: ApprovalRequest, **changes: Any) -> ApprovalRequest:
    from dataclasses import replace

    return replace(request, **changes)


def _raise_if_failed(results: list[GateResult], what: str) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        detail = "; ".join(f"{r.gate}: {r.detail}" for r in failed)
        raise GateFailed(f"{what}: {len(failed)} policy gate(s) failed: {detail}.")
