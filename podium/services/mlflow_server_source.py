"""``MlflowServerSource``: an MLflow server read over its REST API (``podium import-mlflow http(s)://…``).

For teams without access to MLflow's database. Built by :mod:`podium.compose` over the REST
tracking and registry of a remote backend (the same MLflow REST calls the mlflow client makes), it
produces the portable records of :mod:`podium.domain.portable`, like the database source:
experiments and runs of every lifecycle (``ViewType.ALL``), each run's full metric history
(``metrics/get-history``, paged), logged models, registered models and their versions.

What the REST API does not show, and so does not move this way (the database source has it): a run's
``deleted_time``, deleted logged models, and versions deleted in MLflow. Gaps between version numbers
are kept (the numbers are), but a deleted *last* version is unknown, so the next version registered
in Podium may take its number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from podium.domain.entities import ViewType
from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    model_id_of_source,
)

__all__ = ["MlflowServerSource"]

_PAGE = 1000
_HISTORY_PAGE = 25000


def _all_pages(fetch) -> Iterator[Any]:
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


class MlflowServerSource:
    """Records from an MLflow server: ``tracking`` and ``registry`` speak its REST API."""

    def __init__(self, tracking, registry, description: str) -> None:
        self.tracking = tracking
        self.registry = registry
        self.description = description

    def close(self) -> None:
        pass

    def experiments(self, only: Sequence[str] = ()) -> list[ExperimentRecord]:
        wanted = set(only)
        found = _all_pages(lambda token: self.tracking.search_experiments(
            view_type=ViewType.ALL, max_results=_PAGE, filter_string=None, order_by=None, page_token=token))
        out = [ExperimentRecord(str(e.experiment_id), e.name, e.artifact_location or "", e.lifecycle_stage or "active",
                                e.creation_time, e.last_update_time, dict(e.tags or {}))
               for e in found if not wanted or e.name in wanted or str(e.experiment_id) in wanted]
        return sorted(out, key=lambda e: int(e.experiment_id))

    def count_runs(self, experiment_ids: Sequence[str]) -> int | None:
        return None  # the REST API has no count: the progress bar has no total

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        found = _all_pages(lambda token: self.tracking.search_runs(
            [experiment_id], filter_string=None, run_view_type=ViewType.ALL, max_results=_PAGE, order_by=None,
            page_token=token))
        for run in found:
            info, data = run.info, run.data
            points: list[MetricPoint] = []
            for key in sorted(data.metrics):
                history = _all_pages(lambda token, key=key: self.tracking.get_metric_history(
                    info.run_id, key, max_results=_HISTORY_PAGE, page_token=token))
                points += [MetricPoint(m.key, m.value, m.timestamp, m.step or 0, m.model_id, None, m.dataset_name,
                                       m.dataset_digest) for m in history]
            outputs = run.outputs.model_outputs if run.outputs else ()
            yield RunRecord(
                run_id=info.run_id, experiment_id=str(info.experiment_id), run_name=info.run_name or None,
                user_id=info.user_id or None, status=info.status, start_time=info.start_time,
                end_time=info.end_time, artifact_uri=info.artifact_uri, lifecycle_stage=info.lifecycle_stage,
                params=dict(data.params), tags=dict(data.tags), metrics=tuple(points),
                datasets=tuple(dict(d) for d in run.inputs.dataset_inputs),
                model_inputs=tuple(dict(m) for m in run.inputs.model_inputs),
                model_outputs=tuple((o.model_id, o.step) for o in outputs),
            )

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]:
        found = _all_pages(lambda token: self.tracking.search_logged_models(
            [experiment_id], max_results=100, page_token=token))
        for m in sorted(found, key=lambda m: m.model_id):
            yield LoggedModelRecord(
                model_id=m.model_id, experiment_id=str(m.experiment_id), name=m.name,
                artifact_location=m.artifact_location, creation_timestamp=m.creation_timestamp,
                last_updated_timestamp=m.last_updated_timestamp, status=m.status, status_message=m.status_message,
                model_type=m.model_type, source_run_id=m.source_run_id, tags=dict(m.tags), params=dict(m.params),
                metrics=tuple(MetricPoint(x.key, x.value, x.timestamp, x.step or 0, None, x.run_id, x.dataset_name,
                                          x.dataset_digest) for x in m.metrics))

    def registered_models(self, only: Sequence[str] = ()) -> list[RegisteredModelRecord]:
        wanted = set(only)
        found = _all_pages(lambda token: self.registry.search_registered_models(
            filter_string=None, max_results=_PAGE, order_by=None, page_token=token))
        out = []
        for m in found:
            if wanted and m.name not in wanted:
                continue
            versions = self.model_versions(m.name)
            out.append(RegisteredModelRecord(
                name=m.name, creation_timestamp=m.creation_timestamp, last_updated_timestamp=m.last_updated_timestamp,
                description=m.description or None, user_id=m.user_id or None,
                last_version=max((v.version for v in versions), default=0), tags=dict(m.tags),
                aliases={a: int(v) for a, v in dict(m.aliases).items()}))
        return sorted(out, key=lambda m: m.name)

    def model_versions(self, name: str) -> list[ModelVersionRecord]:
        quoted = name.replace("'", "\\'")
        found = _all_pages(lambda token: self.registry.search_model_versions(
            filter_string=f"name='{quoted}'", max_results=_PAGE, order_by=None, page_token=token))
        out = [ModelVersionRecord(
            name=v.name, version=int(v.version), creation_timestamp=v.creation_timestamp,
            last_updated_timestamp=v.last_updated_timestamp, current_stage=v.current_stage or "None",
            description=v.description or None, user_id=v.user_id or None, source=v.source, run_id=v.run_id or None,
            model_id=v.model_id or model_id_of_source(v.source), run_link=v.run_link or None, status=v.status or "READY",
            status_message=v.status_message or None, storage_location=v.storage_location or None,
            tags=dict(v.tags)) for v in found if v.name == name]
        return sorted(out, key=lambda v: v.version)

    def model_events(self, name: str) -> None:
        return None

    def version_manifest_digest(self, name: str, version: int) -> None:
        return None

