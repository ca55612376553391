"""The composition root: settings or a URI -> a fully wired :class:`Backend`.

This is the one module that names concrete stores (the SQL stores, the local, S3 and HTTP artifact
stores, the REST client); ``tests/test_import_rules.py`` fails when another module imports one.
Everything else receives what it needs from here, typed with the Protocols of
:mod:`podium.store.base`. Who builds what:

* the embedded client and the fluent API: :func:`backend_for` (cached per tracking URI);
* ``podium server``: :func:`build` with its :class:`~podium.server.settings.ServerSettings`, once in the
  parent to migrate (:func:`podium.server.runner.migrate`) and once per worker
  (:func:`podium.server.app.build_services`);
* the CLI: ``podium users|groups|tokens`` use :func:`build` on the database, ``podium db`` uses
  :func:`open_database` (the schema only, never upgraded behind its back);
* the tests: ``tests/conftest.py``'s ``backend`` fixture.

=================================  =============================================================
tracking URI                       backend
=================================  =============================================================
(nothing set)                      embedded: ``sqlite:///./podium-data/podium.db`` + local files
``sqlite:///path.db``              embedded SQLite; artifacts beside it in ``<dir>/artifacts``
``postgresql://``, ``mysql://``    embedded SQL on that database (artifacts: ``PODIUM_ARTIFACT_ROOT``)
``http://``, ``https://``          a Podium (or MLflow) server over its REST API
=================================  =============================================================

Order of precedence: ``set_tracking_uri()``, then ``PODIUM_TRACKING_URI``, then
``MLFLOW_TRACKING_URI``, then the embedded default (:func:`podium.settings.tracking_uri`).
``PODIUM_ARTIFACT_ROOT`` overrides where embedded mode keeps artifacts: a directory, or
``s3://bucket/prefix``.

=================================  =============================================================
artifact URI                       store
=================================  =============================================================
a path, ``file:``                  :class:`~podium.store.artifacts.local.LocalArtifactStore`
``s3://bucket/prefix``             :class:`~podium.store.artifacts.s3.S3ArtifactStore` (boto3)
``mlflow-artifacts:``              :class:`~podium.client.artifacts_http.HttpArtifactStore`
=================================  =============================================================

The server's backend (:func:`build` with server settings) differs from embedded mode in four
ways: new experiments get ``mlflow-artifacts:/<id>`` locations (clients upload through the server);
version sources follow MLflow's server-side rules (``strict_sources``); ``artifacts`` is the
proxy's store on the artifacts destination, refusing writes below a registered version's files
(:mod:`podium.store.artifacts.guarded`); and with ``--auth`` the
:class:`~podium.auth.authorizer.Authorizer` is built here and handed to the services that check
permissions themselves (approvals), and to the server's gate.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from podium import settings as process_settings
from podium.errors import NotImplementedByPodium
from podium.uris import check_store_uri, is_local_path, local_path_of

if TYPE_CHECKING:
    from podium.auth.access import AccessService
    from podium.auth.authorizer import Authorizer
    from podium.client.rest import RestRegistry, RestTracking
    from podium.client.rest_access import RestAccess
    from podium.client.rest_approvals import RestApprovals
    from podium.client.rest_history import RestHistory
    from podium.client.rest_integrity import RestIntegrity
    from podium.client.rest_webhooks import RestWebhooks
    from podium.server.settings import ServerSettings
    from podium.services.approvals import ApprovalService
    from podium.services.gc import GcService
    from podium.services.history import HistoryService
    from podium.services.integrity import IntegrityService
    from podium.services.model_files import Locate
    from podium.services.moving import ImportService
    from podium.services.registry import RegistryService
    from podium.services.sources import SourceRules
    from podium.services.tracking import TrackingService
    from podium.services.webhooks import WebhookService
    from podium.store.artifacts.base import ArtifactStore
    from podium.store.base import (
        ApprovalStore,
        AuthStore,
        GcStore,
        HistoryStore,
        ManifestStore,
        RegistryStore,
        TrackingStore,
        WebhookStore,
    )
    from podium.store.sql.engine import Database

__all__ = [
    "MLFLOW_ARTIFACTS_ROOT",
    "Backend",
    "Stores",
    "artifact_locator",
    "artifact_store_for",
    "backend_for",
    "build",
    "archive_source",
    "archive_writer",
    "importer_for",
    "mlflow_database_source",
    "mlflow_server_source",
    "store_source",
    "open_auth_store",
    "open_database",
    "open_gc",
    "prepare_upload_staging",
    "reset_backends",
    "schema_revision",
]

#: the server's artifact root: experiments get ``mlflow-artifacts:/<id>``, served by its proxy
MLFLOW_ARTIFACTS_ROOT = "mlflow-artifacts:/"
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")

_lock = threading.Lock()
_backends: dict[tuple[str, str], "Backend"] = {}


@dataclass(frozen=True)
class Stores:
    """The stores under an embedded backend's services, all on one database."""

    tracking: "TrackingStore"
    registry: "RegistryStore"
    auth: "AuthStore"
    manifests: "ManifestStore"
    history: "HistoryStore"
    approvals: "ApprovalStore"
    webhooks: "WebhookStore"
    gc: "GcStore"


