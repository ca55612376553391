"""The OpenAPI 3.1 document, generated from the route table (so it cannot drift from the routes).

Every route contributes its path, method, summary, parameters (query and path), its JSON request
body (POST/PATCH/DELETE), its 200 response schema, and the error responses 400, 401, 403, 404, 405,
409, 501 and 503 with the error body schema. Paths are listed under ``/api/``; each is also served
under ``/ajax-api/`` (MLflow's UI prefix), which the document states once in its description.
"""

from __future__ import annotations

from collections import Counter

from podium.server.routing import Route, ref
from podium.server.schemas import components
from podium.version import __version__

__all__ = ["ERROR_STATUSES", "openapi_document"]

ERROR_STATUSES = {
    "400": "Invalid request (INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, BAD_REQUEST)",
    "401": "Not authenticated (UNAUTHENTICATED)",
    "403": "Not allowed (PERMISSION_DENIED)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST) or endpoint (ENDPOINT_NOT_FOUND)",
    "405": "Method not allowed for this path (BAD_REQUEST)",
    "409": "Conflict (RESOURCE_CONFLICT)",
    "501": "Not implemented (NOT_IMPLEMENTED)",
    "503": "Temporarily unavailable, e.g. the database is busy (TEMPORARILY_UNAVAILABLE)",
}

_DESCRIPTION = (
    "Podium's MLflow-compatible REST API (model registry, tracking, logged models, artifact proxy). "
    "Every path under /api/ is also served under /ajax-api/. Errors are JSON: "
    '{"error_code": "...", "message": "..."}.'
)


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
