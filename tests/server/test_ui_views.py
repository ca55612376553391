"""The UI's views that compare and explain (decision 0017): the model page's metric trend, the compare
page, the history page and the version page's signature, requirements, verify result and requests.

Over a live server: content, hostile strings escaped in every field, 404s, bad query strings as 400
pages, vendored static files. In process (the page handlers over an embedded backend, as the server
calls them): SQL statements counted, so a page's cost does not grow with the model. The browser side
(charts drawn, no console error) is in test_ui_browser.py."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest

from podium.domain.entities import Metric
from podium.server.ui import charts, pages
from podium.server.ui.compare_page import compare_page
from podium.server.ui.history_page import HISTORY_PAGE_SIZE, STATE_VERSIONS_SHOWN, history_page
from podium.server.ui.render import STATIC

from .helpers import A2, ok
from .ui_data import ATTRIBUTE, SCRIPT, next_href, register_compared_model, register_model

PODIUM = "/api/podium/v1"


def _path(name: str) -> str:
    return "/models/" + quote(name, safe="")


def _assert_escaped(page: str) -> None:
    assert "<script>alert" not in page and "<img" not in page and 'onerror="alert' not in page
    assert "<b>" not in page and 'href="javascript:' not in page


@pytest.fixture(scope="module")
def compared(api):
    name = f"cmp<b>{uuid.uuid4().hex[:6]}"
    register_compared_model(api, name, hostile=True)
    ok(api.post(f"{A2}/registered-models/set-tag", json={"name": name, "key": "podium.better.note", "value": "lower"}))
    ok(api.patch(f"{A2}/model-versions/update", json={"name": name, "version": "3", "description": SCRIPT}))
    ok(api.post(f"{A2}/model-versions/set-tag", json={"name": name, "version": "3", "key": "why", "value": ATTRIBUTE}))
    return name


# ---------------------------------------------------------------------------------- direction rules
@pytest.mark.parametrize("key, tags, expected", [
    ("rmse", {}, "lower"), ("val_loss", {}, "lower"), ("test_accuracy", {}, "higher"), ("f1_score", {}, "higher"),
    ("r2", {}, "higher"), ("latency_ms", {}, "lower"), ("epochs", {}, None),
    ("epochs", {"podium.better.epochs": "Lower"}, "lower"), ("rmse", {"podium.better.rmse": "higher"}, "higher"),
])
def test_which_way_a_metric_is_better(key, tags, expected):
    assert charts.better(key, tags) == expected


def test_judging_against_the_base_version():
    assert charts.judge(0.5, 0.6, "lower") == "better" and charts.judge(0.7, 0.6, "lower") == "worse"
    assert charts.judge(0.7, 0.6, "higher") == "better" and charts.judge(0.7, 0.6, None) is None
    assert charts.judge(0.6, 0.6, "higher") is None and charts.judge("NaN", 0.6, "higher") is None


def test_long_floats_are_shown_short_with_the_exact_value_kept():
    assert charts.short(0.9777777777777777) == "0.977778" and charts.short(0.5) == "0.5"
    assert charts.short(123456789.0) == "1.23457e+08" and charts.short(float("nan")) != charts.short(0.0)
    assert charts.short("1.0") == "1.0" and charts.short(3) == 3


def test_chart_json_cannot_end_its_script_block():
    text = str(charts.chart_json({"label": "</script><script>alert(1)</script>&"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\\u003c/script\\u003e" in text


# ---------------------------------------------------------------------------------- model page trend
def test_model_page_charts_a_metric_across_versions(api, compared):
    page = api.get(_path(compared)).text
    trend = page.split('id="trend"', 1)[1].split("</section>", 1)[0]
    assert '<option value="r2" selected>r2</option>' in trend and '<option value="rmse">rmse</option>' in trend
    assert "higher is better" in trend
    data = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', trend).group(1)
    assert '"x":[1,2,3]' in data and '"y":[0.71,0.78,0.74]' in data
    chosen = api.get(_path(compared), params={"metric": "rmse"}).text
    assert '"y":[0.6,0.49,0.55]' in chosen and "lower is better" in chosen
    assert 'href="/static/' in page and "vendor/uPlot.iife.min.js" in page and "charts.js" in page
    assert api.get(_path(compared), params={"metric": SCRIPT}).status_code == 200  # unknown: the first metric
    _assert_escaped(page)


def test_model_page_links_compare_and_history(api, compared):
    page = api.get(_path(compared)).text
    assert f'<form id="compare" class="search" method="get" action="{_path(compared)}/compare">' in page
    assert re.findall(r'<input type="checkbox" form="compare" name="versions" value="(\d+)"', page) == ["3", "2", "1"]
    assert f'href="{_path(compared)}/history"' in page


# ---------------------------------------------------------------------------------- compare
def test_compare_page_shows_every_section_with_differences_and_direction(api, compared):
    response = api.get(f"{_path(compared)}/compare", params={"versions": "1,2,3"})
    assert response.status_code == 200
    page = response.text
    for section in ("params", "metrics", "signature", "requirements", "files", "tags"):
        assert f'id="sec-{section}"' in page, section
    metrics = page.split('id="sec-metrics"', 1)[1].split("</section>", 1)[0]
    rmse = metrics.split(">rmse", 1)[1].split("</tr>", 1)[0]
    assert "lower is better" in rmse and rmse.count("judge-better") == 2  # 0.49 and 0.55 beat 0.6
    r2 = metrics.split(">r2", 1)[1].split("</tr>", 1)[0]
    assert "judge-better" in r2 and "judge-worse" not in r2  # 0.78 and 0.74 beat 0.71
    params = page.split('id="sec-params"', 1)[1].split("</section>", 1)[0]
    assert '<tr class="diff"><th scope="row">max_depth' in params
    assert "min_samples_leaf" in params and "&lt;script&gt;alert(1)&lt;/script&gt;" in params
    requirements = page.split('id="sec-requirements"', 1)[1].split("</section>", 1)[0]
    assert "==1.4.2" in requirements and "==1.5.0" in requirements and "pandas" in requirements
    signature = page.split('id="sec-signature"', 1)[1].split("</section>", 1)[0]
    assert "inputs.sulphates" in signature and "inputs.&lt;script&gt;alert(1)&lt;/script&gt;" in signature
    files = page.split('id="sec-files"', 1)[1].split("</section>", 1)[0]
    assert "model.pkl" in files and "4.0 KB" in files and re.search(r'title="[0-9a-f]{64}"', files)
    history = re.search(r'<script type="application/json" id="history-data">(.*?)</script>', page).group(1)
    assert history.count('"label":"v') == 3 and '"yLabel":"r2"' in history  # the first metric by default
    rmse_page = api.get(f"{_path(compared)}/compare", params={"versions": "1,2,3", "metric": "rmse"}).text
    history = re.search(r'<script type="application/json" id="history-data">(.*?)</script>', rmse_page).group(1)
    assert '{"label":"v2","x":[0,1,2,3,4],"y":[0.85,0.6,0.52,0.5,0.49]}' in history
    summary = rmse_page.split('id="metric-history"', 1)[1].split("</section>", 1)[0]
    assert '<td data-label="Points" class="num">5</td>' in summary
    _assert_escaped(page)


def test_compare_takes_the_model_pages_checkboxes_and_only_differences(api, compared):
    page = api.get(f"{_path(compared)}/compare?versions=3&versions=1&changed=1").text
    assert re.findall(r'<thead><tr><th scope="col">Version</th>(.*?)</tr>', page)[0].count("<th") == 2
    assert ">v3</a>" in page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    params = page.split('id="sec-params"', 1)[1].split("</section>", 1)[0]
    assert ">note" not in params and "max_depth" in params  # same in both: hidden


@pytest.mark.parametrize("query", ["versions=1", "versions=", "versions=a,b", "versions=" + ",".join(map(str, range(1, 30))),
                                   "versions=1,2&metric=%3Cscript%3E", "versions=-1,2"])
def test_compare_bad_query_strings_are_400_pages(api, compared, query):
    response = api.get(f"{_path(compared)}/compare?{query}")
    if "metric=" in query:
        assert response.status_code == 200  # an unknown metric: the first one is charted
    else:
        assert response.status_code == 400, query
        assert response.headers["content-type"].startswith("text/html")
        assert re.search(r'<p class="error" role="alert">[^<]+</p>', response.text)
    _assert_escaped(response.text)


def test_compare_of_unknown_versions_or_models_is_404(api, compared):
    assert api.get(f"{_path(compared)}/compare?versions=1,99").status_code == 404
    assert api.get("/models/no-such-model/compare?versions=1,2").status_code == 404


# ---------------------------------------------------------------------------------- history
def test_history_page_filters_by_action_and_actor_and_pages(api, unique):
    name = unique("hist")
    register_model(api, name, versions=1)  # created, version 1 created, to Production, @champion
    for i in range(HISTORY_PAGE_SIZE + 5):
        ok(api.post(f"{A2}/registered-models/set-tag", json={"name": name, "key": f"k{i}", "value": SCRIPT}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "shadow", "version": "1"}))
    url, seen = f"{_path(name)}/history", []
    while url:
        page = api.get(url).text
        seen += re.findall(r'<td data-label="What">([^<]+)</td>', page)
        href = next_href(page)
        url = f"{_path(name)}/history{href}" if href else None
    assert seen == ["alias set"] + ["model tag set"] * (HISTORY_PAGE_SIZE + 5) + [
        "alias set", "stage transitioned", "version created", "model created"]  # newest first, no overlap
    only = api.get(f"{_path(name)}/history", params={"action": "alias_set"}).text
    assert re.findall(r'<td data-label="What">([^<]+)</td>', only) == ["alias set", "alias set"]
    assert '<span class="before">—</span> → <span class="after">1</span>' in only  # the first alias: no before
    nobody = api.get(f"{_path(name)}/history", params={"actor": "nobody"}).text
    assert "No events match." in nobody
    tagged = api.get(f"{_path(name)}/history", params={"action": "model_tag_set"}).text
    assert next_href(tagged) and "action=model_tag_set" in next_href(tagged)
    _assert_escaped(tagged)


def test_history_page_as_at_a_time(api, compared):
    page = api.get(f"{_path(compared)}/history", params={"at": "2999-01-01T00:00"}).text
    state = page.split('id="as-at"', 1)[1].split("</section>", 1)[0]
    assert "Production</span> → " in state and "@champion</span> → " in state and "/versions/2\">v2</a>" in state
    before = api.get(f"{_path(compared)}/history", params={"at": "2001-01-01T00:00"}).text
    assert "did not exist yet" in before.split('id="as-at"', 1)[1]


def test_as_at_links_a_stages_newest_versions_and_counts_the_rest(api, unique):
    """A stage holding more versions than the panel links (Archived, after many promotions): the
    newest STATE_VERSIONS_SHOWN, newest first, then how many older ones, so the page stays light."""
    name, count = unique("archived"), STATE_VERSIONS_SHOWN + 5
    register_model(api, name, versions=count)  # v1 in Production
    for v in range(2, count + 1):
        ok(api.post(f"{A2}/model-versions/transition-stage", json={
            "name": name, "version": str(v), "stage": "Production", "archive_existing_versions": True}))
    page = api.get(f"{_path(name)}/history", params={"at": "2999-01-01T00:00"}).text
    state = page.split('id="as-at"', 1)[1].split("</section>", 1)[0]
    archived = state.split("Archived</span> → ", 1)[1].split("</li>", 1)[0]
    linked = [int(v) for v in re.findall(r'/versions/(\d+)"', archived)]
    assert linked == list(range(count - 1, count - 1 - STATE_VERSIONS_SHOWN, -1))
    assert f"and {count - 1 - STATE_VERSIONS_SHOWN} older" in archived
    assert re.findall(r'Production</span> → <a href="[^"]+/versions/(\d+)"', state) == [str(count)]


@pytest.mark.parametrize("query", ["action=bogus", f"action={quote(SCRIPT)}", "at=yesterday-ish", "page_token=garbage",
                                   "at=99999-01-01", "actor=a%00b", "at=%00", "action=%00"])
def test_history_bad_query_strings_are_400_pages(api, compared, query):
    response = api.get(f"{_path(compared)}/history?{query}")
    assert response.status_code == 400 and response.headers["content-type"].startswith("text/html"), query
    assert re.search(r'<p class="error" role="alert">[^<]+</p>', response.text)
    _assert_escaped(response.text)


def test_history_of_an_unknown_model_is_404(api):
    assert api.get("/models/no-such-model/history").status_code == 404


# ---------------------------------------------------------------------------------- version page
def test_version_page_signature_requirements_verify_and_requests(api, compared):
    page = api.get(f"{_path(compared)}/versions/3").text
    signature = page.split('id="signature"', 1)[1].split("</section>", 1)[0]
    assert "inputs.sulphates" in signature and "outputs[0]" in signature and "&lt;script&gt;" in signature
    requirements = page.split('id="requirements"', 1)[1].split("</section>", 1)[0]
    assert "pandas" in requirements and "==2.0.1" in requirements
    assert 'href="?verify=1#verify"' in page and "Intact" not in page
    verified = api.get(f"{_path(compared)}/versions/3", params={"verify": "1"}).text
    assert '<span class="verify-intact">Intact</span>: 4 files' in verified
    assert "No approval requests for this version." in page
    assert f'href="{_path(compared)}/history"' in page
    _assert_escaped(page)
    _assert_escaped(verified)


def test_version_page_shows_requests_with_gates_checked_now(api, unique):
    name = unique("gated")
    register_compared_model(api, name)
    policy = {"name": name, "protected_stages": ["Staging"], "requires_approval": True, "gates": ["signature"]}
    ok(api.post(f"{PODIUM}/registered-models/policy", json=policy))
    ok(api.post(f"{PODIUM}/requests", json={"name": name, "version": "3", "stage": "Staging", "comment": SCRIPT}))
    # a gate added after the request was made: it would refuse the last approval now, and the page says so
    ok(api.post(f"{PODIUM}/registered-models/policy", json={**policy, "gates": ["metrics.rmse <= 0.1", "signature"]}))
    page = api.get(f"{_path(name)}/versions/3").text
    requests = page.split('id="requests"', 1)[1].split("</section>", 1)[0]
    assert "pending" in requests and "&lt;script&gt;" in requests
    assert "judge-worse\">fail</span> <span class=\"mono\">metrics.rmse &lt;= 0.1" in requests
    assert "judge-better\">pass</span> <span class=\"mono\">signature" in requests


def test_unknown_versions_are_404(api, compared):
    for path in (f"{_path(compared)}/versions/99", f"{_path(compared)}/versions/abc", f"{_path(compared)}/versions/0"):
        response = api.get(path)
        assert response.status_code in (400, 404) and response.headers["content-type"].startswith("text/html"), path
    assert api.get(f"{_path(compared)}/versions/99").status_code == 404


def test_vendored_chart_files_are_served_hashed_and_immutable(api, compared):
    page = api.get(_path(compared)).text
    urls = re.findall(r'(?:href|src)="(/static/[0-9a-f]{12}/[\w./]+)"', page)
    assert {u.split("/", 3)[3] for u in urls} >= {"vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "charts.js"}
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    assert "vendor/uPlot.iife.min.js" in STATIC and api.get("/static/000000000000/vendor/uPlot.iife.min.js").status_code == 404
    assert api.get(f"/static/{STATIC['vendor/uPlot.iife.min.js'][0]}/uPlot.iife.min.js").status_code == 404


# ---------------------------------------------------------------------------------- statement counts
def _admit(operation_id, params):
    return params


def _model_with_versions(backend, name: str, count: int) -> None:
    """``count`` versions, each from its own run with two metrics; history events on each."""
    backend.registry.create_registered_model(name)
    for i in range(count):
        run = backend.tracking.create_run("0")
        backend.tracking.log_batch(run.info.run_id, [Metric("rmse", 1.0 / (i + 1), 1, 0), Metric("r2", 0.5, 1, 0)])
        backend.registry.create_model_version(name, "/x", run_id=run.info.run_id)
        backend.registry.set_model_version_tag(name, str(i + 1), "k", "v")
    backend.registry.set_registered_model_alias(name, "champion", "1")


def _statements(count_statements, call) -> int:
    with count_statements() as counter:
        response = call()
    assert response.status == 200, response.body
    return counter.count


def _services(backend):
    """What a page handler receives in the server (its Services, no --auth), over the test's backend."""
    from podium.server.app import Services
    from podium.server.settings import ServerSettings

    return Services(backend.tracking, backend.registry, backend.artifacts, ServerSettings(), access=backend.access,
                    integrity=backend.integrity, history=backend.history, approvals=backend.approvals,
                    backend=backend)


