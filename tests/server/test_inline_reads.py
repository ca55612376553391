"""Point reads on the event loop (decision 0026): where they run, and what a busy SQLite does to them.

On SQLite the server answers get model, get version, get by alias and latest versions on its event
loop, on a connection that never waits for a lock; everything else (searches, writes) and every
read on PostgreSQL/MySQL stays on the thread pool. When SQLite is busy (another process holds the
database in exclusive locking mode), the inline read gives up at once and the request is served on
the pool, which waits for the lock as before: the loop keeps answering meanwhile, and the answer is
the same. Real SQLite everywhere; the only instrument is a wrapper that records which thread each
registry service call ran on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import httpx
import pytest

from podium.server.app import create_app
from podium.server.settings import ServerSettings
from podium.uris import sqlite_path_of

from .helpers import A2

POINT_READS = ("get_registered_model", "get_model_version", "get_model_version_by_alias", "get_latest_versions")


class ThreadRecorder:
    """The registry service, recording ``(method, thread name)`` for every call (then calling it)."""

    def __init__(self, service) -> None:
        self._service = service
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name):
        attr = getattr(self._service, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self.calls.append((name, threading.current_thread().name))
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def app(db_url, tmp_path):
    app = create_app(ServerSettings(backend_store_uri=db_url, artifacts_destination=str(tmp_path / "artifacts"),
                                    access_log=False, metrics=False, webhook_delivery=False))
    app.services.registry = recorder = ThreadRecorder(app.services.registry)
    app.recorder = recorder
    yield app
    app.close()


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podium", timeout=60)


async def _seed(client, name: str) -> None:
    """A model with 3 versions, version 2 in Production, alias champion -> 3."""
    run = (await client.post(f"{A2}/runs/create", json={"experiment_id": "0"})).json()["run"]["info"]["run_id"]
    assert (await client.post(f"{A2}/registered-models/create", json={"name": name})).status_code == 200
    for _ in range(3):
        body = {"name": name, "source": f"runs:/{run}/model", "run_id": run}
        assert (await client.post(f"{A2}/model-versions/create", json=body)).status_code == 200
    body = {"name": name, "version": "2", "stage": "Production", "archive_existing_versions": False}
    assert (await client.post(f"{A2}/model-versions/transition-stage", json=body)).status_code == 200
    body = {"name": name, "alias": "champion", "version": "3"}
    assert (await client.post(f"{A2}/registered-models/alias", json=body)).status_code == 200


def _point_reads(client, name: str):
    """The four point reads (latest versions both as POST, as the mlflow client sends it, and GET)."""
    return [
        client.get(f"{A2}/registered-models/get", params={"name": name}),
        client.get(f"{A2}/model-versions/get", params={"name": name, "version": "2"}),
        client.get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}),
        client.post(f"{A2}/registered-models/get-latest-versions", json={"name": name, "stages": ["Production"]}),
        client.get(f"{A2}/registered-models/get-latest-versions", params={"name": name}),
    ]


def _check_answers(responses, name: str) -> None:
    model, version, by_alias, latest_post, latest_get = (r.json() for r in responses)
    assert [r.status_code for r in responses] == [200] * 5
    assert model["registered_model"]["name"] == name
    assert model["registered_model"]["aliases"] == [{"alias": "champion", "version": "3"}]
    assert version["model_version"]["current_stage"] == "Production"
    assert by_alias["model_version"]["version"] == "3"
    assert [v["version"] for v in latest_post["model_versions"]] == ["2"]
    assert sorted(v["version"] for v in latest_get["model_versions"]) == ["2", "3"]


@pytest.mark.all_backends
def test_point_reads_run_on_the_event_loop_on_sqlite_only(app, db_kind):
    async def scenario():
        loop_thread = threading.current_thread().name
        async with _client(app) as client:
            await _seed(client, "inline")
            app.recorder.calls.clear()
            _check_answers([await request for request in _point_reads(client, "inline")], "inline")
            missing = await client.get(f"{A2}/registered-models/get", params={"name": "no-such-model"})
            found = await client.get(f"{A2}/registered-models/search", params={"filter": "name = 'inline'"})
        return loop_thread, missing, found

    loop_thread, missing, found = asyncio.run(scenario())
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert [m["name"] for m in found.json()["registered_models"]] == ["inline"]
    threads = {}
    for method, thread in app.recorder.calls:
        threads.setdefault(method, set()).add(thread)
    assert set(POINT_READS) <= set(threads)
    assert all(t.startswith("podium-db") for t in threads["search_registered_models"])  # never inline
    for method in POINT_READS:
        expected = {loop_thread} if db_kind == "sqlite" else None
        if expected is not None:
            assert threads[method] == expected, method
        else:  # PostgreSQL, MySQL: a network round trip must not hold the loop
            assert all(t.startswith("podium-db") for t in threads[method]), method


def test_a_point_read_that_sqlite_holds_busy_is_served_from_the_pool_while_the_loop_runs(app, db_kind):
    assert db_kind == "sqlite"
    path = sqlite_path_of(app.services.backend.database.url)
    hold_seconds = 1.5

    async def scenario():
        loop_thread = threading.current_thread().name
        async with _client(app) as client:
            await _seed(client, "busy")
            # another process takes the database in exclusive locking mode: every other connection gets
            # "database is locked" (SQLite allows it only when no one else has the file open)
            app.services.backend.database.dispose()
            holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            released = threading.Event()

            def release():
                holder.execute("COMMIT")
                holder.close()  # the exclusive lock ends with the connection
                released.set()

            app.recorder.calls.clear()
            timer = threading.Timer(hold_seconds, release)
            started = time.monotonic()
            timer.start()
            try:
                reads = [asyncio.ensure_future(r) for r in _point_reads(client, "busy")]
                missing = asyncio.ensure_future(client.get(f"{A2}/model-versions/get",
                                                           params={"name": "busy", "version": "9"}))
                health = await client.get("/health")  # the loop answers while SQLite is held
                answered_at = time.monotonic() - started
                held_while_answering = not released.is_set()
                pending_while_held = not any(r.done() for r in reads)
                responses = await asyncio.gather(*reads)
                missing = await missing
            finally:
                timer.join()
        return loop_thread, health, answered_at, held_while_answering, pending_while_held, responses, missing

    loop_thread, health, answered_at, held, pending, responses, missing = asyncio.run(scenario())
    assert health.status_code == 200 and answered_at < hold_seconds and held
    assert pending  # the reads waited for the lock (on the pool), they did not fail
    _check_answers(responses, "busy")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # each read was tried on the loop first, then made again on a pool thread
    for method in POINT_READS:
        threads = [t for m, t in app.recorder.calls if m == method]
        assert threads[0] == loop_thread, (method, threads)
        assert any(t.startswith("podium-db") for t in threads[1:]), (method, threads)
