"""Hostile request bodies and password guessing, over HTTP against live servers (issue 10, items 1 and 4).

* A JSON body over ``--max-json-body-bytes`` is 413 ``REQUEST_TOO_LARGE``: announced (Content-Length)
  it is refused before a byte is read, chunked it is cut off once it passes the limit.
* With ``--auth`` a caller without valid credentials gets 401 before the server reads the body.
* Four 200 MiB bodies without credentials leave the server's memory where it was.
* Wrong passwords: 429 with ``Retry-After`` after the limit, per username and per client address;
  a signed-in user keeps working through the burst.
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from tests.auth_server import AuthServer, password_of, start_auth_server

from .attacker import MIB, push
from .helpers import A2, ART, start_server, stop_server

LIMIT = 64 << 10  # the servers here run with --max-json-body-bytes 65536
PODIUM = "/api/podium/v1"
#: JSON routes of every kind: MLflow tracking and registry, Podium's own
JSON_ROUTES = [
    ("POST", f"{A2}/runs/log-batch"),
    ("POST", f"{A2}/registered-models/create"),
    ("PATCH", f"{A2}/registered-models/update"),
    ("DELETE", f"{A2}/registered-models/delete"),
    ("POST", f"{A2}/experiments/create"),
    ("POST", f"{PODIUM}/registered-models/rollback"),
    ("POST", f"{PODIUM}/requests/1/approve"),
    ("POST", "/ajax-api/2.0/mlflow/runs/log-batch"),
]


def _rss(server) -> int:
    return psutil.Process(server.process.pid).memory_info().rss


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("open"), "--max-json-body-bytes", str(LIMIT))
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("auth"), {"admin": True, "alice": False, "bob": False},
                               {}, {}, "edit", "--max-json-body-bytes", str(LIMIT),
                               "--login-attempts-per-minute", "5")
    yield server
    server.stop()


def _too_large(status: int, body: dict) -> None:
    assert status == 413, body
    assert body["error_code"] == "REQUEST_TOO_LARGE"
    assert "--max-json-body-bytes" in body["message"]


# ------------------------------------------------------------------ item 1: body size
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_an_announced_body_over_the_limit_is_413_before_it_is_read(open_server, method, path):
    status, headers, body, sent = push(open_server.url, method, path, 200 * MIB)
    _too_large(status, body)
    assert headers.get("connection") == "close"
    assert sent < 200 * MIB


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES[:3])
def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(open_server, method, path):
    status, _, body, sent = push(open_server.url, method, path, 200 * MIB, chunked=True)
    _too_large(status, body)
    assert sent < 200 * MIB


def test_a_body_at_the_limit_is_read_and_answered_normally(open_server):
    padding = "x" * (LIMIT - 200)
    response = httpx.post(f"{open_server.url}{A2}/experiments/create", json={"name": "", "pad": padding})
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_artifact_uploads_are_streamed_and_not_limited(open_server):
    data = b"m" * (3 * LIMIT)
    assert httpx.put(f"{open_server.url}{ART}/big/model.bin", content=data).status_code == 200
    assert httpx.get(f"{open_server.url}{ART}/big/model.bin").content == data


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("method", "path"), [*JSON_ROUTES[:2], ("PUT", f"{ART}/x/model.pkl")])
def test_without_credentials_the_answer_is_401_before_the_body_is_read(auth_server, method, path, chunked):
    # a body under the limit, never finished: only a server that does not wait for it can answer
    status, _, body, sent = push(auth_server.url, method, path, LIMIT // 2, chunked=chunked, block=1024,
                                 stall_after=LIMIT // 4)
    assert status == 401, body
    assert body["error_code"] == "UNAUTHENTICATED"


def test_wrong_credentials_get_401_before_the_body_is_read(auth_server):
    header = "Basic " + base64.b64encode(b"alice:not-her-password").decode()
    status, _, body, _ = push(auth_server.url, "POST", f"{A2}/runs/log-batch", LIMIT // 2, block=1024,
                              headers={"Authorization": header}, stall_after=LIMIT // 4)
    assert status == 401, body


def test_four_200_mib_bodies_without_credentials_leave_memory_bounded(auth_server, open_server):
    """The attack from the issue (73 -> 1,269 MiB before): now the server's RSS grows < 50 MiB."""
    for server, expected in ((auth_server.server, 401), (open_server, 413)):
        before = _rss(server)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: push(server.url, "POST", f"{A2}/runs/log-batch", 200 * MIB),
                                    range(4)))
        assert {status for status, *_ in results} == {expected}
        grown = (_rss(server) - before) / MIB
        assert grown < 50, f"server RSS grew by {grown:.0f} MiB"


# ------------------------------------------------------------------ item 4: password guessing
@pytest.fixture
def limited_server(tmp_path):
    """A fresh --auth server allowing 5 failed passwords a minute per user (25 per client address)."""
    server = start_auth_server(tmp_path, {"admin": True, "alice": False, "bob": False}, {},
                               {"alice-token": "alice"}, "edit", "--login-attempts-per-minute", "5")
    yield server
    server.stop()


def _search(client: httpx.Client, auth) -> int:
    return client.get(f"{A2}/experiments/search", params={"max_results": 1}, auth=auth).status_code


