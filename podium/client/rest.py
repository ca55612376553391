"""The registry and tracking operations over MLflow's REST API.

``RestRegistry`` and ``RestTracking`` have the same methods as the embedded services
(:class:`~podium.services.registry.RegistryService`, :class:`~podium.services.tracking.TrackingService`),
so :class:`~podium.client.client.PodiumClient` works the same against ``http://`` URIs. The server
validates; errors come back as the same exception classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from podium.client.http import HttpSession, session_for
from podium.domain.entities import (
    Experiment,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    ModelVersion,
    PagedList,
    RegisteredModel,
    Run,
    RunInfo,
    ViewType,
)
from podium.errors import ResourceAlreadyExists, ResourceDoesNotExist
from podium.wire import (
    experiment_from_wire,
    logged_model_from_wire,
    metric_from_wire,
    model_version_from_wire,
    registered_model_from_wire,
    run_from_wire,
    run_info_from_wire,
    tags_to_wire,
    to_wire_metric,
)

__all__ = ["RestBackend", "RestRegistry", "RestTracking"]


def _paged(items, body: dict) -> PagedList:
    return PagedList(items, body.get("next_page_token") or None)


def _version(version) -> str:
    return str(version)


class RestRegistry:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def _call(self, method: str, endpoint: str, body: dict | None = None) -> dict:
        return self.http.call(method, endpoint, body)

    # -- registered models
    def create_registered_model(self, name, tags=None, description=None, user_id=None) -> RegisteredModel:
        body = {"name": name, "tags": tags_to_wire(tags), "description": description}
        return registered_model_from_wire(self._call("POST", "registered-models/create", body)["registered_model"])

    def get_registered_model(self, name) -> RegisteredModel:
        return registered_model_from_wire(self._call("GET", "registered-models/get", {"name": name})["registered_model"])

    def rename_registered_model(self, name, new_name) -> RegisteredModel:
        body = self._call("POST", "registered-models/rename", {"name": name, "new_name": new_name})
        return registered_model_from_wire(body["registered_model"])

    def update_registered_model(self, name, description=None) -> RegisteredModel:
        body = self._call("PATCH", "registered-models/update", {"name": name, "description": description})
        return registered_model_from_wire(body["registered_model"])

    def delete_registered_model(self, name) -> None:
        self._call("DELETE", "registered-models/delete", {"name": name})

    def search_registered_models(self, filter_string=None, max_results=None, order_by=None, page_token=None) -> PagedList:
        body = self._call("GET", "registered-models/search", {
            "filter": filter_string, "max_results": max_results, "order_by": list(order_by or []),
            "page_token": page_token,
        })
        return _paged([registered_model_from_wire(m) for m in body.get("registered_models", [])], body)

    def get_latest_versions(self, name, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        body = self._call("POST", "registered-models/get-latest-versions", {"name": name, "stages": list(stages or [])})
        return [model_version_from_wire(v) for v in body.get("model_versions", [])]

    def set_registered_model_tag(self, name, key, value) -> None:
        self._call("POST", "registered-models/set-tag", {"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name, key) -> None:
        self._call("DELETE", "registered-models/delete-tag", {"name": name, "key": key})

    # -- model versions
    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None, description=None,
                             model_id=None, user_id=None) -> ModelVersion:
        body = {"name": name, "source": source, "run_id": run_id, "tags": tags_to_wire(tags), "run_link": run_link,
                "description": description, "model_id": model_id}
        return model_version_from_wire(self._call("POST", "model-versions/create", body)["model_version"])

    def get_model_version(self, name, version) -> ModelVersion:
        body = self._call("GET", "model-versions/get", {"name": name, "version": _version(version)})
        return model_version_from_wire(body["model_version"])

    def update_model_version(self, name, version, description=None) -> ModelVersion:
        body = self._call("PATCH", "model-versions/update",
                          {"name": name, "version": _version(version), "description": description})
        return model_version_from_wire(body["model_version"])

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions=False) -> ModelVersion:
        return self.transition_model_version_stage_with_warnings(name, version, stage, archive_existing_versions)[0]

    def transition_model_version_stage_with_warnings(self, name, version, stage, archive_existing_versions=False):
        """The transition and the server's ``warnings`` (none from an MLflow server)."""
        body = self._call("POST", "model-versions/transition-stage", {
            "name": name, "version": _version(version), "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions),
        })
        return model_version_from_wire(body["model_version"]), list(body.get("warnings") or [])

    def delete_model_version(self, name, version) -> None:
        self._call("DELETE", "model-versions/delete", {"name": name, "version": _version(version)})

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None, page_token=None) -> PagedList:
        body = self._call("GET", "model-versions/search", {
            "filter": filter_string, "max_results": max_results, "order_by": list(order_by or []),
            "page_token": page_token,
        })
        return _paged([model_version_from_wire(v) for v in body.get("model_versions", [])], body)

    def get_model_version_download_uri(self, name, version) -> str:
        body = self._call("GET", "model-versions/get-download-uri", {"name": name, "version": _version(version)})
        return body["artifact_uri"]

    def set_model_version_tag(self, name, version, key, value) -> None:
        self._call("POST", "model-versions/set-tag",
                   {"name": name, "version": _version(version), "key": key, "value": value})

    def delete_model_version_tag(self, name, version, key) -> None:
        self._call("DELETE", "model-versions/delete-tag", {"name": name, "version": _version(version), "key": key})

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        from podium.uris import parse_models_uri

        parsed = parse_models_uri(src_model_uri)
        if parsed.alias:
            src = self.get_model_version_by_alias(parsed.name, parsed.alias)
        elif parsed.version is not None:
            src = self.get_model_version(parsed.name, parsed.version)
        else:
            found = self.get_latest_versions(parsed.name, [parsed.stage] if parsed.stage else None)
            if not found:
                raise ResourceDoesNotExist(f"No versions of model '{parsed.name}' match '{src_model_uri}'")
            src = max(found, key=lambda v: v.version)
        try:
            self.create_registered_model(dst_name)
        except ResourceAlreadyExists:
            pass
        return self.create_model_version(dst_name, f"models:/{src.name}/{src.version}", run_id=src.run_id,
                                         tags=src.tags, run_link=src.run_link, description=src.description)

    # -- aliases
    def set_registered_model_alias(self, name, alias, version) -> None:
        self._call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": _version(version)})

    def delete_registered_model_alias(self, name, alias) -> None:
        self._call("DELETE", "registered-models/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name, alias) -> ModelVersion:
        body = self._call("GET", "registered-models/alias", {"name": name, "alias": alias})
        return model_version_from_wire(body["model_version"])


class RestTracking:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def _call(self, method: str, endpoint: str, body: dict | None = None) -> dict:
        return self.http.call(method, endpoint, body)

    # -- experiments
    def create_experiment(self, name, artifact_location=None, tags=None) -> str:
        body = {"name": name, "artifact_location": artifact_location, "tags": tags_to_wire(tags)}
        return str(self._call("POST", "experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id) -> Experiment:
        return experiment_from_wire(self._call("GET", "experiments/get", {"experiment_id": str(experiment_id)})["experiment"])

    def get_experiment_by_name(self, name) -> Experiment | None:
        try:
            body = self._call("GET", "experiments/get-by-name", {"experiment_name": name})
        except ResourceDoesNotExist:
            return None
        return experiment_from_wire(body["experiment"])

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=None, filter_string=None,
                           order_by=None, page_token=None) -> PagedList:
        body = self._call("POST", "experiments/search", {
            "view_type": ViewType.to_string(ViewType.from_any(view_type)), "max_results": max_results,
            "filter": filter_string, "order_by": list(order_by or []), "page_token": page_token,
        })
        return _paged([experiment_from_wire(e) for e in body.get("experiments", [])], body)

    def delete_experiment(self, experiment_id) -> None:
        self._call("POST", "experiments/delete", {"experiment_id": str(experiment_id)})

    def restore_experiment(self, experiment_id) -> None:
        self._call("POST", "experiments/restore", {"experiment_id": str(experiment_id)})

    def rename_experiment(self, experiment_id, new_name) -> None:
        self._call("POST", "experiments/update", {"experiment_id": str(experiment_id), "new_name": new_name})

    def set_experiment_tag(self, experiment_id, key, value) -> None:
        self._call("POST", "experiments/set-experiment-tag", {"experiment_id": str(experiment_id), "key": key, "value": value})

    def delete_experiment_tag(self, experiment_id, key) -> None:
        self._call("POST", "experiments/delete-experiment-tag", {"experiment_id": str(experiment_id), "key": key})

    # -- runs
    def create_run(self, experiment_id, user_id=None, start_time=None, tags=None, run_name=None) -> Run:
        body = {"experiment_id": str(experiment_id), "user_id": user_id, "start_time": start_time,
                "tags": tags_to_wire(tags), "run_name": run_name}
        return run_from_wire(self._call("POST", "runs/create", body)["run"])

    def get_run(self, run_id) -> Run:
        return run_from_wire(self._call("GET", "runs/get", {"run_id": run_id})["run"])

    def update_run_info(self, run_id, status=None, end_time=None, run_name=None) -> RunInfo:
        body = self._call("POST", "runs/update",
                          {"run_id": run_id, "status": status, "end_time": end_time, "run_name": run_name})
        return run_info_from_wire(body["run_info"])

    def delete_run(self, run_id) -> None:
        self._call("POST", "runs/delete", {"run_id": run_id})

    def restore_run(self, run_id) -> None:
        self._call("POST", "runs/restore", {"run_id": run_id})

    def log_batch(self, run_id, metrics: Sequence[Metric] = (), params=(), tags=()) -> None:
        self._call("POST", "runs/log-batch", {
            "run_id": run_id,
            "metrics": [to_wire_metric(m) for m in metrics],
            "params": [{"key": k, "value": v} for k, v in params],
            "tags": [{"key": k, "value": v} for k, v in tags],
        })

    def delete_tag(self, run_id, key) -> None:
        self._call("POST", "runs/delete-tag", {"run_id": run_id, "key": key})

    def get_metric_history(self, run_id, key, max_results=None, page_token=None) -> PagedList:
        body = self._call("GET", "metrics/get-history", {"run_id": run_id, "metric_key": key,
                                                          "max_results": max_results, "page_token": page_token})
        return _paged([metric_from_wire(m) for m in body.get("metrics", [])], body)

    def search_runs(self, experiment_ids, filter_string=None, run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=None, order_by=None, page_token=None) -> PagedList:
        body = self._call("POST", "runs/search", {
            "experiment_ids": [str(e) for e in experiment_ids or []], "filter": filter_string,
            "run_view_type": ViewType.to_string(ViewType.from_any(run_view_type)), "max_results": max_results,
            "order_by": list(order_by or []), "page_token": page_token,
        })
        return _paged([run_from_wire(r) for r in body.get("runs", [])], body)

    def log_outputs(self, run_id, models: Sequence[LoggedModelOutput]) -> None:
        self._call("POST", "runs/outputs", {"run_id": run_id, "models": [{"model_id": m.model_id, "step": m.step}
                                                                         for m in models]})

    def log_inputs(self, run_id, datasets=(), models=()) -> None:
        self._call("POST", "runs/log-inputs", {"run_id": run_id, "datasets": list(datasets or ()),
                                               "models": list(models or ())})

    # -- logged models
    def create_logged_model(self, experiment_id, name=None, source_run_id=None, tags=None, params=None,
                            model_type=None) -> LoggedModel:
        body = {"experiment_id": str(experiment_id), "name": name, "source_run_id": source_run_id,
                "tags": tags_to_wire(tags), "params": tags_to_wire(params), "model_type": model_type}
        return logged_model_from_wire(self._call("POST", "logged-models", body)["model"])

    def get_logged_model(self, model_id) -> LoggedModel:
        return logged_model_from_wire(self._call("GET", f"logged-models/{quote(model_id, safe='')}")["model"])

    def finalize_logged_model(self, model_id, status) -> LoggedModel:
        status = {"READY": "LOGGED_MODEL_READY", "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}.get(status, status)
        body = self._call("PATCH", f"logged-models/{quote(model_id, safe='')}", {"model_id": model_id, "status": status})
        return logged_model_from_wire(body["model"])

    def set_logged_model_tags(self, model_id, tags) -> LoggedModel:
        body = self._call("PATCH", f"logged-models/{quote(model_id, safe='')}/tags", {"tags": tags_to_wire(tags)})
        return logged_model_from_wire(body["model"]) if "model" in body else self.get_logged_model(model_id)

    def delete_logged_model_tag(self, model_id, key) -> None:
        self._call("DELETE", f"logged-models/{quote(model_id, safe='')}/tags/{quote(key, safe='')}")

    def log_model_params(self, model_id, params) -> None:
        self._call("POST", f"logged-models/{quote(model_id, safe='')}/params",
                   {"model_id": model_id, "params": tags_to_wire(params)})

    def delete_logged_model(self, model_id) -> None:
        self._call("DELETE", f"logged-models/{quote(model_id, safe='')}")

    def search_logged_models(self, experiment_ids, filter_string=None, max_results=None, order_by=None,
                             page_token=None) -> PagedList:
        body = self._call("POST", "logged-models/search", {
            "experiment_ids": [str(e) for e in experiment_ids or []], "filter": filter_string,
            "max_results": max_results, "order_by": [_order_dict(o) for o in order_by or []],
            "page_token": page_token,
        })
        return _paged([logged_model_from_wire(m) for m in body.get("models", [])], body)


def _order_dict(item) -> dict:
    if isinstance(item, dict):
        return item
    field, _, direction = str(item).strip().partition(" ")
    return {"field_name": field, "ascending": direction.strip().upper() != "DESC"}


class RestBackend:
    """Tracking and registry over one server URL (one shared connection pool)."""

    def __init__(self, base_url: str) -> None:
        self.session = session_for(base_url)
        self.tracking = RestTracking(self.session)
        self.registry = RestRegistry(self.session)
        from podium.client.rest_access import RestAccess

        self.access = RestAccess(self.session)
