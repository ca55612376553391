"""Logged models (MLflow 3): create, get, finalize, delete, search, tags and params.

``log_model`` creates one (``POST /logged-models``, id ``m-<32 hex>``), uploads its files to
``<experiment>/models/<model_id>/artifacts`` through the artifact proxy, then finalizes it with
``PATCH /logged-models/{model_id}``. ``runs:/<run>/<name>`` URIs resolve through ``search``.
"""

from __future__ import annotations

from podium import wire
from podium.server.api.common import EMPTY, page
from podium.server.routing import API2, Param, Router, kv_list, obj_list
from podium.server.schemas import envelope, listing

__all__ = ["routes"]

routes = Router("Logged models")

MODEL = envelope("model", "LoggedModel")


def _model(lm) -> dict:
    return {"model": wire.to_wire_logged_model(lm)}


@routes.post(f"{API2}/logged-models", Param("experiment_id", required=True), Param("name"), Param("model_type"),
             Param("source_run_id"), kv_list("params"), kv_list("tags"), response=MODEL)
def create_logged_model(s, p):
    """Create a logged model in status LOGGED_MODEL_PENDING."""
    return _model(s.tracking.create_logged_model(
        p["experiment_id"], p["name"], p["source_run_id"], wire.tags_from_wire(p["tags"]),
        wire.tags_from_wire(p["params"]), p["model_type"],
    ))


@routes.post(
    f"{API2}/logged-models/search",
    Param("experiment_ids", "array", items="string"),
    Param("filter", description="e.g. name = 'model' AND metrics.accuracy > 0.9"),
    Param("datasets", "array", items=(Param("dataset_name"), Param("dataset_digest"))),
    Param("max_results", "integer", maximum=50000, description="page size (default 100)"),
    obj_list("order_by", Param("field_name", required=True), Param("ascending", "boolean"),
             Param("dataset_name"), Param("dataset_digest")),
    Param("page_token"),
    response=listing("models", "LoggedModel"),
)
def search_logged_models(s, p):
    """Search logged models in experiments, one page at a time."""
    found = s.tracking.search_logged_models(p["experiment_ids"], p["filter"], p["max_results"], p["order_by"],
                                            p["page_token"])
    return page("models", [wire.to_wire_logged_model(m) for m in found], found.token)


@routes.get(f"{API2}/logged-models/{{model_id}}", response=MODEL)
def get_logged_model(s, p):
    """One logged model with its params, tags and metrics."""
    return _model(s.tracking.get_logged_model(p["model_id"]))


@routes.patch(f"{API2}/logged-models/{{model_id}}",
              Param("status", required=True, description="LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"),
              response=MODEL)
def finalize_logged_model(s, p):
    """Mark a logged model's upload finished (or failed)."""
    return _model(s.tracking.finalize_logged_model(p["model_id"], p["status"]))


@routes.delete(f"{API2}/logged-models/{{model_id}}", response=EMPTY)
def delete_logged_model(s, p):
    """Delete a logged model."""
    s.tracking.delete_logged_model(p["model_id"])
    return {}


@routes.patch(f"{API2}/logged-models/{{model_id}}/tags", kv_list("tags"), response=EMPTY)
def set_logged_model_tags(s, p):
    """Set (or overwrite) tags on a logged model."""
    s.tracking.set_logged_model_tags(p["model_id"], wire.tags_from_wire(p["tags"]))
    return {}


@routes.delete(f"{API2}/logged-models/{{model_id}}/tags/{{tag_key}}", response=EMPTY)
def delete_logged_model_tag(s, p):
    """Delete a logged model's tag."""
    s.tracking.delete_logged_model_tag(p["model_id"], p["tag_key"])
    return {}


@routes.post(f"{API2}/logged-models/{{model_id}}/params", kv_list("params"), response=EMPTY)
def log_logged_model_params(s, p):
    """Add params to a logged model."""
    s.tracking.log_model_params(p["model_id"], wire.tags_from_wire(p["params"]))
    return {}
