"""A real multi-worker server under concurrent load: the registry's concurrency contract over HTTP.

The server (``--workers 4`` on SQLite, see ``conftest.py``) runs as its own process tree; the load
comes from this process: 64 ``httpx.AsyncClient`` instances, each limited to ONE connection, that
open their connection first and then start together. These are correctness tests: they assert
outcomes (status codes, version numbers, stages, aliases, durability), never timings.

What "correct" means here (``podium/store/sql/registry.py``): version numbers are unique and
gap-free, ``archive_existing_versions`` leaves one version in the stage, an alias points at one
version, a name is registered once, no caller ever sees "database is locked" or a 5xx, and a
SIGTERM loses no acknowledged write.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from .conftest import A2, ServerProcess

CLIENTS = 64
TIMEOUT = httpx.Timeout(60.0)


# ------------------------------------------------------------------------------ load helpers
@dataclass
class Outcome:
    """One request's result: an HTTP response (status and body) or a transport error."""

    status: int | None
    text: str
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0

    def json(self):
        return json.loads(self.text)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> Outcome:
    started = time.monotonic()
    try:
        r = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}", started, time.monotonic())
    return Outcome(r.status_code, r.text, None, started, time.monotonic())


def _client(base_url: str) -> httpx.AsyncClient:
    # one connection per client, so 64 clients are 64 concurrent connections
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits)


async def run_clients(base_url: str, n: int, work, *, background=()):
    """Run ``work(client, index)`` on ``n`` clients at once; returns their results in order.

    Every client first opens its connection (``GET /health``), then all start on one signal.
    ``background`` coroutine functions ``fn(done_event)`` run alongside and stop when ``done`` is set.
    """
    clients = [_client(base_url) for _ in range(n)]
    go = asyncio.Event()
    done = asyncio.Event()
    try:
        warm = await asyncio.gather(*(c.get("/health") for c in clients))
        assert all(r.status_code == 200 for r in warm)

        async def one(i: int):
            await go.wait()
            return await work(clients[i], i)

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        side = [asyncio.create_task(fn(done)) for fn in background]
        await asyncio.sleep(0)  # let every task reach go.wait()
        go.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        done.set()
        side_results = await asyncio.gather(*side)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} client(s) raised, first: {errors[0]!r}"
    return results, side_results


def assert_clean(outcomes: list[Outcome]) -> None:
    """No transport error, no 5xx, and no body mentioning a locked database."""
    transport = [o.error for o in outcomes if o.error]
    assert not transport, f"{len(transport)} transport errors, e.g. {transport[:3]}"
    server_errors = [(o.status, o.text[:300]) for o in outcomes if o.status >= 500]
    assert not server_errors, f"{len(server_errors)} 5xx responses, e.g. {server_errors[:3]}"
    locked = [o.text[:300] for o in outcomes if "database is locked" in o.text.lower()]
    assert not locked, f"{len(locked)} responses mention 'database is locked', e.g. {locked[:3]}"


def statuses(outcomes: list[Outcome]) -> Counter:
    return Counter(o.status if o.status is not None else o.error.split(":")[0] for o in outcomes)


# ------------------------------------------------------------------------------ REST helpers
def ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, f"{r.status_code}: {r.text}"
    return r.json()


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def create_model(api: httpx.Client, name: str) -> None:
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))


def create_run(api: httpx.Client) -> str:
    return ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]


def create_versions(api: httpx.Client, name: str, run_id: str, count: int) -> None:
    for i in range(1, count + 1):
        body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}
        assert ok(api.post(f"{A2}/model-versions/create", json=body))["model_version"]["version"] == str(i)


def search_versions(api: httpx.Client, name: str) -> list[dict]:
    out, token = [], None
    while True:
        params = {"filter": f"name='{name}'", "max_results": 1000}
        if token:
            params["page_token"] = token
        body = ok(api.get(f"{A2}/model-versions/search", params=params))
        out.extend(body.get("model_versions", []))
        token = body.get("next_page_token")
        if not token:
            return out


