"""The compare, history and chart views in a real browser (Debian's Chromium through Playwright, as
test_ui_browser.py): charts drawn under the CSP with no console error, comparing three versions from
the model page's checkboxes, the history's filter and paging, hostile strings that never run, the
pages with JavaScript off, and each page's weight. Screenshots at 1280 and 390 px go to
``$PODIUM_UI_SCREENSHOTS`` (``docs/ui`` when refreshing the docs' images)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from .helpers import A2, ok
from .ui_browser_helpers import CHROMIUM, assert_accessible, browser  # noqa: F401 - the fixture, shared
from .ui_data import SCRIPT, register_compared_model, register_model

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")

WIDTHS = {"wide": 1280, "narrow": 390}
#: a page's HTML + CSS + JS, charts included (issue 13's bar)
MAX_PAGE_BYTES = 150_000
#: screenshots stop here (a long history is 7,000 px on a phone)
SHOT_HEIGHT = 1800
HOSTILE = "evil<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def registry(api):
    register_compared_model(api, "wine-quality")
    ok(api.patch(f"{A2}/registered-models/update", json={
        "name": "wine-quality", "description": "Predicts **wine quality** from physico-chemical measurements."}))
    ok(api.post(f"{A2}/model-versions/transition-stage", json={
        "name": "wine-quality", "version": "3", "stage": "Staging", "archive_existing_versions": False}))
    for i in range(60):  # a history longer than a page
        ok(api.post(f"{A2}/registered-models/set-tag", json={"name": "wine-quality", "key": f"note{i % 6}",
                                                            "value": f"checked {i}"}))
    register_compared_model(api, HOSTILE, hostile=True)
    ok(api.patch(f"{A2}/model-versions/update", json={"name": HOSTILE, "version": "2", "description": SCRIPT}))
    register_model(api, "many-versions", versions=120)
    return "wine-quality"


@pytest.fixture
def page(browser, server):  # noqa: F811 - browser is the shared fixture
    """A fresh page that records console errors, uncaught exceptions and dialogs (a script that ran),
    and the bytes of every response it received."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    opened = _watched(context.new_page())
    yield opened
    context.close()


def _watched(opened):
    opened.errors, opened.dialogs, opened.received = [], [], {}
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.on("response", lambda response: opened.received.__setitem__(response.url, len(response.body())))
    return opened