@dataclass
class Backend:
    """What the client, the server and the CLI talk to: the use cases with MLflow's names.

    Embedded, these are the services over SQL :attr:`stores` on :attr:`database`; remote
    (``is_remote``), their REST equivalents. :meth:`close` releases what the backend owns.
    """

    tracking_uri: str
    tracking: "TrackingService | RestTracking"
    registry: "RegistryService | RestRegistry"
    access: "AccessService | RestAccess"
    integrity: "IntegrityService | RestIntegrity"
    history: "HistoryService | RestHistory"
    approvals: "ApprovalService | RestApprovals"
    webhooks: "WebhookService | RestWebhooks"
    is_remote: bool = False
    stores: Stores | None = None
    database: "Database | None" = None
    #: the server's artifact proxy store (guarded); None elsewhere (stores are opened per artifact URI)
    artifacts: "ArtifactStore | None" = None
    #: the server's authorizer with ``--auth``; None: nobody's permissions are checked
    authorizer: "Authorizer | None" = None
    #: garbage collection (``podium gc``, the server's scheduled collection); embedded backends only
    gc: "GcService | None" = None

    @property
    def is_sqlite(self) -> bool:
        return bool(self.database is not None and self.database.is_sqlite)

    @property
    def inline_reads(self):
        """On SQLite, the database's non-blocking mode: ``with backend.inline_reads:`` a read runs on a
        connection that never waits for a lock (``WouldBlock`` instead: run it again elsewhere), so
        the server may make its single-entity reads on the event loop (decision 0026). ``None`` on
        other databases (a network round trip must not hold the loop) and on remote backends."""
        return self.database.nonblocking() if self.is_sqlite else None

    def close(self) -> None:
        """Close the database's connection pool (the backend is not used afterwards)."""
        if self.database is not None:
            self.database.dispose()


# ---------------------------------------------------------------------------------- building
def build(source: "str | ServerSettings | None" = None, *, artifact_root: str | None = None) -> Backend:
    """A new backend (the caller closes it).

    ``source`` is a tracking URI (None: the configured one, :func:`podium.settings.tracking_uri`),
    or ``podium server``'s settings for the server's backend. ``artifact_root`` (embedded URIs
    only): where new experiments keep their artifacts; default ``PODIUM_ARTIFACT_ROOT``, else
    ``artifacts/`` beside a SQLite file, else ``./podium-data/artifacts``.
    """
    if source is None or isinstance(source, str):
        uri = process_settings.tracking_uri(source)
        return _build(uri, artifact_root or _default_artifact_root(uri))
    return _server_backend(source)


def backend_for(tracking_uri: str | None = None) -> Backend:
    """The (cached) backend for a tracking URI: the embedded client's, one engine per URI."""
    uri = process_settings.tracking_uri(tracking_uri)
    artifact_root = _default_artifact_root(uri)
    key = (uri, artifact_root)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _build(uri, artifact_root)
            _backends[key] = backend
        return backend


def reset_backends() -> None:
    """Close and forget the cached backends (tests use it between databases)."""
    with _lock:
        for backend in _backends.values():
            backend.close()
        _backends.clear()


