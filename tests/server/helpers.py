"""Assertions and constants the server tests share, and their server starter (tests/harness.py)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx

from tests.harness import STARTUP_TIMEOUT, ServerProcess, free_port

__all__ = ["A2", "ART", "RunningServer", "error", "free_port", "live_server_on", "ok", "start_server", "stop_server"]

A2 = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"

#: a started server: ``url``, ``process``, ``root``, ``artifacts``, ``log()``, ``log_tail()``
RunningServer = ServerProcess


def start_server(root: Path, *extra: str, timeout: float = STARTUP_TIMEOUT,
                 env: dict[str, str] | None = None) -> RunningServer:
    """Start ``python -m podium.server`` in ``root`` (SQLite file and artifact directory there) and wait
    until ``/health`` answers (and every worker started: ``--workers 2`` in ``extra`` is waited for).
    One worker unless ``extra`` says ``--workers``.

    ``extra`` flags come last (so ``--artifacts-destination s3://...`` overrides the directory);
    ``env`` adds variables to the process (``PODIUM_*``/``MLFLOW_*`` of the test process are not passed).
    """
    return ServerProcess(root, extra=extra, env=env).start(timeout)


def stop_server(server: RunningServer) -> int | None:
    """SIGTERM, wait, SIGKILL if it hangs; the exit code."""
    return server.stop()


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
