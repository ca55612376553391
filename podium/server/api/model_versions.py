"""Model versions: create, get, update, stage transitions, delete, search, download URI, tags.

MLflow's ``ModelRegistryService`` under ``/api/2.0/mlflow/model-versions/``. Version numbers are
JSON strings (``"version": "2"``; a JSON number is refused with 400, as MLflow does). ``create``
derives ``run_id`` from the logged model when the source is ``models:/<model_id>`` and records the
version on that model's ``mlflow.modelVersions`` tag (both in the registry service).
"""

from __future__ import annotations

from podium import wire
from podium.server.api.common import EMPTY, page
from podium.server.routing import API2, Param, Router, kv_list
from podium.server.schemas import envelope, listing

__all__ = ["routes"]

routes = Router("Model versions")

NAME = Param("name", required=True, description="registered model name")
VERSION = Param("version", required=True, description="version number, as a string")
MV = envelope("model_version", "ModelVersion")


def _mv(mv) -> dict:
    return {"model_version": wire.to_wire_model_version(mv)}


@routes.post(
    f"{API2}/model-versions/create",
    NAME,
    Param("source", required=True, description="models:/<model_id>, runs:/<run_id>/<path>, or a storage URI"),
    Param("run_id"),
    kv_list("tags"),
    Param("run_link"),
    Param("description"),
    Param("model_id", description="the MLflow 3 logged model holding the files"),
    response=MV,
)
def create_model_version(s, p):
    """Register a new version (numbers are allocated in the database transaction, never reused)."""
    return _mv(
        s.registry.create_model_version(
            p["name"], p["source"], run_id=p["run_id"], tags=wire.tags_from_wire(p["tags"]),
            run_link=p["run_link"], description=p["description"], model_id=p["model_id"],
        )
    )


@routes.get(f"{API2}/model-versions/get", NAME, VERSION, response=MV, point_read=True)
def get_model_version(s, p):
    """One model version, with its tags and aliases."""
    return _mv(s.registry.get_model_version(p["name"], p["version"]))


@routes.patch(f"{API2}/model-versions/update", NAME, VERSION, Param("description"), response=MV)
def update_model_version(s, p):
    """Set a version's description."""
    return _mv(s.registry.update_model_version(p["name"], p["version"], p["description"]))


@routes.post(
    f"{API2}/model-versions/transition-stage",
    NAME,
    VERSION,
    Param("stage", required=True, description="None, Staging, Production or Archived (any case)"),
    Param("archive_existing_versions", "boolean", required=True,
          description="archive the other versions currently in the target stage"),
    response={**MV, "properties": {**MV["properties"], "warnings": {"type": "array", "items": {"type": "string"}}}},
)
def transition_model_version_stage(s, p):
    """Move a version to a stage (deprecated in MLflow 2.9 but still used). Podium adds ``warnings``
    (a list of strings) when an alias is left on a version the transition archived."""
    updated, warnings = s.registry.transition_model_version_stage_with_warnings(
        p["name"], p["version"], p["stage"], p["archive_existing_versions"])
    return {**_mv(updated), **({"warnings": warnings} if warnings else {})}


@routes.delete(f"{API2}/model-versions/delete", NAME, VERSION, response=EMPTY)
def delete_model_version(s, p):
    """Delete a version (its number is never reused)."""
    s.registry.delete_model_version(p["name"], p["version"])
    return {}


@routes.get(
    f"{API2}/model-versions/search",
    Param("filter", description="e.g. name = 'wine' AND version_number > 1"),
    Param("max_results", "integer", maximum=200000, description="page size (default 10000, at most 200000)"),
    Param("order_by", "array", items="string",
          description="name, version_number, creation_timestamp, last_updated_timestamp + ASC|DESC"),
    Param("page_token"),
    response=listing("model_versions", "ModelVersion"),
)
def search_model_versions(s, p):
    """Search versions by name, run, source, version number and tags."""
    found = s.registry.search_model_versions(p["filter"], p["max_results"], p["order_by"], p["page_token"])
    return page("model_versions", [wire.to_wire_model_version(v) for v in found], found.token)


@routes.get(f"{API2}/model-versions/get-download-uri", NAME, VERSION,
            response={"type": "object", "properties": {"artifact_uri": {"type": "string"}}})
def get_model_version_download_uri(s, p):
    """Where the version's files live (the logged model's artifact URI for models:/ sources)."""
    return {"artifact_uri": s.registry.get_model_version_download_uri(p["name"], p["version"])}


@routes.post(f"{API2}/model-versions/set-tag", NAME, VERSION, Param("key", required=True), Param("value"),
             response=EMPTY)
def set_model_version_tag(s, p):
    """Set (or overwrite) a tag on a version."""
    s.registry.set_model_version_tag(p["name"], p["version"], p["key"], p["value"])
    return {}


@routes.delete(f"{API2}/model-versions/delete-tag", NAME, VERSION, Param("key", required=True), response=EMPTY)
def delete_model_version_tag(s, p):
    """Delete a version's tag (a missing tag is not an error)."""
    s.registry.delete_model_version_tag(p["name"], p["version"], p["key"])
    return {}
