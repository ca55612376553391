"""``SqlApprovalStore``: approval requests and approvals, and applying a request atomically.

The contract is :class:`podium.store.base.ApprovalStore`. Concurrency: deciding on a request
(approve, reject, cancel) first locks the request's row (``SELECT ... FOR UPDATE`` on PostgreSQL
and MySQL; on SQLite the ``BEGIN IMMEDIATE`` write transaction already excludes other writers), then
checks it is still pending. When the last required approval lands, the same transaction locks the
model (:meth:`SqlRegistryStore.lock_model`), applies the move (``apply_transition`` /
``apply_alias``) and marks the request ``applied``: two approvers racing apply it once, and the
second one is told it was already applied. The primary key ``(request_id, approver)`` makes a
second approval by the same approver impossible even without the lock. Lock order is always
request, then model, so deciders never deadlock with each other or with direct moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from podium.domain.approvals import Approval, ApprovalRequest, request_not_found
from podium.domain.events import event_context
from podium.errors import InvalidState, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.approval_tables import approval_requests as ar
from podium.store.sql.approval_tables import request_approvals as ra
from podium.store.sql.engine import Database
from podium.store.sql.events import record_event
from podium.store.sql.tables import model_versions, registered_models

__all__ = ["SqlApprovalStore"]

rm = registered_models
mv = model_versions

#: the stages a stage request archives the other holders of (a promotion), as ``archive_existing_versions``
_ACTIVE_STAGES = ("Staging", "Production")


def now_ms() -> int:
    return int(time.time() * 1000)


def already_decided(request: ApprovalRequest) -> PodiumError:
    by = f" by {request.decided_by}" if request.decided_by else ""
    return InvalidState(f"Request {request.id} is already {request.status}{by}: only a pending request can be "
                       f"approved, rejected or cancelled.")


class SqlApprovalStore:
    """Requests on a :class:`~podium.store.sql.engine.Database`; ``registry`` is the
    :class:`~podium.store.sql.registry.SqlRegistryStore` on the same database (it applies moves)."""

    def __init__(self, db: Database, registry) -> None:
        self.db = db
        self.registry = registry

    # ------------------------------------------------------------------ reading
    def _query(self):
        return select(ar, rm.c.name).join(rm, rm.c.id == ar.c.model)

    def _entities(self, conn, rows) -> list[ApprovalRequest]:
        ids = [r.id for r in rows]
        approvals: dict[int, list[Approval]] = {}
        if ids:
            for a in conn.execute(select(ra).where(ra.c.request_id.in_(ids)).order_by(ra.c.created_at, ra.c.approver)):
                approvals.setdefault(a.request_id, []).append(Approval(a.approver, a.created_at, a.comment))
        return [ApprovalRequest(r.id, r.name, r.version, r.target_kind, r.target, r.status, r.requester, r.comment,
                                r.created_at, r.decided_at, r.decided_by, r.decision_comment,
                                tuple(approvals.get(r.id, ()))) for r in rows]

    def get_request(self, request_id: int) -> ApprovalRequest:
        with self.db.read() as conn:
            row = conn.execute(self._query().where(ar.c.id == request_id)).first()
            if row is None:
                raise request_not_found(request_id)
            return self._entities(conn, [row])[0]

    def list_requests(self, name: str | None, status: str | None = None, max_results: int = 1000,
                      before_id: int | None = None) -> list[ApprovalRequest]:
        """A model's requests (``name=None``: every model's), newest first, only those older than
        request ``before_id`` if given (keyset paging); a missing model is a 404."""
        with self.db.read() as conn:
            query = self._query()
            if name is not None:
                model_pk = conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar()
                if model_pk is None:
                    raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
                query = query.where(ar.c.model == model_pk)
            if status:
                query = query.where(ar.c.status == status)
            if before_id is not None:
                query = query.where(ar.c.id < before_id)
            rows = conn.execute(query.order_by(ar.c.id.desc()).limit(max_results)).all()
            return self._entities(conn, rows)

    # ------------------------------------------------------------------ writing
    def create_request(self, name: str, version: int, target_kind: str, target: str, requester: str | None,
                       comment: str | None) -> ApprovalRequest:
        """A pending request; a pending request for the same version and target already existing is
        ``RESOURCE_ALREADY_EXISTS``. Records ``request_created``."""
        now = now_ms()
        with self.db.write() as conn:
            query = select(rm.c.id).where(rm.c.name == name)
            if self.db.dialect != "sqlite":
                query = query.with_for_update()  # one creator per model at a time: no duplicate pending requests
            model_pk = conn.execute(query).scalar()
            if model_pk is None:
                raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
            found = conn.execute(select(mv.c.version).where(mv.c.model == model_pk, mv.c.version == version)).first()
            if found is None:
                raise ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")
            duplicate = conn.execute(select(ar.c.id).where(
                ar.c.model == model_pk, ar.c.version == version, ar.c.target_kind == target_kind,
                ar.c.target == target, ar.c.status == "pending")).scalar()
            if duplicate is not None:
                raise ResourceAlreadyExists(
                    f"Request {duplicate} for version {version} of model '{name}' to "
                    f"{'@' + target if target_kind == 'alias' else target} is already pending.")
            request_id = conn.execute(insert(ar).values(
                model=model_pk, version=version, target_kind=target_kind, target=target, status="pending",
                requester=requester, comment=comment, created_at=now)).inserted_primary_key[0]
            record_event(conn, "request_created", model_pk, name, version=version, target=target, timestamp=now,
                         after={"target_kind": target_kind, "target": target, "status": "pending"},
                         comment=comment, request_id=request_id)
            return self._entities(conn, [conn.execute(self._query().where(ar.c.id == request_id)).one()])[0]

    def _locked_request(self, conn, request_id: int):
        if self.db.dialect != "sqlite":  # the request's row only (then the model's, when applying)
            conn.execute(select(ar.c.id).where(ar.c.id == request_id).with_for_update()).first()
        row = conn.execute(self._query().where(ar.c.id == request_id)).first()
        if row is None:
            raise request_not_found(request_id)
        return row

    def approve_request(self, request_id: int, approver: str, comment: str | None,
                        check: Callable[[ApprovalRequest, int], int]) -> ApprovalRequest:
        """Add ``approver``'s approval; apply the request if it is the last one needed.

        ``check(request, approvals_with_this_one)`` runs inside the transaction, with the request
        locked and known to be pending, and before anything is written: it raises to refuse (not an
        approver, the requester, gates failing) and returns the number of approvals required.
        """
        now = now_ms()
        with self.db.write() as conn:
            row = self._locked_request(conn, request_id)
            request = self._entities(conn, [row])[0]
            if request.status != "pending":
                raise already_decided(request)
            if any(a.approver == approver for a in request.approvals):
                raise InvalidState(f"You ({approver}) already approved request {request_id}; it needs an approval "
                                  f"from someone else.")
            count = len(request.approvals) + 1
            required = check(request, count)
            try:  # the primary key (request_id, approver) is the last word on duplicates
                conn.execute(insert(ra).values(request_id=request_id, approver=approver, created_at=now,
                                               comment=comment))
            except IntegrityError:
                raise InvalidState(f"You ({approver}) already approved request {request_id}.") from None
            record_event(conn, "request_approved", row.model, row.name, version=row.version, target=row.target,
                         timestamp=now, after={"approvals": count, "required": required}, comment=comment,
                         request_id=request_id)
            if count >= required:
                self._apply(conn, row, approver, now)
            return self._entities(conn, [conn.execute(self._query().where(ar.c.id == request_id)).one()])[0]

    def _apply(self, conn, row, approver: str, now: int) -> None:
        model_pk = self.registry.lock_model(conn, row.name, now)
        with event_context(cause="request", request_id=row.id):
            if row.target_kind == "stage":
                self.registry.apply_transition(conn, model_pk, row.name, row.version, row.target,
                                               row.target in _ACTIVE_STAGES, now)
            else:
                self.registry.apply_alias(conn, model_pk, row.name, row.target, row.version)
        conn.execute(update(ar).where(ar.c.id == row.id).values(status="applied", decided_at=now,
                                                                   decided_by=approver))
        record_event(conn, "request_applied", model_pk, row.name, version=row.version, target=row.target,
                     timestamp=now, before={"status": "pending"}, after={"status": "applied"}, request_id=row.id)

    def decide_request(self, request_id: int, status: str, actor: str | None, comment: str | None,
                       check: Callable[[ApprovalRequest], None]) -> ApprovalRequest:
        """Close a pending request as ``rejected`` or ``cancelled`` (``check(request)`` may refuse)."""
        now = now_ms()
        with self.db.write() as conn:
            row = self._locked_request(conn, request_id)
            request = self._entities(conn, [row])[0]
            if request.status != "pending":
                raise already_decided(request)
            check(request)
            conn.execute(update(ar).where(ar.c.id == request_id).values(
                status=status, decided_at=now, decided_by=actor, decision_comment=comment))
            action = "request_rejected" if status == "rejected" else "request_cancelled"
            record_event(conn, action, row.model, row.name, version=row.version, target=row.target, timestamp=now,
                         before={"status": "pending"}, after={"status": status}, comment=comment,
                         request_id=request_id)
            return self._entities(conn, [conn.execute(self._query().where(ar.c.id == request_id)).one()])[0]
