"""Garbage collection's vocabulary: what ``podium gc`` finds, purges and records. Standard library only.

- :class:`GcCandidate`: a deleted experiment, run or logged model that may be purged (its rows for
  good, then its artifacts).
- :class:`PendingArtifacts`: a location whose files are to be deleted once nothing that still exists
  refers to it (a tombstone). Written in the transaction that purges the rows of its owner, or that
  deletes a model version (versions are deleted for good at once; their files are collected later).
- :class:`PurgeRecord`: one line of the purge history (``podium gc --history``), append-only.
- :func:`parse_duration`: ``30d``, ``12h``, ``15m``, ``90s``, ``0`` -> milliseconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "GcCandidate", "PendingArtifacts", "PurgeRecord", "format_duration", "parse_duration"]

#: what a candidate or a tombstone is about
KINDS = ("experiment", "run", "logged_model", "model_version")

_UNITS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_PART = r"(?:(\d+(?:\.\d+)?){})?"
_DURATION = re.compile("^" + "".join(_PART.format(u) for u in "wdhms") + "$", re.IGNORECASE)


def parse_duration(text: str | int) -> int:
    """Milliseconds in ``text``: numbers with units ``w``, ``d``, ``h``, ``m``, ``s`` in that order
    (``30d``, ``12h``, ``2d8h5m20s``, ``1.5h``: MLflow's ``--older-than`` spellings, plus weeks); a bare
    number is seconds, ``0`` is zero. ``ValueError`` with a hint otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is negative")
        return text * 1000
    raw = str(text).strip().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return int(float(raw) * 1000)
    match = _DURATION.match(raw)
    if not raw or not match:
        raise ValueError(f"'{text}' is not a duration; use numbers with units: 30d, 12h, 2d8h5m20s, 90s, 0")
    return int(sum(float(n) * _UNITS[u] for n, u in zip(match.groups(), "wdhms") if n))


def format_duration(ms: int) -> str:
    """The shortest exact spelling of ``ms`` as :func:`parse_duration` reads it (``2592000000`` -> ``30d``)."""
    if ms <= 0:
        return "0"
    for unit in ("w", "d", "h", "m", "s"):
        if ms % _UNITS[unit] == 0:
            return f"{ms // _UNITS[unit]}{unit}"
    return f"{ms / 1000:g}s"


@dataclass(frozen=True)
class GcCandidate:
    """A deleted object: ``kind`` (experiment, run, logged_model), its id and name, when it was
    deleted (epoch ms; 0 when the store never recorded it), its artifact location and its
    lifecycle stage (``deleted``, or ``active`` for one named by id that is not deleted)."""

    kind: str
    id: str
    name: str | None
    deleted_at: int
    location: str | None
    lifecycle: str = "deleted"
    #: a run's or logged model's experiment id
    experiment_id: str | None = None


@dataclass(frozen=True)
class PendingArtifacts:
    """Files to delete: ``location`` of ``kind``/``object_id`` (for a model version ``object_id`` is
    ``name/version``, and ``model_key`` its model's key then), recorded when the object was purged or
    deleted (``deleted_at``)."""

    id: int
    kind: str
    object_id: str
    location: str
    deleted_at: int
    name: str | None = None
    version: int | None = None
    model_key: int | None = None


@dataclass(frozen=True)
class PurgeRecord:
    """One entry of the purge history. ``action``: ``rows_purged`` (the object's rows are gone),
    ``artifacts_deleted``, ``artifacts_missing`` (already gone), ``artifacts_left`` (outside
    Podium's artifact store: not Podium's to delete). ``detail``: rows per table, bytes, location."""

    id: int
    timestamp: int
    action: str
    kind: str
    object_id: str
    actor: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "timestamp": self.timestamp, "action": self.action, "kind": self.kind,
                "object_id": self.object_id, "actor": self.actor, "detail": self.detail}

    @staticmethod
    def encode(detail: dict[str, Any]) -> str:
        return json.dumps(detail, sort_keys=True, separators=(",", ":"))
