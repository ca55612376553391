"""The storage contracts. Services depend on these Protocols, never on a concrete store.

Inputs reaching a store are already validated by the services (names, keys, stages as canonical
values, versions as ``int``); stores enforce what only storage can: existence, uniqueness,
atomicity. Every method either completes or changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

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
)
from podium.domain.search_ast import OrderKey
from podium.store.artifacts.base import ArtifactStore

if TYPE_CHECKING:
    from podium.auth.entities import ApiToken, Group, ModelGrant, ModelPolicy, Permission, User
    from podium.domain.events import RegistryEvent
    from podium.domain.gc import GcCandidate, PendingArtifacts, PurgeRecord
    from podium.domain.history import ModelState
    from podium.domain.approvals import ApprovalRequest
    from podium.domain.manifests import Manifest
    from podium.domain.webhooks import DeliveryOutcome, PendingDelivery, Webhook, WebhookDelivery
    from podium.domain.portable import (
        ExperimentRecord,
        LoggedModelRecord,
        ModelVersionRecord,
        RegisteredModelRecord,
        RunRecord,
    )

__all__ = [
    "ApprovalStore",
    "ArtifactStore",
    "AuthStore",
    "GcStore",
    "HistoryStore",
    "ImportStore",
    "LockedModel",
    "ManifestStore",
    "RegistryStore",
    "TrackingStore",
    "WebhookStore",
    "WouldBlock",
]


class WouldBlock(Exception):
    """A read made under a database's non-blocking mode (``Backend.inline_reads``: the server's
    single-entity reads on SQLite, run on the event loop) that would have had to wait for a lock, or
    a write attempted in that mode. Nothing was changed; the caller runs the same call again where
    waiting is allowed (the server's thread pool). Never reaches a client."""


class RegistryStore(Protocol):
    """Registered models and their versions, tags and aliases.

    Errors: a missing model is ``RESOURCE_DOES_NOT_EXIST`` ("Registered Model with name=N not
    found"), a missing version ``RESOURCE_DOES_NOT_EXIST`` ("Model Version (name=N, version=V) not
    found"), a duplicate name ``RESOURCE_ALREADY_EXISTS``, a missing alias
    ``INVALID_PARAMETER_VALUE`` (MLflow's choice). Version numbers start at 1 per model, are
    allocated inside the creating transaction and are never reused after a delete.
    """

    def create_registered_model(self, name: str, tags: dict[str, str] | None = None,
                                description: str | None = None, user_id: str | None = None) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Versions, tags and aliases follow the model to its new name."""
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None:
        """Deletes the model with all its versions, tags and aliases."""
    def search_registered_models(self, filter_string: str | None, max_results: int,
                                 order_by: Sequence[str] | None, page_token: str | None) -> PagedList: ...
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The highest version in each requested stage (every stage when ``stages`` is empty)."""
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Idempotent: deleting a tag that is not there succeeds."""

    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: dict[str, str] | None = None, run_link: str | None = None,
                             description: str | None = None, model_id: str | None = None,
                             storage_location: str | None = None, user_id: str | None = None,
                             manifest: "Manifest | None" = None) -> ModelVersion:
        """Also records the version's location and ``manifest`` (:class:`ManifestStore`), in the same transaction."""
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion: ...
    def transition_model_version_stage(self, name: str, version: int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        """With ``archive_existing_versions``, other versions in ``stage`` become Archived in the same
        transaction: concurrent callers can never leave two versions in the stage."""
    def transition_reporting_aliases(self, name: str, version: int, stage: str,
                                     archive_existing_versions: bool = False) -> tuple[ModelVersion, dict[str, int]]:
        """:meth:`transition_model_version_stage`, and the aliases (alias -> version) left on the versions
        it moved into Archived, read in the same transaction (the service warns about them)."""
    def delete_model_version(self, name: str, version: int) -> None:
        """Also removes the version's tags and the aliases pointing at it."""
    def search_model_versions(self, filter_string: str | None, max_results: int,
                              order_by: Sequence[str] | None, page_token: str | None) -> PagedList: ...
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...
    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def get_model_versions(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]:
        """The versions named by ``(model name, version)`` pairs that exist, read together."""


class TrackingStore(Protocol):
    """Experiments, runs and MLflow 3 logged models.

    The store owns artifact *locations* (URIs derived from its default artifact root), not the
    artifact bytes, which live in an :class:`ArtifactStore`.
    """

    default_artifact_root: str

    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, str] | None = None) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(self, view_type: int, max_results: int, filter_string: str | None,
                           order_by: Sequence[str] | None, page_token: str | None) -> PagedList: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    def create_run(self, experiment_id: str, user_id: str | None = None, start_time: int | None = None,
                   tags: dict[str, str] | None = None, run_name: str | None = None) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def get_latest_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """Each listed run's latest metric values (``{run_id: {key: value}}``) in one read; runs that
        do not exist are left out."""
    def get_run_info(self, run_id: str) -> RunInfo:
        """The run's info alone (no params, metrics or tags): one cheap lookup."""
    def get_run_source(self, run_id: str, name: str | None) -> tuple[RunInfo, str | None]:
        """What registering a version from ``runs:/<run_id>/<name>`` needs, in one lookup: the run's
        info, and the artifact location of the newest logged model called ``name`` the run produced
        (:meth:`find_logged_model`'s), or None (none, or ``name`` is None)."""
    def update_run_info(self, run_id: str, status: str | None = None, end_time: int | None = None,
                        run_name: str | None = None) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[tuple[str, str]] = (),
                  tags: Sequence[tuple[str, str]] = ()) -> None:
        """All of it, or nothing. Params are write-once; metrics tagged with a ``model_id`` are also
        recorded on that logged model, without duplicating the run's history."""
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def get_metric_history(self, run_id: str, key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList: ...
    def search_runs(self, experiment_ids: Sequence[str], filter_string: str | None, run_view_type: int,
                    max_results: int, order_by: Sequence[str] | None, page_token: str | None) -> PagedList: ...
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None: ...
    def log_inputs(self, run_id: str, datasets: Sequence[dict] = (), models: Sequence[dict] = ()) -> None: ...

    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None) -> LoggedModel: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...
    def find_logged_model(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest logged model named ``name`` produced by ``run_id``, if any."""
    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel: ...
    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> LoggedModel: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def log_model_params(self, model_id: str, params: dict[str, str]) -> None: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def search_logged_models(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                             max_results: int = 100, order_by: Sequence[OrderKey] | None = None,
                             page_token: str | None = None) -> PagedList: ...


class AuthStore(Protocol):
    """Users, API tokens, groups, per-model grants and policies (``podium server --auth``).

    A missing user, group or registered model is ``RESOURCE_DOES_NOT_EXIST``; a duplicate user or
    group ``RESOURCE_ALREADY_EXISTS``. Grants and policies are keyed by the model, not its name: they
    follow a rename and vanish with the model; deleting a user or group deletes its grants, tokens
    and memberships. Entities are those of :mod:`podium.auth.entities`.
    """

    def create_user(self, name: str, password_hash: str | None, is_admin: bool = False) -> "User": ...
    def get_user(self, name: str) -> "User | None": ...
    def list_users(self) -> list["User"]: ...
    def count_users(self) -> int: ...
    def update_user(self, name: str, *, password_hash: str | None = None, is_admin: bool | None = None) -> "User": ...
    def delete_user(self, name: str) -> None: ...

    def create_token(self, user: str, prefix: str, token_hash: str, name: str | None = None,
                     expires_at: int | None = None) -> "ApiToken": ...
    def find_token(self, prefix: str) -> "tuple[ApiToken, User] | None": ...
    def get_token(self, token_id: int) -> "ApiToken": ...
    def list_tokens(self, user: str) -> list["ApiToken"]: ...
    def revoke_token(self, token_id: int) -> "ApiToken": ...
    def touch_token(self, token_id: int, when: int) -> None: ...

    # failed sign-ins, shared by every process on the store (podium.auth.limiter.SharedFailureLimiter);
    # keys are opaque strings of at most 64 characters, times Unix ms
    def login_failures(self, keys: Sequence[str], since_ms: int) -> dict[str, list[int]]: ...
    def add_login_failure(self, keys: Sequence[str], at_ms: int, expired_before_ms: int) -> list[int]: ...
    def remove_login_failures(self, ids: Sequence[int]) -> None: ...

    def create_group(self, name: str) -> "Group": ...
    def delete_group(self, name: str) -> None: ...
    def add_group_member(self, group: str, user: str) -> None: ...
    def remove_group_member(self, group: str, user: str) -> None: ...
    def list_groups(self) -> list["Group"]: ...
    def groups_of(self, user_id: int) -> list[str]: ...

    def set_grant(self, model: str, principal_type: str, principal: str, permission: "Permission") -> "ModelGrant": ...
    def delete_grant(self, model: str, principal_type: str, principal: str) -> None: ...
    def list_grants(self, model: str) -> list["ModelGrant"]: ...
    def granted_permissions(self, model: str, user_id: int) -> list["Permission"]:
        """Permissions on ``model`` granted to the user directly or through any of the user's groups."""
    def granted_models(self, user_id: int) -> list[str]:
        """Models with any grant for the user or the user's groups."""

    def get_policy(self, model: str) -> "ModelPolicy | None": ...
    def get_policies(self, models: Sequence[str]) -> "dict[str, ModelPolicy]":
        """The policies of those of ``models`` that have one, in one read (a page of requests)."""
    def set_policy(self, policy: "ModelPolicy") -> "ModelPolicy": ...

    def models_registered_from(self, *, run_id: str | None = None, model_id: str | None = None) -> list[str]:
        """Registered models with a version registered from this run or logged model."""


class ManifestStore(Protocol):
    """Version manifests (recorded by ``RegistryStore.create_model_version``) and protected locations.

    Locations are location keys (:func:`podium.domain.manifests.location_key`).
    """

    def get_manifest(self, name: str, version: int) -> "Manifest | None":
        """The version's manifest; None when it has none (registered before manifests, or unreadable)."""
    def protecting_version(self, keys: Sequence[str], below: Sequence[str] = ()) -> tuple[str, int, str] | None:
        """``(model, version, location)`` of a registered version stored at one of ``keys`` or below
        one of ``below``; None when no version protects those places."""


class HistoryStore(Protocol):
    """The audit history (``registry_events``), written by the ``RegistryStore`` with every change.

    A model is found by its current name (its history follows renames), or, once deleted, by the
    name it had when it was deleted. Unknown names raise ``RESOURCE_DOES_NOT_EXIST``. No method
    changes or removes an event.
    """

    def list_events(self, name: str, version: int | None = None, max_results: int = 100,
                    page_token: str | None = None, newest_first: bool = False,
                    actions: tuple[str, ...] | None = None, actor: str | None = None) -> PagedList:
        """The model's events (:class:`~podium.domain.events.RegistryEvent`), oldest first unless
        ``newest_first``, only those about ``version``, with one of ``actions`` and by ``actor``
        if given; paged by event id (a token is valid only for the same filters)."""
    def latest_events(self, names: Sequence[str]) -> "dict[str, RegistryEvent]":
        """The newest event of each live model in ``names`` (one read for all of them, whatever their
        number): name -> event; a model with no recorded event, or no such model, is left out."""
    def model_timeline(self, name: str, until: int | None = None) -> "tuple[list[RegistryEvent], ModelState | None]":
        """The model's events that change its existence, name, stages or aliases
        (:data:`podium.domain.history.STATE_ACTIONS`; without ``version_created`` for a model whose
        history starts with ``model_created``), oldest first, and its live state when the replay
        needs it (None once deleted, or for a history that starts with ``model_created``), read in
        one snapshot; with ``until`` (epoch ms), only the events before the first one later than it."""
    def append_event(self, name: str, action: str, version: int | None = None, target: str | None = None,
                     before: dict | None = None, after: dict | None = None,
                     comment: str | None = None) -> "RegistryEvent":
        """Record an event about model ``name`` (and ``version``, which must exist) that changes no
        registry state (a scorer's swap): the model is neither locked nor marked updated. The event
        takes the actor from the caller's context; returns it as stored."""
    def locked_model(self, name: str) -> "AbstractContextManager[LockedModel]":
        """``with store.locked_model(name) as model:`` one write transaction holding the model's lock
        (writers to the model wait; ``RESOURCE_DOES_NOT_EXIST`` if there is no such model). What is
        changed through ``model`` commits when the block ends, and nothing does if it raises."""


class LockedModel(Protocol):
    """A model locked in a write transaction (:meth:`HistoryStore.locked_model`): what a rollback
    reads and changes, all in that transaction. Events recorded here, and by the moves, take the
    actor and the comment/cause from the caller's context (:func:`podium.domain.events.event_context`)."""

    name: str
    #: the transaction's time (epoch ms), given to the events it records and the versions it moves
    timestamp: int

    def timeline(self) -> "tuple[list[RegistryEvent], ModelState]":
        """Like :meth:`HistoryStore.model_timeline`, inside this transaction (the model is live)."""
    def record_event(self, action: str, **fields) -> int:
        """Append an event about this model (fields: version, target, before, after); its id."""
    def transition(self, version: int, stage: str, archive_existing_versions: bool = False) -> None:
        """:meth:`RegistryStore.transition_model_version_stage`, inside this transaction."""
    def set_alias(self, alias: str, version: int) -> None:
        """:meth:`RegistryStore.set_registered_model_alias`, inside this transaction."""


class ApprovalStore(Protocol):
    """Approval requests (``podium models request``) and their approvals; entities of
    :mod:`podium.domain.approvals`.

    A missing request is ``RESOURCE_DOES_NOT_EXIST``; deciding on a request that is no longer
    ``pending`` is ``INVALID_STATE``. Approving, rejecting and cancelling lock the request, so
    concurrent decisions are serialised: a request is applied at most once, and a second approval by
    the same approver is refused. Applying moves the stage or alias in the same transaction as the
    last approval, with its events (``cause="request"``).
    """

    def create_request(self, name: str, version: int, target_kind: str, target: str, requester: str | None,
                       comment: str | None) -> "ApprovalRequest": ...
    def get_request(self, request_id: int) -> "ApprovalRequest": ...
    def list_requests(self, name: str | None, status: str | None = None, max_results: int = 1000,
                      before_id: int | None = None) -> list["ApprovalRequest"]:
        """A model's requests (``name=None``: every model's), newest first; older than ``before_id``."""
    def approve_request(self, request_id: int, approver: str, comment: str | None, check) -> "ApprovalRequest":
        """``check(request, approvals_with_this_one) -> required approvals`` runs with the request locked."""
    def decide_request(self, request_id: int, status: str, actor: str | None, comment: str | None,
                       check) -> "ApprovalRequest":
        """Close a pending request as ``rejected`` or ``cancelled``."""


class WebhookStore(Protocol):
    """Webhooks and their delivery outbox (entities of :mod:`podium.domain.webhooks`).

    Delivery rows are written by the registry stores in the transaction of each change (the outbox);
    this Protocol manages subscriptions and lets delivery workers lease due rows. A missing webhook
    is ``RESOURCE_DOES_NOT_EXIST`` "Webhook with ID … not found."; ``secret`` is stored as given (the
    service encrypts it). Disabling a webhook cancels its pending deliveries; deleting it deletes them.
    """

    def create_webhook(self, name: str, url: str, events: Sequence[str], description: str | None = None,
                       secret: str | None = None, status: str = "ACTIVE", standard_webhooks: bool = False,
                       created_by: str | None = None) -> "Webhook": ...
    def get_webhook(self, webhook_id: str) -> "Webhook": ...
    def list_webhooks(self, max_results: int = 100, page_token: str | None = None) -> PagedList:
        """Newest first."""
    def update_webhook(self, webhook_id: str, changes: dict) -> "Webhook": ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def list_deliveries(self, webhook_id: str, status: str | None = None, max_results: int = 100,
                        page_token: str | None = None) -> PagedList:
        """A webhook's deliveries, newest first."""
    def get_delivery(self, delivery_id: str) -> "WebhookDelivery": ...
    def redeliver(self, delivery_id: str) -> "WebhookDelivery":
        """Make a delivery due now (same id and body)."""
    def count_pending(self) -> int: ...
    def claim_due(self, now: int, lease_ms: int, limit: int) -> list["PendingDelivery"]:
        """Lease due deliveries of active webhooks; no two callers get the same row while its lease holds."""
    def record_outcome(self, delivery: "PendingDelivery", outcome: "DeliveryOutcome") -> None: ...
    def wait_for_deliveries(self, timeout: float) -> bool:
        """Block until this process commits new deliveries (True), or ``timeout`` seconds pass."""


class GcStore(Protocol):
    """Garbage collection (``podium gc``): deleted objects, their purge, the files waiting to be
    deleted (tombstones), the purge history and the scheduled collector's lease.

    A purge is one transaction that re-checks the object is still deleted (else returns None and
    changes nothing), removes its rows children first (no foreign key fails on any backend), records
    it in the purge history and leaves a tombstone for its files; the caller deletes the files after
    that commit and then resolves the tombstone, so an interrupted collection is finished by the next.
    """

    def candidates(self, kind: str, deleted_before: int | None = None,
                   ids: Sequence[str] | None = None) -> "list[GcCandidate]":
        """Deleted experiments, runs or logged models (``kind``) deleted before ``deleted_before``; or
        the objects ``ids`` whatever their lifecycle."""
    def count_rows(self, kind: str, object_id: str) -> dict[str, int]:
        """Rows purging the object would remove, by table."""
    def purge_run(self, run_id: str) -> dict[str, int] | None: ...
    def purge_logged_model(self, model_id: str) -> dict[str, int] | None: ...
    def purge_experiment(self, experiment_id: str) -> dict[str, int] | None:
        """The experiment with all its runs and logged models (each in a transaction of its own)."""
    def pending_artifacts(self, deleted_before: int | None = None,
                          object_ids: Sequence[str] | None = None) -> "list[PendingArtifacts]": ...
    def referenced_locations(self) -> list[tuple[str, str, str | None, str]]:
        """``(kind, id, experiment id, location)`` of every run, logged model and model version."""
    def experiment_locations(self) -> list[str]: ...
    def resolve_pending(self, pending_id: int, action: str, detail: dict) -> bool:
        """Remove a tombstone and record ``action``; False if it was already resolved."""
    def drop_pending(self, pending_id: int) -> None: ...
    def purge_history(self, max_results: int = 100, object_id: str | None = None) -> "list[PurgeRecord]": ...
    def claim_collection(self, name: str, holder: str, interval_ms: int, ttl_ms: int) -> bool:
        """Take the scheduled job if it is due and free: one claimer wins, across processes."""
    def renew_collection(self, name: str, holder: str, ttl_ms: int) -> bool: ...
    def release_collection(self, name: str, holder: str) -> None: ...


class ImportStore(Protocol):
    """The loader (decision 0019): portable records (:mod:`podium.domain.portable`) written as they
    are, ids, version numbers, timestamps and user ids kept. One object per transaction, with a
    row saying it was imported and the digest of its record; each ``load_*`` answers ``created``,
    ``updated`` (imported before, the source changed since) or ``unchanged`` (same digest: nothing
    written). An object already there but not imported is ``RESOURCE_CONFLICT`` and left alone
    (except an experiment with the same id and name, which is adopted). No webhook fires."""

    def imported_digests(self, kind: str) -> dict[str, str]:
        """``{key: digest}`` of what imports loaded (kind: experiment, run, logged_model,
        registered_model, model_version; a version's key is ``name/version``)."""
    def load_experiment(self, record: "ExperimentRecord", digest: str) -> str: ...
    def load_run(self, record: "RunRecord", digest: str) -> str:
        """The run with its params, tags, whole metric history, inputs and outputs."""
    def load_logged_model(self, record: "LoggedModelRecord", digest: str) -> str: ...
    def load_registered_model(self, record: "RegisteredModelRecord", digest: str,
                              versions: "Sequence[tuple[ModelVersionRecord, str, Manifest | None]]" = (),
                              events: Sequence[dict] | None = None) -> dict[str, int]:
        """The model and the given versions (with their manifests) in one transaction, aliases last;
        one ``imported`` event per version loaded unless ``events`` (an archive's) are given, which are
        appended. Returns ``{"model": outcome, "created": n, "updated": n, "unchanged": n}``."""
