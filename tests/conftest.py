"""Shared fixtures: a database per test, on the backends a test needs, plus Podium's module state.

``db_url`` (and every fixture built on it: ``backend``, ``registry``, ``tracking``, ``client``, ...)
gives a test a database with the schema at head and no rows. Which backends a test runs on:

* **every configured backend** (SQLite, PostgreSQL, MariaDB/MySQL) for the tests under
  ``tests/store/`` (the layer that holds the SQL, including the migration and concurrency tests) and
  for any test or module marked ``@pytest.mark.all_backends`` (a service test that once found a
  backend-specific bug, e.g. ``tests/services/test_client_mistakes.py``);
* **SQLite only** for every other test (services, client, CLI, auth, server, compat): these layers
  hold no backend-specific SQL, they call the store, which is tested on all three. Live-server
  suites cover the other backends by running again with ``PODIUM_TEST_SERVER_DB`` (see .ci/run).

The backends:

* ``sqlite``      always: a new SQLite file under the test's ``tmp_path`` (a copy of a file migrated
  once per session, so a test does not pay ~80 ms of Alembic);
* ``postgresql``  when ``PODIUM_TEST_POSTGRES_URL`` names a server (e.g.
  ``postgresql://postgres@127.0.0.1:5433/postgres``; needs psycopg);
* ``mysql``       when ``PODIUM_TEST_MYSQL_URL`` does (e.g. ``mysql://user:pw@127.0.0.1:5434/mysql``;
  needs PyMySQL and a user allowed to create databases).

On PostgreSQL and MariaDB each test session (each xdist worker) creates one database per backend,
``podium_test_<worker>_<random>``, migrates it once and empties it before every test
(``tests/databases.py``, ``WorkerDatabase.reset``: the same state as a freshly migrated database,
which ``tests/store/test_migrations.py`` checks). Tests that need a database with no schema at all
(migrations, drift) use ``empty_db_url``: a brand-new database on every configured backend.

Unconfigured backends are skipped with a reason naming the variable to set;
``xfail_on(reason, backends)`` marks a known bug seen only on some of them. An autouse fixture resets
Podium's module-level state (tracking URI, active experiment, active-run stack, cached backends,
``PODIUM_*``/``MLFLOW_*`` location variables) around every test.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

import podium
import podium.clock
from podium import tracking_context
from podium.compose import build, reset_backends
from tests.databases import MYSQL_ENV, POSTGRES_ENV, ServerDatabase, WorkerDatabase
from tests.harness import ServerProcess

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
    "COLUMNS",  # the CLI lays tables out for a pipe unless COLUMNS is set (pytest-xdist workers set 80)
    "LINES",
)


def _backend_param(name: str, env: str | None):
    if env is None or os.environ.get(env):
        return pytest.param(name, id=name)
    reason = f"{name} tests need {env}=<server URL> (a database is created for the session and dropped after it)"
    return pytest.param(name, id=name, marks=pytest.mark.skip(reason=reason))


BACKEND_PARAMS = [
    _backend_param("sqlite", None),
    _backend_param("postgresql", POSTGRES_ENV),
    _backend_param("mysql", MYSQL_ENV),
]

#: tests under these directories run on every backend (the store layer: its SQL differs by backend)
ALL_BACKENDS_DIRS = ("tests/store/",)


def needs_every_backend(definition) -> bool:
    """True for a store test or a test marked ``all_backends``; other tests run on SQLite only."""
    path = definition.path.relative_to(definition.config.rootpath).as_posix()
    return path.startswith(ALL_BACKENDS_DIRS) or definition.get_closest_marker("all_backends") is not None


def pytest_configure(config):
    config.addinivalue_line("markers", "all_backends: run this test's db_url on SQLite, PostgreSQL and MariaDB")
    config.addinivalue_line("markers", "serial: starts many processes; make test runs it outside the xdist run")


def pytest_generate_tests(metafunc):
    if "empty_db_url" in metafunc.fixturenames:
        metafunc.parametrize("empty_db_url", BACKEND_PARAMS, indirect=True)
    if "db_url" in metafunc.fixturenames:
        params = BACKEND_PARAMS if needs_every_backend(metafunc.definition) else BACKEND_PARAMS[:1]
        metafunc.parametrize("db_url", params, indirect=True)


# ------------------------------------------------------------------------------ pytest-xdist
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Keep tests that share a module-scoped fixture (a server process, a rendered chart) on one
    xdist worker (``--dist loadgroup``); mark the e2e tests ``serial``: each starts many processes
    and loads them, so ``make test`` runs them after the parallel run, alone."""
    for item in items:
        path = item.path.relative_to(config.rootpath).as_posix()
        if path.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.serial)
            item.add_marker(pytest.mark.xdist_group("e2e"))
        elif path.startswith(("tests/server/", "tests/compat/", "tests/deploy/")):
            item.add_marker(pytest.mark.xdist_group(path.replace("/", ".")))


