"""Shared fixtures: a fresh database per test, on every backend that is configured.

``db_url`` is parametrized over the SQL backends Podium supports:

* ``sqlite``      always: a new SQLite file under the test's ``tmp_path`` (a copy of a file migrated
  once per session, so a test does not pay ~80 ms of Alembic);
* ``postgresql``  when ``PODIUM_TEST_POSTGRES_URL`` names a server (e.g.
  ``postgresql://postgres@127.0.0.1:5433/postgres``; needs psycopg): a database with a unique name is
  created for the test (``CREATE DATABASE ... TEMPLATE`` a migrated one) and dropped after it;
* ``mysql``       the same with ``PODIUM_TEST_MYSQL_URL`` (e.g. ``mysql://user:pw@127.0.0.1:5434/mysql``;
  needs PyMySQL and a user allowed to create databases); migrated when the test first opens it.

Unconfigured backends are skipped with a reason naming the variable to set. Every fixture built on
``db_url`` (``backend``, ``registry``, ``tracking``, ``client``, ...) therefore runs its tests on each
backend; ``xfail_on(reason, backends)`` marks a known bug seen only on some of them. An autouse
fixture resets Podium's module-level state (tracking URI, active experiment, active-run stack, cached
backends, ``PODIUM_*``/``MLFLOW_*`` location variables) around every test.
"""

from __future__ import annotations

import os
import shutil

import pytest

import podium
from podium import tracking_context
from podium.compose import build, reset_backends
from tests.databases import MYSQL_ENV, POSTGRES_ENV, ServerDatabase

#: environment variables that would point a test at a database or directory it does not own
_ISOLATED_ENV = (
    "PODIUM_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "PODIUM_REGISTRY_URI",
    "MLFLOW_REGISTRY_URI",
    "PODIUM_ARTIFACT_ROOT",
    "PODIUM_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_NAME",
    "PODIUM_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_ID",
)


def _backend_param(name: str, env: str | None):
    if env is None or os.environ.get(env):
        return pytest.param(name, id=name)
    reason = f"{name} tests need {env}=<server URL> (a database is created and dropped per test)"
    return pytest.param(name, id=name, marks=pytest.mark.skip(reason=reason))


BACKEND_PARAMS = [
    _backend_param("sqlite", None),
    _backend_param("postgresql", POSTGRES_ENV),
    _backend_param("mysql", MYSQL_ENV),
]


# ------------------------------------------------------------------------------ module state
def _reset_podium_state() -> None:
    """Forget everything Podium keeps per process: URIs, experiment, runs, cached engines."""
    tracking_context._state.update(tracking_uri=None, registry_uri=None, experiment_id=None)
    tracking_context._local.__dict__.clear()  # active-run stack, last run id, last logged model id
    reset_backends()


@pytest.fixture(autouse=True)
def _isolated_podium_state(monkeypatch):
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    _reset_podium_state()
    yield
    _reset_podium_state()


# ------------------------------------------------------------------------------ databases
def _migrated(url: str) -> None:
    """Bring a database to the head schema, then close every connection to it."""
    from podium.store.sql.engine import Database

    db = Database(url)
    if db.is_sqlite:
        with db.engine.connect() as conn:  # fold the WAL into the main file before it is copied
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """A SQLite file migrated to the head schema once per session; each test gets a copy.

    Running the Alembic migrations costs ~80 ms per database; copying the migrated file costs
    well under 1 ms. The copy holds the schema only (no default experiment, no rows).
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrated(f"sqlite:///{path.as_posix()}")
    return path


@pytest.fixture(scope="session")
def _postgres_template():
    """A migrated PostgreSQL database that each test's database is created from (``TEMPLATE``)."""
    template = ServerDatabase(os.environ[POSTGRES_ENV], "postgresql")
    _migrated(template.url)
    yield template.name
    template.drop()


@pytest.fixture(params=BACKEND_PARAMS)
def db_url(request, tmp_path):
    """A URL to a database of the parametrized backend, private to this test, with the schema
    at head and no rows (the default experiment appears when a tracking store first opens it)."""
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "podium.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path.as_posix()}"
        return
    if kind == "postgresql":
        database = ServerDatabase(os.environ[POSTGRES_ENV], kind, request.getfixturevalue("_postgres_template"))
    else:
        database = ServerDatabase(os.environ[MYSQL_ENV], kind)  # migrated when first opened
    try:
        yield database.url
    finally:
        reset_backends()  # close pooled connections before dropping the database
        database.drop()


@pytest.fixture(params=BACKEND_PARAMS)
def empty_db_url(request, tmp_path):
    """A URL to a brand-new, empty database of the parametrized backend (no schema at all)."""
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{(tmp_path / 'empty.db').as_posix()}"
        return
    env = POSTGRES_ENV if kind == "postgresql" else MYSQL_ENV
    database = ServerDatabase(os.environ[env], kind)
    try:
        yield database.url
    finally:
        reset_backends()
        database.drop()


@pytest.fixture
def db_kind(db_url) -> str:
    """``sqlite``, ``postgresql`` or ``mysql``: the backend this test runs on."""
    return db_url.split(":", 1)[0].split("+", 1)[0]


@pytest.fixture
def xfail_on(request, db_kind):
    """``xfail_on(reason, backends)``: a strict xfail for a known bug seen only on some backends."""

    def mark(reason: str, backends) -> None:
        if db_kind in set(backends):
            request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))

    return mark


@pytest.fixture
def artifact_root(tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    return root


@pytest.fixture
def backend(db_url, artifact_root):
    """Embedded services (tracking + registry) over SQL stores on ``db_url``."""
    built = build(db_url, artifact_root=str(artifact_root))
    yield built
    built.close()


@pytest.fixture
def registry(backend):
    """The ``RegistryService`` of ``backend``."""
    return backend.registry


@pytest.fixture
def tracking(backend):
    """The ``TrackingService`` of ``backend``."""
    return backend.tracking


@pytest.fixture
def registry_store(registry):
    """The ``SqlRegistryStore`` under ``registry`` (inputs must be pre-validated, canonical values)."""
    return registry.registry


@pytest.fixture
def tracking_store(tracking):
    """The ``SqlTrackingStore`` under ``tracking``."""
    return tracking.store


@pytest.fixture
def engine(backend):
    """The SQLAlchemy engine both stores of ``backend`` share (for statement counting)."""
    return backend.tracking.store.db.engine


@pytest.fixture
def client(db_url, artifact_root, monkeypatch):
    """A ``PodiumClient`` on ``db_url``, which is also the fluent API's tracking URI."""
    monkeypatch.setenv("PODIUM_ARTIFACT_ROOT", str(artifact_root))
    podium.set_tracking_uri(db_url)
    return podium.MlflowClient(db_url)


class StatementCounter:
    """Counts SQL statements sent to an engine (``before_cursor_execute``)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> "StatementCounter":
        from sqlalchemy import event

        self.statements.clear()
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(engine):
    """``with count_statements() as counter: ...; counter.count`` on the backend's engine."""
    return lambda: StatementCounter(engine)
