"""End-to-end fixtures: real ``python -m podium.server`` processes (several workers, SQLite).

* ``server``          module-scoped: one server with ``--workers 4`` on a fresh SQLite file and an
  ephemeral port, started once per module and stopped (SIGTERM; it must exit 0) at the end.
* ``server_factory``  function-scoped: start more servers (e.g. to kill and restart one on the same
  database); everything it started is stopped when the test ends.

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

A2 = "/api/2.0/mlflow"
WORKERS = 4
LOG_TAIL_LINES = 80
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


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
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.root / "p.db"

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
            "--backend-store-uri", f"sqlite:///{self.db_path.as_posix()}",
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
    srv = ServerProcess(tmp_path_factory.mktemp("podium-e2e")).start()
    yield srv
    code = srv.stop()
    if code != 0:
        print(f"\n--- podium server log tail (exit code {code}) ---\n{srv.log_tail()}")
    assert code == 0, f"the server exited with {code} on SIGTERM"


class ServerFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[ServerProcess] = []

    def new(self, name: str = "srv", workers: int = WORKERS) -> ServerProcess:
        srv = ServerProcess(self.tmp_path / name, workers=workers)
        self.started.append(srv)
        return srv


@pytest.fixture
def server_factory(tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    for srv in factory.started:
        srv.stop()


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
    for i, srv in enumerate(servers):
        report.sections.append((f"podium server log tail #{i} ({srv.root})", srv.log_tail()))
