"""The web UI in a real browser: Debian's Chromium driven by Playwright (no ``playwright install``).

Each page loads with no console error (a CSP violation is one), weighs at most 150 KB and has no
serious or critical axe-core violation; the mlflow client's ``/#/models/...`` and
``/#/experiments/...`` links land on the matching page; paging works by clicking "Next"; the runs
table sorts by a column and chooses columns (also with JavaScript off); the run page browses and
downloads artifacts. Screenshots of every page at
1280 px and 390 px go to ``$PODIUM_UI_SCREENSHOTS`` (``docs/ui`` when refreshing the docs' images),
else to a temporary directory. Skipped, with the reason, where ``/usr/bin/chromium`` is missing
(``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .helpers import A2, ok
from .ui_browser_helpers import CHROMIUM_MISSING, assert_accessible, browser, page, page_weight  # noqa: F401
from .ui_data import register_model

pytestmark = CHROMIUM_MISSING

WIDTHS = {"wide": 1280, "narrow": 390}


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


@pytest.fixture(scope="module")
def tracked(api, registry):
    """An experiment of three training runs with metric histories and files: ``(experiment id, best run id)``."""
    experiment = ok(api.post(f"{A2}/experiments/create", json={
        "name": "wine-quality-training", "tags": [{"key": "team", "value": "ml-platform"}]}))["experiment_id"]
    run_ids = []
    for i, (depth, final) in enumerate((("5", 0.61), ("7", 0.52), ("9", 0.58))):
        run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": experiment, "run_name": f"train-{i}",
                                                    "tags": [{"key": "dataset", "value": "wine-v3"}]}))["run"]["info"]
        ok(api.post(f"{A2}/runs/log-batch", json={
            "run_id": run["run_id"], "params": [{"key": "max_depth", "value": depth},
                                                {"key": "n_estimators", "value": "200"}],
            "metrics": [{"key": "rmse", "value": round(final + 0.4 / (step + 1), 4), "timestamp": 1000 * step,
                         "step": step} for step in range(10)] + [{"key": "r2", "value": 1 - final, "timestamp": 1,
                                                                   "step": 0}]}))
        ok(api.post(f"{A2}/runs/update", json={"run_id": run["run_id"], "status": "FINISHED",
                                                   "end_time": run["start_time"] + 95_000}))
        root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
        for rel, data in {"model/MLmodel": b"flavors: {}\n", "model/model.pkl": b"0" * 4096,
                          "feature_importance.json": b"{}"}.items():
            assert api.put(f"/api/2.0/mlflow-artifacts/artifacts/{root}/{rel}", content=data).status_code == 200
        run_ids.append(run["run_id"])
    return experiment, run_ids[1]


def _shots() -> Path:
    return Path(os.environ.get("PODIUM_UI_SCREENSHOTS") or "")


@pytest.mark.parametrize("path, shot", [
    ("/", "models"),
    ("/models/wine-quality", "model"),
    ("/models/wine-quality/versions/1", "version"),
    ("/models/no-such-model", None),
    ("/experiments", "experiments"),
    ("/experiments/{experiment_id}", "experiment"),
    ("/runs/{run_id}", "run"),
])
def test_each_page_loads_without_console_errors(page, registry, tracked, path, shot, tmp_path):
    response = page.goto(path.format(experiment_id=tracked[0], run_id=tracked[1]))
    assert response.status == (404 if shot is None else 200)
    assert page.locator("h1").first.is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"  # CSS loaded
    assert page_weight(page) <= 150_000  # HTML + CSS + JS
    assert_accessible(page)  # axe-core: no serious or critical violation
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


@pytest.mark.parametrize("link, lands, title", [
    ("/#/models/wine-quality", "/models/wine-quality", "wine-quality"),
    ("/#/models/wine-quality/versions/2", "/models/wine-quality/versions/2", "wine-quality"),
    ("/#/experiments/{experiment_id}/runs/{run_id}", "/runs/{run_id}", "train-1"),
    ("/#/experiments/{experiment_id}", "/experiments/{experiment_id}", "wine-quality-training"),
    ("/#/experiments/0/runs/abc123", "/runs/abc123", "Not found"),
])
def test_the_mlflow_clients_links_land_on_the_page(page, registry, tracked, link, lands, title):
    ids = {"experiment_id": tracked[0], "run_id": tracked[1]}
    page.goto(link.format(**ids))
    page.wait_for_url(f"**{lands.format(**ids)}")
    assert page.locator("h1").first.inner_text().startswith(title)
    if title != "Not found":
        assert page.errors == []


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


def test_runs_table_sorts_by_a_metric_column_and_chooses_columns(page, tracked):
    experiment, best = tracked
    page.goto(f"/experiments/{experiment}")
    runs = lambda: page.locator("table.runs td.name a").all_inner_texts()  # noqa: E731
    assert runs() == ["train-2", "train-1", "train-0"]
    page.get_by_role("link", name="rmse", exact=True).click()  # high to low, then low to high
    page.wait_for_url(re.compile(r"order=metrics.rmse"))
    assert runs() == ["train-0", "train-2", "train-1"]
    page.get_by_role("link", name="rmse", exact=True).click()
    page.wait_for_url(re.compile(r"ASC"))
    assert runs() == ["train-1", "train-2", "train-0"]
    page.locator("summary", has_text="Columns").click()
    page.uncheck("input[value='metrics.r2']")
    page.uncheck("input[value='params.n_estimators']")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"col="))
    headers = page.locator("table.runs thead th").all_inner_texts()
    assert [h.split()[0].lower() for h in headers[4:]] == ["rmse", "max_depth"]  # CSS upper-cases headers
    assert runs() == ["train-1", "train-2", "train-0"]  # the sort is kept
    assert_accessible(page)
    assert page.errors == []


def test_runs_table_works_without_javascript(browser, server, tracked):
    experiment, _ = tracked
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        opened = context.new_page()
        opened.goto(f"/experiments/{experiment}")
        opened.fill("#filter", "params.max_depth != '9'")
        opened.select_option("#order", "metrics.rmse ASC")
        opened.get_by_role("button", name="Search").click()
        opened.wait_for_url(re.compile(r"filter="))
        assert opened.locator("table.runs td.name a").all_inner_texts() == ["train-1", "train-0"]
    finally:
        context.close()


def test_run_page_browses_artifacts_and_downloads(page, tracked):
    _, best = tracked
    page.goto(f"/runs/{best}")
    assert page.locator("#metric-history-data").count() == 1
    page.get_by_role("link", name="model/", exact=True).click()
    page.wait_for_url(re.compile(r"path=model"))
    with page.expect_download() as download:
        page.get_by_role("link", name="download model.pkl").click()
    assert download.value.suggested_filename == "model.pkl"
    page.get_by_role("link", name="..", exact=True).click()
    page.wait_for_url(re.compile(rf"/runs/{best}#artifacts$"))
    assert page.get_by_role("link", name="feature_importance.json", exact=True).count() == 0  # a file: downloaded, not browsed
    assert_accessible(page)
    assert page.errors == []
