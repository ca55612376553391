"""``SqlHistoryStore``: reading a model's audit history, and rolling back in one transaction.

Which events belong to a model: ``registry_events.model_key`` is the model's surrogate key, but a
key is not unique over time (SQLite hands a deleted model's key to the next model created when it
was the highest one; InnoDB may after a restart). So a model's history is the events with its key
from its latest ``model_created`` on (or from just after an earlier incarnation's
``model_deleted``, for a model created before history was recorded):
:func:`~podium.store.sql.events.incarnation_start`. A model is found by its
current name; a deleted one by the name it had when it was deleted (the latest ``model_deleted``
event with that name).

:meth:`SqlHistoryStore.rollback` locks the model, reads its history, works out the previous holder
(:mod:`podium.domain.history`), records a ``rollback`` event and applies the change with
:meth:`SqlRegistryStore.apply_transition` / :meth:`~SqlRegistryStore.apply_alias`, all in one
write transaction. Nothing here updates or deletes an event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from podium.domain.entities import PagedList
from podium.domain.events import RegistryEvent
from podium.domain.history import STATE_ACTIONS, ModelState, holder_of, holders, previous_holder
from podium.domain.paging import decode_page_position, encode_keyset_token, query_fingerprint
from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.store.sql.event_tables import registry_events as ev
from podium.store.sql.events import event_entity, incarnation_start, record_event
from podium.store.sql.registry import SqlRegistryStore, now_ms
from podium.store.sql.tables import model_versions, registered_model_aliases, registered_models

__all__ = ["SqlHistoryStore"]

rm, mv, ma = registered_models, model_versions, registered_model_aliases


@dataclass(frozen=True)
class _Scope:
    """The events of one model: ``model_key`` and ids in ``[first, last]`` (``last`` None: no end)."""

    model_key: int
    first: int
    last: int | None
    live: bool

    def where(self):
        cond = and_(ev.c.model_key == self.model_key, ev.c.id >= self.first)
        return cond if self.last is None else and_(cond, ev.c.id <= self.last)


def _not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Registered Model with name={name} not found (and no deleted model had that name)")


class SqlHistoryStore:
    """History reads and rollback over the registry's :class:`SqlRegistryStore` (same database)."""

    def __init__(self, registry: SqlRegistryStore) -> None:
        self.registry = registry
        self.db = registry.db

    # ------------------------------------------------------------------ which events
    def _scope(self, conn, name: str) -> _Scope:
        key = conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar()
        if key is not None:
            return _Scope(key, incarnation_start(conn, key), None, True)
        deleted = conn.execute(
            select(ev.c.id, ev.c.model_key)
            .where(ev.c.model_name == name, ev.c.action == "model_deleted")
            .order_by(ev.c.id.desc())
            .limit(1)
        ).first()
        if deleted is None or deleted.model_key is None:
            raise _not_found(name)
        return _Scope(deleted.model_key, incarnation_start(conn, deleted.model_key, deleted.id), deleted.id, False)

    @staticmethod
    def _events(conn, scope: _Scope) -> list[RegistryEvent]:
        """The events that change where stages and aliases point (tags and descriptions left out)."""
        query = select(ev).where(scope.where(), ev.c.action.in_(STATE_ACTIONS)).order_by(ev.c.id)
        return [event_entity(r) for r in conn.execute(query)]

    @staticmethod
    def _live(conn, model_key: int, name: str) -> ModelState:
        stages = dict(conn.execute(select(mv.c.version, mv.c.current_stage).where(mv.c.model == model_key)).all())
        aliases = dict(conn.execute(select(ma.c.alias, ma.c.version).where(ma.c.model == model_key)).all())
        return ModelState(True, name, stages, aliases)

    # ------------------------------------------------------------------ reads
    def list_events(self, name: str, version: int | None = None, max_results: int = 100,
                    page_token: str | None = None, newest_first: bool = False) -> PagedList:
        """Events of model ``name`` (renames followed), oldest first unless ``newest_first``; pages by
        keyset on the event id."""
        fingerprint = query_fingerprint("registry_events", name, version, newest_first)
        position = decode_page_position(page_token, fingerprint, [int])
        with self.db.read() as conn:
            scope = self._scope(conn, name)
            query = select(ev).where(scope.where())
            if version is not None:
                query = query.where(ev.c.version == version)
            if position.after is not None:
                after = position.after[0]
                query = query.where(ev.c.id < after if newest_first else ev.c.id > after)
            query = query.order_by(ev.c.id.desc() if newest_first else ev.c.id).limit(max_results + 1)
            if position.after is None and position.offset:
                query = query.offset(position.offset)
            rows = conn.execute(query).all()
        token = None
        if len(rows) > max_results:
            rows = rows[:max_results]
            token = encode_keyset_token([rows[-1].id], fingerprint)
        return PagedList([event_entity(r) for r in rows], token)

    def model_timeline(self, name: str) -> tuple[list[RegistryEvent], ModelState | None]:
        """The model's events that move stages and aliases (oldest first) and its live state (None:
        deleted), read together in one snapshot."""
        with self.db.read() as conn:
            scope = self._scope(conn, name)
            live = self._live(conn, scope.model_key, name) if scope.live else None
            return self._events(conn, scope), live

    # ------------------------------------------------------------------ rollback
    def rollback(self, name: str, kind: str, target: str, break_glass: bool = False) -> dict:
        """Give stage or alias ``target`` (``kind``: ``stage`` | ``alias``) back to its previous holder,
        atomically: the model is locked, its history read, a ``rollback`` event recorded and the stage
        (``archive_existing_versions``: the current holder goes to Archived) or alias moved. The
        comment (reason) and cause of the events come from the caller's ``event_context``."""
        now = now_ms()
        with self.db.write() as conn:
            key = self.registry._lock_model(conn, name, now)
            scope = _Scope(key, incarnation_start(conn, key), None, True)
            live = self._live(conn, key, name)
            stack = holders(self._events(conn, scope), live, kind, target)
            current = holder_of(live, kind, target)
            previous = previous_holder(stack, current)
            what = f"{'stage' if kind == 'stage' else 'alias'} '{target}' of model '{name}'"
            if previous is None:
                raise InvalidParameterValue(
                    f"Nothing to roll back: the history of {what} has no earlier version that still exists"
                    + (f" (it is held by version {current})." if current is not None else "."))
            if previous not in live.stages:  # a history recorded before a version was deleted: never restore it
                raise ResourceDoesNotExist(f"Model Version (name={name}, version={previous}) not found; cannot "
                                           f"restore it as {what}.")
            after = {"version": previous, "kind": kind}
            if break_glass:
                after["break_glass"] = True
            record_event(conn, "rollback", key, name, version=previous, target=target, timestamp=now,
                         before=None if current is None else {"version": current}, after=after)
            if kind == "stage":
                self.registry.apply_transition(conn, key, name, previous, target, True, now)
            else:
                self.registry.apply_alias(conn, key, name, target, previous)
            event_id = conn.execute(
                select(func.max(ev.c.id)).where(ev.c.model_key == key, ev.c.action == "rollback")).scalar()
        return {"name": name, kind: target, "from_version": current, "to_version": previous,
                "event_id": event_id, "timestamp": now}
