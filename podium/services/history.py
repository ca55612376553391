"""Audit history and rollback: what changed, what a model looked like at a time, and undoing a promotion.

``HistoryService`` is built by the composition root (:mod:`podium.compose`) over a
:class:`~podium.store.base.HistoryStore` (and, to mark a break-glass rollback, a function giving a
model's policy). Events themselves are written by the registry store in the transaction of every
change (:mod:`podium.store.sql.events`); this service only reads them, and rolls back.

* :meth:`get_model_history`: a model's events, oldest first (or newest first), paged by event id.
* :meth:`get_model_state_at`: replay the history up to a time (:func:`podium.domain.history.state_at`):
  each stage's versions and serving version, each alias's version, ``exists`` and ``complete``.
* :meth:`rollback_model`: give a stage (``Staging``/``Production``) or an alias back to its previous
  holder, in one transaction under the model's lock (:meth:`HistoryStore.locked_model
  <podium.store.base.HistoryStore.locked_model>`), recorded as a ``rollback`` event whose comment is
  the reason; the stage transitions and alias moves it makes carry ``cause="rollback"``.
* :meth:`record_serving_event`: a scorer (``podium serve``) says it swapped to a version
  (``serving.swapped``) or refused one that failed to load, verify or warm up (``serving.swap_failed``);
  recorded on the version, changing no registry state.

Who may roll back is decided like moving the stage or alias (:mod:`podium.server.permissions`);
under a policy that requires approval only an admin may, and the event says ``break_glass``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from podium.domain import rules
from podium.domain.entities import PagedList
from podium.domain.events import ACTIONS, SERVING_ACTIONS, RegistryEvent, event_context
from podium.domain.history import STAGE_KINDS, holder_of, holders, previous_holder, state_at
from podium.domain.paging import validate_max_results
from podium.errors import InvalidParameterValue, PodiumError, ResourceDoesNotExist
from podium.store.base import HistoryStore
from podium.uris import parse_models_uri

__all__ = ["HistoryService", "MAX_REASON_LENGTH", "MAX_SCORER_LENGTH", "parse_time"]

MAX_REASON_LENGTH = 5000
#: a scorer's identity (host, port, process) and the model URI it serves, at most this long
MAX_SCORER_LENGTH = 500


#: the epoch milliseconds of 0001-01-01 and 9999-12-31T23:59:59.999Z: the times ISO 8601 can write
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999


def parse_time(value: Any, param: str = "time") -> int:
    """A time as epoch milliseconds: an ISO 8601 string (no offset: UTC), a number of milliseconds or
    ``now``, between the years 1 and 9999."""
    rules.require(value, param)
    if isinstance(value, bool):
        raise InvalidParameterValue(f"Parameter '{param}' must be an ISO 8601 time or epoch milliseconds.")
    if isinstance(value, (int, float)):
        return _in_range(value, param, value)
    text = str(value).strip()
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii() and digits.isdigit():
        return _in_range(int(text) if len(digits) <= 20 else _MAX_MS + 1, param, value)
    if text.lower() == "now":
        return int(time.time() * 1000)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return _in_range(moment.timestamp() * 1000, param, value)
    except (ValueError, OverflowError):
        raise InvalidParameterValue(
            f"Parameter '{param}' must be an ISO 8601 time (e.g. 2026-11-27T09:30:00Z), epoch milliseconds or 'now', "
            f"got '{value}'.") from None


def _in_range(ms: float, param: str, given: Any) -> int:
    if not (_MIN_MS <= ms <= _MAX_MS):  # also NaN
        shown = str(given) if len(str(given)) <= 40 else str(given)[:40] + "..."
        raise InvalidParameterValue(
            f"Parameter '{param}' is out of range: '{shown}' is not a time between the years 1 and 9999 "
            f"(epoch milliseconds from {_MIN_MS} to {_MAX_MS}).")
    return int(ms)


def _actions(actions) -> tuple[str, ...]:
    names = (actions,) if isinstance(actions, str) else tuple(actions)
    unknown = [a for a in names if a not in ACTIONS]
    if unknown:
        shown = str(unknown[0])[:60]
        raise InvalidParameterValue(f"Unknown history action '{shown}': expected one of {', '.join(ACTIONS)}.")
    return tuple(sorted(set(names)))


def _target(stage, alias) -> tuple[str, str]:
    if (stage is None or stage == "") == (alias is None or alias == ""):
        raise InvalidParameterValue("Give exactly one of 'stage' and 'alias' to roll back.")
    if alias:
        return "alias", rules.validate_alias_name(alias)
    canonical = rules.canonical_stage(stage)
    if canonical not in STAGE_KINDS:
        raise InvalidParameterValue(
            f"Only the stages {' and '.join(STAGE_KINDS)} can be rolled back, not '{canonical}'.")
    return "stage", canonical


class HistoryService:
    def __init__(self, store: HistoryStore, policy_of: Callable[[str], Any] | None = None) -> None:
        self.store = store
        self._policy_of = policy_of

    def get_model_history(self, name, version=None, max_results=None, page_token=None,
                          newest_first: bool = False, actions=None, actor=None) -> PagedList:
        """The model's events (:class:`~podium.domain.events.RegistryEvent`): renames followed; a deleted
        model by the name it had when deleted; only events about ``version``, with one of ``actions``
        (names from :data:`~podium.domain.events.ACTIONS`) and made by ``actor``, if given."""
        name = rules.validate_model_name(name)
        number = rules.validate_version(version) if version not in (None, "") else None
        limit = validate_max_results(max_results, default=100, limit=1000)
        filters = {}
        if actions:
            filters["actions"] = _actions(actions)
        if actor not in (None, ""):
            if not isinstance(actor, str) or len(actor) > 256 or "\x00" in actor:
                raise InvalidParameterValue("Parameter 'actor' must be a user name of at most 256 characters "
                                            "(no NUL).")
            filters["actor"] = actor
        return self.store.list_events(name, number, limit, page_token or None, bool(newest_first), **filters)

    def latest_changes(self, names) -> dict[str, Any]:
        """The newest event (:class:`~podium.domain.events.RegistryEvent`) of each named model, read
        at once (a page of models): name -> event; models without a recorded event are left out."""
        return self.store.latest_events([rules.validate_model_name(n) for n in names or ()])

    def get_model_state_at(self, name, time) -> dict[str, Any]:
        """Where every stage and alias of the model pointed at ``time`` (ISO 8601 or epoch ms); see
        :func:`podium.domain.history.state_at` for the answer's fields."""
        name = rules.validate_model_name(name)
        when = parse_time(time)
        events, live = self.store.model_timeline(name, until=when)
        return state_at(events, when, live)

    def rollback_model(self, name, stage=None, alias=None, reason=None) -> dict[str, Any]:
        """Restore the previous holder of ``stage`` or ``alias`` (exactly one), with a ``reason``."""
        name = rules.validate_model_name(name)
        kind, target = _target(stage, alias)
        reason = rules.require(reason, "reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidParameterValue("Parameter 'reason' must be a non-empty string: say why you roll back.")
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidParameterValue(f"Parameter 'reason' may be at most {MAX_REASON_LENGTH} characters long.")
        with event_context(comment=reason.strip(), cause="rollback"):
            return self._rollback(name, kind, target, self._break_glass(name, kind, target))

    def record_serving_event(self, name, version, action, scorer, model_uri=None, serving_version=None,
                             reason=None) -> RegistryEvent:
        """Record what a scorer did with ``version`` of model ``name``: ``serving.swapped`` (it now
        serves it, instead of ``serving_version``) or ``serving.swap_failed`` (it refused it for
        ``reason``; ``serving_version`` keeps serving). ``scorer`` says which scorer (e.g.
        ``host:port pid 12``), ``model_uri`` what it follows; ``target`` is the alias or stage in it."""
        name = rules.validate_model_name(name)
        number = rules.validate_version(rules.require(version, "version"))
        if action not in SERVING_ACTIONS:
            raise InvalidParameterValue(f"Parameter 'action' must be one of {', '.join(SERVING_ACTIONS)}, "
                                        f"got '{action}'.")
        scorer = _short_text(rules.require(scorer, "scorer"), "scorer", MAX_SCORER_LENGTH)
        model_uri = _short_text(model_uri, "model_uri", MAX_SCORER_LENGTH) if model_uri not in (None, "") else None
        previous = rules.validate_version(serving_version) if serving_version not in (None, "") else None
        if reason not in (None, ""):
            reason = _short_text(reason, "reason", MAX_REASON_LENGTH)
        elif action == "serving.swap_failed":
            raise InvalidParameterValue("Parameter 'reason' is required for serving.swap_failed: say why the "
                                        "version was refused.")
        else:
            reason = None
        after = {"scorer": scorer, **({"model_uri": model_uri} if model_uri else {})}
        after["serving"] = number if action == "serving.swapped" else previous
        before = {"serving": previous} if previous is not None else None
        return self.store.append_event(name, action, number, _followed(model_uri), before, after, reason)

    def _rollback(self, name: str, kind: str, target: str, break_glass: bool) -> dict[str, Any]:
        """Under the model's lock: read its history, find the previous holder of the target
        (:mod:`podium.domain.history`), record the ``rollback`` event, then move the stage (the current
        holder goes to Archived) or the alias. All of it commits together, or nothing does."""
        with self.store.locked_model(name) as model:
            events, live = model.timeline()
            current = holder_of(live, kind, target)
            previous = previous_holder(holders(events, live, kind, target), current)
            what = f"{kind} '{target}' of model '{name}'"
            if previous is None:
                raise InvalidParameterValue(
                    f"Nothing to roll back: the history of {what} has no earlier version that still exists"
                    + (f" (it is held by version {current})." if current is not None else "."))
            if previous not in live.stages:  # a history recorded before a version was deleted: never restore it
                raise ResourceDoesNotExist(f"Model Version (name={name}, version={previous}) not found; cannot "
                                           f"restore it as {what}.")
            after = {"version": previous, "kind": kind, **({"break_glass": True} if break_glass else {})}
            event_id = model.record_event("rollback", version=previous, target=target, after=after,
                                          before=None if current is None else {"version": current})
            if kind == "stage":
                model.transition(previous, target, archive_existing_versions=True)
            else:
                model.set_alias(target, previous)
        return {"name": name, kind: target, "from_version": current, "to_version": previous,
                "event_id": event_id, "timestamp": model.timestamp}

    def _break_glass(self, name: str, kind: str, target: str) -> bool:
        """Does this rollback bypass a policy that requires an approved request? (Only an admin, or
        embedded mode, gets here then; the event says so.)"""
        if self._policy_of is None:
            return False
        policy = self._policy_of(name)
        return bool(policy is not None and policy.requires_approval and policy.protects(kind, target))


def _short_text(value: Any, param: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterValue(f"Parameter '{param}' must be a non-empty string.")
    if len(value) > limit:
        raise InvalidParameterValue(f"Parameter '{param}' may be at most {limit} characters long.")
    if "\x00" in value:  # no database stores it the same way (PostgreSQL refuses it)
        raise InvalidParameterValue(f"Parameter '{param}' must not contain a NUL character.")
    return value.strip()


def _followed(model_uri: str | None) -> str | None:
    """The alias or stage a scorer's ``models:/`` URI follows (None for a fixed version or another URI)."""
    if not model_uri or not model_uri.startswith("models:/"):
        return None
    try:
        parsed = parse_models_uri(model_uri)
    except PodiumError:  # a URI the scorer follows but this service cannot parse: no target
        return None
    target = parsed.alias or parsed.stage or ("latest" if parsed.latest else None)
    return target if target is None or len(target) <= 250 else None
