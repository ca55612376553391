"""The OpenAPI 3.1 document, generated from the route table (so it cannot drift from the routes).

Every route contributes its path, method, summary, parameters (query and path), its JSON request
body (POST/PATCH/DELETE), its 200 response schema, and the error responses 400, 401, 403, 404, 405,
409, 413, 429, 501 and 503 with the error body schema. A create operation's 200 response has OpenAPI
``links`` to the operations that read what it created (:data:`LINKS`), so stateful testers
(schemathesis) can chain create -> get. Paths are listed under ``/api/``; each is also served
under ``/ajax-api/`` (MLflow's UI prefix), which the document states once in its description.
"""

from __future__ import annotations

from collections import Counter

from podium.server.routing import Route, ref
from podium.server.schemas import components
from podium.version import __version__

__all__ = ["ERROR_STATUSES", "LINKS", "openapi_document"]

ERROR_STATUSES = {
    "400": "Invalid request (INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, BAD_REQUEST)",
    "401": "Not authenticated (UNAUTHENTICATED)",
    "403": "Not allowed (PERMISSION_DENIED)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST) or endpoint (ENDPOINT_NOT_FOUND)",
    "405": "Method not allowed for this path (BAD_REQUEST)",
    "409": "Conflict (RESOURCE_CONFLICT)",
    "413": "JSON request body over the server's limit (REQUEST_TOO_LARGE)",
    "429": "Too many failed sign-in attempts (REQUEST_LIMIT_EXCEEDED; see Retry-After)",
    "501": "Not implemented (NOT_IMPLEMENTED)",
    "503": "Temporarily unavailable, e.g. the database is busy (TEMPORARILY_UNAVAILABLE)",
}

_DESCRIPTION = (
    "Podium's MLflow-compatible REST API (model registry, tracking, logged models, artifact proxy). "
    "Every path under /api/ is also served under /ajax-api/. Errors are JSON: "
    '{"error_code": "...", "message": "..."}.'
)


_MODEL_NAME = {"name": "$response.body#/registered_model/name"}
_VERSION = {"name": "$response.body#/model_version/name", "version": "$response.body#/model_version/version"}
_REQUEST = {"request_id": "$response.body#/request/id"}
_LOGGED = {"model_id": "$response.body#/model/info/model_id"}

#: operation -> {target operation: its parameters from the response}: the create -> read flows
LINKS: dict[str, dict[str, dict[str, str]]] = {
    "create_registered_model": {"get_registered_model": _MODEL_NAME, "get_model_history": _MODEL_NAME,
                                "get_model_policy": _MODEL_NAME, "get_model_grants": _MODEL_NAME},
    "create_model_version": {"get_model_version": _VERSION, "get_model_version_download_uri": _VERSION,
                             "get_model_version_manifest": _VERSION},
    "create_experiment": {"get_experiment": {"experiment_id": "$response.body#/experiment_id"}},
    "create_run": {"get_run": {"run_id": "$response.body#/run/info/run_id"}},
    "create_logged_model": {"get_logged_model": _LOGGED},
    "create_model_version_request": {"get_model_version_request": _REQUEST},
}


def _links(operation_id: str) -> dict:
    return {target: {"operationId": target, "parameters": dict(params)}
            for target, params in LINKS.get(operation_id, {}).items()}


def _openapi_path(path: str) -> str:
    return path.replace(":path}", "}")


def _operation(route: Route, operation_id: str) -> dict:
    op: dict = {"operationId": operation_id, "summary": route.summary, "tags": [route.tag] if route.tag else []}
    parameters = [
        {
            "name": p.name,
            "in": p.where,
            "required": True if p.where == "path" else p.required,
            "schema": p.schema(),
            **({"description": p.description} if p.description else {}),
        }
        for p in route.params
        if p.where in ("query", "path")
    ]
    if parameters:
        op["parameters"] = parameters
    body = [p for p in route.params if p.where == "body"]
    if route.request_content != "application/json":
        binary = {"schema": {"type": "string", "format": "binary"}}
        op["requestBody"] = {"required": True, "content": {route.request_content: binary}}
    elif body:
        schema: dict = {"type": "object", "properties": {p.name: p.schema() for p in body}}
        required = [p.name for p in body if p.required]
        if required:
            schema["required"] = required
        op["requestBody"] = {"required": bool(required), "content": {"application/json": {"schema": schema}}}
    responses = {"200": {"description": "OK", "content": {route.response_content: {"schema": route.response}}}}
    if route.operation_id in LINKS:
        responses["200"]["links"] = _links(route.operation_id)
    error = {"application/json": {"schema": ref("Error")}}
    for status, text in ERROR_STATUSES.items():
        responses[status] = {"description": text, "content": error}
    op["responses"] = responses
    return op


def openapi_document(routes: list[Route]) -> dict:
    """The whole document for ``routes``."""
    uses = Counter(r.operation_id for r in routes)
    paths: dict[str, dict] = {}
    for route in routes:
        op_id = route.operation_id if uses[route.operation_id] == 1 else f"{route.operation_id}_{route.method.lower()}"
        paths.setdefault(_openapi_path(route.path), {})[route.method.lower()] = _operation(route, op_id)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Podium REST API (MLflow-compatible)", "version": __version__, "description": _DESCRIPTION},
        "paths": paths,
        "components": {"schemas": components()},
    }