def _build(uri: str, artifact_root: str) -> Backend:
    """The backend a tracking URI's scheme selects."""
    check_store_uri(uri)
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("http", "https"):
        return _remote_backend(uri)
    if scheme in _SQL_SCHEMES:
        return _embedded_backend(uri, _database(uri), artifact_root)
    raise NotImplementedByPodium(f"Unsupported tracking URI '{uri}' (use sqlite:///, postgresql://, mysql:// or http://).")


def _default_artifact_root(tracking_uri: str) -> str:
    configured = process_settings.artifact_root()
    if configured:
        return configured if not is_local_path(configured) else str(Path(local_path_of(configured)).expanduser().resolve())
    if tracking_uri.startswith("sqlite:///") and ":memory:" not in tracking_uri:
        db_path = Path(tracking_uri[len("sqlite:///"):].split("?", 1)[0]).expanduser().resolve()
        return str(db_path.parent / "artifacts")
    return str((Path.cwd() / process_settings.DEFAULT_DATA_DIR / "artifacts").resolve())


def _remote_backend(uri: str) -> Backend:
    """A server over its REST API (one shared connection pool per URL)."""
    from podium.client.rest import RestBackend
    from podium.client.rest_approvals import RestApprovals
    from podium.client.rest_history import RestHistory
    from podium.client.rest_integrity import RestIntegrity
    from podium.client.rest_webhooks import RestWebhooks

    rest = RestBackend(uri)
    return Backend(uri, rest.tracking, rest.registry, rest.access, RestIntegrity(rest.session),
                   RestHistory(rest.session), RestApprovals(rest.session), RestWebhooks(rest.session),
                   is_remote=True)


def _server_backend(settings: "ServerSettings") -> Backend:
    """``podium server``'s backend: see the module docstring for how it differs from embedded mode."""
    from podium.services.sources import SourceRules
    from podium.store.artifacts.guarded import guarded

    destination = settings.artifacts_destination
    if is_local_path(destination):
        Path(local_path_of(destination)).mkdir(parents=True, exist_ok=True)
    proxy = artifact_store_for(destination)  # a directory, or s3://bucket/prefix
    # a version's files must be in this server's artifact store or an allowed place (podium.services.sources)
    source_rules = SourceRules(proxy.root_uri, settings.allowed_source_prefixes)
    backend = _embedded_backend(settings.backend_store_uri, _database(settings.backend_store_uri),
                                MLFLOW_ARTIFACTS_ROOT, serving=True, artifacts_destination=proxy,
                                default_role=settings.default_role if settings.auth else None,
                                source_rules=source_rules, webhooks=_server_webhook_config(settings))
    # the proxy refuses writes below a registered version's files (podium.store.artifacts.guarded)
    backend.artifacts = guarded(proxy, backend.integrity.check_writable, [proxy.root_uri, MLFLOW_ARTIFACTS_ROOT])
    return backend


def prepare_upload_staging(destination: str) -> int:
    """Give the server's artifacts destination (a directory) its staging directory for uploads, and
    remove the unfinished uploads that processes gone since left there; returns how many. Run once
    per server start, in the parent process (workers may be uploading)."""
    if not is_local_path(destination):
        return 0  # S3: an unfinished multipart upload is never visible
    from podium.store.artifacts.local import prepare_staging

    return prepare_staging(destination)


def _database(uri: str, *, upgrade: bool = True) -> "Database":
    from podium.store.sql.engine import Database

    return Database(uri, upgrade=upgrade)


def _sql_stores(db: "Database", artifact_root: str) -> Stores:
    from podium.store.sql.approvals import SqlApprovalStore
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.gc import SqlGcStore
    from podium.store.sql.history import SqlHistoryStore
    from podium.store.sql.manifests import SqlManifestStore
    from podium.store.sql.registry import SqlRegistryStore
    from podium.store.sql.tracking import SqlTrackingStore
    from podium.store.sql.webhooks import SqlWebhookStore

    registry = SqlRegistryStore(db)
    return Stores(
        tracking=SqlTrackingStore(db, artifact_root),
        registry=registry,
        auth=SqlAuthStore(db),
        manifests=SqlManifestStore(db),
        history=SqlHistoryStore(registry),
        approvals=SqlApprovalStore(db, registry),
        webhooks=SqlWebhookStore(db),
        gc=SqlGcStore(db),
    )


