"""Charts for the UI's pages: which way a metric is better, and the data a chart draws.

A chart is progressive enhancement (decision 0017): the page renders its data as a table, and a
``<script type="application/json">`` block with the same numbers that ``static/charts.js`` hands to
the vendored uPlot (``static/vendor``). With JavaScript off the table is what a reader sees.

Which way is better, for a metric ``key`` of a registered model (first rule that answers):

1. the model's tag ``podium.better.<key>`` = ``higher`` or ``lower``;
2. the metric's name: split into words at anything not a letter or digit (``val_loss`` ->
   ``val``, ``loss``), the last word that is a known name decides (:data:`LOWER_IS_BETTER`,
   :data:`HIGHER_IS_BETTER`): ``rmse`` lower, ``test_accuracy`` higher, ``f1_score`` higher;
3. otherwise unknown: differences are marked, but neither better nor worse.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "TREND_WINDOW", "better", "chart_json", "finite", "judge", "short", "trend"]

#: versions a model page's trend chart covers: the newest ``TREND_WINDOW`` versions (one keyset read
#: of that many versions, one read of their runs' latest metrics), whatever the model's size
TREND_WINDOW = 100

LOWER_IS_BETTER = frozenset({
    "loss", "error", "err", "errors", "rmse", "mse", "mae", "mape", "smape", "rmsle", "msle", "logloss",
    "perplexity", "latency", "duration", "time", "seconds", "ms", "wer", "cer", "fpr", "fnr", "brier",
    "deviance", "cost", "regret", "bias", "miss", "misses", "eer",
})
HIGHER_IS_BETTER = frozenset({
    "accuracy", "acc", "precision", "recall", "f1", "fbeta", "auc", "roc", "auroc", "aupr", "prauc", "r2",
    "score", "map", "ndcg", "mrr", "iou", "dice", "bleu", "rouge", "meteor", "tpr", "tnr", "specificity",
    "sensitivity", "kappa", "mcc", "throughput", "hits", "hit", "coverage", "gain", "lift", "reward",
    "return", "success", "ap",
})
_WORD = re.compile(r"[A-Za-z0-9]+")


def better(key: str, tags: Mapping[str, str] | None = None) -> str | None:
    """``"higher"``, ``"lower"`` or ``None`` (unknown) for metric ``key`` (see the module's rules)."""
    told = (tags or {}).get(f"podium.better.{key}", "").strip().lower()
    if told in ("higher", "lower"):
        return told
    for word in reversed(_WORD.findall(key.lower())):
        if word in LOWER_IS_BETTER:
            return "lower"
        if word in HIGHER_IS_BETTER:
            return "higher"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):  # the compare service's JSON-safe spellings
        return float(value.replace("Infinity", "inf"))
    return None


def judge(value: Any, base: Any, direction: str | None) -> str | None:
    """``"better"``, ``"worse"`` or ``None`` for ``value`` against the ``base`` version's value."""
    a, b = _number(value), _number(base)
    if direction is None or a is None or b is None or math.isnan(a) or math.isnan(b) or a == b:
        return None
    return "better" if (a > b) == (direction == "higher") else "worse"


def finite(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None


def short(value: Any) -> Any:
    """A float to 6 significant digits for reading (``0.9777777777777777`` -> ``0.977778``); anything
    else as it is. Pages show the exact value in the cell's title."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return value


def chart_json(data: Mapping[str, Any]) -> Markup:
    """``data`` as the body of a ``<script type="application/json">`` block: JSON in which ``<``,
    ``>`` and ``&`` are escaped (``\\u003c``...), so no string in it can end the block."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704


def trend(versions: Sequence[Any], metrics: Mapping[str, Mapping[str, float]], chosen: str | None,
          tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A model's metric across ``versions`` (newest first, as read) from ``metrics`` (``{run_id: {key:
    value}}``): ``names`` (every metric name seen), ``metric`` (the chosen one, or the first), ``rows``
    (oldest first: version, value), ``better`` and the ``chart`` data (None when nothing to draw)."""
    keys = sorted({key for run in metrics.values() for key in run})
    metric = chosen if chosen in keys else (keys[0] if keys else None)
    rows = []
    for mv in reversed(list(versions)):
        value = metrics.get(mv.run_id or "", {}).get(metric) if metric else None
        rows.append({"version": int(mv.version), "run_id": mv.run_id, "value": value})
    points = [(r["version"], finite(r["value"])) for r in rows if finite(r["value"]) is not None]
    direction = better(metric, tags) if metric else None
    chart = None
    if points:
        chart = {"x": [p[0] for p in points], "xLabel": "version", "xPrefix": "v", "series": [
            {"label": metric, "y": [p[1] for p in points]}], "yLabel": metric, "points": True}
    return {"names": keys, "metric": metric, "rows": rows, "better": direction, "chart": chart}
