"""``/models/<name>/compare?versions=1,2,3``: versions side by side (issue 13, page 4).

The comparison is the API's (``GET /api/podium/v1/model-versions/compare``, the same service call,
:meth:`~podium.services.integrity.IntegrityService.compare_model_versions`, and the same gate
question); the page adds, per metric, better/worse against the first version given
(:func:`~podium.server.ui.charts.better`) and one chart of a chosen metric's history, each version's
run overlaid: one ``get_metric_history`` read per distinct run (at most
:data:`~podium.services.compare.MAX_VERSIONS`), the first :data:`HISTORY_POINTS` points of each,
asked of the gate as ``get_metric_history`` (registry-wide read, as the API's)."""

from __future__ import annotations

import math

from podium.errors import InvalidParameterValue, PodiumError
from podium.server.ui.charts import finite, better, judge
from podium.server.ui.render import render

__all__ = ["CHART_POINTS", "HISTORY_POINTS", "MAX_ROWS", "compare_page", "sample"]

#: points of one run's metric history a compare chart reads (the first ones, in MLflow's order)
HISTORY_POINTS = 1000
#: points of all the overlaid histories a chart carries together (each series sampled evenly down to
#: its share, first and last points kept; values to 6 significant digits): 20 versions' chart is ~40 KB
CHART_POINTS = 3000
#: rows a section shows (a model of thousands of files): the rest are counted, "only differences" narrows
MAX_ROWS = 200
#: the page's order of the comparison's sections: what a reviewer reads first; the version's own
#: metadata (ids, locations, digests) last
_ORDER = ("params", "metrics", "model_params", "model_metrics", "signature", "requirements", "files", "tags",
          "metadata")
#: the comparison's sections whose rows are metrics (better/worse is judged there)
_METRIC_SECTIONS = ("metrics", "model_metrics")


def versions_param(values: list[str]) -> list[str]:
    """``versions=1,2,3`` and ``versions=1&versions=2`` (the model page's checkboxes) as one list."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def compare_page(s, check, name: str, versions: list[str], query: dict) -> object:
    asked = versions_param(versions)
    changed_only = query.get("changed") == "1"
    try:
        check("compare_model_versions", {"name": name, "versions": asked})
        comparison = s.integrity.compare_model_versions(name, asked)
    except InvalidParameterValue as exc:  # too few, too many or malformed versions: the form, with the message
        return render("compare.html", 400, name=name, asked=",".join(asked), error=exc.message, comparison=None)
    model = s.registry.get_registered_model(name)
    by_name = {section["name"]: section for section in comparison["sections"]}
    ordered = [by_name.pop(n) for n in _ORDER if n in by_name] + list(by_name.values())
    sections = [_section(section, model.tags, changed_only) for section in ordered]
    metric_keys = next((sec["names"] for sec in sections if sec["name"] == "metrics"), [])
    metric = query.get("metric") if query.get("metric") in metric_keys else (metric_keys[0] if metric_keys else None)
    history = _history(s, check, comparison["headers"], metric, model.tags) if metric else None
    return render("compare.html", name=name, asked=",".join(str(v) for v in comparison["versions"]),
                  comparison=comparison, sections=sections, changed_only=changed_only, metric=metric,
                  metric_keys=metric_keys, history=history, error=None)


def _section(section: dict, tags: dict, changed_only: bool) -> dict:
    """A section of the comparison as the template shows it: rows with each cell's judgement."""
    metric = section["name"] in _METRIC_SECTIONS
    rows = []
    for row in section["rows"]:
        direction = better(row["key"], tags) if metric else None
        base = row["values"][0]
        cells = [{"value": value, "available": available,
                  "judgement": judge(value, base, direction) if i else None}
                 for i, (value, available) in enumerate(zip(row["values"], section["available"]))]
        if not changed_only or row["different"]:
            rows.append({"key": row["key"], "different": row["different"], "better": direction, "cells": cells})
    return {"name": section["name"], "title": section["title"], "rows": rows[:MAX_ROWS], "hidden": len(rows[MAX_ROWS:]),
            "names": [row["key"] for row in section["rows"]], "total": len(section["rows"]),
            "available": section["available"]}


def _history(s, check, headers: list[dict], metric: str, tags: dict) -> dict:
    """The chosen metric's history of each version's run, for one overlaid chart and its summary table."""
    try:
        check("get_metric_history", {"run_id": next((h["run_id"] for h in headers if h["run_id"]), "")})
    except PodiumError as exc:  # the histories need registry-wide read, as the API's get-history does
        return {"refused": exc.message, "rows": [], "chart": None}
    read: dict[str, tuple[list, bool]] = {}
    for run_id in dict.fromkeys(h["run_id"] for h in headers if h["run_id"]):
        try:
            page = s.tracking.get_metric_history(run_id, metric, HISTORY_POINTS)
            read[run_id] = (list(page), bool(page.token))
        except PodiumError:  # a deleted run: shown as unknown
            continue
    rows, series = [], []
    for h in headers:
        points, truncated = read.get(h["run_id"] or "", (None, False))
        values = [p.value for p in points or ()]
        numbers = [v for v in values if finite(v) is not None]
        rows.append({"version": h["version"], "run_id": h["run_id"], "points": None if points is None else len(values),
                     "truncated": truncated, "last": values[-1] if values else None,
                     "min": min(numbers) if numbers else None, "max": max(numbers) if numbers else None})
        kept = [(p.step, p.value) for p in points or () if finite(p.value) is not None]
        if kept:
            steps = sample(_steps(kept), max(50, CHART_POINTS // len(headers)))
            series.append({"label": f"v{h['version']}", "x": [x for x, _ in steps],
                           "y": [float(f"{y:.6g}") for _, y in steps]})
    chart = {"xLabel": "step", "yLabel": metric, "series": series} if series else None
    return {"refused": None, "rows": rows, "chart": chart, "better": better(metric, tags), "points": HISTORY_POINTS}


def sample(points: list, limit: int) -> list:
    """At most ``limit`` of ``points``, evenly spaced, the first and the last kept."""
    if len(points) <= limit:
        return points
    last = len(points) - 1
    return [points[round(i * last / (limit - 1))] for i in range(limit)]


def _steps(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """One value per step (the last logged), steps ascending: what uPlot.join needs."""
    by_step: dict[int, float] = {}
    for step, value in points:
        by_step[int(step)] = value
    return sorted((step, value) for step, value in by_step.items() if not math.isnan(value))
