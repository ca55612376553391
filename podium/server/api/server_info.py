"""Operational routes: server capabilities, health, version, metrics, and the OpenAPI document.

``GET /api/3.0/mlflow/server-info`` is what the mlflow client reads before its first proxied
download (multipart capabilities: an S3 destination supports both, a local one neither). ``/health``,
``/version``, ``/metrics`` (Prometheus, :mod:`podium.server.metrics`) and ``/openapi.json`` are for
operators and tools; none runs a database query.
"""

from __future__ import annotations

from functools import lru_cache

from podium.errors import EndpointNotFound
from podium.server.http import Response
from podium.server.routing import Router
from podium.version import __version__

__all__ = ["routes"]

routes = Router("Server")

_TEXT = {"type": "string"}


@routes.get("/api/3.0/mlflow/server-info", blocking=False, response={
    "type": "object",
    "properties": {
        "store_type": _TEXT,
        "workspaces_enabled": {"type": "boolean"},
        "trace_archival_enabled": {"type": "boolean"},
        "multipart_uploads_enabled": {"type": "boolean"},
        "multipart_downloads_enabled": {"type": "boolean"},
        "presigned_upload_run_id_supported": {"type": "boolean"},
        "presigned_upload_model_id_supported": {"type": "boolean"},
        "features_enabled": {"type": "object"},
    },
})
def server_info(s, p):
    """Server capabilities, in MLflow's shape (multipart/presigned with an S3 destination; no workspaces)."""
    from podium.server.api.artifacts import multipart_enabled

    multipart = multipart_enabled(s.artifacts)
    return {
        "store_type": s.store_type,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": multipart,
        "multipart_downloads_enabled": multipart,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {},
    }


@routes.get("/health", blocking=False, response=_TEXT, response_content="text/plain")
def health(s, p):
    """Liveness probe: ``OK``."""
    return Response(b"OK")


@routes.get("/version", blocking=False, response=_TEXT, response_content="text/plain")
def version(s, p):
    """Podium's version."""
    return Response(__version__.encode())


@routes.get("/metrics", blocking=False, response=_TEXT, response_content="text/plain")
def metrics(s, p):
    """Prometheus metrics (text format 0.0.4): requests, latency, in-flight requests, DB pool."""
    if s.metrics is None:
        raise EndpointNotFound(
            "Metrics are off: the server runs with --no-metrics, or the prometheus-client package is missing.")
    body, content_type = s.metrics.render()
    return Response(body, content_type=content_type)


@lru_cache(maxsize=1)
def _document() -> bytes:
    from podium.server.api import all_routes
    from podium.server.http import dumps
    from podium.server.openapi import openapi_document

    return dumps(openapi_document(all_routes()))


@routes.get("/openapi.json", blocking=False, response={"type": "object"})
def openapi(s, p):
    """This server's OpenAPI 3.1 document, generated from the route table."""
    return Response(_document(), content_type="application/json")