def _embedded_backend(uri: str, db: "Database", artifact_root: str, *, serving: bool = False,
                      artifacts_destination: "ArtifactStore | None" = None,
                      default_role: str | None = None, source_rules: "SourceRules | None" = None,
                      webhooks: "WebhookConfig | None" = None) -> Backend:
    """The services over SQL stores on ``db``: what embedded mode and the server run on.

    ``serving`` applies MLflow's server-side rules for version sources (a ``runs:/`` source needs
    its ``run_id``; a local path must lie inside the run's artifacts). ``artifacts_destination``
    (the server's proxy store) is where ``mlflow-artifacts:/`` locations are read when a version's
    files are hashed or compared. ``default_role`` (``--auth`` only) builds the authorizer.
    ``source_rules`` (a server) limit where a version's files may be, and what is read later.
    ``webhooks``: the server's webhook settings (embedded mode: :func:`_embedded_webhook_config`).
    """
    from podium.auth.access import AccessService
    from podium.services.approvals import ApprovalService
    from podium.services.gc import GcService
    from podium.services.history import HistoryService
    from podium.services.integrity import IntegrityService
    from podium.services.registry import RegistryService
    from podium.services.tracking import TrackingService
    from podium.services.webhooks import WebhookService

    try:
        stores = _sql_stores(db, artifact_root)
    except BaseException:
        db.dispose()
        raise
    authorizer = _authorizer(stores, default_role) if default_role is not None else None
    locate = artifact_locator(artifacts_destination)
    if source_rules is not None:  # nothing outside the allowed places is read, now or later
        locate = source_rules.guard(locate)
    integrity = IntegrityService(stores.manifests, stores.registry, locate, stores.tracking)
    return Backend(
        uri,
        TrackingService(stores.tracking),
        RegistryService(stores.registry, stores.tracking, strict_sources=serving, integrity=integrity,
                        source_rules=source_rules, authorizer=authorizer),
        AccessService(stores.auth),
        integrity,
        HistoryService(stores.history, stores.auth.get_policy),
        ApprovalService(stores.approvals, stores.registry, stores.auth, stores.tracking, integrity, authorizer),
        WebhookService(stores.webhooks, *(webhooks or _embedded_webhook_config(uri))),
        stores=stores,
        database=db,
        authorizer=authorizer,
        # unguarded: gc checks what still refers to a location itself (podium.services.gc)
        gc=GcService(stores.gc, artifact_locator(artifacts_destination),
                     artifacts_destination.root_uri if artifacts_destination is not None else None),
    )


WebhookConfig = tuple  # (SecretBox, SendPolicy, RetryPolicy)


def _server_webhook_config(settings: "ServerSettings") -> "WebhookConfig":
    """The server's secret key, send policy and retry schedule for webhooks (docs/webhooks.md)."""
    from podium.services.webhooks import RetryPolicy
    from podium.webhooks.secrets import SecretBox
    from podium.webhooks.sender import SendPolicy

    policy = SendPolicy(settings.webhook_allowed_schemes or ("https",), settings.webhook_allow_private_ips,
                        settings.webhook_allowed_networks, float(settings.webhook_timeout))
    retry = RetryPolicy(settings.webhook_retry_initial_ms, settings.webhook_retry_max_ms,
                        settings.webhook_retry_hours * 3_600_000)
    return SecretBox(settings.webhook_secret_key_file), policy, retry


def _embedded_webhook_config(uri: str) -> "WebhookConfig":
    """Embedded mode: the key file beside a SQLite database (else ./podium-data), MLflow's variables."""
    from podium.services.webhooks import RetryPolicy
    from podium.webhooks.secrets import SecretBox
    from podium.webhooks.sender import SendPolicy

    key_file = process_settings.webhook_secret_key_file()
    if not key_file:
        if uri.startswith("sqlite:///") and ":memory:" not in uri:
            key_file = str(Path(uri[len("sqlite:///"):].split("?", 1)[0]).expanduser().resolve().parent
                           / "webhook-secret.key")
        else:
            key_file = str(Path.cwd() / process_settings.DEFAULT_DATA_DIR / "webhook-secret.key")
    schemes, allow_private = process_settings.webhook_policy()
    return SecretBox(key_file), SendPolicy(schemes, allow_private), RetryPolicy()


