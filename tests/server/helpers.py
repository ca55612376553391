"""Assertions and constants the server tests share."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

A2 = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    root: Path
    log_path: Path

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_server(root: Path, *extra: str, timeout: float = 30.0, env: dict[str, str] | None = None) -> RunningServer:
    """Start ``python -m podium.server`` in ``root`` and wait until ``/health`` answers.

    ``extra`` flags come last (so ``--artifacts-destination s3://...`` overrides the directory);
    ``env`` adds variables to the process (``PODIUM_*``/``MLFLOW_*`` of the test process are not passed).
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = root / "server.log"
    cmd = [
        sys.executable, "-m", "podium.server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{(root / 'podium.db').as_posix()}",
        "--artifacts-destination", str(root / "artifacts"), *extra,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=root, env={**_server_env(), **(env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"podium server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).text == "OK":
                return RunningServer(url, process, root, log_path)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"podium server did not answer /health in {timeout}s:\n{log_path.read_text()}")


def stop_server(server: RunningServer) -> int:
    server.process.terminate()
    try:
        return server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


def ok(response: httpx.Response) -> dict:
    """The JSON body of a 200 response (fails with the body otherwise)."""
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json()


def error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict:
    """Assert an MLflow-shaped error; ``message`` must match exactly when given."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error_code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


@contextlib.contextmanager
def live_server_on(backend: str, root: Path):
    """A server without --auth on SQLite or (``backend == "postgresql"``) on a fresh PostgreSQL
    database, and an httpx client on it: yields ``(running, api)``; stops it and drops the database."""
    from tests.databases import POSTGRES_ENV, ServerDatabase

    database = None
    extra: tuple[str, ...] = ()
    if backend == "postgresql":
        database = ServerDatabase(os.environ[POSTGRES_ENV], "postgresql")
        extra = ("--backend-store-uri", database.url)
    running = start_server(root, *extra)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as api:
            yield running, api
    finally:
        stop_server(running)
        if database is not None:
            database.drop()
