"""The one JSON codec between Podium's entities and MLflow's REST wire shapes. Standard library only.

``to_wire_*`` turn entities into the JSON objects ``podium server`` answers with; ``*_from_wire``
turn those objects back into entities (the REST client uses them). The shapes are MLflow's proto3
JSON, as measured against MLflow 3.17.2 (``shared/reference/mlflow-rest-surface.md`` §1/§2):

* snake_case field names; int64 timestamps as JSON numbers; enums by name;
* model version numbers as JSON **strings** (``"version": "2"``), also inside RM aliases;
* tags as ``[{"key", "value"}]``; empty lists and unset (``None``) fields are omitted;
* a model version's ``description`` and ``run_link`` are ``""`` when unset, as MLflow sends them;
* non-finite metric values as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
* experiments carry ``"workspace": "default"``; runs carry ``run_uuid`` beside ``run_id``.

Readers are lenient: unknown fields are ignored, missing ones take the entity's default.
"""

from __future__ import annotations

import math
from typing import Any

from podium.domain.entities import (
    Experiment,
    FileInfo,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
)
from podium.errors import PodiumError, error_for_code

__all__ = [
    "error_from_wire",
    "experiment_from_wire",
    "file_info_from_wire",
    "logged_model_from_wire",
    "metric_from_wire",
    "model_version_from_wire",
    "registered_model_from_wire",
    "run_from_wire",
    "run_info_from_wire",
    "tags_from_wire",
    "tags_to_wire",
    "to_wire_error",
    "to_wire_experiment",
    "to_wire_file_info",
    "to_wire_logged_model",
    "to_wire_metric",
    "to_wire_model_version",
    "to_wire_registered_model",
    "to_wire_run",
    "to_wire_run_info",
]

WORKSPACE = "default"

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# ------------------------------------------------------------------------------ small pieces
def tags_to_wire(tags: dict[str, str] | None) -> list[dict[str, str]]:
    """``{"k": "v"}`` -> ``[{"key": "k", "value": "v"}]`` (MLflow's repeated key/value)."""
    return [{"key": k, "value": v} for k, v in (tags or {}).items()]


def tags_from_wire(items: list[dict] | None) -> dict[str, str]:
    """``[{"key", "value"}]`` -> ``{key: value}``; a missing value reads as ``""``."""
    return {i["key"]: i.get("value", "") for i in items or () if "key" in i}


def _put(out: dict, key: str, value: Any) -> None:
    """Set ``out[key]`` unless the value is unset (``None``) or an empty list/dict (proto3 omits them)."""
    if value is None or (isinstance(value, (list, dict, tuple)) and not value):
        return
    out[key] = value


def _double_to_wire(value: float) -> float | str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _double_from_wire(value) -> float:
    if isinstance(value, str):
        return _NON_FINITE[value] if value in _NON_FINITE else float(value)
    return float(value)


def _int_or_none(value) -> int | None:
    return None if value is None else int(value)


# ------------------------------------------------------------------------------ registry
def to_wire_model_version(mv: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
    }
    _put(out, "user_id", mv.user_id)
    out["current_stage"] = mv.current_stage or "None"
    out["description"] = mv.description or ""
    _put(out, "source", mv.source)
    _put(out, "run_id", mv.run_id)
    out["status"] = mv.status
    _put(out, "status_message", mv.status_message)
    _put(out, "tags", tags_to_wire(mv.tags))
    out["run_link"] = mv.run_link or ""
    _put(out, "aliases", list(mv.aliases))
    _put(out, "model_id", mv.model_id)
    return out


def model_version_from_wire(d: dict) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        creation_timestamp=int(d.get("creation_timestamp", 0)),
        last_updated_timestamp=int(d.get("last_updated_timestamp", 0)),
        current_stage=d.get("current_stage", "None"),
        description=d.get("description") or None,
        user_id=d.get("user_id") or None,
        source=d.get("source"),
        run_id=d.get("run_id") or None,
        status=d.get("status", "READY"),
        status_message=d.get("status_message"),
        run_link=d.get("run_link") or None,
        model_id=d.get("model_id") or None,
        tags=tags_from_wire(d.get("tags")),
        aliases=list(d.get("aliases", ())),
    )


