"""The model page's trend: a chosen metric of each version's source run, across the newest
:data:`~podium.server.ui.charts.TREND_WINDOW` versions (mlflow#4806).

Two reads whatever the model's size: one keyset page of its newest versions (the same
``search_model_versions`` as the API) and one read of those versions' runs' latest metrics
(``TrackingService.get_latest_metrics``). The numbers are the ones the compare endpoint shows for
the same versions, so the page asks the gate the compare endpoint's question."""

from __future__ import annotations

from podium.server.ui.charts import TREND_WINDOW, trend

__all__ = ["model_trend"]


def model_trend(s, check, model, metric: str | None) -> dict:
    check("compare_model_versions", {"name": model.name})
    versions = list(s.registry.search_model_versions("name = '" + model.name.replace("'", "''") + "'", TREND_WINDOW,
                                                     ["version_number DESC"], None))
    metrics = s.tracking.get_latest_metrics({v.run_id for v in versions if v.run_id})
    out = trend(versions, metrics, metric, model.tags)
    out["window"] = TREND_WINDOW
    return out
