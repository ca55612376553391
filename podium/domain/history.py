"""Replaying a model's audit history: its state at a past time, and what a rollback restores.

Pure functions over one model's :class:`~podium.domain.events.RegistryEvent` list, oldest first
(the store reads them; see :mod:`podium.store.sql.history`). Standard library only.

*State* (:class:`ModelState`): whether the model exists, its name, every version's stage and every
alias's version. A model created after the upgrade that introduced events starts with
``model_created``: its state is known at every time. An older model has events only from the
upgrade on; its state then is inferred from the ``before`` of each version's and alias's first
event, and from the live state for versions and aliases never changed since (:func:`initial_state`).
That inferred state is exact from the upgrade on, but the upgrade time itself is not recorded, so
answers for times before the model's first event are marked incomplete.

*Holders* (:func:`holders`): the successive versions that served a stage (the highest version
number in it, what ``models:/name/Production`` resolves to) or an alias, as a stack. A change
that gives the stage or alias a new holder pushes it; a ``rollback`` event pops back to the
version it restored, so rolling back twice walks two steps back (it never returns to the version
just rolled back from); a deleted version is dropped from the stack (it can never be restored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podium.domain.events import RegistryEvent

__all__ = ["LISTED_STAGES", "MOVE_ACTIONS", "ModelState", "STAGE_KINDS", "STATE_ACTIONS", "apply_event", "holder_of", "holders", "initial_state",
           "previous_holder", "state_at", "state_dict"]

#: the stages a state answer lists (``None``, every new version's stage, is left out)
LISTED_STAGES = ("Staging", "Production", "Archived")
#: the stages a rollback can restore (the active ones, as for ``archive_existing_versions``)
STAGE_KINDS = ("Staging", "Production")

_VERSION_EVENTS = ("version_created", "version_deleted", "stage_transitioned")
#: the actions that change a model's existence, name, stages or aliases (what replay needs)
STATE_ACTIONS = ("model_created", "model_renamed", "model_deleted", *_VERSION_EVENTS, "alias_set", "alias_deleted",
                 "rollback")
_ALIAS_EVENTS = ("alias_set", "alias_deleted")
#: :data:`STATE_ACTIONS` but a version's creation: what a replay from ``model_created`` needs (a
#: version is created in stage None, which no state answer lists and no rollback restores)
MOVE_ACTIONS = tuple(a for a in STATE_ACTIONS if a != "version_created")


@dataclass
class ModelState:
    """One model at one moment: ``stages`` maps each existing version to its stage."""

    exists: bool
    name: str
    stages: dict[int, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    def copy(self) -> "ModelState":
        return ModelState(self.exists, self.name, dict(self.stages), dict(self.aliases))


def _get(d: dict | None, key: str):
    return (d or {}).get(key)


def initial_state(events: list[RegistryEvent], live: ModelState | None) -> tuple[ModelState, bool]:
    """The model's state before ``events[0]``, and whether it is known (``True`` when the history
    starts with ``model_created``). ``live``: the model's state now, if it exists."""
    if events and events[0].action == "model_created":
        return ModelState(False, events[0].model_name), True
    first_renamed = next((e for e in events if e.action == "model_renamed"), None)
    if first_renamed is not None and _get(first_renamed.before, "name"):
        name = first_renamed.before["name"]
    elif events:
        name = events[0].model_name
    else:
        name = live.name if live else ""
    first_of_version: dict[int, RegistryEvent] = {}
    first_of_alias: dict[str, RegistryEvent] = {}
    for e in events:
        if e.action in _VERSION_EVENTS and e.version is not None:
            first_of_version.setdefault(e.version, e)
        elif e.action in _ALIAS_EVENTS and e.target:
            first_of_alias.setdefault(e.target, e)
    state = ModelState(True, name)
    if live is not None:
        state.stages = {v: s for v, s in live.stages.items() if v not in first_of_version}
        state.aliases = {a: v for a, v in live.aliases.items() if a not in first_of_alias}
    for version, e in first_of_version.items():
        stage = _get(e.before, "stage")
        if e.action != "version_created" and stage:
            state.stages[version] = stage
    for alias, e in first_of_alias.items():
        version = _get(e.before, "version")
        if version is not None:
            state.aliases[alias] = version
    return state, False