def to_wire_registered_model(rm: RegisteredModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": rm.name,
        "creation_timestamp": rm.creation_timestamp,
        "last_updated_timestamp": rm.last_updated_timestamp,
    }
    _put(out, "user_id", rm.user_id)
    _put(out, "description", rm.description)
    _put(out, "latest_versions", [to_wire_model_version(v) for v in rm.latest_versions])
    _put(out, "tags", tags_to_wire(rm.tags))
    _put(out, "aliases", [{"alias": a, "version": str(v)} for a, v in rm.aliases.items()])
    return out


def registered_model_from_wire(d: dict) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=int(d.get("creation_timestamp", 0)),
        last_updated_timestamp=int(d.get("last_updated_timestamp", 0)),
        description=d.get("description"),
        user_id=d.get("user_id") or None,
        latest_versions=[model_version_from_wire(v) for v in d.get("latest_versions", ())],
        tags=tags_from_wire(d.get("tags")),
        aliases={a["alias"]: int(a["version"]) for a in d.get("aliases", ())},
    )


# ------------------------------------------------------------------------------ tracking
def to_wire_experiment(exp: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": str(exp.experiment_id),
        "name": exp.name,
        "artifact_location": exp.artifact_location,
        "lifecycle_stage": exp.lifecycle_stage,
    }
    _put(out, "last_update_time", exp.last_update_time)
    _put(out, "creation_time", exp.creation_time)
    _put(out, "tags", tags_to_wire(exp.tags))
    out["workspace"] = WORKSPACE
    return out


def experiment_from_wire(d: dict) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d.get("name", ""),
        artifact_location=d.get("artifact_location", ""),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
        tags=tags_from_wire(d.get("tags")),
        creation_time=_int_or_none(d.get("creation_time")),
        last_update_time=_int_or_none(d.get("last_update_time")),
    )


def to_wire_metric(m: Metric, *, with_run_id: bool = False) -> dict[str, Any]:
    """A metric point; ``run_id`` only where MLflow sends it (a logged model's metrics)."""
    out: dict[str, Any] = {"key": m.key, "value": _double_to_wire(m.value), "timestamp": m.timestamp, "step": m.step}
    _put(out, "model_id", m.model_id)
    if with_run_id:
        _put(out, "run_id", m.run_id)
    _put(out, "dataset_name", m.dataset_name)
    _put(out, "dataset_digest", m.dataset_digest)
    return out


def metric_from_wire(d: dict) -> Metric:
    return Metric(
        key=d["key"],
        value=_double_from_wire(d.get("value", 0.0)),
        timestamp=int(d.get("timestamp", 0)),
        step=int(d.get("step", 0)),
        model_id=d.get("model_id") or None,
        run_id=d.get("run_id") or None,
        dataset_name=d.get("dataset_name") or None,
        dataset_digest=d.get("dataset_digest") or None,
    )


def to_wire_run_info(info: RunInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"run_uuid": info.run_id, "experiment_id": str(info.experiment_id)}
    _put(out, "run_name", info.run_name)
    _put(out, "user_id", info.user_id)
    out["status"] = info.status
    _put(out, "start_time", info.start_time)
    _put(out, "end_time", info.end_time)
    out["artifact_uri"] = info.artifact_uri
    out["lifecycle_stage"] = info.lifecycle_stage
    out["run_id"] = info.run_id
    return out


def run_info_from_wire(d: dict) -> RunInfo:
    return RunInfo(
        run_id=d.get("run_id") or d["run_uuid"],
        experiment_id=str(d.get("experiment_id", "")),
        run_name=d.get("run_name", ""),
        user_id=d.get("user_id", ""),
        status=d.get("status", "RUNNING"),
        start_time=_int_or_none(d.get("start_time")),
        end_time=_int_or_none(d.get("end_time")),
        artifact_uri=d.get("artifact_uri", ""),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
    )


