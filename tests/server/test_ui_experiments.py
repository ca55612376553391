"""The tracking pages over a live ``podium server``: ``/experiments``, ``/experiments/<id>`` (search,
sort by a metric or param, chosen columns, keyset paging) and ``/runs/<run_id>`` (params, metrics and
their history, tags, artifacts with downloads, logged models, registered versions); hostile strings
escaped in every field, a bad query is a 400 page, an unknown id a 404 page, and (``--auth``) the same
refusals as the API. The real-browser checks are in test_ui_browser.py."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import httpx
import pytest

from tests.auth_server import AuthServer, start_auth_server

from .helpers import A2, ART, ok
from .ui_data import ATTRIBUTE, IMG, SCRIPT, next_href, register_model

HOSTILE = f"{SCRIPT}{IMG}{ATTRIBUTE}"


def _assert_escaped(page: str) -> None:
    assert "<script>alert" not in page and "<img" not in page and 'onerror="alert' not in page
    assert 'href="javascript:' not in page


def _run(api, experiment_id: str, name: str, metrics: dict, params: dict, tags: dict | None = None) -> str:
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": experiment_id, "run_name": name,
                                                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}))
    run_id = run["run"]["info"]["run_id"]
    ok(api.post(f"{A2}/runs/log-batch", json={
        "run_id": run_id, "params": [{"key": k, "value": v} for k, v in params.items()],
        "metrics": [{"key": k, "value": v, "timestamp": 1000 + step, "step": step}
                    for k, values in metrics.items() for step, v in enumerate(values)]}))
    return run_id


@pytest.fixture(scope="module")
def tracked(api):
    """An experiment with a hostile name, tags, runs with hostile params and tags, one with files, a
    logged model and a registered version."""
    exp = ok(api.post(f"{A2}/experiments/create", json={
        "name": f"exp {HOSTILE}", "tags": [{"key": "team", "value": HOSTILE},
                                          {"key": "mlflow.note.content", "value": f"**Notes** {SCRIPT}"}]}))["experiment_id"]
    runs = {}
    for i, (rmse, depth) in enumerate(((0.5, "3"), (0.2, "9"), (0.9, "5"))):
        runs[rmse] = _run(api, exp, f"run-{i} {HOSTILE}", {"rmse": [rmse + 1, rmse], "r2": [1 - rmse]},
                          {"max_depth": depth, "note": HOSTILE}, {"owner": HOSTILE})
    best = runs[0.2]
    info = ok(api.get(f"{A2}/runs/get", params={"run_id": best}))["run"]["info"]
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
    for rel, data in {"model/MLmodel": b"flavors: {}\n", f"plots/{IMG}.txt": b"hello", "notes.txt": b"abc"}.items():
        assert api.put(f"{ART}/{root}/{quote(rel)}", content=data).status_code == 200
    ok(api.post(f"{A2}/logged-models", json={"experiment_id": exp, "name": f"lm-{IMG}", "source_run_id": best}))
    ok(api.post(f"{A2}/registered-models/create", json={"name": f"from-run-{IMG}"}))
    ok(api.post(f"{A2}/model-versions/create", json={"name": f"from-run-{IMG}", "source": f"runs:/{best}/model",
                                                     "run_id": best}))
    return exp, runs


def _run_names(page: str) -> list[str]:
    return [html.unescape(n).split(" ", 1)[0] for n in re.findall(r'<td class="name"><a href="/runs/\w+">([^<]+)</a>', page)]


def test_experiments_list_search_and_escaping(api, tracked):
    exp, _ = tracked
    page = api.get("/experiments").text
    assert f'href="/experiments/{exp}"' in page and "exp &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Default" in page and "mlflow.note.content" not in page  # MLflow's own tags are not shown
    _assert_escaped(page)
    found = api.get("/experiments", params={"filter": "name LIKE 'exp %' AND tags.team LIKE '%script%'"}).text
    assert f'href="/experiments/{exp}"' in found and "Default" not in found
    bad = api.get("/experiments", params={"filter": f"name = {SCRIPT}"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert re.search(r'<p class="error" role="alert">[^<\n]+</p>', bad.text) and "<script>" not in bad.text
    assert api.get("/experiments", params={"page_token": "garbage"}).status_code == 400


def test_experiments_list_pages_without_overlap(api, unique):
    prefix = unique("paged")
    names = [f"{prefix}-{i:03d}" for i in range(55)]
    for name in names:
        ok(api.post(f"{A2}/experiments/create", json={"name": name}))
    seen, url, pages = [], "/experiments?" + str(httpx.QueryParams({"filter": f"name LIKE '{prefix}%'", "sort": "name"})), 0
    while url:
        page = api.get(url).text
        seen += re.findall(rf">({prefix}-\d+)</a>", page)
        pages += 1
        href = next_href(page)
        url = f"/experiments{href}" if href else None
    assert seen == names and pages == 2


def test_experiment_page_runs_table(api, tracked):
    exp, runs = tracked
    response = api.get(f"/experiments/{exp}")
    assert response.status_code == 200
    page = response.text
    assert "<strong>Notes</strong> &lt;script&gt;" in page  # the experiment's note, Markdown, raw HTML escaped
    assert _run_names(page) == ["run-2", "run-1", "run-0"]  # newest first
    head = page.split("<thead>", 2)[1].split("</thead>")[0]
    assert ">r2</a>" in head and ">rmse</a>" in head and ">max_depth</a>" in head  # default columns, sortable
    row = page.split(f'href="/runs/{runs[0.2]}"', 1)[1].split("</tr>")[0]
    assert ">0.2</td>" in row and ">9</td>" in row and "&lt;script&gt;" in row
    _assert_escaped(page)


@pytest.mark.parametrize("order, expected", [
    ("metrics.rmse ASC", ["run-1", "run-0", "run-2"]),
    ("metrics.rmse DESC", ["run-2", "run-0", "run-1"]),
    ("params.max_depth DESC", ["run-1", "run-2", "run-0"]),
    ("attributes.run_name ASC", ["run-0", "run-1", "run-2"]),
])
def test_experiment_page_sorts_by_any_metric_or_param(api, tracked, order, expected):
    exp, _ = tracked
    page = api.get(f"/experiments/{exp}", params={"order": order}).text
    assert _run_names(page) == expected
    assert f'<option value="{order}" selected>' in page


def test_experiment_page_search_columns_and_errors(api, tracked):
    exp, runs = tracked
    page = api.get(f"/experiments/{exp}?filter=metrics.rmse+%3C+0.6&col=params.max_depth&col=tags.owner").text
    assert _run_names(page) == ["run-1", "run-0"]
    head = page.split("<thead>", 2)[1].split("</thead>")[0]
    assert ">max_depth</a>" in head and "owner" in head and ">rmse<" not in head  # only the chosen columns
    assert 'value="params.max_depth" checked' in page and 'value="metrics.rmse">' in page  # the others are offered
    # a header's sort link keeps the filter and the columns
    link = html.unescape(re.search(r'<a href="\?([^"]+)" title="Sort by max_depth"', page).group(1))
    assert httpx.QueryParams(link).multi_items() == [("filter", "metrics.rmse < 0.6"), ("col", "params.max_depth"),
                                                     ("col", "tags.owner"), ("order", "params.max_depth DESC")]
    for bad in ({"filter": f"metrics.rmse < {SCRIPT}"}, {"order": f"metrics.{SCRIPT} SIDEWAYS"},
                {"page_token": "garbage"}):
        response = api.get(f"/experiments/{exp}", params=bad)
        assert response.status_code == 400, bad
        assert re.search(r'<p class="error" role="alert">[^<\n]+</p>', response.text), bad
        _assert_escaped(response.text)
    for path, status in (("/experiments/987654", 404), ("/runs/0123456789abcdef0123456789abcdef", 404),
                         ("/experiments/not-a-number", 400)):  # as GET experiments/get answers
        response = api.get(path)
        assert response.status_code == status and response.headers["content-type"].startswith("text/html"), path


def test_experiment_page_pages_runs(api, unique):
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": unique("many-runs")}))["experiment_id"]
    made = {_run(api, exp, f"r{i:03d}", {"loss": [i / 100]}, {}) for i in range(55)}
    seen, url, pages = [], f"/experiments/{exp}?order=metrics.loss+ASC&col=metrics.loss", 0
    while url:
        page = api.get(url).text
        seen += re.findall(r'<td class="name"><a href="/runs/(\w+)">', page)
        pages += 1
        href = next_href(page)
        assert href is None or ("order=metrics.loss" in href and "col=metrics.loss" in href)
        url = f"/experiments/{exp}{href}" if href else None
    assert pages == 2 and len(seen) == 55 and set(seen) == made


def test_run_page(api, tracked):
    _, runs = tracked
    run_id = runs[0.2]
    response = api.get(f"/runs/{run_id}")
    assert response.status_code == 200
    page = response.text
    assert "max_depth" in page and "<td class=\"wrap\">&lt;script&gt;" in page
    data = json.loads(html.unescape(re.search(r'<script type="application/json" id="metric-history-data">(.*?)</script>',
                                              page, re.S).group(1)))
    assert [p["value"] for p in data["rmse"]] == [1.2, 0.2] and [p["step"] for p in data["rmse"]] == [0, 1]
    assert "owner" in page.split('id="tags-heading"', 1)[1].split("</section>")[0]
    files = page.split('id="artifacts"', 1)[1].split("</section>")[0]
    assert ">model/</a>" in files and ">plots/</a>" in files and "notes.txt" in files
    download = html.unescape(re.search(r'<a href="([^"]+notes.txt)" download>', files).group(1))
    assert api.get(download).content == b"abc"
    assert "lm-&lt;img" in page.split('id="logged-models"', 1)[1]
    registered = page.split('id="registered"', 1)[1]
    assert "from-run-&lt;img" in registered and "/versions/1\">v1</a>" in registered
    _assert_escaped(page)


def test_run_page_browses_artifact_directories(api, tracked):
    _, runs = tracked
    page = api.get(f"/runs/{runs[0.2]}", params={"path": "plots"}).text
    files = page.split('id="artifacts"', 1)[1].split("</section>")[0]
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in files and "notes.txt" not in files
    download = html.unescape(re.search(r'<a href="([^"]+)" download>', files).group(1))
    assert "%3Cimg" in download and api.get(download).content == b"hello"
    _assert_escaped(page)
    for bad in ("../../etc", "a\\b"):
        assert api.get(f"/runs/{runs[0.2]}", params={"path": bad}).status_code == 400


def test_the_run_link_of_a_version_lands_on_the_run_page(api, unique):
    name = unique("linked")
    run_id = register_model(api, name, versions=1)
    version = api.get(f"/models/{name}/versions/1").text
    assert f'href="/runs/{run_id}"' in version
    assert api.get(f"/runs/{run_id}").status_code == 200


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("ui-exp-auth"), {"admin": True, "reader": False}, None, None,
                               "none")
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        run_id = register_model(admin, "open-model")
        yield server, run_id
    server.stop()


def test_with_auth_tracking_pages_refuse_as_the_api_does(auth_server):
    server, run_id = auth_server
    anonymous = httpx.get(f"{server.url}/experiments")  # no credentials: to the sign-in page
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fexperiments"
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("reader")) as reader:
        for path, api_path, params in (("/experiments", f"{A2}/experiments/search", {"max_results": 10}),
                                       ("/experiments/0", f"{A2}/experiments/get", {"experiment_id": "0"}),
                                       (f"/runs/{run_id}", f"{A2}/runs/get", {"run_id": run_id})):
            page, answer = reader.get(path), reader.get(api_path, params=params)
            assert page.status_code == answer.status_code == 403, path
            assert answer.json()["message"] in html.unescape(page.text) and "max_depth" not in page.text
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        assert admin.get(f"/runs/{run_id}").status_code == 200 and "max_depth" in admin.get(f"/runs/{run_id}").text


@pytest.mark.parametrize("uri, destination, root", [
    ("mlflow-artifacts:/0/abc/artifacts", "/srv/art", "0/abc/artifacts"),
    ("mlflow-artifacts://host:5000/0/abc/artifacts", "/srv/art", "0/abc/artifacts"),
    ("/srv/art/0/abc/artifacts", "/srv/art", "0/abc/artifacts"),  # an embedded client's store the server serves
    ("file:///srv/art/0/abc/artifacts", "/srv/art", "0/abc/artifacts"),
    ("/elsewhere/0/abc/artifacts", "/srv/art", None),
    ("/srv/art/../x", "/srv/art", None),
    ("s3://bucket/0/abc", "s3://bucket", None),
    ("", "/srv/art", None),
])
def test_which_run_artifacts_the_run_page_can_browse(uri, destination, root):
    from podium.server.ui.experiments_pages import _artifact_root

    assert _artifact_root(uri, destination) == root


def test_a_long_run_keeps_the_run_page_light(api, unique):
    """Ten metrics of 1,500 points each: the page shows the first six keys, 100 evenly spaced points
    of each (the last one kept), and stays far below the 150 KB page budget."""
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": unique("long")}))["experiment_id"]
    run_id = _run(api, exp, "long", {}, {})
    for key in range(10):
        for start in range(0, 1500, 500):
            ok(api.post(f"{A2}/runs/log-batch", json={"run_id": run_id, "metrics": [
                {"key": f"m{key}", "value": step / 10, "timestamp": step, "step": step}
                for step in range(start, start + 500)]}))
    page = api.get(f"/runs/{run_id}").text
    data = json.loads(html.unescape(re.search(r'id="metric-history-data">(.*?)</script>', page, re.S).group(1)))
    assert sorted(data) == [f"m{k}" for k in range(6)]
    assert len(data["m0"]) == 100 and data["m0"][0]["step"] == 0 and data["m0"][-1]["step"] == 999
    assert len(page.encode()) < 100_000
