"""The web UI in a real browser: Debian's Chromium driven by Playwright (no ``playwright install``).

Each page loads with no console error (a CSP violation is one), the mlflow client's ``/#/models/...``
links land on the matching page, and paging works by clicking "Next". Screenshots of every page at
1280 px and 400 px go to ``$PODIUM_UI_SCREENSHOTS`` (``docs/ui`` when refreshing the docs' images),
else to a temporary directory. Skipped, with the reason, where ``/usr/bin/chromium`` is missing
(``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from .helpers import A2, ok
from .ui_data import register_model

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")

WIDTHS = {"wide": 1280, "narrow": 400}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the server that records console errors and uncaught exceptions in ``page.errors``."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    yield opened
    context.close()


@pytest.fixture(scope="module")
def registry(api):
    """A small registry that looks like a team's: a served model with a history, and a few more."""
    register_model(api, "wine-quality", versions=3, tags={"team": "ml-platform", "task": "regression"},
                   description="Predicts **wine quality** from physico-chemical measurements.\n\n"
                               "- trained nightly\n- owner: `ml-platform`",
                   params={"max_depth": "7", "n_estimators": "200", "criterion": "squared_error"})
    ok(api.post(f"{A2}/model-versions/transition-stage", json={
        "name": "wine-quality", "version": "2", "stage": "Staging", "archive_existing_versions": False}))
    for name, team in (("fraud-detector", "risk"), ("churn-model", "growth"), ("price-forecast", "pricing")):
        register_model(api, name, versions=2, tags={"team": team})
    register_model(api, "many-versions", versions=60)
    return "wine-quality"


def _shots() -> Path:
    return Path(os.environ.get("PODIUM_UI_SCREENSHOTS") or "")


@pytest.mark.parametrize("path, shot", [
    ("/", "models"),
    ("/models/wine-quality", "model"),
    ("/models/wine-quality/versions/1", "version"),
    ("/models/no-such-model", None),
])
def test_each_page_loads_without_console_errors(page, registry, path, shot, tmp_path):
    response = page.goto(path)
    assert response.status == (404 if shot is None else 200)
    assert page.locator("h1").first.is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"  # CSS loaded
    if shot:
        out = _shots() if os.environ.get("PODIUM_UI_SCREENSHOTS") else tmp_path
        out.mkdir(parents=True, exist_ok=True)
        overflows = []
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(out / f"{shot}-{label}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            overflows.append((width, overflow))
        assert overflows == [(width, 0) for width in WIDTHS.values()], f"{path} scrolls sideways"
        assert page.errors == []
    else:  # Chromium reports the document's own 404 status on the console; nothing else may appear
        assert [e for e in page.errors if "status of 404" not in e] == []


@pytest.mark.parametrize("link, lands", [
    ("/#/models/wine-quality", "/models/wine-quality"),
    ("/#/models/wine-quality/versions/2", "/models/wine-quality/versions/2"),
    ("/#/experiments/0/runs/abc123", "/runs/abc123"),  # the run page is a later slice: its 404 page for now
])
def test_the_mlflow_clients_links_land_on_the_page(page, registry, link, lands):
    page.goto(link)
    page.wait_for_url(f"**{lands}")
    if lands.startswith("/models/"):
        assert page.locator("h1").first.inner_text().startswith("wine-quality")
        assert page.errors == []
    else:
        assert page.locator("h1").first.inner_text() == "Not found"


def test_paging_by_clicking_next(page, registry):
    page.goto("/models/many-versions")
    first = page.locator("#versions ~ div table tbody tr").all_inner_texts()
    page.get_by_role("link", name=re.compile("Next page")).click()
    page.wait_for_url(re.compile(r"page_token="))
    second = page.locator("#versions ~ div table tbody tr").all_inner_texts()
    assert len(first) == 50 and len(second) == 10
    assert not {row.split()[0] for row in first} & {row.split()[0] for row in second}
    assert page.get_by_role("link", name=re.compile("Next page")).count() == 0
    assert page.errors == []


def test_the_filter_form_searches(page, registry):
    page.goto("/models")
    page.fill("#filter", "tags.team = 'risk' OR name = 'churn-model'")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"filter="))
    names = page.locator("td.name a").all_inner_texts()
    assert sorted(names) == ["churn-model", "fraud-detector"]
    page.fill("#filter", "name = ")
    page.click("button[type=submit]")
    assert "filter" in page.get_by_role("alert").inner_text()
    assert [e for e in page.errors if "400" not in e] == []  # the 400 status itself is logged by Chromium
