"""Tracking use cases: experiments, runs, metrics and logged models, validated before storing."""

from __future__ import annotations

import time
from collections.abc import Sequence

from podium.auth.actor import recorded_user_id
from podium.domain import rules
from podium.domain.entities import (
    Experiment,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Run,
    RunInfo,
    ViewType,
)
from podium.domain.paging import validate_max_results
from podium.domain.search import parse_order_by
from podium.errors import InvalidParameterValue
from podium.store.base import TrackingStore

__all__ = ["TrackingService"]

MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100


def _now_ms() -> int:
    return int(time.time() * 1000)


def _pairs(items, limit_name: str, limit: int, value_limit: int) -> list[tuple[str, str]]:
    pairs = [
        (rules.validate_key(getattr(i, "key", None) if not isinstance(i, tuple) else i[0]),
         rules.validate_tag_value(getattr(i, "value", None) if not isinstance(i, tuple) else i[1], limit=value_limit))
        for i in items
    ]
    if len(pairs) > limit:
        raise InvalidParameterValue(f"A batch logging request can contain at most {limit} {limit_name}. Got {len(pairs)}.")
    return pairs


def _str_dict(values, limit: int = rules.MAX_REGISTRY_TAG_VALUE_LENGTH) -> dict[str, str]:
    return {rules.validate_key(k): rules.validate_tag_value(v, limit=limit) for k, v in (values or {}).items()}


