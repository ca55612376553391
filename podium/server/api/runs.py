"""Runs: create, get, update, delete/restore, search, and logging (metrics, params, tags, batches,
inputs, outputs).

MLflow's ``MlflowService`` under ``/api/2.0/mlflow/runs/``. ``run_uuid`` is accepted wherever
``run_id`` is (the client sends both). Metrics logged with a ``model_id`` are also recorded on that
logged model without duplicating the run's history (the tracking store does this).
"""

from __future__ import annotations

from podium import wire
from podium.domain.entities import LoggedModelOutput, Metric
from podium.server.api.common import EMPTY, page
from podium.server.routing import API2, Param, Router, kv_list, obj_list
from podium.server.schemas import envelope, listing

__all__ = ["routes"]

routes = Router("Runs")

RUN_ID = Param("run_id", required=True, alias="run_uuid", description="the run id (run_uuid also accepted)")
_METRIC_FIELDS = (
    Param("key", required=True),
    Param("value", "number", required=True),
    Param("timestamp", "integer", description="ms since the epoch (now when omitted)"),
    Param("step", "integer"),
    Param("model_id"),
    Param("dataset_name"),
    Param("dataset_digest"),
)


def _metric(d: dict) -> Metric:
    return Metric(d["key"], d["value"], d.get("timestamp"), d.get("step") or 0, d.get("model_id"),
                  dataset_name=d.get("dataset_name"), dataset_digest=d.get("dataset_digest"))


def _pairs(items) -> list[tuple[str, str]]:
    return [(i["key"], i.get("value")) for i in items or ()]


@routes.post(f"{API2}/runs/create", Param("experiment_id"), Param("user_id"), Param("run_name"),
             Param("start_time", "integer"), kv_list("tags"), response=envelope("run", "Run"))
def create_run(s, p):
    """Start a run in an experiment (the Default experiment, id 0, when none is given)."""
    run = s.tracking.create_run(p["experiment_id"] or "0", p["user_id"], p["start_time"],
                                wire.tags_from_wire(p["tags"]), p["run_name"])
    return {"run": wire.to_wire_run(run)}


@routes.get(f"{API2}/runs/get", RUN_ID, response=envelope("run", "Run"))
def get_run(s, p):
    """A run with its latest metrics, params, tags, inputs and outputs."""
    return {"run": wire.to_wire_run(s.tracking.get_run(p["run_id"]))}


@routes.post(f"{API2}/runs/update", RUN_ID, Param("status", description="RUNNING, FINISHED, FAILED, KILLED, SCHEDULED"),
             Param("end_time", "integer"), Param("run_name"), response=envelope("run_info", "RunInfo"))
def update_run(s, p):
    """Set a run's status, end time or name."""
    info = s.tracking.update_run_info(p["run_id"], p["status"], p["end_time"], p["run_name"])
    return {"run_info": wire.to_wire_run_info(info)}


@routes.post(f"{API2}/runs/delete", RUN_ID, response=EMPTY)
def delete_run(s, p):
    """Mark a run deleted (restorable)."""
    s.tracking.delete_run(p["run_id"])
    return {}


@routes.post(f"{API2}/runs/restore", RUN_ID, response=EMPTY)
def restore_run(s, p):
    """Restore a deleted run."""
    s.tracking.restore_run(p["run_id"])
    return {}


@routes.post(f"{API2}/runs/log-metric", RUN_ID, *_METRIC_FIELDS, response=EMPTY)
def log_metric(s, p):
    """Log one metric point."""
    s.tracking.log_batch(p["run_id"], metrics=[_metric(p)])
    return {}


@routes.post(f"{API2}/runs/log-parameter", RUN_ID, Param("key", required=True), Param("value"), response=EMPTY)
def log_param(s, p):
    """Log one parameter (write-once: a different value for an existing key is refused)."""
    s.tracking.log_batch(p["run_id"], params=[(p["key"], p["value"])])
    return {}


@routes.post(f"{API2}/runs/set-tag", RUN_ID, Param("key", required=True), Param("value"), response=EMPTY)
def set_tag(s, p):
    """Set (or overwrite) a run tag."""
    s.tracking.log_batch(p["run_id"], tags=[(p["key"], p["value"])])
    return {}


@routes.post(f"{API2}/runs/delete-tag", RUN_ID, Param("key", required=True), response=EMPTY)
def delete_tag(s, p):
    """Delete a run tag."""
    s.tracking.delete_tag(p["run_id"], p["key"])
    return {}


@routes.post(
    f"{API2}/runs/log-batch",
    RUN_ID,
    obj_list("metrics", *_METRIC_FIELDS, description="at most 1000"),
    kv_list("params", "at most 100"),
    kv_list("tags", "at most 100"),
    response=EMPTY,
)
def log_batch(s, p):
    """Log metrics, params and tags in one transaction (all or nothing)."""
    s.tracking.log_batch(p["run_id"], [_metric(m) for m in p["metrics"] or ()], _pairs(p["params"]), _pairs(p["tags"]))
    return {}


@routes.post(
    f"{API2}/runs/log-inputs",
    RUN_ID,
    Param("datasets", "array", items=(Param("tags", "array", items=(Param("key"), Param("value"))),
                                      Param("dataset", "object"))),
    Param("models", "array", items=(Param("model_id", required=True),)),
    response=EMPTY,
)
def log_inputs(s, p):
    """Record the datasets (and logged models) a run used."""
    s.tracking.log_inputs(p["run_id"], p["datasets"] or [], p["models"] or [])
    return {}


@routes.post(f"{API2}/runs/outputs", RUN_ID, obj_list("models", Param("model_id", required=True), Param("step", "integer")),
             response=EMPTY)
def log_outputs(s, p):
    """Link logged models to the run that produced them."""
    s.tracking.log_outputs(p["run_id"], [LoggedModelOutput(m["model_id"], m.get("step") or 0) for m in p["models"] or ()])
    return {}


@routes.post(
    f"{API2}/runs/search",
    Param("experiment_ids", "array", items="string"),
    Param("filter", description="e.g. metrics.accuracy > 0.9 AND params.C = '1.0'"),
    Param("run_view_type", description="ACTIVE_ONLY (default), DELETED_ONLY or ALL"),
    Param("max_results", "integer", maximum=50000),
    Param("order_by", "array", items="string", description="e.g. start_time DESC, metrics.accuracy"),
    Param("page_token"),
    response=listing("runs", "Run"),
)
def search_runs(s, p):
    """Search runs in experiments by metrics, params, tags and attributes."""
    found = s.tracking.search_runs(p["experiment_ids"], p["filter"], p["run_view_type"], p["max_results"],
                                   p["order_by"], p["page_token"])
    return page("runs", [wire.to_wire_run(r) for r in found], found.token)
