"""The one way tests start a real ``python -m podium.server`` process.

``ServerProcess(root, ...)`` is one server process tree (uvicorn's supervisor and its workers) on an
ephemeral port, with its database (``sqlite:///<root>/<db_file>`` unless ``backend_store_uri`` names
another), artifact directory, extra command-line flags (``--auth``, ``--artifacts-destination
s3://...``: they come last, so they override) and extra environment variables (the test process's
``PODIUM_*``/``MLFLOW_*`` variables are never passed on). ``start()`` waits until it serves:
``/health`` answers ``OK`` and every worker logged its startup (the count is the server's banner's,
``…, 2 workers)``), and with several workers until ``/health`` answered on many fresh connections in a
row (so load never hits a half-started pool). ``workers`` pins ``--workers`` (1 unless a test asks for
more: most tests do not test the worker count, and one process starts faster); ``workers=None`` runs
the server's own default (``min(2, cores)``, decision 0028), as ``podium server`` alone does.
It may be stopped and started again on the same database and directory (each start logs to
``server-<n>.log``); ``stop()`` sends SIGTERM and returns the exit code, ``kill()`` ends the whole tree.
``log_tail()`` is what a failing test shows.

``PODIUM_TEST_SERVER_DB`` (``sqlite``, ``postgresql`` or ``mysql``) picks the database that the live-server
suites (compat, e2e, the --auth server suites) run their servers on: ``server_database_for`` in
tests/databases.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["LOG_TAIL_LINES", "ServerProcess", "free_port", "server_env"]

LOG_TAIL_LINES = 80
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without PODIUM_*/MLFLOW_* settings that could redirect a server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **(extra or {})}


@dataclass
class ServerProcess:
    """One ``python -m podium.server`` process tree."""

    root: Path
    #: ``--workers``; None: the server's default (the harness reads the count from its banner)
    workers: int | None = 1
    #: the database (SQLAlchemy URL); None: ``sqlite:///<root>/<db_file>``
    backend_store_uri: str | None = None
    extra: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    db_file: str = "podium.db"
    artifacts_dir: str = "artifacts"
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
        return self.backend_store_uri or f"sqlite:///{(self.root / self.db_file).as_posix()}"

    @property
    def artifacts(self) -> Path:
        return self.root / self.artifacts_dir

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of each start's log."""
        parts = []
        for n in range(1, self.starts + 1):
            path = self.root / f"server-{n}.log"
            if path.exists():
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                parts.append(f"[{path.name}]\n{tail}")
        return "\n".join(parts)

    def start(self, timeout: float = STARTUP_TIMEOUT) -> "ServerProcess":
        """Start on a new ephemeral port (same database and artifact directory on every start)."""
        for attempt in range(3):  # the port may be taken between the bind-to-0 probe and the server's bind
            try:
                return self._start(timeout)
            except RuntimeError:
                if attempt == 2 or "address already in use" not in self.log().lower():
                    raise
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> "ServerProcess":
        assert self.process is None or self.process.poll() is not None, "already running"
        self.root.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.port = free_port()
        self.log_path = self.root / f"server-{self.starts}.log"
        cmd = [
            sys.executable, "-m", "podium.server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", self.store_uri, "--artifacts-destination", str(self.artifacts),
            *(("--workers", str(self.workers)) if self.workers is not None else ()), *self.extra,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, cwd=self.root, env=server_env(self.env), stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        streak = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"podium server exited with {self.process.returncode} during startup:\n{self.log_tail()}"
                )
            log = self.log()
            started = _BANNER_WORKERS.search(log)
            workers = int(started.group(1)) if started else None  # what the server runs, whatever asked it
            workers_up = workers == 1 or (workers is not None and log.count("Application startup complete") >= workers)
            needed = 20 if (workers or 1) > 1 else 1
            try:
                # a fresh connection each time, so the kernel hands them to different workers
                ok = httpx.get(f"{self.url}/health", timeout=2).text == "OK"
            except httpx.TransportError:
                ok = False
            streak = streak + 1 if ok else 0
            if workers_up and streak >= needed:
                return
            time.sleep(0.02 if ok else 0.1)
        raise RuntimeError(f"podium server not ready after {timeout}s:\n{self.log_tail()}")

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


#: the banner ``Podium server on http://… (store …, artifacts …, 2 workers…)``: how many workers start
_BANNER_WORKERS = re.compile(r"^Podium server on .*, (\d+) workers?\b", re.MULTILINE)


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]
