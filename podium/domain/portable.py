"""Portable records: one model of everything that moves between stores (decision 0019).

Every source (an MLflow database, an MLflow server, a Podium archive) produces these records, and
one loader (:class:`podium.store.base.ImportStore`) writes them into a Podium store keeping their
ids, numbers, timestamps and user ids. The archive writer writes them out again. Each record is a
frozen dataclass with :meth:`to_dict`/``from_dict`` (the archive's JSON lines) and a
:func:`digest` (what "identical" means when an import runs again).

Artifact *locations* in a record are those of the store it came from; the import service rewrites
them into the destination's artifact root before loading (:mod:`podium.services.moving`).

Standard library only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ExperimentRecord",
    "LoggedModelRecord",
    "MetricPoint",
    "ModelVersionRecord",
    "RECORD_KINDS",
    "RegisteredModelRecord",
    "RunRecord",
    "digest",
    "model_id_of_source",
    "record_from_dict",
]


def _num(value: float | None) -> Any:
    """JSON has no NaN or infinities: they travel as strings."""
    if value is None:
        return None
    if math.isnan(value) or math.isinf(value):
        return repr(float(value))
    return float(value)


def _unnum(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    timestamp: int
    step: int = 0
    #: a run's point: the logged model it is about; a logged model's point: the run that logged it
    model_id: str | None = None
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    def to_list(self) -> list[Any]:
        return [self.key, _num(self.value), self.timestamp, self.step, self.model_id, self.run_id,
                self.dataset_name, self.dataset_digest]

    @classmethod
    def from_list(cls, row: list[Any]) -> "MetricPoint":
        key, value, timestamp, step, model_id, run_id, dataset_name, dataset_digest = (list(row) + [None] * 8)[:8]
        return cls(key, _unnum(value), int(timestamp), int(step or 0), model_id, run_id, dataset_name,
                   dataset_digest)


class _Record:
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name == "metrics":
                value = [m.to_list() for m in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        values = {}
        for name, value in data.items():
            if name not in names:
                continue  # a newer archive's extra field
            if name == "metrics":
                value = tuple(MetricPoint.from_list(m) for m in value or ())
            elif isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class ExperimentRecord(_Record):
    kind = "experiment"
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord(_Record):
    kind = "run"
    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str | None
    lifecycle_stage: str = "active"
    deleted_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: every logged point, in the source's order
    metrics: tuple[MetricPoint, ...] = ()
    #: dataset inputs in MLflow's wire shape: ``{"dataset": {...}, "tags": [{"key", "value"}]}``
    datasets: tuple[dict, ...] = ()
    #: logged models the run used (``{"model_id": ...}``)
    model_inputs: tuple[dict, ...] = ()
    #: logged models the run produced: ``(model_id, step)``
    model_outputs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class LoggedModelRecord(_Record):
    kind = "logged_model"
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    status_message: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[MetricPoint, ...] = ()


@dataclass(frozen=True)
class RegisteredModelRecord(_Record):
    kind = "registered_model"
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    #: the highest version number ever allocated (deleted versions included): numbering goes on from it
    last_version: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersionRecord(_Record):
    kind = "model_version"
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = "None"
    description: str | None = None
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    run_link: str | None = None
    status: str = "READY"
    status_message: str | None = None
    storage_location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


RECORD_KINDS = {c.kind: c for c in (ExperimentRecord, RunRecord, LoggedModelRecord, RegisteredModelRecord,
                                    ModelVersionRecord)}


def record_from_dict(data: dict[str, Any]):
    """The record a ``to_dict()`` came from (its ``kind`` says which)."""
    try:
        cls = RECORD_KINDS[data["kind"]]
    except KeyError:
        raise ValueError(f"Unknown record kind {data.get('kind')!r}") from None
    return cls.from_dict(data)


def digest(record) -> str:
    """SHA-256 of the record's canonical JSON: two records are identical exactly when digests are."""
    text = json.dumps(record.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_id_of_source(source: str | None) -> str | None:
    """MLflow 3 registers a logged model as ``models:/m-...``: that id is the version's logged model
    (MLflow's registry does not store it)."""
    if source and source.startswith("models:/m-") and "/" not in source[len("models:/"):]:
        return source[len("models:/"):]
    return None