@pytest.fixture
def api(server: ServerProcess):
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


# ------------------------------------------------------------------------------ 1. version numbers
def test_64_clients_creating_versions_get_1_to_n_without_duplicates_gaps_or_errors(server, api):
    per_client = 5
    name = unique("concurrent-versions")
    create_model(api, name)
    run_id = create_run(api)
    body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}

    async def work(client, i):
        return [await call(client, "POST", f"{A2}/model-versions/create", json=body) for _ in range(per_client)]

    results, _ = asyncio.run(run_clients(server.url, CLIENTS, work))
    outcomes = [o for per in results for o in per]
    total = CLIENTS * per_client

    assert len(outcomes) == total
    assert_clean(outcomes)
    assert statuses(outcomes) == Counter({200: total}), statuses(outcomes)
    returned = [int(o.json()["model_version"]["version"]) for o in outcomes]
    duplicates = sorted(v for v, c in Counter(returned).items() if c > 1)
    assert not duplicates, f"version numbers handed out twice: {duplicates}"
    assert sorted(returned) == list(range(1, total + 1)), f"missing: {sorted(set(range(1, total + 1)) - set(returned))}"

    stored = sorted(int(v["version"]) for v in search_versions(api, name))
    assert stored == list(range(1, total + 1))
    assert "database is locked" not in server.log().lower()


# ------------------------------------------------------------------------------ 2. archiving
def test_64_clients_archiving_into_production_leave_exactly_one(server, api):
    per_client = 5
    n_versions = 40
    name = unique("concurrent-stages")
    create_model(api, name)
    create_versions(api, name, create_run(api), n_versions)
    rng = random.Random(20261127)
    # Production moves use versions 1..30 and Staging moves 31..40: a Staging move then never
    # takes the Production version away, so "exactly one in Production" must hold at the end.
    plan = [
        [
            ("Production", rng.randint(1, 30)) if rng.random() < 0.75 else ("Staging", rng.randint(31, n_versions))
            for _ in range(per_client)
        ]
        for _ in range(CLIENTS)
    ]
    assert any(stage == "Production" for moves in plan for stage, _ in moves)

    async def work(client, i):
        out = []
        for stage, version in plan[i]:
            body = {"name": name, "version": str(version), "stage": stage, "archive_existing_versions": True}
            out.append((stage, version, await call(client, "POST", f"{A2}/model-versions/transition-stage", json=body)))
        return out

    async def observer(done: asyncio.Event):
        """Snapshots of the whole model while the load runs: each search is one consistent read."""
        snapshots, bad = [], []
        async with _client(server.url) as client:
            while True:
                finished = done.is_set()
                o = await call(client, "GET", f"{A2}/model-versions/search",
                               params={"filter": f"name='{name}'", "max_results": 1000})
                if o.status != 200:
                    bad.append(o)
                else:
                    stages = Counter(v["current_stage"] for v in o.json().get("model_versions", []))
                    snapshots.append((stages["Production"], stages["Staging"], sum(stages.values())))
                if finished:
                    return snapshots, bad
                await asyncio.sleep(0.05)

    results, [(snapshots, bad_reads)] = asyncio.run(run_clients(server.url, CLIENTS, work, background=[observer]))
    outcomes = [o for per in results for (_, _, o) in per]

    assert len(outcomes) == CLIENTS * per_client
    assert_clean(outcomes)
    assert statuses(outcomes) == Counter({200: len(outcomes)}), statuses(outcomes)
    for per in results:
        for stage, version, o in per:
            mv = o.json()["model_version"]
            assert (mv["version"], mv["current_stage"]) == (str(version), stage), mv

    assert not bad_reads, f"observer reads failed: {[(o.status, o.error, o.text[:200]) for o in bad_reads[:3]]}"
    assert len(snapshots) >= 2, "the observer never ran alongside the load"
    assert all(total == n_versions for _, _, total in snapshots), "a snapshot did not list every version"
    max_production = max(p for p, _, _ in snapshots)
    max_staging = max(s for _, s, _ in snapshots)
    assert max_production <= 1, f"a single search saw {max_production} versions in Production"
    assert max_staging <= 1, f"a single search saw {max_staging} versions in Staging"

    final = Counter(v["current_stage"] for v in search_versions(api, name))
    assert final["Production"] == 1, final
    assert final["Staging"] <= 1, final
    assert sum(final.values()) == n_versions


