"""Experiments: create, get (by id or name), search, update, delete/restore, tags.

MLflow's ``MlflowService`` under ``/api/2.0/mlflow/experiments/``. Experiment ids are JSON strings.
New experiments get ``mlflow-artifacts:/<id>`` artifact locations (the server proxies artifacts).
"""

from __future__ import annotations

from podium import wire
from podium.errors import ResourceDoesNotExist
from podium.server.api.common import EMPTY, page
from podium.server.routing import API2, Param, Router, kv_list
from podium.server.schemas import envelope, listing

__all__ = ["routes"]

routes = Router("Experiments")

EXP_ID = Param("experiment_id", required=True)
EXP = envelope("experiment", "Experiment")


@routes.post(f"{API2}/experiments/create", Param("name", required=True), Param("artifact_location"),
             kv_list("tags"), response={"type": "object", "properties": {"experiment_id": {"type": "string"}}})
def create_experiment(s, p):
    """Create an experiment; returns its id."""
    exp_id = s.tracking.create_experiment(p["name"], p["artifact_location"], wire.tags_from_wire(p["tags"]))
    return {"experiment_id": str(exp_id)}


@routes.get(f"{API2}/experiments/get", EXP_ID, response=EXP)
def get_experiment(s, p):
    """One experiment by id."""
    return {"experiment": wire.to_wire_experiment(s.tracking.get_experiment(p["experiment_id"]))}


@routes.get(f"{API2}/experiments/get-by-name", Param("experiment_name", required=True), response=EXP)
def get_experiment_by_name(s, p):
    """One experiment by name (404 RESOURCE_DOES_NOT_EXIST if there is none)."""
    exp = s.tracking.get_experiment_by_name(p["experiment_name"])
    if exp is None:
        raise ResourceDoesNotExist(f"Could not find experiment with name '{p['experiment_name']}'")
    return {"experiment": wire.to_wire_experiment(exp)}


_SEARCH = (
    Param("max_results", "integer", description="page size (client default 1000)"),
    Param("page_token"),
    Param("filter", description="e.g. name LIKE 'wine%'"),
    Param("order_by", "array", items="string"),
    Param("view_type", description="ACTIVE_ONLY (default), DELETED_ONLY or ALL"),
)
_EXPS = listing("experiments", "Experiment")


@routes.post(f"{API2}/experiments/search", *_SEARCH, response=_EXPS)
def search_experiments(s, p):
    """Search experiments, one page at a time."""
    found = s.tracking.search_experiments(p["view_type"], p["max_results"], p["filter"], p["order_by"], p["page_token"])
    return page("experiments", [wire.to_wire_experiment(e) for e in found], found.token)


routes.get(f"{API2}/experiments/search", *_SEARCH, response=_EXPS)(search_experiments)


@routes.post(f"{API2}/experiments/delete", EXP_ID, response=EMPTY)
def delete_experiment(s, p):
    """Mark an experiment deleted (restorable)."""
    s.tracking.delete_experiment(p["experiment_id"])
    return {}


@routes.post(f"{API2}/experiments/restore", EXP_ID, response=EMPTY)
def restore_experiment(s, p):
    """Restore a deleted experiment."""
    s.tracking.restore_experiment(p["experiment_id"])
    return {}


@routes.post(f"{API2}/experiments/update", EXP_ID, Param("new_name", required=True), response=EMPTY)
def update_experiment(s, p):
    """Rename an experiment."""
    s.tracking.rename_experiment(p["experiment_id"], p["new_name"])
    return {}


@routes.post(f"{API2}/experiments/set-experiment-tag", EXP_ID, Param("key", required=True), Param("value"),
             response=EMPTY)
def set_experiment_tag(s, p):
    """Set (or overwrite) an experiment tag."""
    s.tracking.set_experiment_tag(p["experiment_id"], p["key"], p["value"])
    return {}


@routes.post(f"{API2}/experiments/delete-experiment-tag", EXP_ID, Param("key", required=True), response=EMPTY)
def delete_experiment_tag(s, p):
    """Delete an experiment tag."""
    s.tracking.delete_experiment_tag(p["experiment_id"], p["key"])
    return {}