# ------------------------------------------------------------------------------ live servers in reports
def _servers_of(item) -> list[ServerProcess]:
    """The server processes a test used: fixture values, their ``server``, ``servers`` or ``started``."""
    found: list[ServerProcess] = []
    for value in (getattr(item, "funcargs", None) or {}).values():
        for candidate in (value, getattr(value, "server", None), *getattr(value, "servers", ()), *getattr(value, "started", ())):
            if isinstance(candidate, ServerProcess) and all(candidate is not f for f in found):
                found.append(candidate)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the log tail of every server process it used."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, srv in enumerate(_servers_of(item)):
            report.sections.append((f"podium server log tail #{i} ({srv.root})", srv.log_tail()))


#: report.user_properties entries named ``summary: <section>`` are printed under that section at the
#: end (reports travel from xdist workers to the controller; fixtures and module globals do not)
_SUMMARY: dict[str, list[str]] = {}


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name.startswith("summary: "):
            _SUMMARY.setdefault(name.removeprefix("summary: "), []).append(value)


def pytest_terminal_summary(terminalreporter):
    for section, lines in _SUMMARY.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


# ------------------------------------------------------------------------------ module state
def _reset_podium_state() -> None:
    """Forget everything Podium keeps per process: URIs, experiment, runs, cached engines."""
    tracking_context._state.update(tracking_uri=None, registry_uri=None, experiment_id=None)
    tracking_context._local.__dict__.clear()  # active-run stack, last run id, last logged model id
    reset_backends()


@pytest.fixture(scope="module", autouse=True)
def _isolated_module_state():
    """The same isolation before a module's own module-scoped fixtures run (they run before any
    test's function fixtures): a module starts with none of the location variables and fresh state,
    whatever ran before it on this worker."""
    for name in _ISOLATED_ENV:
        os.environ.pop(name, None)
    _reset_podium_state()
    yield


@pytest.fixture(autouse=True)
def _isolated_podium_state(monkeypatch):
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    _reset_podium_state()
    yield
    _reset_podium_state()
    # what the code under test set itself (mlflow.set_experiment writes MLFLOW_EXPERIMENT_ID, say):
    # monkeypatch only undoes its own changes, and the next module's fixtures run before this one
    for name in _ISOLATED_ENV:
        os.environ.pop(name, None)


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
def _worker_databases():
    """``kind -> WorkerDatabase``: one migrated database per server backend for this session/worker."""
    made: dict[str, WorkerDatabase] = {}

    def get(kind: str) -> WorkerDatabase:
        if kind not in made:
            env = POSTGRES_ENV if kind == "postgresql" else MYSQL_ENV
            made[kind] = WorkerDatabase(os.environ[env], kind, os.environ.get("PYTEST_XDIST_WORKER", "main"))
        return made[kind]

    yield get
    for database in made.values():
        database.drop()


@pytest.fixture
def db_url(request, tmp_path):
    """A URL to a database of the parametrized backend, private to this test, with the schema
    at head and no rows (the default experiment appears when a tracking store first opens it)."""
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "podium.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path.as_posix()}"
        return
    database = request.getfixturevalue("_worker_databases")(kind)
    database.reset()
    try:
        yield database.url
    finally:
        reset_backends()  # close pooled connections before the next test empties the database


@pytest.fixture
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


class TickingClock:
    """``podium.clock.now_ms`` for a test: the real time, but always at least 1 ms after the previous
    reading, so two changes never share a timestamp and no test sleeps to make time pass."""

    def __init__(self) -> None:
        self.last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self.last = max(int(time.time() * 1000), self.last + 1)
            return self.last

    def mark(self) -> int:
        """A time strictly after every change made before and before every change made after."""
        return self.now_ms()


@pytest.fixture
def clock(monkeypatch) -> TickingClock:
    ticking = TickingClock()
    monkeypatch.setattr(podium.clock, "now_ms", ticking.now_ms)
    return ticking


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