# ------------------------------------------------------------------------------ 3. aliases
def test_concurrent_alias_moves_leave_the_alias_on_one_version(server, api):
    per_client = 5
    n_versions = 10
    readers = 4
    name = unique("concurrent-alias")
    create_model(api, name)
    create_versions(api, name, create_run(api), n_versions)
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}))
    rng = random.Random(42)
    plan = [[rng.randint(1, n_versions) for _ in range(per_client)] for _ in range(CLIENTS)]

    async def work(client, i):
        return [
            await call(client, "POST", f"{A2}/registered-models/alias",
                       json={"name": name, "alias": "champion", "version": str(v)})
            for v in plan[i]
        ]

    def reader(_):
        async def read(done: asyncio.Event):
            seen = []
            async with _client(server.url) as client:
                while True:
                    finished = done.is_set()
                    seen.append(await call(client, "GET", f"{A2}/registered-models/alias",
                                           params={"name": name, "alias": "champion"}))
                    if finished:
                        return seen
                    await asyncio.sleep(0.01)
        return read

    results, reads = asyncio.run(
        run_clients(server.url, CLIENTS, work, background=[reader(i) for i in range(readers)])
    )
    writes = [o for per in results for o in per]
    reads = [o for per in reads for o in per]

    assert len(writes) == CLIENTS * per_client
    assert_clean(writes)
    assert statuses(writes) == Counter({200: len(writes)}), statuses(writes)

    assert len(reads) >= readers * 2, "the readers never ran alongside the load"
    assert_clean(reads)
    assert statuses(reads) == Counter({200: len(reads)}), statuses(reads)
    for o in reads:
        mv = o.json()["model_version"]
        assert isinstance(mv, dict) and mv["name"] == name, o.text
        assert 1 <= int(mv["version"]) <= n_versions, o.text
        assert mv.get("aliases") == ["champion"], o.text

    holders = [v["version"] for v in search_versions(api, name) if "champion" in v.get("aliases", [])]
    assert len(holders) == 1, f"the alias is on versions {holders}"
    resolved = ok(api.get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}))
    assert resolved["model_version"]["version"] == holders[0]
    assert 1 <= int(holders[0]) <= n_versions


# ------------------------------------------------------------------------------ 4. same name
def test_concurrent_model_creation_with_the_same_name_has_one_winner(server, api):
    n = 32
    name = unique("same-name")

    async def work(client, i):
        return await call(client, "POST", f"{A2}/registered-models/create", json={"name": name})

    outcomes, _ = asyncio.run(run_clients(server.url, n, work))

    assert_clean(outcomes)
    assert statuses(outcomes) == Counter({200: 1, 400: n - 1}), statuses(outcomes)
    winner = next(o for o in outcomes if o.status == 200)
    assert winner.json()["registered_model"]["name"] == name
    for o in outcomes:
        if o.status == 400:
            assert o.json()["error_code"] == "RESOURCE_ALREADY_EXISTS", o.text
    found = ok(api.get(f"{A2}/registered-models/search", params={"filter": f"name='{name}'"}))
    assert [m["name"] for m in found.get("registered_models", [])] == [name]