def test_pages_statements_do_not_grow_with_the_model(backend, count_statements):
    _model_with_versions(backend, "small", 3)
    _model_with_versions(backend, "big", 40)
    counts = {}
    services = _services(backend)
    for name in ("small", "big"):
        counts[name] = (
            _statements(count_statements, lambda: pages.model_page(services, _admit, name, {"metric": "rmse"})),
            _statements(count_statements, lambda: history_page(backend, _admit, name, {})),
            _statements(count_statements, lambda: history_page(backend, _admit, name, {"action": "version_tag_set",
                                                                                       "at": "2999-01-01"})),
            _statements(count_statements, lambda: pages.version_page(services, _admit, name, "2", {})),
        )
    assert counts["small"] == counts["big"], counts


def test_compare_statements_grow_with_the_versions_compared_only(backend, count_statements):
    _model_with_versions(backend, "cmp", 30)
    two = _statements(count_statements, lambda: compare_page(backend, _admit, "cmp", ["1,2"], {}))
    three = _statements(count_statements, lambda: compare_page(backend, _admit, "cmp", ["1,2,3"], {}))
    four = _statements(count_statements, lambda: compare_page(backend, _admit, "cmp", ["1,2,3,30"], {}))
    assert four - three == three - two > 0  # a fixed cost per version compared (its run, files, history)


