"""MLflow-compatible REST routes, one module per resource.

Each module holds a :class:`~podium.server.routing.Router` named ``routes`` whose handlers are thin:
typed parameters in, one service call, :mod:`podium.wire` out. :func:`all_routes` is the whole table,
in a stable order (the OpenAPI document and ``docs/rest-api.md`` list routes in this order).
"""

from __future__ import annotations

from podium.server.routing import Route

__all__ = ["MODULES", "all_routes"]

MODULES = (  # order = the order of the OpenAPI document
    "registered_models",
    "model_versions",
    "experiments",
    "runs",
    "metrics",
    "logged_models",
    "artifacts",
    "server_info",
    "access",
    "integrity",
    "history",
    "approvals",
    "webhooks",
)


def all_routes() -> list[Route]:
    import importlib

    routes: list[Route] = []
    for name in MODULES:
        routes.extend(importlib.import_module(f"podium.server.api.{name}").routes.routes)
    return routes