def _authorizer(stores: Stores, default_role: str) -> "Authorizer":
    """The one authorizer of a server with ``--auth``; ``default_role`` is everyone's registry-wide role."""
    from podium.auth.authorizer import Authorizer
    from podium.auth.entities import Permission

    def model_exists(name: str) -> bool:
        try:
            stores.registry.get_registered_model(name)
        except Exception:  # noqa: BLE001 - missing, or an invalid name: let the handler answer it
            return False
        return True

    return Authorizer(stores.auth, Permission.parse(default_role, allowed=("none", "read", "edit")),
                      model_exists=model_exists)


# ---------------------------------------------------------------------------------- moving in (decision 0019)
def importer_for(backend: Backend, artifacts_destination: str | None = None) -> "ImportService":
    """The import service writing into ``backend``'s store (embedded only: the loader writes rows).

    Files go below the store's artifact root, and locations are recorded there (paths or ``s3://``);
    with ``artifacts_destination`` (the ``podium server`` that will serve the store: its
    ``--artifacts-destination``), files go there and locations are ``mlflow-artifacts:/...``, as the
    server records its own, so every client reads them through the server."""
    from podium.errors import InvalidParameterValue
    from podium.services.moving import ImportService
    from podium.store.sql.loader import SqlImportStore

    if backend.database is None or backend.stores is None:
        raise InvalidParameterValue(
            f"Cannot import into '{backend.tracking_uri}': imports write to a database. Give the server's "
            "database as --tracking-uri (sqlite:///..., postgresql://..., mysql://...).")
    if artifacts_destination:
        if is_local_path(artifacts_destination):
            Path(local_path_of(artifacts_destination)).mkdir(parents=True, exist_ok=True)
        locate = artifact_locator(artifact_store_for(artifacts_destination))
        return ImportService(SqlImportStore(backend.database), MLFLOW_ARTIFACTS_ROOT.rstrip("/"), locate)
    return ImportService(SqlImportStore(backend.database), backend.stores.tracking.default_artifact_root,
                         artifact_locator())


def mlflow_database_source(uri: str, source_artifacts: str | None = None):
    """``(source, locate)``: an MLflow database read-only, and how its artifact locations are read
    (``mlflow-artifacts:/`` below ``source_artifacts``, the MLflow server's ``--artifacts-destination``)."""
    from podium.store.sql.mlflow_source import MlflowDatabaseSource

    check_store_uri(uri)
    destination = artifact_store_for(source_artifacts) if source_artifacts else None
    return MlflowDatabaseSource(uri), artifact_locator(destination)


def mlflow_server_source(url: str):
    """``(source, locate)``: an MLflow server over its REST API (its ``mlflow-artifacts:/`` files
    through its artifact proxy), for teams without access to its database."""
    from podium.services.mlflow_server_source import MlflowServerSource

    remote = _remote_backend(url)
    local = artifact_locator()

    def locate(uri: str):
        if uri.startswith("mlflow-artifacts:"):
            return artifact_store_for(uri, url), ""
        return local(uri)

    return MlflowServerSource(remote.tracking, remote.registry, url), locate


def store_source(backend: Backend, artifacts_destination: str | None = None):
    """``(source, locate)``: ``backend``'s own store as records (``podium export``), and how its
    artifact locations are read (``mlflow-artifacts:/`` below ``artifacts_destination``, the
    server's; default: ``artifacts`` beside a SQLite file, as ``podium server`` keeps them)."""
    from podium.errors import InvalidParameterValue
    from podium.store.sql.dump import SqlRecordSource

    if backend.database is None:
        raise InvalidParameterValue(
            f"Cannot export from '{backend.tracking_uri}': exports read the database. Give the server's "
            "database as --tracking-uri (sqlite:///..., postgresql://..., mysql://...).")
    destination = artifacts_destination
    if destination is None and backend.tracking_uri.startswith("sqlite:///"):
        destination = _default_artifact_root(backend.tracking_uri)
    store = artifact_store_for(destination) if destination else None
    return SqlRecordSource(backend.database, backend.tracking_uri), artifact_locator(store)


