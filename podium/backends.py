"""The composition root: which concrete stores serve a tracking URI or an artifact URI.

This is the one module (with ``podium.server.app``, which calls it) that names concrete stores.

=================================  =============================================================
tracking URI                       backend
=================================  =============================================================
(nothing set)                      embedded: ``sqlite:///./podium-data/podium.db`` + local files
``sqlite:///path.db``              embedded SQLite; artifacts beside it in ``<dir>/artifacts``
``postgresql://``, ``mysql://``    embedded SQL on that database (artifacts: ``PODIUM_ARTIFACT_ROOT``)
``http://``, ``https://``          a Podium (or MLflow) server over its REST API
=================================  =============================================================

Order of precedence: ``set_tracking_uri()``, then ``PODIUM_TRACKING_URI``, then
``MLFLOW_TRACKING_URI``, then the embedded default. ``PODIUM_ARTIFACT_ROOT`` overrides where
embedded mode keeps artifacts: a directory, or ``s3://bucket/prefix``.

=================================  =============================================================
artifact URI                       store
=================================  =============================================================
a path, ``file:``                  :class:`~podium.store.artifacts.local.LocalArtifactStore`
``s3://bucket/prefix``             :class:`~podium.store.artifacts.s3.S3ArtifactStore` (boto3)
``mlflow-artifacts:``              :class:`~podium.client.artifacts_http.HttpArtifactStore`
=================================  =============================================================
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from podium.errors import NotImplementedByPodium
from podium.uris import check_store_uri, is_local_path, local_path_of

__all__ = [
    "Backend",
    "artifact_locator",
    "artifact_store_for",
    "backend_for",
    "default_tracking_uri",
    "resolve_tracking_uri",
]

DEFAULT_DATA_DIR = "podium-data"
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")

_lock = threading.Lock()
_backends: dict[tuple[str, str], "Backend"] = {}


@dataclass
class Backend:
    """What the client talks to: tracking and registry operations with MLflow's names."""

    tracking_uri: str
    tracking: object  # TrackingService or the REST equivalent
    registry: object  # RegistryService or the REST equivalent
    is_remote: bool = False
    access: object = None  # AccessService (model grants and policies) or the REST equivalent
    integrity: object = None  # IntegrityService (manifests, verify, compare) or the REST equivalent
    history: object = None  # HistoryService (audit history, state at a time, rollback) or the REST equivalent
    approvals: object = None  # ApprovalService (requests, approvals, policy gates) or the REST equivalent


def default_tracking_uri() -> str:
    return f"sqlite:///{(Path.cwd() / DEFAULT_DATA_DIR / 'podium.db').as_posix()}"


