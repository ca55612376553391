"""Hostile parameters never reach a 500 (issue 10, item 7): each one is a 400 with a clear message.

Over HTTP against a live server, on SQLite and (with ``PODIUM_TEST_POSTGRES_URL``) PostgreSQL,
where out-of-range numbers and odd strings are a per-backend matter. The exact requests of the
issue, and their neighbours: every route with a numeric id, every ``time`` parameter, page tokens of
every search, and over-long path segments on every artifact route.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.databases import POSTGRES_ENV

from .helpers import A2, ART, error, live_server_on

PODIUM = "/api/podium/v1"
HUGE = "99999999999999999999"
LONG = "a" * 256
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not __import__("os").environ.get(POSTGRES_ENV), reason=f"needs {POSTGRES_ENV}"))]


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    with live_server_on(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}")) as (running, api):
        api.post(f"{A2}/registered-models/create", json={"name": "target"})
        yield running, api


def _token(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.b64encode(raw).decode()


LONE_SURROGATE = _token(b'{"after": ["\\ud800", 1], "query": "x"}')
TOKENS = {
    "lone-surrogate": LONE_SURROGATE,
    "surrogate-offset": _token(b'{"offset": "\\udfff"}'),
    "not-base64": "%%%not-base64",
    "not-json": _token(b"\xff\xfe{"),
    "a-list": _token([1, 2]),
    "huge-offset": _token({"offset": int(HUGE)}),
    "huge-key": _token({"after": [int(HUGE), 1], "query": "x"}),
    "deep": _token(b"[" * 5_000),
}
SEARCHES = [
    ("GET", f"{A2}/registered-models/search", "query"),
    ("GET", f"{A2}/model-versions/search", "query"),
    ("GET", f"{A2}/experiments/search", "query"),
    ("POST", f"{A2}/experiments/search", "body"),
    ("POST", f"{A2}/runs/search", "body"),
    ("POST", f"{A2}/logged-models/search", "body"),
    ("GET", f"{PODIUM}/registered-models/history", "query"),
]


def _send(api, method: str, path: str, where: str, params: dict):
    if where == "body":
        return api.request(method, path, json=params)
    return api.request(method, path, params=params)


def _bad(response, *words: str) -> dict:
    assert response.status_code in (400, 404), f"{response.status_code}: {response.text}"
    body = response.json()
    assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "BAD_REQUEST"), body
    for word in words:
        assert word.lower() in body["message"].lower(), body
    return body


# ------------------------------------------------------------------ numbers out of range
@pytest.mark.parametrize("number", [HUGE, str(2**63), str(2**63 - 1), str(2**31), str(2**31 - 1), "-" + HUGE, "0", "-1", "1e3", "٣"])
@pytest.mark.parametrize("suffix", ["", "/approve", "/reject"])
def test_a_request_id_out_of_range_is_400(live, number, suffix):
    _, api = live
    method = "GET" if not suffix else "POST"
    response = api.request(method, f"{PODIUM}/requests/{number}{suffix}", json={} if suffix else None)
    if number == str(2**31 - 1):
        error(response, 404, "RESOURCE_DOES_NOT_EXIST")  # in range: simply not there
    else:
        error(response, 400, "INVALID_PARAMETER_VALUE")
        assert "request id" in response.json()["message"]


@pytest.mark.parametrize("time", [HUGE, "-" + HUGE, str(2**63), "1e400", "inf", "nan", "-0", "9" * 5000,
                                  "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"])
def test_a_time_out_of_range_is_400(live, time):
    _, api = live
    response = api.get(f"{PODIUM}/registered-models/at", params={"name": "target", "time": time})
    if response.status_code == 200:  # a time in range: answered
        assert time in ("-0", "9999-12-31T23:59:59Z")
        return
    _bad(response, "time")


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, str(2**63)])
@pytest.mark.parametrize(("path", "param"), [
    (f"{A2}/experiments/get", "experiment_id"),
    (f"{A2}/runs/get", "run_id"),
    (f"{A2}/model-versions/get", "version"),
    (f"{A2}/registered-models/search", "max_results"),
    (f"{A2}/metrics/get-history", "max_results"),
])
def test_huge_numbers_in_other_query_parameters_are_4xx(live, path, param, value):
    _, api = live
    params = {"name": "target", "version": "1", "run_id": "r", "metric_key": "m", param: value}
    _bad(api.get(path, params=params))


@pytest.mark.parametrize("value", [int(HUGE), -int(HUGE), 2**63, 1e308])
@pytest.mark.parametrize(("path", "field"), [
    (f"{A2}/runs/create", "start_time"),
    (f"{A2}/experiments/search", "max_results"),
    (f"{A2}/runs/search", "max_results"),
    (f"{A2}/logged-models/search", "max_results"),
    (f"{PODIUM}/registered-models/policy", "required_approvals"),
])
def test_huge_numbers_in_json_bodies_are_400(live, path, field, value):
    _, api = live
    _bad(api.post(path, json={"experiment_id": "0", "name": "target", field: value}))


# ------------------------------------------------------------------ page tokens
@pytest.mark.parametrize("token", list(TOKENS.values()), ids=list(TOKENS))
@pytest.mark.parametrize(("method", "path", "where"), SEARCHES, ids=[s[1].rsplit("/", 2)[-2] + "-" + s[0]
                                                                     for s in SEARCHES])
def test_a_forged_page_token_is_400_or_ignored(live, method, path, where, token):
    """Never a 5xx: refused as a page token, or (offset-paged searches, which read only ``offset``)
    a token whose other fields are ignored."""
    _, api = live
    params = {"page_token": token, "name": "target", "experiment_ids": ["0"]}
    response = _send(api, method, path, where, params)
    if response.status_code == 200:
        assert token in (TOKENS["lone-surrogate"], TOKENS["huge-key"]) and "search" in path
        return
    _bad(response, "token")


# ------------------------------------------------------------------ long path segments
@pytest.mark.parametrize("path", [LONG, f"dir/{LONG}", f"{LONG}/file.txt", f"a/{'b' * 300}/c",
                                  "/".join(["d" * 200] * 30), "é" * 200])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_over_long_artifact_path_is_400(live, method, path):
    _, api = live
    response = api.request(method, f"{ART}/{path}", content=b"x" if method == "PUT" else None)
    error(response, 400, "INVALID_PARAMETER_VALUE")
    assert "too long" in response.json()["message"]


@pytest.mark.parametrize("path", [LONG, f"dir/{LONG}", "/".join(["d" * 200] * 30)])
def test_an_over_long_listing_path_is_400(live, path):
    _, api = live
    error(api.get(ART, params={"path": path}), 400, "INVALID_PARAMETER_VALUE")
    error(api.get(ART, params={"path": path + "/x"}), 400, "INVALID_PARAMETER_VALUE")


def test_a_255_byte_segment_is_fine(live):
    _, api = live
    name = "n" * 255
    assert api.put(f"{ART}/ok/{name}", content=b"data").status_code == 200
    assert api.get(f"{ART}/ok/{name}").content == b"data"
    assert api.get(ART, params={"path": "ok"}).json()["files"][0]["path"] == name


# ------------------------------------------------------------------ the same behind --auth
@pytest.fixture(scope="module")
def auth_live(tmp_path_factory):
    from tests.auth_server import start_auth_server

    server = start_auth_server(tmp_path_factory.mktemp("hostile-auth"), {"admin": True, "reader": False})
    yield server
    server.stop()


@pytest.mark.parametrize("user", ["admin", "reader"])
@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", f"{PODIUM}/requests/{HUGE}", None),
    ("POST", f"{PODIUM}/requests/{2**63}/approve", None),
    ("POST", f"{PODIUM}/requests/-{HUGE}/reject", None),
    ("GET", f"{PODIUM}/registered-models/at", {"name": "m", "time": "-" + HUGE}),
    ("GET", f"{ART}/{LONG}", None),
    ("GET", ART, {"path": LONG}),
    ("GET", f"{A2}/registered-models/search", {"page_token": LONE_SURROGATE}),
])
def test_with_auth_the_same_requests_are_400_for_every_role(auth_live, user, method, path, params):
    from tests.auth_server import AuthServer

    with httpx.Client(base_url=auth_live.url, auth=AuthServer.basic(user), timeout=30) as api:
        response = api.request(method, path, params=params, json={} if method == "POST" else None)
    error(response, 400, "INVALID_PARAMETER_VALUE")
