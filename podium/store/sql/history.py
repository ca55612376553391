"""``SqlHistoryStore``: reading a model's audit history, and changing a model under its lock.

Which events belong to a model: ``registry_events.model_key`` is the model's surrogate key, but a
key is not unique over time (SQLite hands a deleted model's key to the next model created when it
was the highest one; InnoDB may after a restart). So a model's history is the events with its key
from its latest ``model_created`` on (or from just after an earlier incarnation's
``model_deleted``, for a model created before history was recorded):
:func:`~podium.store.sql.events.incarnation_start`. A model is found by its
current name; a deleted one by the name it had when it was deleted (the latest ``model_deleted``
event with that name).

:meth:`SqlHistoryStore.locked_model` opens one write transaction holding the model's lock
(:meth:`SqlRegistryStore.lock_model`) and hands the caller a :class:`~podium.store.base.LockedModel`:
its timeline, and the storage operations a rollback needs (record an event, move a stage with
:meth:`SqlRegistryStore.apply_transition`, move an alias with :meth:`~SqlRegistryStore.apply_alias`).
What to roll back to is decided by the history service (:mod:`podium.services.history`), which never
sees SQL. Nothing here updates or deletes an event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, select

from podium.domain.entities import PagedList
from podium.domain.events import RegistryEvent
from podium.domain.history import MOVE_ACTIONS, STATE_ACTIONS, ModelState
from podium.domain.paging import decode_page_position, encode_keyset_token, query_fingerprint
from podium.errors import ResourceDoesNotExist
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

    def holds(self, event_id: int) -> bool:
        """Is event ``event_id`` (one of ``model_key``'s) in this model's range?"""
        return event_id >= self.first and (self.last is None or event_id <= self.last)


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
    def _events(conn, scope: _Scope, until: int | None = None) -> list[RegistryEvent]:
        """The events that change where stages and aliases point (tags and descriptions left out).

        A model whose history is known from its ``model_created`` on is replayed without its
        ``version_created`` events (:data:`~podium.domain.history.MOVE_ACTIONS`): a new version is
        always in stage None, which no state lists and no holder has, so its creation moves nothing
        a replay answers, and a model with 100,000 versions and a few moves replays a few events
        (over the ``(model_key, action, id)`` index). A model created before history was recorded
        keeps them: :func:`~podium.domain.history.initial_state` needs each version's first event."""
        known = SqlHistoryStore._known(conn, scope)
        # Only (model_key, action) in SQL, written into the statement, the rest here, so every
        # planner seeks each action in the (model_key, action, id) index. With ORDER BY id, SQLite
        # walked (model_key, id) over every event of the model; with bound parameters, psycopg
        # prepares a statement run often and PostgreSQL's generic plan, made for a model of average
        # size, filtered the 100,000 events of a big one (35 ms instead of 2.5 ms)
        actions = list(MOVE_ACTIONS if known else STATE_ACTIONS)
        query = select(ev).where(
            ev.c.model_key == bindparam("history_key", scope.model_key, literal_execute=True),
            ev.c.action.in_(bindparam("history_actions", actions, expanding=True, literal_execute=True)))
        rows = sorted((r for r in conn.execute(query) if scope.holds(r.id)), key=lambda r: r.id)
        if until is not None and known:
            # only the prefix a replay to ``until`` applies (up to the first later event; the first
            # event always: it tells the replay the history is known from the start) is parsed.
            # A history that starts later is read whole: its state before it is inferred from every
            # version's and alias's first event (initial_state)
            later = next((i for i, r in enumerate(rows) if i and r.timestamp > until), len(rows))
            rows = rows[:later]
        return [event_entity(r) for r in rows]

    @staticmethod
    def _known(conn, scope: _Scope) -> bool:
        """Does the model's history start with its ``model_created`` (so it is known at every time)?
        Its first event is the one :func:`incarnation_start` found, when that is a ``model_created``
        of this key (one primary-key read: an ``ORDER BY id LIMIT 1`` made PostgreSQL walk the
        primary key past every other model's events)."""
        action = conn.execute(select(ev.c.action).where(
            ev.c.id == scope.first, ev.c.model_key == scope.model_key)).scalar()
        return action == "model_created"

    @staticmethod
    def _live(conn, model_key: int, name: str) -> ModelState:
        stages = dict(conn.execute(select(mv.c.version, mv.c.current_stage).where(mv.c.model == model_key)).all())
        aliases = dict(conn.execute(select(ma.c.alias, ma.c.version).where(ma.c.model == model_key)).all())
        return ModelState(True, name, stages, aliases)

    # ------------------------------------------------------------------ reads
    def list_events(self, name: str, version: int | None = None, max_results: int = 100,
                    page_token: str | None = None, newest_first: bool = False,
                    actions: tuple[str, ...] | None = None, actor: str | None = None) -> PagedList:
        """Events of model ``name`` (renames followed), oldest first unless ``newest_first``, only
        ``actions`` and ``actor``'s if given; pages by keyset on the event id."""
        fingerprint = query_fingerprint("registry_events", name, version, newest_first,
                                        *((sorted(actions or ()), actor) if actions or actor is not None else ()))
        position = decode_page_position(page_token, fingerprint, [int])
        with self.db.read() as conn:
            scope = self._scope(conn, name)
            query = select(ev).where(scope.where())
            if version is not None:
                query = query.where(ev.c.version == version)
            if actions:
                query = query.where(ev.c.action.in_(sorted(actions)))
            if actor is not None:
                query = query.where(ev.c.actor == actor)
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

    def latest_events(self, names: Sequence[str]) -> dict[str, RegistryEvent]:
        """The newest event of each live model in ``names``, in one statement: each model's greatest
        event id under its key (the ``(model_key, id)`` index), joined to that event. A newest event
        that is a ``model_deleted`` belongs to an earlier model that held the key (this one has no
        event yet): left out, like a name with no model."""
        if not names:
            return {}
        newest = select(func.max(ev.c.id)).where(ev.c.model_key == rm.c.id).correlate(rm).scalar_subquery()
        query = (select(rm.c.name.label("live_name"), ev)
                 .select_from(rm.join(ev, ev.c.id == newest))
                 .where(rm.c.name.in_(sorted(set(names)))))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return {r.live_name: event_entity(r) for r in rows if r.action != "model_deleted"}

    def model_timeline(self, name: str, until: int | None = None) -> tuple[list[RegistryEvent], ModelState | None]:
        """The model's events that move stages and aliases (oldest first) and, when a replay needs
        it, its live state, read together in one snapshot. The live state is None for a deleted
        model, and for one whose history starts with ``model_created``: its replay starts from
        nothing (:func:`~podium.domain.history.initial_state`), so the 100,000 stages of a big model
        are not read. ``until`` (epoch ms): only the events a replay to that time applies, those
        before the first one later than it."""
        with self.db.read() as conn:
            scope = self._scope(conn, name)
            live = self._live(conn, scope.model_key, name) if scope.live and not self._known(conn, scope) else None
            return self._events(conn, scope, until), live

    # ------------------------------------------------------------------ events that change no state
    def append_event(self, name: str, action: str, version: int | None = None, target: str | None = None,
                     before: dict | None = None, after: dict | None = None,
                     comment: str | None = None) -> RegistryEvent:
        """Append an event about live model ``name`` (a scorer's swap) without locking the model or
        marking it updated: such an event moves nothing, so it never waits behind a writer."""
        with self.db.write() as conn:
            key = conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar()
            if key is None:
                raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
            if version is not None and conn.execute(
                    select(mv.c.version).where(mv.c.model == key, mv.c.version == version)).first() is None:
                raise ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")
            record_event(conn, action, key, name, version=version, target=target, before=before, after=after,
                         comment=comment)
            row = conn.execute(select(ev).where(ev.c.model_key == key).order_by(ev.c.id.desc()).limit(1)).first()
        return event_entity(row)

    # ------------------------------------------------------------------ changes under the model's lock
    @contextmanager
    def locked_model(self, name: str) -> Iterator["_LockedModel"]:
        """One write transaction holding model ``name``'s lock (``RESOURCE_DOES_NOT_EXIST`` if there
        is no such model): all the changes made through it commit together, or none (on an exception)."""
        now = now_ms()
        with self.db.write() as conn:
            key = self.registry.lock_model(conn, name, now)
            yield _LockedModel(self.registry, conn, key, name, now)


class _LockedModel:
    """A model locked in a write transaction (:class:`podium.store.base.LockedModel`)."""

    def __init__(self, registry: SqlRegistryStore, conn, key: int, name: str, timestamp: int) -> None:
        self._registry, self._conn, self._key = registry, conn, key
        self.name, self.timestamp = name, timestamp

    def timeline(self) -> tuple[list[RegistryEvent], ModelState]:
        scope = _Scope(self._key, incarnation_start(self._conn, self._key), None, True)
        return SqlHistoryStore._events(self._conn, scope), SqlHistoryStore._live(self._conn, self._key, self.name)

    def record_event(self, action: str, **fields) -> int:
        record_event(self._conn, action, self._key, self.name, timestamp=self.timestamp, **fields)
        return self._conn.execute(
            select(func.max(ev.c.id)).where(ev.c.model_key == self._key, ev.c.action == action)).scalar()

    def transition(self, version: int, stage: str, archive_existing_versions: bool = False) -> None:
        self._registry.apply_transition(self._conn, self._key, self.name, version, stage, archive_existing_versions,
                                        self.timestamp)

    def set_alias(self, alias: str, version: int) -> None:
        self._registry.apply_alias(self._conn, self._key, self.name, alias, version)