def archive_writer(directory: str, backend: Backend):
    """``(writer, export service)``: an export of ``backend``'s store into a new archive directory."""
    from podium.services.moving import ImportService
    from podium.store.archive import ArchiveWriter

    writer = ArchiveWriter(directory)
    return writer, ImportService(writer, writer.artifact_root, artifact_locator())


def archive_source(directory: str):
    """``(source, locate)``: a Podium archive's records, and its files (locations relative to it)."""
    from podium.store.archive import ARTIFACTS, ArchiveSource

    source = ArchiveSource(directory)
    root = artifact_store_for(str(source.directory))

    def locate(uri: str):
        return (root, uri) if uri == ARTIFACTS or uri.startswith(ARTIFACTS + "/") else None

    return source, locate


# ---------------------------------------------------------------------------------- the schema
def open_auth_store(uri: str) -> tuple["AuthStore", "Database"]:
    """The accounts of the database at ``uri`` (``podium users|groups|tokens``), the schema upgraded,
    and the database to dispose of. Nothing else is created: the Default experiment's artifact
    location is for the server (or the embedded client) that first opens the tracking store."""
    from podium.store.sql.auth import SqlAuthStore

    db = _database(uri)
    return SqlAuthStore(db), db


def open_gc(uri: str, artifacts_destination: str | None = None) -> tuple["GcService", "Database"]:
    """Garbage collection on the database at ``uri`` (``podium gc``), the schema upgraded, and the
    database to dispose of. ``artifacts_destination`` (a directory or ``s3://``): where the server
    keeps ``mlflow-artifacts:/`` files; without it those locations cannot be collected from here."""
    from podium.services.gc import GcService
    from podium.store.sql.gc import SqlGcStore

    db = _database(uri)
    destination = artifact_store_for(artifacts_destination) if artifacts_destination else None
    return GcService(SqlGcStore(db), artifact_locator(destination),
                     destination.root_uri if destination is not None else None), db


def open_database(uri: str, *, upgrade: bool = False) -> "Database":
    """The database at ``uri`` for schema work (``podium db``): ``current_revision()``, ``upgrade()``,
    ``drift()``, ``dispose()``. Not upgraded unless ``upgrade``."""
    return _database(uri, upgrade=upgrade)


def schema_revision() -> str:
    """The schema revision (Alembic head) this code expects."""
    from podium.store.sql.engine import SCHEMA_REVISION

    return SCHEMA_REVISION


# ---------------------------------------------------------------------------------- artifacts
def artifact_locator(artifacts_destination: "ArtifactStore | None" = None) -> "Locate":
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


def artifact_store_for(uri: str, tracking_uri: str | None = None, *, check_writable=None) -> "ArtifactStore":
    """The artifact store rooted at ``uri`` (a local path, ``file:``, ``s3://`` or ``mlflow-artifacts:``).

    ``check_writable`` (the embedded registry's :meth:`~podium.services.integrity.IntegrityService.check_writable`)
    makes a local or S3 store refuse writes below a registered version's files; through
    ``mlflow-artifacts:`` the server checks them itself."""
    if uri.startswith("mlflow-artifacts:"):
        from podium.client.artifacts_http import HttpArtifactStore

        return HttpArtifactStore(uri, process_settings.tracking_uri(tracking_uri))
    if is_local_path(uri):
        from podium.store.artifacts.local import LocalArtifactStore

        store = LocalArtifactStore(uri)
    elif uri.startswith("s3://"):
        from podium.store.artifacts.s3 import S3ArtifactStore

        store = S3ArtifactStore(uri)
    else:
        raise NotImplementedByPodium(
            f"No artifact store for URI '{uri}' (supported: local paths, file:, s3://, mlflow-artifacts:)."
        )
    if check_writable is None:
        return store
    from podium.store.artifacts.guarded import guarded

    return guarded(store, check_writable)
