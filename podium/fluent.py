"""MLflow's fluent API: ``start_run``, ``log_param``, ``register_model``, ``search_runs`` and friends.

These functions act on the active run (a per-thread stack) and the active experiment, through a
:class:`~podium.client.client.PodiumClient` for the current tracking URI.
"""

from __future__ import annotations

import os
import time
from typing import Any

from podium import settings
from podium import tracking_context as ctx
from podium.client.client import PodiumClient, _user
from podium.domain.entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    Run,
    RunStatus,
    ViewType,
)
from podium.errors import InvalidParameterValue, InvalidState, ResourceAlreadyExists

__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_run",
    "last_active_run",
    "last_logged_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_model_params",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_experiments",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_tag",
    "set_tags",
    "start_run",
]

DEFAULT_EXPERIMENT_ID = "0"


def _client() -> PodiumClient:
    return PodiumClient()


def _now_ms() -> int:
    return int(time.time() * 1000)


class ActiveRun(Run):
    """The run ``start_run`` returns; as a context manager it ends the run (FAILED on an exception)."""

    def __init__(self, run: Run) -> None:
        object.__setattr__(self, "info", run.info)
        object.__setattr__(self, "data", run.data)
        object.__setattr__(self, "inputs", run.inputs)
        object.__setattr__(self, "outputs", run.outputs)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack = ctx.run_stack()
        if any(r.info.run_id == self.info.run_id for r in stack):
            end_run(RunStatus.FAILED if exc_type else RunStatus.FINISHED)
        return False


# ---------------------------------------------------------------------------------- experiments
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterValue("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            try:
                client.create_experiment(experiment_name)
            except ResourceAlreadyExists:
                pass  # created concurrently by another process
            experiment = client.get_experiment_by_name(experiment_name)
    if experiment.lifecycle_stage != "active":
        raise InvalidParameterValue(
            f"Cannot set a deleted experiment '{experiment.name}' as the active experiment. "
            "Restore it first (podium.MlflowClient().restore_experiment)."
        )
    ctx.set_active_experiment_id(experiment.experiment_id)
    return experiment


def _active_experiment_id() -> str:
    experiment_id = ctx.get_active_experiment_id()
    if experiment_id:
        return experiment_id
    name = settings.experiment_name()
    if name:
        return set_experiment(experiment_name=name).experiment_id
    return settings.experiment_id() or DEFAULT_EXPERIMENT_ID


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_active_experiment_id(), key, value)


def search_experiments(view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                       filter_string: str | None = None, order_by: list[str] | None = None) -> list[Experiment]:
    return _all_pages(lambda token, n: _client().search_experiments(view_type, n, filter_string, order_by, token),
                      max_results, 1000)


# ---------------------------------------------------------------------------------- runs
def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, parent_run_id: str | None = None, tags: dict[str, Any] | None = None,
              description: str | None = None, log_system_metrics: bool | None = None) -> ActiveRun:
    stack = ctx.run_stack()
    if stack and not nested:
        raise InvalidState(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first end the "
            "current run with podium.end_run(). To start a nested run, call start_run with nested=True"
        )
    client = _client()
    if run_id:
        run = client.get_run(run_id)
        if run.info.status != RunStatus.RUNNING:
            client.update_run(run_id, RunStatus.RUNNING)
            run = client.get_run(run_id)
    else:
        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        all_tags.setdefault("mlflow.user", _user())
        all_tags.setdefault("mlflow.source.name", _source_name())
        all_tags.setdefault("mlflow.source.type", "LOCAL")
        parent = parent_run_id or (stack[-1].info.run_id if stack and nested else None)
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        if description:
            all_tags["mlflow.note.content"] = description
        run = client.create_run(str(experiment_id or _active_experiment_id()), tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    stack.append(active)
    return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    stack = ctx.run_stack()
    if not stack:
        return
    run = stack.pop()
    ctx.set_last_run_id(run.info.run_id)
    _client().set_terminated(run.info.run_id, status)


def active_run() -> ActiveRun | None:
    stack = ctx.run_stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    current = active_run()
    if current is not None:
        return get_run(current.info.run_id)
    run_id = ctx.last_run_id()
    return get_run(run_id) if run_id else None


def _run_id(run_id: str | None = None) -> str:
    if run_id:
        return run_id
    current = active_run()
    if current is None:
        current = start_run()  # MLflow starts a run implicitly on the first log call
    return current.info.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    _client()._tracking.log_batch(_run_id(run_id), params=[(str(k), str(v)) for k, v in params.items()])


def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None,
               timestamp: int | None = None, run_id: str | None = None, model_id: str | None = None,
               dataset=None) -> None:
    _client().log_metric(_run_id(run_id), key, value, timestamp or _now_ms(), step or 0, model_id=model_id)