class TrackingService:
    def __init__(self, store: TrackingStore) -> None:
        self.store = store

    # -- experiments
    def create_experiment(self, name, artifact_location=None, tags=None) -> str:
        return self.store.create_experiment(rules.validate_experiment_name(name), artifact_location or None,
                                            _str_dict(tags, rules.MAX_EXPERIMENT_TAG_VALUE_LENGTH))

    def get_experiment(self, experiment_id) -> Experiment:
        return self.store.get_experiment(str(rules.require(experiment_id, "experiment_id")))

    def get_experiment_by_name(self, name) -> Experiment | None:
        return self.store.get_experiment_by_name(rules.require(name, "experiment_name"))

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=None, filter_string=None,
                           order_by=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=1000, limit=50000)
        return self.store.search_experiments(ViewType.from_any(view_type), limit, filter_string, order_by, page_token)

    def delete_experiment(self, experiment_id) -> None:
        self.store.delete_experiment(str(rules.require(experiment_id, "experiment_id")))

    def restore_experiment(self, experiment_id) -> None:
        self.store.restore_experiment(str(rules.require(experiment_id, "experiment_id")))

    def rename_experiment(self, experiment_id, new_name) -> None:
        self.store.rename_experiment(str(rules.require(experiment_id, "experiment_id")),
                                     rules.validate_experiment_name(new_name))

    def set_experiment_tag(self, experiment_id, key, value) -> None:
        self.store.set_experiment_tag(str(rules.require(experiment_id, "experiment_id")),
                                      rules.validate_key(key),
                                      rules.validate_tag_value(value, limit=rules.MAX_EXPERIMENT_TAG_VALUE_LENGTH))

    def delete_experiment_tag(self, experiment_id, key) -> None:
        self.store.delete_experiment_tag(str(rules.require(experiment_id, "experiment_id")), rules.validate_key(key))

    # -- runs
    def create_run(self, experiment_id, user_id=None, start_time=None, tags=None, run_name=None) -> Run:
        tags = _str_dict(tags, rules.MAX_TAG_VALUE_LENGTH)
        recorded = recorded_user_id(user_id)  # the authenticated actor when there is one, not the request's
        if recorded != user_id and "mlflow.user" in tags:
            tags["mlflow.user"] = recorded
        return self.store.create_run(str(rules.require(experiment_id, "experiment_id")), recorded,
                                     rules.validate_int64(start_time, "start_time"), tags, run_name or None)

    def get_run(self, run_id) -> Run:
        return self.store.get_run(rules.require(run_id, "run_id"))

    def get_latest_metrics(self, run_ids) -> dict[str, dict[str, float]]:
        """The latest metric values of many runs at once (``{run_id: {key: value}}``; unknown runs left out)."""
        return self.store.get_latest_metrics([str(r) for r in run_ids if r])

    def update_run_info(self, run_id, status=None, end_time=None, run_name=None) -> RunInfo:
        return self.store.update_run_info(rules.require(run_id, "run_id"), status,
                                          rules.validate_int64(end_time, "end_time"), run_name)

    def delete_run(self, run_id) -> None:
        self.store.delete_run(rules.require(run_id, "run_id"))

    def restore_run(self, run_id) -> None:
        self.store.restore_run(rules.require(run_id, "run_id"))

    def log_batch(self, run_id, metrics: Sequence[Metric] = (), params=(), tags=()) -> None:
        rules.require(run_id, "run_id")
        if len(metrics) > MAX_BATCH_METRICS:
            raise InvalidParameterValue(
                f"A batch logging request can contain at most {MAX_BATCH_METRICS} metrics. Got {len(metrics)}."
            )
        checked = [
            Metric(
                key=rules.validate_key(m.key),
                value=rules.validate_metric_value(m.key, m.value),
                timestamp=rules.validate_int64(m.timestamp, "timestamp", default=_now_ms()),
                step=rules.validate_int64(m.step, "step", default=0),
                model_id=m.model_id or None,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
            )
            for m in metrics
        ]
        self.store.log_batch(
            run_id,
            checked,
            _pairs(params, "params", MAX_BATCH_PARAMS, rules.MAX_PARAM_VALUE_LENGTH),
            _pairs(tags, "tags", MAX_BATCH_TAGS, rules.MAX_TAG_VALUE_LENGTH),
        )

    def delete_tag(self, run_id, key) -> None:
        self.store.delete_tag(rules.require(run_id, "run_id"), rules.validate_key(key))

    def get_metric_history(self, run_id, key, max_results=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=25000, limit=25000) if max_results else None
        return self.store.get_metric_history(rules.require(run_id, "run_id"), rules.require(key, "metric_key"),
                                             limit, page_token)

    def search_runs(self, experiment_ids, filter_string=None, run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=None, order_by=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=1000, limit=50000)
        return self.store.search_runs([str(e) for e in experiment_ids or []], filter_string,
                                      ViewType.from_any(run_view_type), limit, order_by, page_token)

    def log_outputs(self, run_id, models: Sequence[LoggedModelOutput]) -> None:
        outputs = [LoggedModelOutput(rules.require(m.model_id, "model_id"), rules.validate_int64(m.step, "step", default=0))
                   for m in models]
        self.store.log_outputs(rules.require(run_id, "run_id"), outputs)

    def log_inputs(self, run_id, datasets=(), models=()) -> None:
        self.store.log_inputs(rules.require(run_id, "run_id"), list(datasets or ()), list(models or ()))

    # -- logged models
    def create_logged_model(self, experiment_id, name=None, source_run_id=None, tags=None, params=None,
                            model_type=None) -> LoggedModel:
        if name:
            rules.validate_model_name(name)
        if model_type and len(model_type) > rules.MAX_NAME_LENGTH:
            raise InvalidParameterValue(f"'model_type' may be at most {rules.MAX_NAME_LENGTH} characters long.")
        return self.store.create_logged_model(str(rules.require(experiment_id, "experiment_id")), name or None,
                                              source_run_id or None, _str_dict(tags),
                                              _str_dict(params, rules.MAX_PARAM_VALUE_LENGTH),
                                              model_type or None)

    def get_logged_model(self, model_id) -> LoggedModel:
        return self.store.get_logged_model(rules.require(model_id, "model_id"))

    def finalize_logged_model(self, model_id, status) -> LoggedModel:
        status = {"READY": LoggedModelStatus.READY, "FAILED": LoggedModelStatus.FAILED}.get(status, status)
        return self.store.finalize_logged_model(rules.require(model_id, "model_id"), status)

    def set_logged_model_tags(self, model_id, tags) -> LoggedModel:
        return self.store.set_logged_model_tags(rules.require(model_id, "model_id"), _str_dict(tags))

    def delete_logged_model_tag(self, model_id, key) -> None:
        self.store.delete_logged_model_tag(rules.require(model_id, "model_id"), rules.validate_key(key))

    def log_model_params(self, model_id, params) -> None:
        self.store.log_model_params(rules.require(model_id, "model_id"), _str_dict(params, rules.MAX_PARAM_VALUE_LENGTH))

    def delete_logged_model(self, model_id) -> None:
        self.store.delete_logged_model(rules.require(model_id, "model_id"))

    def search_logged_models(self, experiment_ids, filter_string=None, max_results=None, order_by=None,
                             page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=100, limit=50000)
        keys = _logged_model_order(order_by)
        return self.store.search_logged_models([str(e) for e in experiment_ids or []], filter_string, limit,
                                               keys, page_token)


def _logged_model_order(order_by) -> list:
    """MLflow passes logged-model ordering as dicts ``{field_name, ascending}``; accept strings too."""
    clauses = []
    for item in order_by or []:
        if isinstance(item, dict):
            field = item.get("field_name")
            clauses.append(f"{field} {'ASC' if item.get('ascending', True) else 'DESC'}")
        else:
            clauses.append(str(item))
    return parse_order_by(clauses, "logged_models")