def to_wire_run(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = {}
    latest = run.data.metric_objects or tuple(
        Metric(k, v, 0, 0) for k, v in sorted(run.data.metrics.items())
    )
    _put(data, "metrics", [to_wire_metric(m) for m in latest])
    _put(data, "params", tags_to_wire(run.data.params))
    _put(data, "tags", tags_to_wire(run.data.tags))
    inputs: dict[str, Any] = {}
    _put(inputs, "dataset_inputs", [dict(d) for d in run.inputs.dataset_inputs])
    _put(inputs, "model_inputs", [dict(m) for m in run.inputs.model_inputs])
    outputs: dict[str, Any] = {}
    _put(outputs, "model_outputs", [{"model_id": o.model_id, "step": o.step} for o in run.outputs.model_outputs])
    return {"info": to_wire_run_info(run.info), "data": data, "inputs": inputs, "outputs": outputs}


def run_from_wire(d: dict) -> Run:
    data = d.get("data") or {}
    metrics = tuple(metric_from_wire(m) for m in data.get("metrics", ()))
    inputs = d.get("inputs") or {}
    outputs = d.get("outputs") or {}
    return Run(
        info=run_info_from_wire(d["info"]),
        data=RunData(
            metrics={m.key: m.value for m in metrics},
            params=tags_from_wire(data.get("params")),
            tags=tags_from_wire(data.get("tags")),
            metric_objects=metrics,
        ),
        inputs=RunInputs(tuple(inputs.get("dataset_inputs", ())), tuple(inputs.get("model_inputs", ()))),
        outputs=RunOutputs(
            tuple(LoggedModelOutput(o["model_id"], int(o.get("step", 0))) for o in outputs.get("model_outputs", ()))
        ),
    )


# ------------------------------------------------------------------------------ logged models
def to_wire_logged_model(lm: LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": lm.model_id,
        "experiment_id": str(lm.experiment_id),
        "name": lm.name,
        "creation_timestamp_ms": lm.creation_timestamp,
        "last_updated_timestamp_ms": lm.last_updated_timestamp,
        "artifact_uri": lm.artifact_location,
        "status": lm.status,
        "model_type": lm.model_type or "",
    }
    _put(info, "source_run_id", lm.source_run_id)
    _put(info, "status_message", lm.status_message)
    _put(info, "tags", tags_to_wire(dict(sorted(lm.tags.items()))))
    data: dict[str, Any] = {}
    _put(data, "params", tags_to_wire(lm.params))
    _put(data, "metrics", [to_wire_metric(m, with_run_id=True) for m in lm.metrics])
    return {"info": info, "data": data}


def logged_model_from_wire(d: dict) -> LoggedModel:
    info = d["info"]
    data = d.get("data") or {}
    return LoggedModel(
        model_id=info["model_id"],
        experiment_id=str(info.get("experiment_id", "")),
        name=info.get("name", ""),
        artifact_location=info.get("artifact_uri", ""),
        creation_timestamp=int(info.get("creation_timestamp_ms", 0)),
        last_updated_timestamp=int(info.get("last_updated_timestamp_ms", 0)),
        status=info.get("status", "LOGGED_MODEL_PENDING"),
        model_type=info.get("model_type") or None,
        source_run_id=info.get("source_run_id") or None,
        status_message=info.get("status_message"),
        tags=tags_from_wire(info.get("tags")),
        params=tags_from_wire(data.get("params")),
        metrics=tuple(metric_from_wire(m) for m in data.get("metrics", ())),
    )


# ------------------------------------------------------------------------------ artifacts, errors
def to_wire_file_info(fi: FileInfo, *, basename: bool = False) -> dict[str, Any]:
    """A listing entry; ``basename=True`` gives the artifact proxy's form (the last segment only)."""
    path = fi.path.rsplit("/", 1)[-1] if basename else fi.path
    out: dict[str, Any] = {"path": path, "is_dir": fi.is_dir}
    if not fi.is_dir and fi.file_size is not None:
        out["file_size"] = fi.file_size
    return out


def file_info_from_wire(d: dict, prefix: str = "") -> FileInfo:
    """A listing entry; ``prefix`` is joined in front of the proxy's basenames."""
    path = f"{prefix.rstrip('/')}/{d['path']}" if prefix else d["path"]
    size = d.get("file_size")
    return FileInfo(path, bool(d.get("is_dir", False)), None if size is None else int(size))


def to_wire_error(error: PodiumError) -> dict[str, str]:
    return {"error_code": error.error_code, "message": error.message}


def error_from_wire(body: Any, status: int) -> PodiumError:
    """The exception for an error answer: the body's ``error_code`` if it has one, else by status."""
    if isinstance(body, dict) and isinstance(body.get("error_code"), str):
        return error_for_code(body["error_code"], str(body.get("message", "")))
    code = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "ENDPOINT_NOT_FOUND",
            409: "RESOURCE_CONFLICT", 501: "NOT_IMPLEMENTED", 503: "TEMPORARILY_UNAVAILABLE"}.get(status, "INTERNAL_ERROR")
    text = body if isinstance(body, str) else ""
    return error_for_code(code, f"HTTP {status}: {text[:500]}".rstrip(": "))
