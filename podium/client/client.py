"""``PodiumClient`` (alias ``MlflowClient``): MLflow's client API over any Podium backend.

The same methods, arguments and return types as ``mlflow.MlflowClient`` for the registry, runs,
experiments, metrics, logged models and artifacts. Where the data lives is decided by the tracking
URI (see :mod:`podium.compose`): the embedded SQL store or a server over HTTP; this class does
not care which.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podium.domain.entities import (
    Experiment,
    FileInfo,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    ModelVersion,
    PagedList,
    Param,
    RegisteredModel,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from podium.auth.entities import ModelGrant, ModelPolicy
from podium.errors import ArchivedAliasWarning, InvalidParameterValue, ResourceDoesNotExist
from podium.domain.events import RegistryEvent

__all__ = ["MlflowClient", "PodiumClient"]

_STAGE_WARNING = (
    "{} is deprecated in MLflow since 2.9.0 and kept working in Podium. Model registry stages "
    "can be replaced by aliases (set_registered_model_alias)."
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


class PodiumClient:
    """A client for a Podium registry and tracking store (MLflow's ``MlflowClient`` API)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        from podium import tracking_context

        self._tracking_uri = tracking_uri or tracking_context.get_tracking_uri()
        self._registry_uri = registry_uri or tracking_context.get_registry_uri() or self._tracking_uri
        self._backend = None
        self._registry_backend = None

    # The backend is built on first use, so constructing a client is free.
    @property
    def _tracking(self):
        if self._backend is None:
            from podium.compose import backend_for

            self._backend = backend_for(self._tracking_uri)
        return self._backend.tracking

    @property
    def _registry(self):
        if self._registry_backend is None:
            from podium.compose import backend_for

            self._registry_backend = backend_for(self._registry_uri)
        return self._registry_backend.registry

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    # ================================================================== registered models
    def create_registered_model(self, name: str, tags: dict[str, Any] | None = None,
                                description: str | None = None, deployment_job_id: str | None = None) -> RegisteredModel:
        return self._registry.create_registered_model(name, _str_tags(tags), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        return self._registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self._registry.delete_registered_model(name)

    def search_registered_models(self, filter_string: str | None = None, max_results: int = 100,
                                 order_by: list[str] | None = None, page_token: str | None = None) -> PagedList:
        return self._registry.search_registered_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        warnings.warn(_STAGE_WARNING.format("get_latest_versions"), FutureWarning, stacklevel=2)
        return self._registry.get_latest_versions(name, stages)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry.set_registered_model_tag(name, key, _str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry.delete_registered_model_tag(name, key)

    # ================================================================== model versions
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: dict[str, Any] | None = None, run_link: str | None = None,
                             description: str | None = None, await_creation_for: int = 300,
                             model_id: str | None = None) -> ModelVersion:
        source = str(source)
        if model_id is None and source.startswith("models:/"):
            from podium.uris import parse_models_uri

            model_id = parse_models_uri(source).model_id
        return self._registry.create_model_version(name, source, run_id, _str_tags(tags), run_link,
                                                   description, model_id)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._registry.get_model_version(name, version)

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        return self._registry.update_model_version(name, version, description)

    def transition_model_version_stage(self, name: str, version: str | int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        """Move a version to a stage; warns (:class:`~podium.errors.ArchivedAliasWarning`) for each
        alias left on a version the transition archived."""
        warnings.warn(_STAGE_WARNING.format("transition_model_version_stage"), FutureWarning, stacklevel=2)
        updated, notes = self._registry.transition_model_version_stage_with_warnings(
            name, version, stage, archive_existing_versions)
        for note in notes:
            warnings.warn(note, ArchivedAliasWarning, stacklevel=2)
        return updated

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry.delete_model_version(name, version)

    def search_model_versions(self, filter_string: str | None = None, max_results: int = 10000,
                              order_by: list[str] | None = None, page_token: str | None = None) -> PagedList:
        return self._registry.search_model_versions(filter_string, max_results, order_by, page_token)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self._registry.get_model_version_download_uri(name, version)

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        from podium.domain.entities import STAGES

        return list(STAGES)

    def set_model_version_tag(self, name: str, version: str | int | None = None, key: str | None = None,
                              value: Any = None, stage: str | None = None) -> None:
        version = self._version_or_stage(name, version, stage)
        self._registry.set_model_version_tag(name, version, key, _str(value))

    def delete_model_version_tag(self, name: str, version: str | int | None = None, key: str | None = None,
                                 stage: str | None = None) -> None:
        version = self._version_or_stage(name, version, stage)
        self._registry.delete_model_version_tag(name, version, key)

    def _version_or_stage(self, name: str, version, stage) -> Any:
        if (version is None) == (stage is None):
            raise InvalidParameterValue("Exactly one of 'version' and 'stage' must be given.")
        if stage is None:
            return version
        latest = self._registry.get_latest_versions(name, [stage])
        if not latest:
            raise ResourceDoesNotExist(f"No versions of model with name '{name}' and stage '{stage}' found")
        return latest[0].version

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        return self._registry.copy_model_version(src_model_uri, dst_name)

    # ================================================================== aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry.get_model_version_by_alias(name, alias)

    # ================================================================== access (Podium only)
    @property
    def _access(self):
        self._registry  # noqa: B018 - builds the registry backend
        return self._registry_backend.access

    def whoami(self) -> dict | None:
        """Who this client acts as: ``{"name", "is_admin", "via", "groups"}``; ``via`` is ``local``
        on an embedded store (the OS user), ``password`` or ``token`` on a server with ``--auth``;
        ``None`` on a server without ``--auth`` (anonymous)."""
        return self._access.whoami()

    def get_model_grants(self, name: str) -> list[ModelGrant]:
        """Who has ``read``, ``edit`` or ``manage`` on registered model ``name`` (users and groups)."""
        return self._access.get_model_grants(name)

    def set_model_grant(self, name: str, permission: str, user: str | None = None,
                        group: str | None = None) -> ModelGrant:
        """Give ``user`` or ``group`` ``permission`` (read, edit, manage) on ``name``, replacing theirs."""
        return self._access.set_model_grant(name, permission, user, group)

    def delete_model_grant(self, name: str, user: str | None = None, group: str | None = None) -> None:
        """Remove the grant of ``user`` or ``group`` on ``name`` (the default role then applies)."""
        self._access.delete_model_grant(name, user, group)

    def get_model_policy(self, name: str) -> ModelPolicy:
        """The protected stages and aliases of ``name`` and who may move them."""
        return self._access.get_model_policy(name)

    def set_model_policy(self, name: str, protected_stages: Sequence[str] = (), protected_aliases: Sequence[str] = (),
                         require_role: str = "manage", requires_approval: bool = False,
                         required_approvals: int | None = None, approvers: Sequence[str] = (),
                         gates: Sequence[str] = ()) -> ModelPolicy:
        """Replace the policy of ``name``: only ``require_role`` (manage or admin) may move these stages
        and aliases, or, with ``requires_approval``, only an approved request with
        ``required_approvals`` (default 1) approvals from ``approvers`` (``user:NAME``,
        ``group:NAME``, ``role:manage``, ``role:admin``; default ``role:manage``) that passes
        ``gates`` (e.g. ``"metrics.accuracy >= 0.9"``, ``"metrics.rmse <= current"``, ``"signature"``)."""
        if required_approvals is None and not approvers and not gates:  # also works against older servers
            return self._access.set_model_policy(name, protected_stages, protected_aliases, require_role,
                                                 requires_approval)
        return self._access.set_model_policy(name, protected_stages, protected_aliases, require_role,
                                             requires_approval, required_approvals, list(approvers), list(gates))

    # ================================================================== approvals (Podium only)
    @property
    def _approvals(self):
        self._registry  # noqa: B018 - builds the registry backend
        return self._registry_backend.approvals

    def request_model_version(self, name: str, version: str | int, stage: str | None = None,
                              alias: str | None = None, comment: str | None = None):
        """Request that ``version`` of ``name`` move into ``stage`` or onto ``alias`` (give one), when the
        model's policy protects it with ``requires_approval``. The policy's gates are checked now
        (``INVALID_STATE`` when one fails). Returns the pending
        :class:`~podium.domain.approvals.ApprovalRequest`."""
        return self._approvals.request_model_version(name, version, stage, alias, comment)

    def approve_request(self, request_id: int | str, comment: str | None = None):
        """Approve a pending request; the last required approval re-checks the gates and applies the
        move atomically (the returned request's ``status`` is then ``applied``)."""
        return self._approvals.approve_request(request_id, comment)

    def reject_request(self, request_id: int | str, comment: str | None = None):
        """Reject a pending request (an approver), or cancel it (its requester)."""
        return self._approvals.reject_request(request_id, comment)

    def get_request(self, request_id: int | str):
        """One approval request, with its approvals."""
        return self._approvals.get_request(request_id)

    def list_requests(self, name: str, status: str | None = None) -> list:
        """The approval requests of model ``name``, newest first (``status``: pending, applied,
        rejected or cancelled)."""
        return self._approvals.list_requests(name, status)

    # ================================================================== webhooks (MLflow's names; delivery log: Podium)
    @property
    def _webhooks(self):
        self._registry  # noqa: B018 - builds the registry backend
        return self._registry_backend.webhooks

    def create_webhook(self, name: str, url: str, events: Sequence, description: str | None = None,
                       secret: str | None = None, status: str | None = None, *, standard_webhooks: bool = False):
        """A webhook receiving ``events`` (``"model_version.created"``, ... see docs/webhooks.md); the
        secret signs each delivery (``X-MLflow-Signature``) and is never returned."""
        return self._webhooks.create_webhook(name, url, events, description, secret, status, standard_webhooks)

    def get_webhook(self, webhook_id: str):
        return self._webhooks.get_webhook(webhook_id)

    def list_webhooks(self, max_results: int | None = None, page_token: str | None = None):
        return self._webhooks.list_webhooks(max_results, page_token)

    def update_webhook(self, webhook_id: str, name: str | None = None, description: str | None = None,
                       url: str | None = None, events: Sequence | None = None, secret: str | None = None,
                       status: str | None = None, *, standard_webhooks: bool | None = None):
        return self._webhooks.update_webhook(webhook_id, name, description, url, events, secret, status,
                                             standard_webhooks)

    def delete_webhook(self, webhook_id: str) -> None:
        self._webhooks.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id: str, event: str | None = None) -> dict:
        """Send an example ``event`` (default: the webhook's first) now: ``{"success", "response_status", ...}``."""
        return self._webhooks.test_webhook(webhook_id, event)

    def list_webhook_deliveries(self, webhook_id: str, status: str | None = None, max_results: int | None = None,
                                page_token: str | None = None):
        """The webhook's deliveries, newest first (status, attempts, response code, latency, next retry)."""
        return self._webhooks.list_deliveries(webhook_id, status, max_results, page_token)

    def get_webhook_delivery(self, delivery_id: str):
        return self._webhooks.get_delivery(delivery_id)

    def redeliver_webhook_delivery(self, delivery_id: str):
        """Send a delivery again now, with the same delivery id and body."""
        return self._webhooks.redeliver(delivery_id)

    # ================================================================== integrity and compare (Podium only)
    @property
    def _integrity(self):
        self._registry  # noqa: B018 - builds the registry backend
        return self._registry_backend.integrity

    def get_model_version_manifest(self, name: str, version: str | int):
        """The SHA-256 manifest of the version's files recorded at registration
        (:class:`~podium.domain.manifests.Manifest`), or None if it has none."""
        return self._integrity.get_model_version_manifest(name, version)

    def verify_model_version(self, name: str, version: str | int, *, raise_on_failure: bool = True) -> dict:
        """Re-read the version's stored files and compare them with its manifest; returns the report.

        Raises ``IntegrityCheckFailed`` (``DATA_LOSS``) naming the first file that is missing,
        truncated, modified or added, and ``INVALID_STATE`` when the version has no manifest (unless
        ``raise_on_failure=False``: then the report's ``status`` says so).
        """
        from podium.model_integrity import raise_for_report

        report = self._integrity.verify_model_version(name, version)
        if raise_on_failure:
            raise_for_report(report)
        return report

    def compare_model_versions(self, name: str, versions: Sequence[str | int]) -> dict:
        """Versions side by side: metadata, tags, run and logged-model params and metrics, signature,
        requirements and files, with what differs marked (:mod:`podium.services.compare`)."""
        return self._integrity.compare_model_versions(name, list(versions))

    # ================================================================== audit history and rollback (Podium only)
    @property
    def _history(self):
        self._registry  # noqa: B018 - builds the registry backend
        return self._registry_backend.history

    def get_model_history(self, name: str, version: str | int | None = None, max_results: int | None = None,
                          page_token: str | None = None, newest_first: bool = False,
                          actions: str | list[str] | None = None, actor: str | None = None) -> PagedList:
        """The audit history of model ``name``: :class:`~podium.domain.events.RegistryEvent` objects,
        oldest first (``newest_first=True``: newest first), only those about ``version``, with one of
        ``actions`` (``"stage_transitioned"``, ...) and made by ``actor``, if given. Follows renames; a
        deleted model is found by the name it had when deleted. Paged: pass ``.token`` of the result
        back as ``page_token`` (with the same filters)."""
        return self._history.get_model_history(name, version, max_results, page_token, newest_first, actions, actor)

    def get_model_state_at(self, name: str, time: str | int) -> dict:
        """Where each stage and alias of ``name`` pointed at ``time`` (ISO 8601, or epoch milliseconds):
        ``{name, time, exists, complete, event_id, stages: {stage: {version, versions}}, aliases}``."""
        return self._history.get_model_state_at(name, time)

    def rollback_model(self, name: str, stage: str | None = None, alias: str | None = None, *,
                       reason: str) -> dict:
        """Give ``stage`` (Staging, Production) or ``alias`` back to the version that held it before,
        in one step recorded with ``reason``; the current holder of a stage goes to Archived.
        Returns ``{name, stage|alias, from_version, to_version, event_id, timestamp}``."""
        return self._history.rollback_model(name, stage, alias, reason)

    def record_serving_event(self, name: str, version: str | int, action: str, scorer: str, *,
                             model_uri: str | None = None, serving_version: str | int | None = None,
                             reason: str | None = None) -> RegistryEvent:
        """Record in the history of version ``version`` of ``name`` what a scorer did with it:
        ``serving.swapped`` (now serving it instead of ``serving_version``) or ``serving.swap_failed``
        (refused it for ``reason``; ``serving_version`` keeps serving). ``podium serve`` calls this."""
        return self._history.record_serving_event(name, version, action, scorer, model_uri, serving_version, reason)

    # ================================================================== experiments
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, Any] | None = None) -> str:
        return self._tracking.create_experiment(name, artifact_location, _str_tags(tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._tracking.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._tracking.get_experiment_by_name(name)

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = 1000,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           page_token: str | None = None) -> PagedList:
        return self._tracking.search_experiments(view_type, max_results, filter_string, order_by, page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        self._tracking.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._tracking.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._tracking.rename_experiment(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._tracking.set_experiment_tag(experiment_id, key, _str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._tracking.delete_experiment_tag(experiment_id, key)

    # ================================================================== runs
    def create_run(self, experiment_id: str, start_time: int | None = None, tags: dict[str, Any] | None = None,
                   run_name: str | None = None) -> Run:
        tags = _str_tags(tags)
        user = tags.get("mlflow.user") or _user()
        return self._tracking.create_run(experiment_id, user, start_time or _now_ms(), tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self._tracking.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = _now_ms() if status and RunStatus.is_terminated(status) else None
        self._tracking.update_run_info(run_id, status, end_time, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        self._tracking.update_run_info(run_id, status or RunStatus.FINISHED, end_time or _now_ms())

    def delete_run(self, run_id: str) -> None:
        self._tracking.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._tracking.restore_run(run_id)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self._tracking.log_batch(run_id, params=[(key, _str(value))])
        return value

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None,
                   step: int | None = None, synchronous: bool | None = None, dataset_name: str | None = None,
                   dataset_digest: str | None = None, model_id: str | None = None) -> None:
        metric = Metric(key, value, timestamp or _now_ms(), step or 0, model_id, None, dataset_name, dataset_digest)
        self._tracking.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self._tracking.log_batch(run_id, tags=[(key, _str(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._tracking.delete_tag(run_id, key)

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = (), synchronous: bool | None = None) -> None:
        self._tracking.log_batch(
            run_id,
            metrics=list(metrics),
            params=[(p.key, _str(p.value)) for p in params],
            tags=[(t.key, _str(t.value)) for t in tags],
        )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        points: list[Metric] = []
        token = None
        while True:
            page = self._tracking.get_metric_history(run_id, key, 25000, token)
            points.extend(page)
            token = page.token
            if not token:
                return points

    def search_runs(self, experiment_ids: list[str], filter_string: str = "",
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, page_token: str | None = None) -> PagedList:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        return self._tracking.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by,
                                          page_token)

    def log_outputs(self, run_id: str, models: list[LoggedModelOutput]) -> None:
        self._tracking.log_outputs(run_id, models)

    def log_inputs(self, run_id: str, datasets=None, models=None) -> None:
        self._tracking.log_inputs(run_id, datasets or (), models or ())

    # ================================================================== logged models
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None) -> LoggedModel:
        return self._tracking.create_logged_model(experiment_id, name, source_run_id, _str_tags(tags),
                                                  _str_tags(params), model_type)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._tracking.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status) -> LoggedModel:
        return self._tracking.finalize_logged_model(model_id, getattr(status, "value", status))

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._tracking.set_logged_model_tags(model_id, _str_tags(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._tracking.delete_logged_model_tag(model_id, key)

    def delete_logged_model(self, model_id: str) -> None:
        self._tracking.delete_logged_model(model_id)

    def log_model_params(self, model_id: str, params: dict[str, str]) -> None:
        self._tracking.log_model_params(model_id, _str_tags(params))

    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             datasets: list[dict[str, Any]] | None = None, max_results: int | None = None,
                             order_by: list[dict[str, Any]] | None = None,
                             page_token: str | None = None) -> PagedList:
        return self._tracking.search_logged_models(experiment_ids, filter_string, max_results, order_by, page_token)

    # ================================================================== artifacts
    def _artifacts(self, root_uri: str):
        from podium.compose import artifact_store_for

        # the embedded registry refuses writes below a registered version's files (a server checks its own)
        return artifact_store_for(root_uri, self._tracking_uri,
                                  check_writable=getattr(self._integrity, "check_writable", None))

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        store = self._artifacts(self.get_run(run_id).info.artifact_uri)
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            store.log_artifacts(local_path, f"{artifact_path}/{name}" if artifact_path else name)
        else:
            store.log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        self._artifacts(self.get_run(run_id).info.artifact_uri).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            payload = yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False)
        else:
            payload = json.dumps(dictionary, indent=2)
        self._log_bytes(run_id, payload.encode("utf-8"), artifact_file)

    def _log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        directory, _, filename = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_bytes(data)
            self.log_artifact(run_id, str(path), directory or None)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        from podium.artifacts import list_run_artifacts

        return list_run_artifacts(self, run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        from podium.artifacts import download_artifacts

        return download_artifacts(run_id=run_id, artifact_path=path, dst_path=dst_path,
                                  tracking_uri=self._tracking_uri)

    def log_model_artifacts(self, model_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        self._artifacts(self.get_logged_model(model_id).artifact_location).log_artifacts(local_dir, artifact_path)

    def log_model_artifact(self, model_id: str, local_path: str, artifact_path: str | None = None) -> None:
        self._artifacts(self.get_logged_model(model_id).artifact_location).log_artifact(local_path, artifact_path)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        return self._artifacts(self.get_logged_model(model_id).artifact_location).list_artifacts(path)


#: MLflow's name for the same client.
MlflowClient = PodiumClient


def _str_tags(tags) -> dict[str, str]:
    return {str(k): _str(v) for k, v in (tags or {}).items()}


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"
