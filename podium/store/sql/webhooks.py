"""``SqlWebhookStore``: webhooks and their delivery outbox in SQL; :func:`enqueue`, the outbox insert.

:func:`enqueue` is called by :func:`podium.store.sql.events.record_event` inside the transaction of
the registry change, with its connection: a delivery row commits or rolls back with the change, so
a change that was acknowledged is never lost by a crash, and a change rolled back is never
announced. It costs nothing for the events no webhook can subscribe to (renames, grants...) and one
indexed read of the active webhooks for the others; only subscribed webhooks get a row.

Delivery workers (any number of processes on one database) take turns through leases:
:meth:`SqlWebhookStore.claim_due` picks due rows whose lease is free and sets ``lease_until`` in one
write transaction (PostgreSQL and MySQL/MariaDB: ``FOR UPDATE SKIP LOCKED``, so two workers never
wait for, nor take, the same rows; SQLite: the ``BEGIN IMMEDIATE`` transaction excludes other
writers). A worker killed while sending leaves a lease that expires, and the row is sent again:
at-least-once, with the same ``delivery_id``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy import event as sa_event

from podium import clock
from podium.domain.entities import PagedList
from podium.domain.paging import decode_page_token, encode_page_token
from podium.domain.webhooks import DeliveryOutcome, PendingDelivery, Webhook, WebhookDelivery, deliveries_for, envelope
from podium.errors import ResourceDoesNotExist
from podium.store.sql.engine import Database
from podium.store.sql.prepared import prepared
from podium.store.sql.webhook_tables import webhook_deliveries as wd
from podium.store.sql.webhook_tables import webhooks as wh

__all__ = ["SqlWebhookStore", "enqueue"]

_ACTIVE = "ACTIVE"

#: set when a transaction that wrote deliveries commits in this process: wakes its delivery worker at
#: once (workers in other processes find the rows at their next poll)
_committed = threading.Event()


#: the statement every registry write that webhooks may want runs: compiled once per dialect and run
#: on the driver's cursor (decision 0021; plain string columns, no conversion)
_ACTIVE_HOOKS = select(wh.c.id, wh.c.events).where(wh.c.status == _ACTIVE)


def _any_due():
    """Is any delivery due at ``now``: every worker's idle poll (each ``--webhook-poll-ms``, 500 ms by
    default), compiled once and run on the driver (decision 0027: ~0.85 ms a poll through SQLAlchemy)."""
    now = bindparam("now")
    return (select(wd.c.id).where(wd.c.status == "pending", wd.c.next_attempt_at <= now,
                                  or_(wd.c.lease_until.is_(None), wd.c.lease_until < now))
            .order_by(wd.c.next_attempt_at, wd.c.id).limit(1))


def _wake(_conn) -> None:
    _committed.set()


def enqueue(conn, events: Sequence[tuple[str, str, int, dict[str, Any]]]) -> None:
    """Outbox rows for ``(action, model_name, timestamp_ms, fields)`` registry events, in ``conn``'s transaction."""
    caused = [(event, ts, data) for action, name, ts, fields in events
              for event, data in deliveries_for(action, name, fields)]
    if not caused:
        return
    hooks = prepared(conn, "webhooks.active", lambda: _ACTIVE_HOOKS).rows(conn)
    if not hooks:
        return
    subscribed = [(hook_id, set(json.loads(hook_events))) for hook_id, hook_events in hooks]
    rows = []
    for event, ts, data in caused:
        body = None
        for hook_id, wanted in subscribed:
            if event in wanted:
                body = body or envelope(event, ts, data)
                rows.append({"delivery_id": str(uuid.uuid4()), "webhook_id": hook_id, "event": event,
                             "payload": body, "created_at": ts, "status": "pending", "attempts": 0,
                             "next_attempt_at": ts})
    if rows:
        conn.execute(insert(wd), rows)
        sa_event.listen(conn, "commit", _wake, once=True)