def test_chart_samples_keep_the_ends_and_the_bound():
    from podium.server.ui.compare_page import sample

    points = list(range(10_000))
    kept = sample(points, 200)
    assert len(kept) == 200 and kept[0] == 0 and kept[-1] == 9_999 and kept == sorted(set(kept))
    assert sample(points[:5], 200) == points[:5]


def test_compare_of_twenty_versions_with_long_histories_stays_light(api, unique):
    """20 versions (the most one comparison takes), each run with 3,000 points of a metric: the page's
    HTML plus its CSS and scripts stays under issue 13's 150 KB, the chart's data sampled down."""
    name = unique("heavy")
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for v in range(20):
        run_id = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
        for start in range(0, 3000, 1000):
            ok(api.post(f"{A2}/runs/log-batch", json={"run_id": run_id, "metrics": [
                {"key": "loss", "value": 1.0 / (step + v + 1), "timestamp": step, "step": step}
                for step in range(start, start + 1000)]}))
        ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run_id}/model",
                                                          "run_id": run_id}))
    page = api.get(f"{_path(name)}/compare", params={"versions": ",".join(str(v) for v in range(1, 21))})
    assert page.status_code == 200
    history = re.search(r'<script type="application/json" id="history-data">(.*?)</script>', page.text).group(1)
    assert history.count('"label":"v') == 20
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    weight = len(page.content) + sum(len(api.get(url).content) for url in assets)
    assert weight <= 150_000, weight
    assert "3000 (first" not in page.text and '<td data-label="Points" class="num">1000 (first 1000)</td>' in page.text


