"""The web UI's pages over a live ``podium server``: content, paging, filter errors, escaping of
hostile strings, security headers, caching of static files, HTML 404s, and (``--auth``) the same
refusals as the API. The real-browser tests are in test_ui_browser.py."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.auth_server import AuthServer, start_auth_server

from .helpers import A2, ok
from .ui_data import ATTRIBUTE, IMG, SCRIPT, next_href, register_model, version_numbers

PODIUM = "/api/podium/v1"


@pytest.fixture(scope="module")
def seeded(server, api):
    """One model with hostile strings everywhere, served at Production and @champion."""
    name = f"wine{IMG}{uuid.uuid4().hex[:6]}"
    run_id = register_model(api, name, versions=2, description=f"**Bold** {SCRIPT} [x](javascript:alert(1))",
                            tags={"team": ATTRIBUTE, "notes": SCRIPT})
    ok(api.patch(f"{A2}/model-versions/update", json={"name": name, "version": "2", "description": ATTRIBUTE}))
    ok(api.post(f"{A2}/model-versions/set-tag", json={"name": name, "version": "2", "key": "note", "value": SCRIPT}))
    return name, run_id


def _path(name: str) -> str:
    return "/models/" + quote(name, safe="")


def _assert_escaped(page: str) -> None:
    assert "<script>alert" not in page and "<img" not in page and 'onerror="alert' not in page
    assert 'href="javascript:' not in page


def test_models_page_lists_what_serves_now(api, seeded):
    name, _ = seeded
    for path in ("/", "/models"):
        response = api.get(path, params={"filter": f"name LIKE 'wine%'"})
        assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
        page = response.text
        assert "wine&lt;img src=x onerror=alert(1)&gt;" in page
        row = page.split("wine&lt;img", 1)[1].split("</tr>", 1)[0]
        assert 'class="stage stage-production">Production</span>' in row and "/versions/1\">v1</a>" in row
        assert "@champion</span> → " in row and "/versions/2\">v2</a>" in row
        assert "&#34; onerror=&#34;alert(1)" in row  # the tag value, escaped
        _assert_escaped(page)


def test_models_page_filter_grammar_and_errors(api, seeded, unique):
    name = unique("plain")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name, "tags": [{"key": "team", "value": "risk"}]}))
    page = api.get("/models", params={"filter": f"(tags.team = 'risk' OR name = 'nothing') AND NOT name = 'x'"}).text
    assert f">{name}</a>" in page and "wine&lt;" not in page
    bad = api.get("/models", params={"filter": f"name = {SCRIPT}"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    error = re.search(r'<p class="error" role="alert">(.*?)</p>', bad.text).group(1)
    assert "filter" in error and "\n" not in error and "<script>" not in bad.text
    assert api.get("/models", params={"page_token": "garbage"}).status_code == 400


def test_models_page_sorts_and_pages_without_overlap(api, unique):
    prefix = unique("sorted")
    names = [f"{prefix}-{i:03d}" for i in range(55)]
    for name in names:
        ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    seen, url = [], "/models?" + str(httpx.QueryParams({"filter": f"name LIKE '{prefix}%'", "sort": "-name"}))
    while url:
        page = api.get(url).text
        seen += re.findall(rf">({prefix}-\d+)</a>", page)
        href = next_href(page)
        url = f"/models{href}" if href else None
    assert seen == sorted(names, reverse=True)


def test_model_page_serving_description_and_tags(api, seeded):
    name, _ = seeded
    response = api.get(_path(name))
    assert response.status_code == 200
    page = response.text
    serving = page.split('id="serving"', 1)[1].split("</section>", 1)[0]
    assert "Production</span>" in serving and "@champion</span>" in serving and "moved" in serving
    assert "<strong>Bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;" in page  # Markdown, raw HTML escaped
    assert "<span class=\"tag-value\">&lt;script&gt;alert(1)&lt;/script&gt;</span>" in page
    assert version_numbers(page) == [2, 1]
    _assert_escaped(page)


def test_model_page_pages_versions(api, unique):
    name = unique("many")
    register_model(api, name, versions=120)
    seen, url, pages = [], _path(name), 0
    while url:
        page = api.get(url).text
        seen += version_numbers(page)
        pages += 1
        href = next_href(page)
        url = _path(name) + href if href else None
    assert pages == 3 and seen == list(range(120, 0, -1))  # newest first, no overlap, nothing missing


def test_version_page(api, seeded):
    name, run_id = seeded
    page = api.get(f"{_path(name)}/versions/2").text
    assert f'href="/runs/{run_id}"' in page and "max_depth" in page and "rmse" in page and "0.125" in page
    assert "<td class=\"wrap\">&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page  # a param value
    files = page.split('id="files"', 1)[1].split("</section>", 1)[0]
    assert "model.pkl" in files and "2.0 KB" in files and re.search(r"[0-9a-f]{64}", files)
    history = page.split('id="history"', 1)[1]
    assert "version created" in history and "alias set" in history
    assert "@champion" in page and "note" in page
    _assert_escaped(page)


def test_security_headers_and_static_caching(api, seeded):
    name, _ = seeded
    for path in ("/models", _path(name), f"{_path(name)}/versions/1", "/models/none-such"):
        headers = api.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    page = api.get("/").text
    assert "<script>" not in page.replace('<script src="/static/', "")  # no inline script
    for url in re.findall(r'(?:href|src)="(/static/[0-9a-f]{12}/[\w.]+)"', page):
        response = api.get(url)
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
        outdated = url.replace(url.split("/")[2], "000000000000")
        assert api.get(outdated).status_code == 404


def test_unknown_pages_are_html_404_and_the_api_keeps_json(api, seeded):
    name, _ = seeded
    for path in ("/models/no-such-model", f"{_path(name)}/versions/99", "/models/x/y", "/static/nope.css",
                 "/runs/abc", "/experiments/987654"):
        response = api.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html"), path
    assert "no-such-model" in api.get("/models/no-such-model").text
    api_miss = api.get(f"{A2}/no-such-endpoint")
    assert api_miss.status_code == 404 and api_miss.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert api.get("/no-such-page").json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert api.post("/models").status_code == 405


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("ui-auth"), {"admin": True, "reader": False}, None, None, "none")
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        register_model(admin, "open-model")
        register_model(admin, "secret-model", description="the secret plan")
        ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": "open-model", "user": "reader",
                                                                 "permission": "read"}))
        yield server
    server.stop()


def test_with_auth_pages_refuse_as_the_api_does(auth_server):
    anonymous = httpx.get(f"{auth_server.url}/models/secret-model")  # no credentials: the sign-in page
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fmodels%2Fsecret-model"
    assert "secret plan" not in anonymous.text
    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic("reader")) as reader:
        listing = reader.get("/models").text
        assert ">open-model</a>" in listing and "secret-model" not in listing
        assert reader.get("/models/open-model").status_code == 200
        for path in ("/models/secret-model", "/models/secret-model/versions/1"):
            page, api_answer = reader.get(path), reader.get(f"{A2}/registered-models/get",
                                                            params={"name": "secret-model"})
            assert page.status_code == api_answer.status_code == 403, path
            assert "the secret plan" not in page.text and "<table" not in page.text
        # the source run needs registry-wide read, as GET /runs/get does: the page says so, shows no params
        version = reader.get("/models/open-model/versions/1").text
        assert "max_depth" not in version and "model.pkl" in version
    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic("reader", "wrong")) as wrong:
        assert wrong.get("/models/open-model").status_code == 401
