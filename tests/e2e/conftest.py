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
  correctness; they are not benchmarks).

A server counts as ready when every worker logged ``Application startup complete.`` *and* ``/health``
answered ``OK`` on many fresh connections in a row (so the load never hits a half-started pool).
When a test fails, the tail of each server log it used is attached to the failure report.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.databases import SERVER_DB_ENV, ServerDatabase, server_database_for

A2 = "/api/2.0/mlflow"
WORKERS = 4
LOG_TAIL_LINES = 80
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

#: (what, text) pairs printed in the terminal summary
OBSERVATIONS: list[tuple[str, str]] = []


def backend_kind() -> str:
    """The backend the servers run on: ``sqlite``, ``postgresql`` or ``mysql``."""
    return os.environ.get(SERVER_DB_ENV, "sqlite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ServerProcess:
    """One ``python -m podium.server`` process tree (the uvicorn supervisor and its workers)."""

    root: Path
    workers: int = WORKERS
    #: the database (SQLAlchemy URL); None: ``sqlite:///<root>/p.db``
    backend_store_uri: str | None = None
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_uri(self) -> str:
        return self.backend_store_uri or f"sqlite:///{(self.root / 'p.db').as_posix()}"

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the current log, preceded by the tails of earlier starts' logs."""
        parts = []
        for n in range(1, self.starts + 1):
            path = self.root / f"server-{n}.log"
            if path.exists():
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                parts.append(f"[{path.name}]\n{tail}")
        return "\n".join(parts)

    def start(self) -> "ServerProcess":
        """Start on a new ephemeral port (same database and artifact directory on every start)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.root.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.port = free_port()
        self.log_path = self.root / f"server-{self.starts}.log"
        cmd = [
            sys.executable, "-m", "podium.server",
            "--backend-store-uri", self.store_uri,
            "--artifacts-destination", str(self.root / "art"),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=self.root, env=_server_env(), stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        streak = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"podium server exited with {self.process.returncode} during startup:\n{self.log_tail()}"
                )
            workers_up = self.log().count("Application startup complete") >= self.workers
            try:
                # a fresh connection each time, so the kernel hands them to different workers
                ok = httpx.get(f"{self.url}/health", timeout=2).text == "OK"
            except httpx.TransportError:
                ok = False
            streak = streak + 1 if ok else 0
            if workers_up and streak >= 20:
                return
            time.sleep(0.02 if ok else 0.1)
        raise RuntimeError(f"podium server not ready after {STARTUP_TIMEOUT}s:\n{self.log_tail()}")

    def terminate(self) -> None:
        """Send SIGTERM to the supervisor (it forwards it to the workers)."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self.exit_codes.append(code)
        return code

    def stop(self) -> int | None:
        """SIGTERM and wait; SIGKILL the whole tree if it does not exit. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.terminate()
        try:
            return self.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # the workers are children of the supervisor: kill them too (only processes we started)
        children = _children(self.process.pid)
        self.process.kill()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("podium-e2e")
    uri, database = server_database_for(root, "p.db")
    try:
        srv = ServerProcess(root, backend_store_uri=uri).start()
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
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    servers = []
    funcargs = getattr(item, "funcargs", {})
    if isinstance(funcargs.get("server"), ServerProcess):
        servers.append(funcargs["server"])
    if isinstance(funcargs.get("server_factory"), ServerFactory):
        servers.extend(funcargs["server_factory"].started)
    for value in funcargs.values():  # e.g. a module's group of servers on one database
        servers.extend(s for s in getattr(value, "servers", ()) if isinstance(s, ServerProcess))
    for i, srv in enumerate(servers):
        report.sections.append((f"podium server log tail #{i} ({srv.root})", srv.log_tail()))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if OBSERVATIONS:
        terminalreporter.section(f"e2e observations on {backend_kind()} (from correctness tests, not benchmarks)")
        for test, text in OBSERVATIONS:
            terminalreporter.write_line(f"{test}: {text}")
