"""Writing and reading the audit history (``registry_events``).

:func:`record_event` is called by the SQL stores inside the transaction of the change it records,
with the connection of that transaction: the event commits or rolls back with the change. The
actor and the context (comment, cause, request id) are read from the caller's context
(:func:`podium.auth.actor.current_actor`, :func:`podium.domain.events.event_context`).
Nothing here updates or deletes an event. Each event also goes to the webhook outbox
(:func:`podium.store.sql.webhooks.enqueue`), in the same transaction: a delivery row for every
active webhook subscribed to the webhook event it causes (``webhook=`` passes data only webhooks
carry, such as a new version's tags and description).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson

from sqlalchemy import bindparam, func, insert, select

from podium import clock
from podium.auth.actor import current_actor
from podium.domain.events import RegistryEvent, current_event_context
from podium.store.sql.event_tables import registry_events as ev
from podium.store.sql.webhooks import enqueue
from podium.store.sql.prepared import prepared

__all__ = ["event_entity", "events_of_model", "incarnation_start", "record_event", "record_events"]


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _row(action: str, model_key: int | None, model_name: str, *, version: int | None = None,
         target: str | None = None, before: dict | None = None, after: dict | None = None,
         cause: str | None = None, comment: str | None = None, request_id: int | None = None,
         timestamp: int | None = None) -> dict[str, Any]:
    actor, ctx = current_actor(), current_event_context()
    return {
        "timestamp": timestamp if timestamp is not None else clock.now_ms(),
        "action": action,
        "model_key": model_key,
        "model_name": model_name,
        "version": version,
        "target": target,
        "actor": actor.name,
        "actor_via": actor.via,
        "before": _json(before),
        "after": _json(after),
        "comment": comment if comment is not None else ctx.comment,
        "cause": cause if cause is not None else ctx.cause,
        "request_id": request_id if request_id is not None else ctx.request_id,
    }


def _insert(conn, row: dict[str, Any]):
    """The event INSERT (compiled once per dialect, run on the driver: decision 0021), for the
    columns :func:`_row` fills."""
    return prepared(conn, "registry_events.insert",
                    lambda: insert(ev).inline().values({name: bindparam(name) for name in row}))


def record_event(conn, action: str, model_key: int | None, model_name: str, **fields) -> None:
    """Append one event in ``conn``'s transaction (fields: version, target, before, after, cause,
    comment, request_id, timestamp, webhook; unset context fields come from :func:`event_context`)."""
    record_events(conn, [(action, model_key, model_name, fields)])


def record_events(conn, rows: Sequence[tuple[str, int | None, str, dict]]) -> None:
    """Append several events ``(action, model_key, model_name, fields)`` in one statement."""
    if not rows:
        return
    built, outbox = [], []
    for action, key, name, fields in rows:
        extra = fields.get("webhook")
        row = _row(action, key, name, **{k: v for k, v in fields.items() if k != "webhook"})
        built.append(row)
        outbox.append((action, name, row["timestamp"], {**fields, "webhook": extra, "comment": row["comment"],
                                                        "cause": row["cause"], "request_id": row["request_id"]}))
    _insert(conn, built[0]).run_many(conn, built)
    enqueue(conn, outbox)


def _loads(text: str | None):
    """An event's ``before``/``after`` (orjson: a replay parses thousands; ``json`` for what orjson
    refuses, such as a NaN that ``json.dumps`` wrote)."""
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def event_entity(row) -> RegistryEvent:
    return RegistryEvent(
        id=row.id, timestamp=row.timestamp, action=row.action, model_name=row.model_name, actor=row.actor,
        actor_via=row.actor_via, version=row.version, target=row.target,
        before=_loads(row.before), after=_loads(row.after),
        comment=row.comment, cause=row.cause, request_id=row.request_id,
    )


def incarnation_start(conn, model_key: int, before: int | None = None) -> int:
    """The id of the first event of the model that holds ``model_key`` (at event ``before``, or now).

    A key is not unique over time: SQLite hands a deleted model's key to the next model created when
    it was the highest one (InnoDB may after a restart). So a model's events start at its latest
    ``model_created``, or just after the previous holder's ``model_deleted`` (a model created before
    history was recorded has no ``model_created``)."""
    def newest(action: str, strictly_before: bool):
        query = select(func.max(ev.c.id)).where(ev.c.model_key == model_key, ev.c.action == action)
        if before is not None:
            query = query.where(ev.c.id < before if strictly_before else ev.c.id <= before)
        return conn.execute(query).scalar()

    created, deleted = newest("model_created", False), newest("model_deleted", True)
    return max(created or 0, (deleted + 1) if deleted is not None else 0)


def events_of_model(conn, model_key: int) -> list[RegistryEvent]:
    """Every event of the model that now holds ``model_key`` (so across renames, but not those of an
    earlier, deleted model that had the same key), oldest first."""
    start = incarnation_start(conn, model_key)
    rows = conn.execute(
        select(ev).where(ev.c.model_key == model_key, ev.c.id >= start).order_by(ev.c.id)).all()
    return [event_entity(r) for r in rows]
