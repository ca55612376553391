"""Registry events: the append-only audit history of every change of registry state.

One :class:`RegistryEvent` per change, written by the store in the same transaction as the change
itself, so history and state can never disagree. ``before``/``after`` hold what changed (a stage,
an alias's version, a tag's value, a description...), as JSON-compatible dicts.

The *context* of a change, who made it and why, comes from the caller: the actor from
:func:`podium.auth.actor.current_actor`, and an optional comment, cause and request id from
:func:`event_context`, which services such as rollback and approvals wrap around their calls to the
store. Standard library only.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIONS", "SERVING_ACTIONS", "EventContext", "RegistryEvent", "current_event_context", "event_context"]

#: every action recorded, by the entity it changes
ACTIONS = (
    # registered models
    "model_created", "model_renamed", "model_deleted", "model_description_changed",
    "model_tag_set", "model_tag_deleted", "model_policy_changed", "model_grant_set", "model_grant_deleted",
    # model versions
    "version_created", "version_deleted", "version_description_changed",
    "version_tag_set", "version_tag_deleted", "stage_transitioned",
    "version_purged",  # podium gc: a deleted version's files are gone (or left in place: not Podium's)
    # aliases
    "alias_set", "alias_deleted",
    # governance
    "request_created", "request_approved", "request_rejected", "request_applied", "request_cancelled",
    "rollback",
    # scorers (``podium serve``): recorded by the scorer, they change no registry state
    "serving.swapped", "serving.swap_failed",
    # moving in (podium import-mlflow, podium import): the source's values, where its history starts
    "imported",
)

#: the events a scorer records (:meth:`podium.services.history.HistoryService.record_serving_event`)
SERVING_ACTIONS = ("serving.swapped", "serving.swap_failed")


@dataclass(frozen=True)
class RegistryEvent:
    """One recorded change. ``model_name`` is the model's name when the event happened (a later
    rename does not rewrite it); ``target`` is the stage, alias or tag key the change is about."""

    id: int
    timestamp: int
    action: str
    model_name: str
    actor: str | None = None
    actor_via: str | None = None
    version: int | None = None
    target: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    comment: str | None = None
    cause: str | None = None
    request_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "timestamp": self.timestamp, "action": self.action, "model_name": self.model_name,
               "actor": self.actor, "actor_via": self.actor_via, "version": self.version, "target": self.target,
               "before": self.before, "after": self.after, "comment": self.comment, "cause": self.cause,
               "request_id": self.request_id}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class EventContext:
    """Why the changes in a block happen: ``comment`` (free text, e.g. a rollback's reason),
    ``cause`` (``rollback``, ``request``, ...) and the approval ``request_id`` behind them."""

    comment: str | None = None
    cause: str | None = None
    request_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_context: contextvars.ContextVar[EventContext] = contextvars.ContextVar("podium_event_context",
                                                                         default=EventContext())


def current_event_context() -> EventContext:
    return _context.get()


@contextlib.contextmanager
def event_context(comment: str | None = None, cause: str | None = None, request_id: int | None = None):
    """Record the events of the block with this comment, cause and request id."""
    token = _context.set(EventContext(comment, cause, request_id))
    try:
        yield
    finally:
        _context.reset(token)
