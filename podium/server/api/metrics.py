"""Metric history: every logged point of one metric of one run, paged.

``GET /api/2.0/mlflow/metrics/get-history`` (the client asks for 25000 points a page and follows
``next_page_token``).
"""

from __future__ import annotations

from podium import wire
from podium.server.api.common import page
from podium.server.routing import API2, Param, Router
from podium.server.schemas import listing

__all__ = ["routes"]

routes = Router("Metrics")


@routes.get(
    f"{API2}/metrics/get-history",
    Param("run_id", required=True, alias="run_uuid"),
    Param("metric_key", required=True),
    Param("max_results", "integer", maximum=25000),
    Param("page_token"),
    response=listing("metrics", "Metric"),
)
def get_metric_history(s, p):
    """All points of a metric, ordered by step and timestamp."""
    found = s.tracking.get_metric_history(p["run_id"], p["metric_key"], p["max_results"], p["page_token"])
    return page("metrics", [wire.to_wire_metric(m) for m in found], found.token)