def resolve_tracking_uri(explicit: str | None = None) -> str:
    uri = (
        explicit
        or os.environ.get("PODIUM_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
        or default_tracking_uri()
    )
    return str(uri)


def _default_artifact_root(tracking_uri: str) -> str:
    configured = os.environ.get("PODIUM_ARTIFACT_ROOT")
    if configured:
        return configured if not is_local_path(configured) else str(Path(local_path_of(configured)).expanduser().resolve())
    if tracking_uri.startswith("sqlite:///") and ":memory:" not in tracking_uri:
        db_path = Path(tracking_uri[len("sqlite:///"):].split("?", 1)[0]).expanduser().resolve()
        return str(db_path.parent / "artifacts")
    return str((Path.cwd() / DEFAULT_DATA_DIR / "artifacts").resolve())


def backend_for(tracking_uri: str | None = None) -> Backend:
    """The (cached) backend for a tracking URI; embedded stores share one engine per URI."""
    uri = resolve_tracking_uri(tracking_uri)
    artifact_root = _default_artifact_root(uri)
    key = (uri, artifact_root)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _build(uri, artifact_root)
            _backends[key] = backend
        return backend


def _build(uri: str, artifact_root: str) -> Backend:
    check_store_uri(uri)
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("http", "https"):
        from podium.client.rest import RestBackend

        from podium.client.rest_integrity import RestIntegrity

        rest = RestBackend(uri)
        from podium.client.rest_history import RestHistory

        from podium.client.rest_approvals import RestApprovals

        return Backend(uri, rest.tracking, rest.registry, is_remote=True, access=rest.access,
                       integrity=RestIntegrity(rest.session), history=RestHistory(rest.session),
                       approvals=RestApprovals(rest.session))
    if scheme in _SQL_SCHEMES:
        return embedded_backend(uri, artifact_root)
    raise NotImplementedByPodium(f"Unsupported tracking URI '{uri}' (use sqlite:///, postgresql://, mysql:// or http://).")


def embedded_backend(db_url: str, artifact_root: str, *, serving: bool = False,
                     artifacts_destination=None) -> Backend:
    """Services over SQL stores: what both embedded mode and the server run on.

    ``serving=True`` (the server) applies MLflow's server-side rules for version sources: a
    ``runs:/`` source needs its ``run_id``, and a local path must lie inside the run's artifacts.
    ``artifacts_destination`` (the server's proxy store) is where ``mlflow-artifacts:/`` locations
    are read when a version's files are hashed or compared.
    """
    from podium.auth.access import AccessService
    from podium.services.registry import RegistryService
    from podium.services.tracking import TrackingService
    from podium.store.sql import Database, SqlRegistryStore, SqlTrackingStore
    from podium.store.sql.auth import SqlAuthStore

    from podium.services.integrity import IntegrityService
    from podium.store.sql.manifests import SqlManifestStore

    from podium.services.history import HistoryService
    from podium.store.sql.history import SqlHistoryStore

    db = Database(db_url)
    tracking_store = SqlTrackingStore(db, artifact_root)
    registry_store = SqlRegistryStore(db)
    integrity = IntegrityService(SqlManifestStore(db), registry_store, artifact_locator(artifacts_destination),
                                 tracking_store)
    return Backend(
        db_url,
        TrackingService(tracking_store),
        RegistryService(registry_store, tracking_store, strict_sources=serving, integrity=integrity),
        access=AccessService(SqlAuthStore(db)),
        integrity=integrity,
        history=HistoryService(SqlHistoryStore(registry_store), SqlAuthStore(db).get_policy),
        approvals=_approvals(db, registry_store, tracking_store, integrity),
    )


def _approvals(db, registry_store, tracking_store, integrity):
    """The approval use cases (requests, approvals, gates) on the same database."""
    from podium.services.approvals import ApprovalService
    from podium.store.sql.approvals import SqlApprovalStore
    from podium.store.sql.auth import SqlAuthStore

    return ApprovalService(SqlApprovalStore(db, registry_store), registry_store, SqlAuthStore(db), tracking_store,
                           integrity)


def artifact_locator(artifacts_destination=None):
    """``locate(uri) -> (artifact store, path below its root) | None``: how this process reads a
    version's files. Local paths and ``s3://`` directly; ``mlflow-artifacts:/<path>`` through
    ``artifacts_destination`` (the server's own proxy store), else not at all."""

    def locate(uri: str):
        if uri.startswith("mlflow-artifacts:"):
            if artifacts_destination is None or uri.startswith("mlflow-artifacts://"):
                return None  # served by a server (or another server): not readable from here
            from podium.domain.manifests import location_key

            return artifacts_destination, location_key(uri)[len("mlflow-artifacts:/"):]
        if is_local_path(uri) or uri.startswith("s3://"):
            return artifact_store_for(uri), ""
        return None

    return locate


def artifact_store_for(uri: str, tracking_uri: str | None = None):
    """The artifact store rooted at ``uri`` (a local path, ``file:``, ``s3://`` or ``mlflow-artifacts:``)."""
    if is_local_path(uri):
        from podium.store.artifacts.local import LocalArtifactStore

        return LocalArtifactStore(uri)
    if uri.startswith("s3://"):
        from podium.store.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore(uri)
    if uri.startswith("mlflow-artifacts:"):
        from podium.client.artifacts_http import HttpArtifactStore

        return HttpArtifactStore(uri, resolve_tracking_uri(tracking_uri))
    raise NotImplementedByPodium(
        f"No artifact store for URI '{uri}' (supported: local paths, file:, s3://, mlflow-artifacts:)."
    )


def reset_backends() -> None:
    """Forget cached backends (tests use it between databases)."""
    with _lock:
        for backend in _backends.values():
            db = getattr(getattr(backend.tracking, "store", None), "db", None)
            if db is not None:
                db.dispose()
        _backends.clear()