def _out(tmp_path) -> Path:
    out = Path(os.environ["PODIUM_UI_SCREENSHOTS"]) if os.environ.get("PODIUM_UI_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.parametrize("path, shot, charts", [
    ("/models/wine-quality?metric=rmse", "trend", 1),
    ("/models/wine-quality/compare?versions=1,2,3&metric=rmse", "compare", 1),
    ("/models/wine-quality/history", "history", 0),
    ("/models/wine-quality/history?at=2999-01-01T00:00&action=stage_transitioned", "history-as-at", 0),
    ("/models/wine-quality/versions/2?verify=1", "version-detail", 0),
])
def test_each_view_draws_without_errors_and_fits(page, registry, path, shot, charts, tmp_path, record_property):
    response = page.goto(path)
    assert response.status == 200
    assert page.locator("figure.chart canvas").count() == charts
    if charts:
        page.wait_for_selector("figure.chart.drawn .u-legend")
        assert page.evaluate("document.querySelector('details.chart-data').open") is False  # the table folds away
    out, overflows = _out(tmp_path), []
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)  # the chart's resize runs in the next animation frame
        height = min(SHOT_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
        page.screenshot(path=str(out / f"{shot}-{label}.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": width, "height": height})
        overflows.append((width, page.evaluate("document.documentElement.scrollWidth - "
                                               "document.documentElement.clientWidth")))
        if charts:  # the chart follows the window
            chart = page.evaluate("document.querySelector('figure.chart').clientWidth")
            canvas = page.evaluate("document.querySelector('figure.chart .uplot').offsetWidth")
            assert abs(chart - canvas) <= 2, (width, chart, canvas)
    assert overflows == [(width, 0) for width in WIDTHS.values()], f"{path} scrolls sideways"
    assert page.errors == [] and page.dialogs == []
    assert_accessible(page)  # axe-core: no serious or critical violation
    weight = sum(page.received.values())
    record_property(f"summary: page weight {path}", f"{weight} bytes")
    assert weight <= MAX_PAGE_BYTES, (path, page.received)


def test_compare_three_versions_from_the_model_page(page, registry):
    page.goto("/models/wine-quality")
    for version in ("1", "2", "3"):
        page.check(f"input[name=versions][value='{version}']")
    page.get_by_role("button", name="Compare selected versions").click()
    page.wait_for_url(re.compile(r"/compare\?versions=3&versions=2&versions=1"))
    headers = page.locator("table.compare").first.locator("thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers] == ["version", "v3", "v2", "v1"]  # in the order given (the first is the base)
    page.wait_for_selector("figure.chart.drawn")
    page.select_option("#metric", "rmse")  # submits its form by itself
    page.wait_for_url(re.compile(r"metric=rmse"))
    page.wait_for_selector("figure.chart.drawn")
    legend = page.locator("figure.chart .u-legend").inner_text()
    assert "v1" in legend and "v2" in legend and "v3" in legend
    assert page.locator("tr.diff").count() > 0 and page.locator(".judge-better").count() > 0
    assert page.errors == []


def test_history_filter_and_paging(page, registry):
    page.goto("/models/wine-quality/history")
    first = page.locator("#events ~ div table tbody tr").count()
    assert first == 50
    page.get_by_role("link", name=re.compile("Next page")).click()
    page.wait_for_url(re.compile(r"page_token="))
    assert page.locator("#events ~ div table tbody tr").count() > 0
    page.goto("/models/wine-quality/history")
    page.select_option("#action", "alias_set")  # submits its form by itself
    page.wait_for_url(re.compile(r"action=alias_set"))
    whats = page.locator("td[data-label=What]").all_inner_texts()
    assert whats == ["alias set"]
    page.fill("#actor", "nobody")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"actor=nobody"))
    assert "No events match." in page.locator("#events ~ div table").inner_text()
    assert page.errors == []


def test_hostile_strings_never_run(page, registry):
    name = quote(HOSTILE, safe="")
    for path in (f"/models/{name}", f"/models/{name}/compare?versions=1,2,3", f"/models/{name}/history",
                 f"/models/{name}/versions/2?verify=1", f"/models/{name}/history?at=2999-01-01T00:00"):
        assert page.goto(path).status == 200, path
        assert page.locator("h1").first.inner_text().startswith(("evil<img", "Compare evil<img", "History of evil<img"))
        assert page.locator("main img").count() == 0 and page.locator("main script:not([type])").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_views_read_without_javascript(browser, server, registry):  # noqa: F811
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    opened = _watched(context.new_page())
    try:
        opened.goto("/models/wine-quality")
        assert opened.locator("figure.chart canvas").count() == 0
        values = opened.locator("details.chart-data table").inner_text()  # the chart's numbers, as a table
        assert "v1" in values and "0.71" in values and opened.locator("details.chart-data[open]").count() == 1
        opened.select_option("#metric", "rmse")
        opened.get_by_role("button", name="Show").click()  # without the script, the button submits
        opened.wait_for_url(re.compile(r"metric=rmse"))
        assert "0.49" in opened.locator("details.chart-data table").inner_text()
        opened.goto("/models/wine-quality/compare?versions=1,3&metric=rmse")
        summary = opened.locator("#metric-history ~ details").inner_text()  # each history's points, last, min, max
        assert "0.55" in summary and "0.9" in summary
    finally:
        context.close()


def test_paging_the_versions_keeps_the_trend_window(page, registry):
    page.goto("/models/many-versions")
    page.wait_for_selector("figure.chart.drawn")
    note = page.locator("#trend ~ form .muted").inner_text()
    assert "newest 100 versions" in note
    rows = page.locator("details.chart-data tbody tr").count()
    assert rows == 100  # the window, not the model's 120 versions
    page.get_by_role("link", name=re.compile("Next page")).click()  # the versions' next page keeps the metric
    page.wait_for_url(re.compile(r"metric=rmse.*page_token=|page_token=.*metric=rmse"))
    assert page.locator("#metric").input_value() == "rmse" and page.errors == []