# ------------------------------------------------------------------------------ 5. SIGTERM
def test_sigterm_under_load_exits_0_and_loses_no_acknowledged_write(server_factory):
    """SIGTERM while 64 clients are writing: every 200 survives a restart, and the exit code is 0.

    Each client creates versions in a loop (a unique ``source`` per request, so a stored version can
    be matched to the request that made it) until its connection is closed or refused. Requests
    the server never answered may or may not be stored; requests it answered with 200 must be.
    """
    srv = server_factory.new("sigterm").start()
    name = unique("sigterm")
    with httpx.Client(base_url=srv.url, timeout=TIMEOUT) as api:
        create_model(api, name)
        run_id = create_run(api)

    acked_before_signal = 64
    signalled = {}
    progress = Counter()

    async def work(client, i):
        out = []
        for j in range(200):
            source = f"runs:/{run_id}/model-{i}-{j}"
            o = await call(client, "POST", f"{A2}/model-versions/create",
                           json={"name": name, "source": source, "run_id": run_id})
            out.append((source, o))
            progress[o.status] += 1
            if o.status != 200:
                return out
        return out

    async def killer(done: asyncio.Event):
        # wait until writes are flowing, then SIGTERM the supervisor while requests are in flight
        while True:
            await asyncio.sleep(0.01)
            if progress[200] >= acked_before_signal or done.is_set():
                break
        signalled["at"] = time.monotonic()
        srv.terminate()

    results, _ = asyncio.run(run_clients(srv.url, CLIENTS, work, background=[killer]))
    assert "at" in signalled
    try:
        code = srv.wait(timeout=10)
    except Exception:  # noqa: BLE001 - report it as a failed assertion with the log
        pytest.fail(f"the server did not exit within 10 s of SIGTERM:\n{srv.log_tail()}")
    exited_after = time.monotonic() - signalled["at"]

    requests = [(source, o) for per in results for (source, o) in per]
    acked = {source: o.json()["model_version"]["version"] for source, o in requests if o.status == 200}
    answered_after_signal = [o for _, o in requests if o.status == 200 and o.finished > signalled["at"]]
    http_errors = [(o.status, o.text[:200]) for _, o in requests if o.status is not None and o.status != 200]
    unanswered = Counter(o.error.split(":")[0] for _, o in requests if o.error)
    print(f"\nSIGTERM test: {len(acked)} acknowledged, {len(answered_after_signal)} answered 200 after "
          f"the signal, unanswered {dict(unanswered)}, exit {code} after {exited_after:.2f}s")

    assert code == 0, f"exit code {code} on SIGTERM"
    # precondition: the workers really had requests in flight when SIGTERM reached them, and
    # finished them (access-log lines after the last worker started shutting down)
    log = srv.log().splitlines()
    last_shutdown = max((i for i, line in enumerate(log) if "Shutting down" in line), default=len(log))
    drained = [line for line in log[last_shutdown:] if "model-versions/create 200" in line]
    assert drained, f"no request was in flight during the shutdown; the test proved nothing:\n{srv.log_tail()}"
    assert len(acked) >= acked_before_signal
    assert not http_errors, f"HTTP errors during shutdown (expected 200 or a closed connection): {http_errors[:5]}"
    # every client stopped: its last request was refused or cut off once the server went away
    assert all(per and per[-1][1].status != 200 for per in results), "a client ran out of requests before the shutdown"

    srv.start()  # the same database, a new process
    with httpx.Client(base_url=srv.url, timeout=TIMEOUT) as api:
        stored = {v["source"]: v["version"] for v in search_versions(api, name)}
    lost = {s: v for s, v in acked.items() if s not in stored}
    assert not lost, f"{len(lost)} acknowledged versions are gone after the restart, e.g. {list(lost.items())[:5]}"
    changed = {s: (v, stored[s]) for s, v in acked.items() if stored[s] != v}
    assert not changed, f"acknowledged versions stored under another number: {list(changed.items())[:5]}"
    numbers = sorted(int(v) for v in stored.values())
    assert numbers == list(range(1, len(numbers) + 1)), "stored version numbers have gaps or duplicates"
    # a request the server executed was also answered: cut-off requests were never applied
    applied_unanswered = [src for src, o in requests if o.status is None and src in stored]
    assert not applied_unanswered, f"requests applied but never answered: {applied_unanswered[:5]}"
    assert srv.stop() == 0
