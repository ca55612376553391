"""End-to-end fixtures: real ``python -m podium.server`` processes (several workers).

The database is SQLite by default, or a fresh PostgreSQL / MySQL (MariaDB) database when
``PODIUM_TEST_SERVER_DB=postgresql|mysql`` (with ``PODIUM_TEST_POSTGRES_URL`` / ``PODIUM_TEST_MYSQL_URL``;
see ``tests/databases.py``): created before the server starts, kept across its restarts, dropped
after it stopped.

* ``server``          module-scoped: one server with ``--workers 4`` on a fresh database and an
  ephemeral port, started once per module and stopped (SIGTERM; it must exit 0) at the end.
* ``server_factory``  function-scoped: start more servers (e.g. to kill and restart one on the same
  database, or several servers on one database: ``factory.database()``); everything it started is
  stopped, and every database it created dropped, when the test ends.
* ``OBSERVATIONS``    lines a test wants shown in the terminal summary (figures seen while checking
  correctness; they are not benchmarks). They travel with the test's report, so they are shown
  under pytest-xdist too.

The servers are tests/harness.py's ``ServerProcess`` (ready when every worker logged its startup and
``/health`` answered on many fresh connections in a row). When a test fails, the tail of each server
log it used is attached to the failure report (tests/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.databases import SERVER_DB_ENV, ServerDatabase, server_database_for
from tests.harness import ServerProcess

__all__ = ["A2", "OBSERVATIONS", "WORKERS", "ServerFactory", "ServerProcess", "backend_kind"]

A2 = "/api/2.0/mlflow"
WORKERS = 4

#: (what, text) pairs printed in the terminal summary
OBSERVATIONS: list[tuple[str, str]] = []


def backend_kind() -> str:
    """The backend the servers run on: ``sqlite``, ``postgresql`` or ``mysql``."""
    return os.environ.get(SERVER_DB_ENV, "sqlite")


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("podium-e2e")
    uri, database = server_database_for(root, "p.db")
    try:
        srv = ServerProcess(root, workers=WORKERS, backend_store_uri=uri).start()
        yield srv
        code = srv.stop()
        if code != 0:
            print(f"\n--- podium server log tail (exit code {code}) ---\n{srv.log_tail()}")
        assert code == 0, f"the server exited with {code} on SIGTERM"
    finally:
        if database is not None:
            database.drop()


class ServerFactory:
    """Servers (and their databases) for one test or module; :meth:`close` stops and drops them all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[ServerProcess] = []
        self.databases: list[ServerDatabase] = []

    def database(self, name: str = "shared") -> str:
        """A fresh database (URI) for the current backend, for one or several servers to share."""
        directory = self.root / name
        directory.mkdir(parents=True, exist_ok=True)
        uri, database = server_database_for(directory, "p.db")
        if database is not None:
            self.databases.append(database)
        return uri

    def new(self, name: str = "srv", workers: int = WORKERS, backend_store_uri: str | None = None) -> ServerProcess:
        """A server (not started yet) on ``backend_store_uri``, or on a database of its own."""
        if backend_store_uri is None:
            backend_store_uri = self.database(f"{name}-db")
        srv = ServerProcess(self.root / name, workers=workers, backend_store_uri=backend_store_uri)
        self.started.append(srv)
        return srv

    def close(self) -> None:
        try:
            for srv in self.started:
                try:
                    srv.stop()
                finally:
                    srv.kill()  # no-op when it exited; otherwise nothing may hold the database
        finally:
            for database in self.databases:
                database.drop()


@pytest.fixture
def server_factory(tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Hand the test's observations to its report (tests/conftest.py prints them at the end)."""
    outcome = yield
    report = outcome.get_result()
    section = f"e2e observations on {backend_kind()} (from correctness tests, not benchmarks)"
    report.user_properties.extend((f"summary: {section}", f"{test}: {text}") for test, text in OBSERVATIONS)
    OBSERVATIONS.clear()
