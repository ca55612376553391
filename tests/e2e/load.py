"""Load helpers shared by the e2e tests: many single-connection async clients, outcomes, REST calls.

Clients are ``httpx.AsyncClient`` instances limited to ONE connection each, so ``n`` clients are ``n``
concurrent connections. :func:`run_clients` opens every connection first, then starts all clients on
one signal; with several base URLs, client ``i`` talks to ``urls[i % len(urls)]``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from .conftest import A2

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


def new_client(base_url: str) -> httpx.AsyncClient:
    # one connection per client, so 64 clients are 64 concurrent connections
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits)


async def run_clients(base_url: str | Sequence[str], n: int, work, *, background=()):
    """Run ``work(client, index)`` on ``n`` clients at once; returns their results in order.

    ``base_url`` is one URL, or several: client ``i`` then uses ``base_url[i % len(base_url)]``.
    Every client first opens its connection (``GET /health``), then all start on one signal.
    ``background`` coroutine functions ``fn(done_event)`` run alongside and stop when ``done`` is set.
    """
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    clients = [new_client(urls[i % len(urls)]) for i in range(n)]
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


#: an access-log line for a 5xx answer, and what a database reports when it gives up a transaction
_ACCESS_5XX = re.compile(r"podium\.access \S+ \S+ 5\d\d ")
_DB_TROUBLE = re.compile(
    r"deadlock|could not serialize|serialization failure|lock wait timeout|database is locked|"
    r"TEMPORARILY_UNAVAILABLE|Traceback",
    re.IGNORECASE,
)


def log_problems(log: str) -> list[str]:
    """Lines of a server log that show a 5xx answer, a deadlock, a serialization failure or a traceback."""
    return [line for line in log.splitlines() if _ACCESS_5XX.search(line) or _DB_TROUBLE.search(line)]


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
