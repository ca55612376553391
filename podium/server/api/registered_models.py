"""Registered models: create, get, rename, update, delete, search, latest versions, tags, aliases.

MLflow's ``ModelRegistryService`` under ``/api/2.0/mlflow/registered-models/``. ``search`` caps
``max_results`` at 1000 (400 above, as MLflow); a missing alias is 400 (MLflow's choice); deleting a
missing tag or alias succeeds.
"""

from __future__ import annotations

from podium import wire
from podium.server.api.common import EMPTY, page
from podium.server.routing import API2, Param, Router, kv_list
from podium.server.schemas import envelope, listing

__all__ = ["routes"]

routes = Router("Registered models")

NAME = Param("name", required=True, description="registered model name")
RM = envelope("registered_model", "RegisteredModel")


def _rm(rm) -> dict:
    return {"registered_model": wire.to_wire_registered_model(rm)}


@routes.post(f"{API2}/registered-models/create", NAME, kv_list("tags"), Param("description"),
             Param("deployment_job_id"), response=RM)
def create_registered_model(s, p):
    """Create a registered model (400 RESOURCE_ALREADY_EXISTS if the name is taken)."""
    created = s.registry.create_registered_model(p["name"], wire.tags_from_wire(p["tags"]), p["description"])
    s.access.on_model_created(created.name)  # with --auth, the creator gets manage on it
    return _rm(created)


@routes.get(f"{API2}/registered-models/get", NAME, response=RM, point_read=True)
def get_registered_model(s, p):
    """A registered model with its latest version per stage, tags and aliases."""
    return _rm(s.registry.get_registered_model(p["name"]))


@routes.post(f"{API2}/registered-models/rename", NAME, Param("new_name", required=True), response=RM)
def rename_registered_model(s, p):
    """Rename a model; versions, tags and aliases follow it."""
    return _rm(s.registry.rename_registered_model(p["name"], p["new_name"]))


@routes.patch(f"{API2}/registered-models/update", NAME, Param("description"), Param("deployment_job_id"),
              response=RM)
def update_registered_model(s, p):
    """Set a registered model's description."""
    return _rm(s.registry.update_registered_model(p["name"], p["description"]))


@routes.delete(f"{API2}/registered-models/delete", NAME, response=EMPTY)
def delete_registered_model(s, p):
    """Delete a registered model with all its versions, tags and aliases."""
    s.registry.delete_registered_model(p["name"])
    return {}


@routes.get(
    f"{API2}/registered-models/search",
    Param("filter", description="e.g. name LIKE 'wine%' AND tags.team = 'ml'"),
    Param("max_results", "integer", maximum=1000, description="page size (default 100, at most 1000)"),
    Param("order_by", "array", items="string", description="name, timestamp, last_updated_timestamp + ASC|DESC"),
    Param("page_token"),
    response=listing("registered_models", "RegisteredModel"),
)
def search_registered_models(s, p):
    """Search registered models by name and tags, one page at a time."""
    found = s.registry.search_registered_models(p["filter"], p["max_results"], p["order_by"], p["page_token"])
    return page("registered_models", [wire.to_wire_registered_model(rm) for rm in found], found.token)


_LATEST_PARAMS = (NAME, Param("stages", "array", items="string", description="None, Staging, Production, Archived"))
_LATEST = listing("model_versions", "ModelVersion", paged=False)


@routes.post(f"{API2}/registered-models/get-latest-versions", *_LATEST_PARAMS, response=_LATEST,
             point_read=True)
def get_latest_versions(s, p):
    """The highest version in each requested stage (every stage when none is given)."""
    versions = s.registry.get_latest_versions(p["name"], p["stages"] or None)
    return page("model_versions", [wire.to_wire_model_version(v) for v in versions], None)


routes.get(f"{API2}/registered-models/get-latest-versions", *_LATEST_PARAMS, response=_LATEST,
           point_read=True)(get_latest_versions)


@routes.post(f"{API2}/registered-models/set-tag", NAME, Param("key", required=True), Param("value"),
             response=EMPTY)
def set_registered_model_tag(s, p):
    """Set (or overwrite) a tag on a registered model."""
    s.registry.set_registered_model_tag(p["name"], p["key"], p["value"])
    return {}


@routes.delete(f"{API2}/registered-models/delete-tag", NAME, Param("key", required=True), response=EMPTY)
def delete_registered_model_tag(s, p):
    """Delete a registered model's tag (a missing tag is not an error)."""
    s.registry.delete_registered_model_tag(p["name"], p["key"])
    return {}


@routes.post(f"{API2}/registered-models/alias", NAME, Param("alias", required=True),
             Param("version", required=True, description="version number, as a string"), response=EMPTY)
def set_registered_model_alias(s, p):
    """Point an alias (e.g. champion) at a version; moves it if it pointed elsewhere."""
    s.registry.set_registered_model_alias(p["name"], p["alias"], p["version"])
    return {}


@routes.delete(f"{API2}/registered-models/alias", NAME, Param("alias", required=True), response=EMPTY)
def delete_registered_model_alias(s, p):
    """Remove an alias (a missing alias is not an error)."""
    s.registry.delete_registered_model_alias(p["name"], p["alias"])
    return {}


@routes.get(f"{API2}/registered-models/alias", NAME, Param("alias", required=True),
            response=envelope("model_version", "ModelVersion"), point_read=True)
def get_model_version_by_alias(s, p):
    """The version an alias points to (400 INVALID_PARAMETER_VALUE if the alias does not exist)."""
    return {"model_version": wire.to_wire_model_version(s.registry.get_model_version_by_alias(p["name"], p["alias"]))}