def log_metrics(metrics: dict[str, float], step: int | None = None, synchronous: bool | None = None,
                run_id: str | None = None, timestamp: int | None = None, model_id: str | None = None,
                dataset=None) -> None:
    ts = timestamp or _now_ms()
    points = [Metric(k, v, ts, step or 0, model_id) for k, v in metrics.items()]
    _client()._tracking.log_batch(_run_id(run_id), metrics=points)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    _client()._tracking.log_batch(_run_id(), tags=[(str(k), str(v)) for k, v in tags.items()])


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifact(_run_id(run_id), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifacts(_run_id(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    _client().log_dict(_run_id(run_id), dictionary, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    base = get_run(_run_id()).info.artifact_uri
    return f"{base.rstrip('/')}/{artifact_path.lstrip('/')}" if artifact_path else base


def search_runs(experiment_ids: list[str] | None = None, filter_string: str = "",
                run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                order_by: list[str] | None = None, output_format: str = "pandas",
                search_all_experiments: bool = False, experiment_names: list[str] | None = None):
    client = _client()
    if experiment_names:
        found = [client.get_experiment_by_name(n) for n in experiment_names]
        experiment_ids = [e.experiment_id for e in found if e is not None]
    elif not experiment_ids:
        if search_all_experiments:
            experiment_ids = [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
        else:
            experiment_ids = [_active_experiment_id()]
    runs = _all_pages(
        lambda token, n: client.search_runs(experiment_ids, filter_string, run_view_type, n, order_by, token),
        max_results,
        10000,
    )
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise InvalidParameterValue(f"Unsupported output_format '{output_format}' (use 'pandas' or 'list').")
    return _runs_frame(runs)


def _runs_frame(runs: list[Run]):
    import pandas as pd

    rows = []
    for run in runs:
        info = run.info
        row = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True) if info.start_time else None,
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else None,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- registry
def register_model(model_uri: str, name: str, await_registration_for: int = 300, *,
                   tags: dict[str, Any] | None = None) -> ModelVersion:
    """Register the model at ``model_uri`` (``runs:/``, ``models:/<model_id>``, or a path) as a new version."""
    client = _client()
    try:
        client.create_registered_model(name)
    except ResourceAlreadyExists:
        pass
    source, run_id, model_id = _registration_source(client, str(model_uri))
    return client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)


def _registration_source(client: PodiumClient, model_uri: str) -> tuple[str, str | None, str | None]:
    from podium.uris import parse_models_uri, parse_runs_uri

    if model_uri.startswith("models:/"):
        parsed = parse_models_uri(model_uri)
        if parsed.model_id:
            return model_uri, client.get_logged_model(parsed.model_id).source_run_id, parsed.model_id
        return model_uri, None, None
    if model_uri.startswith("runs:/"):
        parsed = parse_runs_uri(model_uri)
        run = client.get_run(parsed.run_id)
        if parsed.path and "/" not in parsed.path:
            found = client.search_logged_models(
                [run.info.experiment_id],
                filter_string=f"name = '{_quoted(parsed.path)}' AND source_run_id = '{_quoted(parsed.run_id)}'",
                max_results=1,
            )
            if found:
                return f"models:/{found[0].model_id}", parsed.run_id, found[0].model_id
        return model_uri, parsed.run_id, None
    return model_uri, None, None


def search_registered_models(max_results: int | None = None, filter_string: str | None = None,
                             order_by: list[str] | None = None) -> list:
    return _all_pages(
        lambda token, n: _client().search_registered_models(filter_string, n, order_by, token), max_results, 1000
    )


def search_model_versions(max_results: int | None = None, filter_string: str | None = None,
                          order_by: list[str] | None = None) -> list[ModelVersion]:
    return _all_pages(
        lambda token, n: _client().search_model_versions(filter_string, n, order_by, token), max_results, 10000
    )


# ---------------------------------------------------------------------------------- logged models
def get_logged_model(model_id: str) -> LoggedModel:
    return _client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    model_id = ctx.last_logged_model_id()
    return get_logged_model(model_id) if model_id else None


def log_model_params(params: dict[str, str], model_id: str | None = None) -> None:
    model_id = model_id or ctx.last_logged_model_id()
    if not model_id:
        raise InvalidParameterValue("No model_id given and no model has been logged in this session.")
    _client().log_model_params(model_id, params)


def search_logged_models(experiment_ids: list[str] | None = None, filter_string: str | None = None,
                         datasets=None, max_results: int | None = None, order_by=None,
                         output_format: str = "pandas"):
    ids = experiment_ids or [_active_experiment_id()]
    models = _all_pages(
        lambda token, n: _client().search_logged_models(ids, filter_string, None, n, order_by, token),
        max_results,
        1000,
    )
    if output_format == "list":
        return models
    import pandas as pd

    return pd.DataFrame(
        [
            {"model_id": m.model_id, "name": m.name, "experiment_id": m.experiment_id, "status": m.status,
             "source_run_id": m.source_run_id, "creation_timestamp": m.creation_timestamp,
             "artifact_location": m.artifact_location, **{f"params.{k}": v for k, v in m.params.items()},
             **{f"tags.{k}": v for k, v in m.tags.items()}}
            for m in models
        ]
    )


def _all_pages(fetch, max_results: int | None, page_size: int) -> list:
    """Follow page tokens until ``max_results`` items (all of them when None)."""
    items: list = []
    token = None
    while True:
        want = page_size if max_results is None else min(page_size, max_results - len(items))
        if want <= 0:
            return items
        page = fetch(token, want)
        items.extend(page)
        token = page.token
        if not token:
            return items


def _quoted(text: str) -> str:
    """A value safe inside a single-quoted filter literal."""
    return text.replace("'", "''")


def _source_name() -> str:
    import sys

    return os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
