"""``GET /metrics``: Prometheus text format, by route template, in one process and across workers."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from podium.server.app import create_app
from podium.server.settings import ServerSettings

from .helpers import A2, error, ok, start_server, stop_server


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _count(samples, route: str, method: str, status: str) -> float:
    return samples.get(("podium_http_requests_total",
                        (("method", method), ("route", route), ("status", status))), 0.0)


def _served_per_worker(directory) -> dict[str, float]:
    """``GET experiments/get`` requests counted by each worker process (its counter_<pid>.db file)."""
    import json

    from prometheus_client.mmap_dict import MmapedDict

    served = {}
    for path in directory.glob("counter_*.db"):
        served[path.stem] = sum(value for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
                                if json.loads(key)[1] == "podium_http_requests_total"
                                and json.loads(key)[2].get("route") == f"{A2}/experiments/get")
    return served


@pytest.fixture
def app(tmp_path):
    settings = ServerSettings(backend_store_uri=f"sqlite:///{tmp_path / 'p.db'}",
                              artifacts_destination=str(tmp_path / "artifacts"), access_log=False)
    app = create_app(settings)
    yield app
    app.close()


async def _calls(app, *requests):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podium") as client:
        for method, path, kwargs in requests:
            await client.request(method, path, **kwargs)
        return await client.get("/metrics")


def test_metrics_count_requests_by_route_template_method_and_status(app):
    response = asyncio.run(_calls(
        app,
        ("POST", f"{A2}/registered-models/create", {"json": {"name": "m"}}),
        ("POST", f"{A2}/registered-models/create", {"json": {"name": "m"}}),           # 400: already exists
        ("GET", f"{A2}/logged-models/m-0123456789abcdef0123456789abcdef", {}),          # templated path, 404
        ("GET", "/ajax-api/2.0/mlflow/registered-models/get", {"params": {"name": "m"}}),
        ("GET", "/wp-login.php", {}), ("GET", "/.env", {}),                              # scanners: one series
        ("BREW", "/health", {}),                                                         # odd method: "other"
    ))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = _samples(response.text)
    assert _count(samples, f"{A2}/registered-models/create", "POST", "200") == 1
    assert _count(samples, f"{A2}/registered-models/create", "POST", "400") == 1
    assert _count(samples, f"{A2}/logged-models/{{model_id}}", "GET", "404") == 1
    assert _count(samples, "/ajax-api/2.0/mlflow/registered-models/get", "GET", "200") == 1
    assert _count(samples, "unmatched", "GET", "404") == 2
    assert _count(samples, "/health", "other", "405") == 1
    routes = {dict(labels)["route"] for name, labels in samples if name == "podium_http_requests_total"}
    assert not any("m-0123" in r or "wp-login" in r for r in routes)  # raw paths never become labels
    hist = dict((("method", "POST"), ("route", f"{A2}/registered-models/create")))
    key = tuple(sorted(hist.items()))
    assert samples[("podium_http_request_duration_seconds_count", key)] == 2
    assert samples[("podium_http_request_duration_seconds_bucket", tuple(sorted({**hist, "le": "+Inf"}.items())))] == 2
    assert 0 < samples[("podium_http_request_duration_seconds_sum", key)] < 10
    assert samples[("podium_http_requests_in_flight", ())] == 0  # the scrape does not count itself
    assert samples[("podium_db_pool_size", ())] >= 1
    assert samples[("podium_db_pool_checked_out", ())] == 0 and samples[("podium_db_pool_overflow", ())] == 0
    assert samples[("process_start_time_seconds", ())] > 1.7e9
    assert not any(name.endswith("_created") for name, _ in samples)


def test_in_flight_counts_requests_that_have_not_finished(app):
    async def scenario():
        release = asyncio.Event()
        started = asyncio.Event()

        async def receive():
            started.set()
            await release.wait()
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message):
            pass

        scope = {"type": "http", "method": "POST", "path": f"{A2}/experiments/search",
                 "query_string": b"", "headers": []}
        pending = asyncio.create_task(app(scope, receive, send))
        await started.wait()
        during = _samples((await _calls(app)).text)[("podium_http_requests_in_flight", ())]
        release.set()
        await pending
        after = _samples((await _calls(app)).text)[("podium_http_requests_in_flight", ())]
        return during, after

    assert asyncio.run(scenario()) == (1, 0)


def test_metrics_route_is_in_the_openapi_document(app):
    async def get():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podium") as client:
            return (await client.get("/openapi.json")).json()

    assert "get" in asyncio.run(get())["paths"]["/metrics"]


def test_no_metrics_turns_the_endpoint_off(tmp_path):
    settings = ServerSettings(backend_store_uri=f"sqlite:///{tmp_path / 'p.db'}",
                              artifacts_destination=str(tmp_path / "artifacts"), metrics=False)
    app = create_app(settings)
    try:
        assert app.metrics is None
        error(asyncio.run(_calls(app)), 404, "ENDPOINT_NOT_FOUND")
    finally:
        app.close()


def test_two_workers_report_the_sum_of_both(tmp_path, monkeypatch):
    """Each scrape reaches one worker at random; every answer must count every worker's requests."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the runner makes its metrics directory
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    server = start_server(tmp_path / "server", "--workers", "2")
    one = create_app(ServerSettings(backend_store_uri=f"sqlite:///{tmp_path / 'server' / 'podium.db'}",
                                    artifacts_destination=str(tmp_path / "server" / "artifacts")))
    per_worker_pool = one.metrics.pool.size()
    one.close()
    try:
        [directory] = [p for p in scratch.iterdir() if p.name.startswith("podium-metrics-")]
        sent = 0
        # a new connection each time: the kernel spreads them over the workers; go on until each of
        # the two has served some (its own counter file says how many)
        while sent < 30 or len([n for n in _served_per_worker(directory).values() if n]) < 2:
            assert sent < 2000, f"one worker served every request: {_served_per_worker(directory)}"
            ok(httpx.get(f"{server.url}{A2}/experiments/get", params={"experiment_id": "0"},
                         headers={"connection": "close"}))
            sent += 1
        # a worker counts a request after its last byte is sent: the client may read the answer first
        deadline = time.monotonic() + 10
        while sum((served := _served_per_worker(directory)).values()) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(served) == 2 and all(served.values()) and sum(served.values()) == sent, served
        for _ in range(6):
            samples = _samples(httpx.get(f"{server.url}/metrics", headers={"connection": "close"}).text)
            assert _count(samples, f"{A2}/experiments/get", "GET", "200") == sent  # both workers' requests
            assert samples[("podium_db_pool_size", ())] == 2 * per_worker_pool  # live gauges: summed
            # the other worker's share is up to a second old: it may have caught the previous scrape
            assert samples[("podium_http_requests_in_flight", ())] in (0, 1)
        log = server.log()
    finally:
        assert stop_server(server) == 0
    assert "Traceback" not in log
    assert not [p for p in scratch.iterdir() if p.name.startswith("podium-metrics-")]  # removed at exit