def apply_event(state: ModelState, e: RegistryEvent) -> None:
    """Change ``state`` by one event (events that change neither stages nor aliases keep it)."""
    action = e.action
    if action == "model_created":
        state.exists, state.stages, state.aliases = True, {}, {}
    elif action == "model_deleted":
        state.exists, state.stages, state.aliases = False, {}, {}
    elif action == "version_created" and e.version is not None:
        state.stages[e.version] = _get(e.after, "stage") or "None"
    elif action == "version_deleted":
        state.stages.pop(e.version, None)
        for alias in [a for a, v in state.aliases.items() if v == e.version]:
            del state.aliases[alias]
    elif action == "stage_transitioned" and e.version is not None:
        state.stages[e.version] = _get(e.after, "stage") or state.stages.get(e.version, "None")
    elif action == "alias_set" and e.target:
        state.aliases[e.target] = _get(e.after, "version") if _get(e.after, "version") is not None else e.version
    elif action == "alias_deleted" and e.target:
        state.aliases.pop(e.target, None)
    state.name = e.model_name if action != "model_renamed" else (_get(e.after, "name") or e.model_name)


def state_at(events: list[RegistryEvent], time_ms: int, live: ModelState | None) -> dict[str, Any]:
    """What the model looked like at ``time_ms``: the events are applied in order up to the first
    one later than ``time_ms`` (a prefix of the history, so the answer is a state that really
    existed even if clocks of several servers disagree by a few milliseconds)."""
    state, known = initial_state(events, live)
    applied: RegistryEvent | None = None
    for e in events:
        if e.timestamp > time_ms:
            break
        apply_event(state, e)
        applied = e
    complete = known or (applied is not None and live is not None)
    if known and applied is None:
        note = "the model did not exist yet at this time"
    elif not state.exists:
        note = "the model had been deleted at this time"
    elif not complete:
        note = ("the model's history starts at its first recorded event (it was created before Podium recorded "
                "history); its state before that event is inferred and may be incomplete")
    else:
        note = None
    return state_dict(state, time_ms, complete, applied.id if applied else None, note)


def state_dict(state: ModelState, time_ms: int, complete: bool, event_id: int | None,
               note: str | None = None) -> dict[str, Any]:
    """The JSON answer of ``podium models at``."""
    stages = {}
    for stage in LISTED_STAGES:
        versions = sorted(v for v, s in state.stages.items() if s == stage)
        if versions and state.exists:
            stages[stage] = {"version": versions[-1], "versions": versions}
    out: dict[str, Any] = {
        "name": state.name,
        "time": time_ms,
        "exists": state.exists,
        "complete": complete,
        "event_id": event_id,
        "stages": stages,
        "aliases": dict(sorted(state.aliases.items())) if state.exists else {},
    }
    if note:
        out["note"] = note
    return out


def holder_of(state: ModelState, kind: str, target: str) -> int | None:
    """The version serving ``target``: the highest version in the stage, or the alias's version."""
    if kind == "stage":
        versions = [v for v, s in state.stages.items() if s == target]
        return max(versions) if versions else None
    return state.aliases.get(target)


def holders(events: list[RegistryEvent], live: ModelState | None, kind: str, target: str) -> list[int]:
    """The stack of successive holders of a stage or alias (see the module docstring), oldest first."""
    state, _ = initial_state(events, live)
    stack: list[int] = []

    def push(version: int | None) -> None:
        if version is not None and (not stack or stack[-1] != version):
            stack.append(version)

    push(holder_of(state, kind, target))
    i = 0
    while i < len(events):
        e = events[i]
        i += 1
        if e.action == "rollback":
            after = e.after or {}
            if e.target == target and after.get("kind") == kind and after.get("version") is not None:
                while stack and stack[-1] != after["version"]:
                    stack.pop()
                push(after["version"])
            continue
        apply_event(state, e)
        if e.action == "version_deleted":
            kept = [v for v in stack if v != e.version]
            stack.clear()
            for v in kept:
                push(v)
        if e.action == "stage_transitioned":
            # one transition and the versions it archived (archive_existing_versions) are one step
            winner = _get(e.after, "replaced_by") or e.version
            while (i < len(events) and events[i].action == "stage_transitioned"
                   and _get(events[i].after, "replaced_by") == winner):
                apply_event(state, events[i])
                i += 1
        push(holder_of(state, kind, target))
    return stack


def previous_holder(stack: list[int], current: int | None) -> int | None:
    """What a rollback restores: the holder before ``current`` (the last holder when there is none now)."""
    for version in reversed(stack):
        if version != current:
            return version
    return None
