"""Scheduled garbage collection: two real ``podium server`` processes (one with two workers) on one
database (SQLite, PostgreSQL, MariaDB), ``--gc-interval 1s --gc-retention 0``: what is deleted
through the API is purged exactly once, by the collectors' lease holder, and what is live stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from podium.compose import open_gc
from tests.databases import MYSQL_ENV, POSTGRES_ENV, ServerDatabase
from tests.harness import ServerProcess
from tests.server.helpers import A2, error, ok


def _history(db_uri: str):
    service, database = open_gc(db_uri)
    try:
        return service.history(1000)
    finally:
        database.dispose()


def _write(path: Path, name: str, content: bytes) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(content)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_uri(request, tmp_path):
    """One database for both servers: a SQLite file, or a fresh PostgreSQL / MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'shared.db').as_posix()}"
        return
    env = {"postgresql": POSTGRES_ENV, "mysql": MYSQL_ENV}[request.param]
    if not os.environ.get(env):
        pytest.skip(f"{request.param} needs {env}")
    database = ServerDatabase(os.environ[env], request.param)
    yield database.url
    database.drop()


def test_two_servers_on_one_database_collect_what_was_deleted_once(tmp_path, db_uri):
    shared = tmp_path / "artifacts"
    flags = ("--artifacts-destination", str(shared), "--gc-interval", "1s", "--gc-retention", "0")
    servers = [ServerProcess(tmp_path / "a", workers=2, backend_store_uri=db_uri, extra=flags),
               ServerProcess(tmp_path / "b", backend_store_uri=db_uri, extra=flags)]
    try:
        for server in servers:
            server.start()
        a, b = (httpx.Client(base_url=s.url, timeout=30) for s in servers)
        experiment_id = ok(a.post(f"{A2}/experiments/create", json={"name": "doomed"}))["experiment_id"]
        run_ids = [ok(a.post(f"{A2}/runs/create", json={"experiment_id": experiment_id}))["run"]["info"]["run_id"]
                   for _ in range(4)]
        for run_id in run_ids:
            _write(shared / experiment_id / run_id / "artifacts", "model.pkl", b"x" * 100)
        live = ok(b.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
        _write(shared / "0" / live / "artifacts", "keep.txt", b"live")

        ok(b.post(f"{A2}/experiments/delete", json={"experiment_id": experiment_id}))

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # polls the servers' work; no time is assumed to pass
            history = _history(db_uri)
            if any(h.action == "artifacts_deleted" and h.object_id == experiment_id for h in history):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("no collection within 60 s:\n" + "\n".join(s.log_tail() for s in servers))

        assert not (shared / experiment_id).exists()
        assert (shared / "0" / live / "artifacts" / "keep.txt").read_bytes() == b"live"
        error(a.get(f"{A2}/experiments/get", params={"experiment_id": experiment_id}), 404, "RESOURCE_DOES_NOT_EXIST")
        ok(b.get(f"{A2}/runs/get", params={"run_id": live}))

        history = _history(db_uri)
        purges = [(h.action, h.kind, h.object_id) for h in history]
        # each object purged once, all by the scheduled collector
        assert sorted(p for p in purges if p[0] == "rows_purged") == sorted(
            [("rows_purged", "run", r) for r in run_ids] + [("rows_purged", "experiment", experiment_id)])
        assert purges.count(("artifacts_deleted", "experiment", experiment_id)) == 1
        assert {h.actor for h in history} == {"system"}
        # every process ran a collector, without errors (which one collects is the database's lease:
        # tests/store/test_gc.py claims it from many threads at once; exactly one wins)
        logs = [s.log() for s in servers]
        assert sum(log.count("gc by ") for log in logs) >= 1, logs
        assert [log.count("gc: collecting every 1s (retention 0)") for log in logs] == [2, 1]  # every worker
        for log in logs:
            assert "Traceback" not in log and "Garbage collection failed" not in log
        for client in (a, b):  # both still serve
            assert client.get("/health").status_code == 200
    finally:
        for server in servers:
            server.stop()
