"""Uploads as an attacker runs them (issue 10, items 3 and 8), over HTTP against live servers.

* An upload that was streaming while its directory was registered as a model version is refused
  when it finishes (409 ``RESOURCE_CONFLICT``); the registered file is unchanged and ``verify`` says
  intact. On SQLite and (with ``PODIUM_TEST_POSTGRES_URL``) PostgreSQL: the check reads the
  manifest table.
* Temporary files live in ``<destination>/.podium-staging/``, outside the clients' namespace: names
  starting with ``.podium-`` are refused on every artifact route, the staging directory is never
  listed, and after a ``kill -9`` mid-upload a restart removes what the upload left behind.
"""

from __future__ import annotations

import fcntl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import BACKEND_PARAMS

from .helpers import A2, ART, error, live_server_on, ok, start_server, stop_server

PODIUM = "/api/podium/v1/model-versions"
STAGING = ".podium-staging"


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    """Poll ``condition`` until it holds (a state to reach, not a clock: the limit only ends a hang)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def _in_staging(artifacts) -> list[str]:
    staging = artifacts / STAGING
    return sorted(p.name for p in staging.iterdir() if p.name != "commit.lock") if staging.is_dir() else []


class SlowUpload:
    """A PUT whose body stops after its first chunk until :meth:`finish` is called."""

    def __init__(self, url: str, path: str, first: bytes, rest: bytes) -> None:
        self.release = threading.Event()
        self.first, self.rest = first, rest
        self._pool = ThreadPoolExecutor(1)
        self.response = self._pool.submit(httpx.put, f"{url}{ART}/{path}", content=self._body(), timeout=120)

    def _body(self):
        yield self.first
        self.release.wait(120)
        yield self.rest

    def finish(self) -> httpx.Response:
        self.release.set()
        try:
            return self.response.result(timeout=120)
        finally:
            self._pool.shutdown()


# ------------------------------------------------------------------ item 3: an upload in flight
@pytest.fixture(scope="module", params=[p for p in BACKEND_PARAMS if p.values[0] != "mysql"])
def live(request, tmp_path_factory):
    with live_server_on(request.param, tmp_path_factory.mktemp(f"uploads-{request.param}")) as pair:
        yield pair


def _run_with_model(api) -> tuple[str, str]:
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]
    root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
    assert api.put(f"{ART}/{root}/model/MLmodel", content=b"flavors: {}\n").status_code == 200
    assert api.put(f"{ART}/{root}/model/model.pkl", content=b"the registered weights").status_code == 200
    return run["run_id"], root


def _register(api, run_id: str) -> str:
    name = f"race-{uuid.uuid4().hex[:8]}"
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run_id}/model",
                                                      "run_id": run_id}))
    return name


@pytest.mark.parametrize("target", ["model/model.pkl", "model/extra.bin", "model/sub/dir/new.txt"])
def test_an_upload_in_flight_during_registration_is_refused_when_it_finishes(live, target):
    server, api = live
    run_id, root = _run_with_model(api)
    before = set(_in_staging(server.artifacts))
    upload = SlowUpload(server.url, f"{root}/{target}", b"X" * (1 << 20), b"tampered weights")
    _wait_for(lambda: set(_in_staging(server.artifacts)) - before, "the upload reached the staging directory")
    name = _register(api, run_id)
    error(upload.finish(), 409, "RESOURCE_CONFLICT")
    report = ok(api.post(f"{PODIUM}/verify", json={"name": name, "version": "1"}))["verification"]
    assert report["status"] == "intact", report
    assert api.get(f"{ART}/{root}/model/model.pkl").content == b"the registered weights"
    assert set(_in_staging(server.artifacts)) == before  # the refused upload left nothing behind


def test_an_upload_does_not_land_while_a_registration_holds_the_commit_lock(live):
    """Registration holds ``.podium-staging/commit.lock`` exclusively while it hashes and records the
    manifest (held here by the test, as another process would): a fully received upload waits."""
    server, api = live
    staging = server.artifacts / STAGING
    target = server.artifacts / "locked" / f"{uuid.uuid4().hex}.bin"
    size = 5000 + len(target.name)
    with open(staging / "commit.lock", "a+b") as handle, ThreadPoolExecutor(1) as pool:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            put = pool.submit(httpx.put, f"{server.url}{ART}/locked/{target.name}", content=b"z" * size,
                              timeout=120)
            _wait_for(lambda: any(p.stat().st_size == size for p in staging.iterdir() if p.name != "commit.lock"),
                      "the upload fully received in the staging directory")
            assert not target.exists() and not put.done()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
        assert put.result(timeout=120).status_code == 200
    assert target.read_bytes() == b"z" * size


def test_an_upload_next_to_a_registered_directory_still_lands(live):
    server, api = live
    run_id, root = _run_with_model(api)
    before = set(_in_staging(server.artifacts))
    upload = SlowUpload(server.url, f"{root}/notes/readme.txt", b"a" * 1024, b"b")
    _wait_for(lambda: set(_in_staging(server.artifacts)) - before, "the upload reached the staging directory")
    _register(api, run_id)
    assert upload.finish().status_code == 200
    assert api.get(f"{ART}/{root}/notes/readme.txt").content == b"a" * 1024 + b"b"


# ------------------------------------------------------------------ item 8: temporary files
@pytest.mark.parametrize("path", [".podium-tmp-abc", "dir/.podium-tmp-x", STAGING, f"{STAGING}/commit.lock",
                                  f"{STAGING}/x", "a/.podium-anything/b", "./.podium-tmp-1", "a/../.podium-tmp-2"])
def test_reserved_names_are_refused_on_every_artifact_route(live, path):
    _, api = live
    for response in (api.put(f"{ART}/{path}", content=b"mine"), api.get(f"{ART}/{path}"),
                     api.delete(f"{ART}/{path}"), api.get(ART, params={"path": path})):
        if response.status_code == 400:
            assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert "reserved" in response.json()["message"] or response.json()["message"] == "Invalid path"
        else:  # "a/../x" is refused as a path that climbs: also 400, never stored
            raise AssertionError(f"{response.request.method} {path}: {response.status_code} {response.text}")


def test_the_staging_directory_is_never_listed(live):
    server, api = live
    assert (server.artifacts / STAGING).is_dir()
    assert api.put(f"{ART}/visible.txt", content=b"v").status_code == 200
    names = [f["path"] for f in api.get(ART).json()["files"]]
    assert "visible.txt" in names and not any(n.startswith(".podium-") for n in names)


def test_kill_9_mid_upload_leaves_nothing_visible_and_a_restart_cleans_up(tmp_path):
    server = start_server(tmp_path)
    upload = SlowUpload(server.url, "victim/model.bin", b"P" * (1 << 20), b"never sent")
    try:
        _wait_for(lambda: _in_staging(server.artifacts), "the upload reached the staging directory")
        leftover = _in_staging(server.artifacts)
        server.process.kill()
        server.process.wait()
        assert _in_staging(server.artifacts) == leftover  # what a crash leaves behind
        with pytest.raises(httpx.TransportError):
            upload.finish()
        server = start_server(tmp_path)
        assert _in_staging(server.artifacts) == []
        with httpx.Client(base_url=server.url) as api:
            error(api.get(f"{ART}/victim/model.bin"), 404, "RESOURCE_DOES_NOT_EXIST")
            assert api.get(ART, params={"path": "victim"}).json() == {}
            assert not any(f["path"].startswith(".podium-") for f in api.get(ART).json().get("files", []))
            error(api.get(f"{ART}/{STAGING}/{leftover[0]}"), 400, "INVALID_PARAMETER_VALUE")
    finally:
        upload.release.set()
        stop_server(server)
