"""The tracking pages: ``/experiments``, ``/experiments/<id>`` (the runs table) and ``/runs/<run_id>``.

Like the registry's pages (:mod:`podium.server.ui.pages`), each reads through the services the API
uses and asks the gate the question of the API endpoint that reads the same data (``check``):
``search_experiments``, ``get_experiment``, ``search_runs``, ``get_run``, ``get_metric_history``,
``list_artifacts``, ``search_logged_models``, ``search_model_versions``. Every list is one keyset
page of the service's search (a ``rel="next"`` link carries the token); a bad filter, sort or token
is the page with the API's one-line message and status 400.

The runs table's state lives in the query string, so it works as a GET form without JavaScript:
``filter`` (MLflow's run filter grammar), ``order`` (an ``order_by`` clause such as
``metrics.rmse ASC``) and ``col`` (repeated: ``metrics.<key>``, ``params.<key>`` or
``tags.<key>``, the columns shown besides the run's own).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from podium.errors import InvalidParameterValue, PodiumError
from podium.server.ui.render import markdown, render

__all__ = ["EXPERIMENTS_PAGE_SIZE", "RUNS_PAGE_SIZE", "route"]

EXPERIMENTS_PAGE_SIZE = 50
RUNS_PAGE_SIZE = 50
#: registered versions and logged models a run page lists at most
LIST_LIMIT = 100
#: a run page's metric histories: the first HISTORY_METRICS keys; of each, the first HISTORY_POINTS
#: points read, shown as at most HISTORY_SHOWN evenly spaced ones (the last always): the page stays
#: under 150 KB however long the run logged
HISTORY_METRICS = 6
HISTORY_POINTS = 1000
HISTORY_SHOWN = 100
#: columns offered when none are chosen: the first keys of the page's runs
DEFAULT_COLUMNS = 6
#: the experiments list's sorts: query value -> (label, order_by clause)
EXPERIMENT_SORTS = {
    "-created": ("Created (newest)", "creation_time DESC"),
    "created": ("Created (oldest)", "creation_time ASC"),
    "name": ("Name (A-Z)", "name ASC"),
    "-name": ("Name (Z-A)", "name DESC"),
    "-updated": ("Last change (newest)", "last_update_time DESC"),
}
#: the runs table's fixed sorts (any metric or param column adds two more)
RUN_SORTS = {
    "attributes.start_time DESC": "Started (newest)",
    "attributes.start_time ASC": "Started (oldest)",
    "attributes.run_name ASC": "Name (A-Z)",
    "attributes.run_name DESC": "Name (Z-A)",
}
_KINDS = ("metrics", "params", "tags")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def route(path: str, pairs: list[tuple[str, str]]):
    """The handler for ``path`` (percent-encoded, as sent) as ``handler(services, check)``, or ``None``."""
    query = dict(pairs)
    if path == "/experiments":
        return lambda s, check: experiments_page(s, check, query)
    parts = [unquote(p) for p in path.split("/")[1:]]
    if len(parts) == 2 and parts[0] == "experiments" and parts[1]:
        columns = [value for key, value in pairs if key == "col" and value]
        return lambda s, check: experiment_page(s, check, parts[1], query, columns)
    if len(parts) == 2 and parts[0] == "runs" and parts[1]:
        return lambda s, check: run_page(s, check, parts[1], query.get("path", ""))
    return None


# ---------------------------------------------------------------------------------------- /experiments
def experiments_page(s, check, query: dict) -> object:
    """``/experiments``: active experiments, filtered (``name LIKE '%x%'``, ``tags.k = 'v'``), sorted, paged."""
    text = query.get("filter", "").strip()
    sort = query.get("sort") if query.get("sort") in EXPERIMENT_SORTS else "-created"
    check("search_experiments", {"filter": text or None})
    context = {"filter": text, "sort": sort, "sorts": EXPERIMENT_SORTS, "user_tags": user_tags}
    try:
        found = s.tracking.search_experiments(max_results=EXPERIMENTS_PAGE_SIZE, filter_string=text or None,
                                              order_by=[EXPERIMENT_SORTS[sort][1]],
                                              page_token=query.get("page_token") or None)
    except InvalidParameterValue as exc:
        return render("experiments.html", 400, experiments=[], next_token=None, error=exc.message, **context)
    return render("experiments.html", experiments=found, next_token=found.token, **context)


def user_tags(tags: dict) -> dict:
    """The tags a person set (MLflow's own ``mlflow.*`` tags left out)."""
    return {k: v for k, v in tags.items() if not k.startswith("mlflow.")}


def _number(value) -> str:
    """A metric or param as a cell: floats with up to 6 significant digits, anything else as given."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# ---------------------------------------------------------------------------------------- /experiments/<id>
def _quote_key(key: str) -> str | None:
    """``key`` as the search grammar writes it (backquoted unless a plain identifier); ``None`` if it cannot."""
    if _PLAIN_KEY.match(key):
        return key
    return None if "`" in key else f"`{key}`"


def _column(spec: str) -> tuple[str, str] | None:
    """``metrics.rmse`` -> ``("metrics", "rmse")``; ``None`` for anything else."""
    kind, _, key = spec.partition(".")
    return (kind, key) if kind in _KINDS and key else None


def _cell(run, kind: str, key: str):
    return getattr(run.data, kind).get(key)


def experiment_page(s, check, experiment_id: str, query: dict, chosen: list[str]) -> object:
    """``/experiments/<id>``: the experiment's runs, searched, sorted by any column, keyset-paged."""
    check("get_experiment", {"experiment_id": experiment_id})
    experiment = s.tracking.get_experiment(experiment_id)
    text = query.get("filter", "").strip()
    order = query.get("order", "").strip() or "attributes.start_time DESC"
    check("search_runs", {"experiment_ids": [experiment.experiment_id], "filter": text or None})
    error, runs = None, []
    try:
        runs = s.tracking.search_runs([experiment.experiment_id], text or None, max_results=RUNS_PAGE_SIZE,
                                      order_by=[order], page_token=query.get("page_token") or None)
    except InvalidParameterValue as exc:
        error = exc.message
    columns = [c for c in map(_column, chosen) if c]
    seen = {kind: sorted({key for run in runs for key in getattr(run.data, kind)}) for kind in _KINDS}
    if not chosen:  # nothing chosen: the page's metrics, then its params
        columns = [("metrics", k) for k in seen["metrics"][:DEFAULT_COLUMNS]]
        columns += [("params", k) for k in seen["params"][:DEFAULT_COLUMNS]]
    offered = [(kind, key) for kind in _KINDS for key in seen[kind]]
    offered += [c for c in columns if c not in offered]
    sorts = dict(RUN_SORTS)
    for kind, key in offered:
        quoted = _quote_key(key)
        if kind != "tags" and quoted:
            sorts[f"{kind}.{quoted} DESC"] = f"{key} ({kind[:-1]}, high to low)"
            sorts[f"{kind}.{quoted} ASC"] = f"{key} ({kind[:-1]}, low to high)"
    sorts.setdefault(order, order)  # an order typed into the URL stays selected
    rows = [{"run": run, "cells": [_number(_cell(run, kind, key)) for kind, key in columns]} for run in runs]
    kept = [("filter", text)] if text else []
    if chosen:
        kept += [("col", f"{kind}.{key}") for kind, key in columns]
    params = kept + ([("order", order)] if query.get("order") else [])
    header_sorts = {}  # a column's header links the page sorted by it (high to low; again: low to high)
    for kind, key in columns:
        quoted = _quote_key(key)
        if kind != "tags" and quoted:
            descending = f"{kind}.{quoted} DESC"
            header_sorts[(kind, key)] = kept + [("order", f"{kind}.{quoted} ASC" if order == descending else descending)]
    return render("experiment.html", 400 if error else 200, experiment=experiment,
                  description=markdown(experiment.tags.get("mlflow.note.content")), tags=user_tags(experiment.tags),
                  filter=text, order=order,
                  sorts=sorts, columns=columns, offered=offered, header_sorts=header_sorts, rows=rows,
                  next_token=None if error else runs.token, error=error, params=params)


# ---------------------------------------------------------------------------------------- /runs/<id>
def _optional(read):
    """``(value, None)``, or ``(None, message)`` when the read is refused or fails as the API would."""
    try:
        return read(), None
    except PodiumError as exc:
        return None, exc.message


def _sample(points: list) -> list:
    """At most HISTORY_SHOWN of ``points``, evenly spaced, the first and the last kept."""
    if len(points) <= HISTORY_SHOWN:
        return list(points)
    step = (len(points) - 1) / (HISTORY_SHOWN - 1)
    return [points[round(i * step)] for i in range(HISTORY_SHOWN)]


def _read(check, operation_id: str, params: dict, read, *args):
    """``read(*args)`` once the gate admits ``operation_id`` with ``params``."""
    check(operation_id, params)
    return read(*args)


def _literal(text: str) -> str:
    return text.replace("'", "''")


def _artifact_root(artifact_uri: str, destination: str | None) -> str | None:
    """The proxy path of a run's artifacts: ``mlflow-artifacts:/0/<id>/artifacts`` -> ``0/<id>/artifacts``;
    a local path inside the server's artifacts ``destination`` (a store the server shares with the
    embedded client, as after ``podium demo``) -> its part below it; anything else: ``None``."""
    if not artifact_uri:
        return None
    if artifact_uri.startswith("mlflow-artifacts:"):
        rest = artifact_uri[len("mlflow-artifacts:"):]
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path
            rest = "/" + rest[2:].partition("/")[2]
        return rest.strip("/")
    local = artifact_uri.removeprefix("file://")
    if not destination or "://" in destination or "://" in local or not local.startswith("/"):
        return None
    try:
        return Path(local).resolve().relative_to(Path(destination).resolve()).as_posix().strip(".") or None
    except ValueError:
        return None


def _clean_path(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts or "\\" in path or "\x00" in path:
        raise InvalidParameterValue("Invalid path: use a path inside the run's artifacts.")
    return "/".join(parts)


def _artifacts(s, check, root: str, path: str) -> list[dict]:
    full = f"{root}/{path}" if path else root
    check("list_artifacts", {"path": full})
    out = []
    for info in s.artifacts.list_artifacts(full) or []:
        name = info.path.rsplit("/", 1)[-1]
        rel = f"{path}/{name}" if path else name
        out.append({"name": name, "path": rel, "is_dir": info.is_dir, "size": info.file_size,
                    "download": f"/api/2.0/mlflow-artifacts/artifacts/{root}/{rel}"})
    return sorted(out, key=lambda f: (not f["is_dir"], f["name"]))


def run_page(s, check, run_id: str, path: str) -> object:
    """``/runs/<run_id>``: params, metrics (latest and history), tags, artifacts (``?path=`` a
    directory), logged models and the registered versions made from this run."""
    check("get_run", {"run_id": run_id})
    run = s.tracking.get_run(run_id)
    experiment, _ = _optional(lambda: _read(check, "get_experiment", {"experiment_id": run.info.experiment_id},
                                            s.tracking.get_experiment, run.info.experiment_id))
    path = _clean_path(path)
    histories = {}
    for metric in sorted(run.data.metric_objects, key=lambda m: m.key)[:HISTORY_METRICS]:
        check("get_metric_history", {"run_id": run_id, "metric_key": metric.key})
        points = s.tracking.get_metric_history(run_id, metric.key, max_results=HISTORY_POINTS)
        histories[metric.key] = [{"step": p.step, "timestamp": p.timestamp, "value": p.value} for p in _sample(points)]
    root = _artifact_root(run.info.artifact_uri, s.settings.artifacts_destination if s.settings else None)
    files, files_error = (None, None)
    if root:
        files, files_error = _optional(lambda: _artifacts(s, check, root, path))
    logged, logged_error = _optional(lambda: _read(
        check, "search_logged_models", {"experiment_ids": [run.info.experiment_id]}, s.tracking.search_logged_models,
        [run.info.experiment_id], f"source_run_id = '{_literal(run_id)}'", LIST_LIMIT))
    params = check("search_model_versions", {"filter": f"run_id = '{_literal(run_id)}'"})
    versions, versions_error = _optional(lambda: s.registry.search_model_versions(
        params["filter"], LIST_LIMIT, ["name ASC", "version_number DESC"]))
    user_tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    system_tags = {k: v for k, v in run.data.tags.items() if k.startswith("mlflow.")}
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return render("run.html", run=run, experiment=experiment, metrics=sorted(run.data.metric_objects, key=lambda m: m.key),
                  histories=histories, shown=HISTORY_SHOWN, user_tags=user_tags, system_tags=system_tags,
                  description=markdown(run.data.tags.get("mlflow.note.content")), root=root, path=path, parent=parent,
                  files=files, files_error=files_error, logged=logged, logged_error=logged_error,
                  versions=versions, versions_error=versions_error)