# ---------------------------------------------------------------------------------- --auth
@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    import httpx

    from tests.auth_server import AuthServer, start_auth_server

    server = start_auth_server(tmp_path_factory.mktemp("ui-views-auth"), {"admin": True, "reader": False}, None, None,
                               "none")
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        register_compared_model(admin, "open-model")
        register_compared_model(admin, "secret-model")
        ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": "open-model", "user": "reader",
                                                                 "permission": "read"}))
        yield server
    server.stop()


def test_with_auth_views_refuse_as_the_api_does(auth_server):
    import httpx

    from tests.auth_server import AuthServer

    with httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic("reader")) as reader:
        for path in ("/models/secret-model/compare?versions=1,2", "/models/secret-model/history",
                     "/models/secret-model/history?at=2999-01-01"):
            page = reader.get(path)
            api_answer = reader.get(f"{PODIUM}/model-versions/compare", params={"name": "secret-model",
                                                                                 "versions": ["1", "2"]})
            assert page.status_code == api_answer.status_code == 403, path
            assert "<table" not in page.text and "rmse" not in page.text
        # a model the reader may read: compare and history work; the runs' metric histories need
        # registry-wide read (as GET /metrics/get-history): the page says so and draws no chart
        compare = reader.get("/models/open-model/compare?versions=1,2,3&metric=rmse")
        assert compare.status_code == 200 and "judge-better" in compare.text
        history = compare.text.split('id="metric-history"', 1)[1].split("</section>", 1)[0]
        assert "history-data" not in history and re.search(r'<p class="muted">[^<]*read[^<]*</p>', history)
        assert reader.get("/models/open-model/history?at=2999-01-01").status_code == 200
        model = reader.get("/models/open-model").text
        assert "trend-data" in model  # the trend shows what the compare endpoint shows a reader
    anonymous = httpx.get(f"{auth_server.url}/models/open-model/history")  # no credentials: to the sign-in page
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