def test_wrong_passwords_for_one_user_get_429_with_retry_after(limited_server):
    with httpx.Client(base_url=limited_server.url, timeout=60) as client:
        statuses = [_search(client, ("bob", f"guess-{i}")) for i in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        response = client.get(f"{A2}/experiments/search", auth=("bob", "guess-9"))
        assert response.status_code == 429
        assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # the right password is refused too (a guesser learns nothing); other users are not locked
        assert _search(client, ("bob", password_of("bob"))) == 429
        assert _search(client, ("alice", password_of("alice"))) == 200
        # the same limit holds on other routes and with other encodings of the same user
        assert client.post(f"{A2}/registered-models/create", json={"name": "m"},
                           auth=("bob", "guess-10")).status_code == 429
        bearer = {"Authorization": "Basic " + base64.b64encode("bob:guess-ü".encode()).decode()}
        assert client.get(f"{A2}/experiments/search", headers=bearer).status_code == 429


def test_the_limit_holds_across_the_workers_of_one_server(tmp_path):
    """Two workers: each guess on a fresh connection reaches either; the count is the server's (in the
    database), so the fourth guess is refused whichever worker it reaches (per-worker counts allowed
    up to twice as many)."""
    server = start_auth_server(tmp_path, {"bob": False}, {}, {}, "read", "--workers", "2",
                               "--login-attempts-per-minute", "3")
    try:
        statuses = [httpx.get(f"{server.url}{A2}/experiments/search", auth=("bob", f"guess-{i}"),
                              headers={"connection": "close"}, timeout=60).status_code for i in range(12)]
        assert statuses == [401] * 3 + [429] * 9
        assert server.server.log().count("Application startup complete") == 2
    finally:
        server.stop()


def test_one_client_address_is_limited_across_usernames(limited_server):
    with httpx.Client(base_url=limited_server.url, timeout=60) as client:
        statuses = [_search(client, (f"spray-{i}", "guess")) for i in range(30)]
        assert statuses == [401] * 25 + [429] * 5  # 5 x the per-user limit, whatever the username
        # an API token is not a password guess: tokens still work from the address
        token = limited_server.tokens["alice-token"]
        assert client.get(f"{A2}/experiments/search", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_burst_of_wrong_passwords_does_not_stop_a_signed_in_user(limited_server):
    with httpx.Client(base_url=limited_server.url, timeout=120, auth=AuthServer.basic("alice")) as alice:
        assert alice.get(f"{A2}/experiments/search").status_code == 200  # signed in: credentials cached
        stop = threading.Event()
        seen: list[int] = []

        def guess(i: int) -> None:
            with httpx.Client(base_url=limited_server.url, timeout=120) as attacker:
                n = 0
                while not stop.is_set():
                    n += 1
                    seen.append(_search(attacker, ("alice" if i % 2 else f"nobody-{i}", f"wrong-{n}")))

        with ThreadPoolExecutor(16) as pool:
            for i in range(16):
                pool.submit(guess, i)
            try:
                for _ in range(20):  # alice keeps working through the burst, on every kind of route
                    assert alice.get(f"{A2}/experiments/search").status_code == 200
                    assert alice.post(f"{A2}/registered-models/create", json={"name": f"m-{_}"}).status_code == 200
            finally:
                stop.set()
        assert 429 in seen and set(seen) <= {401, 429}
        assert seen.count(401) <= 25  # never more hashes than the client address's limit


# ------------------------------------------------------------------ slow clients
@pytest.mark.parametrize(("method", "path", "size"), [
    ("PUT", f"{ART}/slow/model.bin", 1 << 20), ("POST", f"{A2}/runs/log-batch", 1 << 20),
    ("PUT", f"{ART}/slow/chunked.bin", 1 << 20), ("PUT", f"{ART}/slow/socket.bin", 8 << 20)])
def test_a_client_that_stops_sending_its_body_is_dropped(tmp_path, method, path, size):
    """A stalled body is dropped after --body-idle-timeout (1 s here): it holds no thread, no temp file
    (8 MiB: the body read from the socket by the store, podium.server.http.SocketBody)."""
    server = start_server(tmp_path, "--body-idle-timeout", "1")
    try:
        status, headers, body, _ = push(server.url, method, path, size, chunked=path.endswith("chunked.bin"),
                                        block=1024, stall_after=4096)
        assert status == 400 and body["error_code"] == "BAD_REQUEST", body
        assert "--body-idle-timeout" in body["message"] and headers.get("connection") == "close"
        staging = server.artifacts / ".podium-staging"
        assert [p.name for p in staging.iterdir() if p.name != "commit.lock"] == []
        assert httpx.get(f"{server.url}{ART}", params={"path": "slow"}).json() == {}
    finally:
        stop_server(server)


def test_the_default_limit_lets_mlflows_largest_legitimate_request_through(server):
    """MLflow stores a dataset profile of up to 16 MiB: such a log-inputs call fits the default limit."""
    with httpx.Client(base_url=server.url, timeout=120) as api:
        run_id = api.post(f"{A2}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
        profile = json.dumps({"rows": 1, "stats": "p" * (16 * MIB - 100)})
        response = api.post(f"{A2}/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": {
            "name": "big", "digest": "d1", "source_type": "code", "source": "{}", "profile": profile}}]})
        assert response.status_code == 200, response.text[:300]
        got = api.get(f"{A2}/runs/get", params={"run_id": run_id}).json()["run"]["inputs"]["dataset_inputs"]
        assert len(got[0]["dataset"]["profile"]) == len(profile)