def _not_found(webhook_id: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Webhook with ID {webhook_id} not found.")


def _webhook(row) -> Webhook:
    return Webhook(webhook_id=row.id, name=row.name, url=row.url, events=tuple(json.loads(row.events)),
                   status=row.status, creation_timestamp=row.creation_timestamp,
                   last_updated_timestamp=row.last_updated_timestamp, description=row.description,
                   standard_webhooks=bool(row.standard_webhooks), created_by=row.created_by, secret=row.secret)


def _delivery(row) -> WebhookDelivery:
    return WebhookDelivery(delivery_id=row.delivery_id, webhook_id=row.webhook_id, event=row.event,
                           payload=row.payload, created_at=row.created_at, status=row.status, attempts=row.attempts,
                           next_attempt_at=row.next_attempt_at, last_attempt_at=row.last_attempt_at,
                           response_status=row.response_status, last_error=row.last_error,
                           latency_ms=row.latency_ms)


class SqlWebhookStore:
    """Webhooks and deliveries on a :class:`~podium.store.sql.engine.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ webhooks
    def create_webhook(self, name: str, url: str, events: Sequence[str], description: str | None = None,
                       secret: str | None = None, status: str = _ACTIVE, standard_webhooks: bool = False,
                       created_by: str | None = None) -> Webhook:
        now = clock.now_ms()
        webhook_id = str(uuid.uuid4())
        with self.db.write() as conn:
            conn.execute(insert(wh).values(
                id=webhook_id, name=name, url=url, events=json.dumps(list(events)), description=description,
                secret=secret, status=status, standard_webhooks=standard_webhooks, created_by=created_by,
                creation_timestamp=now, last_updated_timestamp=now))
            return _webhook(conn.execute(select(wh).where(wh.c.id == webhook_id)).one())

    def get_webhook(self, webhook_id: str) -> Webhook:
        with self.db.read() as conn:
            row = conn.execute(select(wh).where(wh.c.id == webhook_id)).first()
        if row is None:
            raise _not_found(webhook_id)
        return _webhook(row)

    def list_webhooks(self, max_results: int = 100, page_token: str | None = None) -> PagedList:
        """Newest first (MLflow's order); the token is MLflow's ``{"offset": n}``."""
        offset = int(decode_page_token(page_token).get("offset", 0) or 0)
        with self.db.read() as conn:
            rows = conn.execute(select(wh).order_by(wh.c.creation_timestamp.desc(), wh.c.id)
                                .offset(offset).limit(max_results + 1)).all()
        token = encode_page_token({"offset": offset + max_results}) if len(rows) > max_results else None
        return PagedList([_webhook(r) for r in rows[:max_results]], token)

    def update_webhook(self, webhook_id: str, changes: dict[str, Any]) -> Webhook:
        """Apply ``changes`` (column values; ``events`` a list). Disabling cancels the webhook's pending
        deliveries in the same transaction: nothing more is sent to it."""
        values = dict(changes)
        if "events" in values:
            values["events"] = json.dumps(list(values["events"]))
        now = clock.now_ms()
        with self.db.write() as conn:
            query = select(wh.c.id).where(wh.c.id == webhook_id)
            if self.db.dialect != "sqlite":
                query = query.with_for_update()
            if conn.execute(query).first() is None:
                raise _not_found(webhook_id)
            conn.execute(update(wh).where(wh.c.id == webhook_id).values(**values, last_updated_timestamp=now))
            if values.get("status") == "DISABLED":
                self._cancel_pending(conn, webhook_id, "the webhook was disabled", now)
            return _webhook(conn.execute(select(wh).where(wh.c.id == webhook_id)).one())

    def delete_webhook(self, webhook_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(wd).where(wd.c.webhook_id == webhook_id))
            if conn.execute(delete(wh).where(wh.c.id == webhook_id)).rowcount == 0:
                raise _not_found(webhook_id)

    @staticmethod
    def _cancel_pending(conn, webhook_id: str, why: str, now: int) -> None:
        conn.execute(update(wd).where(wd.c.webhook_id == webhook_id, wd.c.status == "pending").values(
            status="cancelled", next_attempt_at=None, lease_until=None, last_error=why, last_attempt_at=now))

    # ------------------------------------------------------------------ deliveries (reading)
    def list_deliveries(self, webhook_id: str, status: str | None = None, max_results: int = 100,
                        page_token: str | None = None) -> PagedList:
        """A webhook's deliveries, newest first (keyset on the row id)."""
        after = decode_page_token(page_token).get("before")
        query = select(wd).where(wd.c.webhook_id == webhook_id)
        if status:
            query = query.where(wd.c.status == status)
        if isinstance(after, int):
            query = query.where(wd.c.id < after)
        with self.db.read() as conn:
            if conn.execute(select(wh.c.id).where(wh.c.id == webhook_id)).first() is None:
                raise _not_found(webhook_id)
            rows = conn.execute(query.order_by(wd.c.id.desc()).limit(max_results + 1)).all()
        token = encode_page_token({"before": rows[max_results - 1].id}) if len(rows) > max_results else None
        return PagedList([_delivery(r) for r in rows[:max_results]], token)

    def get_delivery(self, delivery_id: str) -> WebhookDelivery:
        with self.db.read() as conn:
            row = conn.execute(select(wd).where(wd.c.delivery_id == delivery_id)).first()
        if row is None:
            raise ResourceDoesNotExist(f"Webhook delivery with ID {delivery_id} not found.")
        return _delivery(row)

    def redeliver(self, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again, now, with the same id and body (whatever its status)."""
        now = clock.now_ms()
        with self.db.write() as conn:
            done = conn.execute(update(wd).where(wd.c.delivery_id == delivery_id).values(
                status="pending", next_attempt_at=now, lease_until=None)).rowcount
            if not done:
                raise ResourceDoesNotExist(f"Webhook delivery with ID {delivery_id} not found.")
            return _delivery(conn.execute(select(wd).where(wd.c.delivery_id == delivery_id)).one())

    def count_pending(self) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(wd).where(wd.c.status == "pending")).scalar()

    # ------------------------------------------------------------------ the worker's side
    def wait_for_deliveries(self, timeout: float) -> bool:
        """Block until a transaction of this process that wrote deliveries commits, or ``timeout``."""
        woken = _committed.wait(timeout)
        _committed.clear()
        return woken

    def claim_due(self, now: int, lease_ms: int, limit: int) -> list[PendingDelivery]:
        """Lease up to ``limit`` due deliveries of active webhooks to the caller until ``now + lease_ms``."""
        with self.db.read() as conn:  # idle workers never take the write lock (SQLite) or lock rows
            if not prepared(conn, "webhook_deliveries.any_due", _any_due).rows(conn, now=now):
                return []
        query = (select(wd.c.id).where(wd.c.status == "pending", wd.c.next_attempt_at <= now,
                                       or_(wd.c.lease_until.is_(None), wd.c.lease_until < now))
                 .order_by(wd.c.next_attempt_at, wd.c.id).limit(limit))
        if self.db.dialect != "sqlite":
            query = query.with_for_update(skip_locked=True)
        with self.db.write() as conn:
            ids = conn.execute(query).scalars().all()
            if not ids:
                return []
            conn.execute(update(wd).where(wd.c.id.in_(ids)).values(lease_until=now + lease_ms))
            rows = conn.execute(
                select(wd, wh.c.url, wh.c.secret, wh.c.standard_webhooks, wh.c.status.label("webhook_status"))
                .join(wh, wh.c.id == wd.c.webhook_id).where(wd.c.id.in_(ids)).order_by(wd.c.next_attempt_at, wd.c.id)
            ).all()
            inactive = [r.id for r in rows if r.webhook_status != _ACTIVE]
            if inactive:  # disabled between the change and now: never sent
                conn.execute(update(wd).where(wd.c.id.in_(inactive)).values(
                    status="cancelled", next_attempt_at=None, lease_until=None, last_error="the webhook was disabled"))
            return [PendingDelivery(id=r.id, delivery_id=r.delivery_id, webhook_id=r.webhook_id, event=r.event,
                                    payload=r.payload, created_at=r.created_at, attempts=r.attempts, url=r.url,
                                    secret=r.secret, standard_webhooks=bool(r.standard_webhooks))
                    for r in rows if r.webhook_status == _ACTIVE]

    def record_outcome(self, delivery: PendingDelivery, outcome: DeliveryOutcome) -> None:
        """Store one attempt's outcome and release the lease; a 410 disables the webhook (and cancels
        its other pending deliveries)."""
        with self.db.write() as conn:
            conn.execute(update(wd).where(wd.c.id == delivery.id).values(
                status=outcome.status, attempts=wd.c.attempts + 1, next_attempt_at=outcome.next_attempt_at,
                lease_until=None, last_attempt_at=outcome.attempted_at, response_status=outcome.response_status,
                last_error=outcome.error, latency_ms=outcome.latency_ms))
            if outcome.disable_webhook:
                conn.execute(update(wh).where(wh.c.id == delivery.webhook_id).values(
                    status="DISABLED", last_updated_timestamp=outcome.attempted_at))
                self._cancel_pending(conn, delivery.webhook_id, "the webhook was disabled: its endpoint answered 410",
                                     outcome.attempted_at)
