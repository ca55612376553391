"""What the real-browser tests of the web UI share: Debian's Chromium driven by Playwright (no
``playwright install``), a page that records console errors, and an accessibility check with axe-core.

In a test module::

    from .ui_browser_helpers import CHROMIUM_MISSING, assert_accessible, browser, page  # noqa: F401

    pytestmark = CHROMIUM_MISSING

    def test_my_page(page):
        page.goto("/my/page")
        assert_accessible(page)      # no serious or critical axe-core violation
        assert page.errors == []     # no console error, no uncaught exception

``page`` needs a ``server`` fixture (tests/server/conftest.py has one per module) and opens at
1280x800. axe-core is the test-only vendored file ``tests/server/vendor/axe-core/axe.min.js``
(version and licence beside it); it is evaluated through the DevTools protocol, so the pages' CSP
(no inline script) stays on while it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["AXE_JS", "CHROMIUM", "CHROMIUM_ARGS", "CHROMIUM_MISSING", "assert_accessible", "axe_violations",
           "browser", "page", "page_weight"]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: ``pytestmark = CHROMIUM_MISSING`` skips a module, with the reason, where there is no Chromium
CHROMIUM_MISSING = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                      reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: the impacts a page may not have
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the server that records console errors and uncaught exceptions in ``page.errors``
    and every response it received in ``page.responses`` (see :func:`page_weight`)."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.errors, opened.responses = [], []
    opened.on("response", lambda response: opened.responses.append(response))
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    yield opened
    context.close()


def page_weight(page) -> int:
    """Bytes of every body the page received so far (HTML, CSS, JS, images), uncompressed."""
    total = 0
    for response in page.responses:
        try:
            total += len(response.body())
        except Exception:  # noqa: BLE001 - a redirect has no body
            pass
    return total


def axe_violations(page, impacts=BLOCKING) -> list[dict]:
    """axe-core's violations of the page as loaded now (WCAG 2.x A/AA and best practices) whose impact
    is in ``impacts``: ``[{"id", "impact", "help", "nodes": [html of each offending element]}]``."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.html.slice(0, 200))}));
    }""")
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(page, impacts=BLOCKING) -> None:
    """Fails, listing each rule and the elements that break it, if axe-core finds a violation of
    ``impacts`` (serious or critical by default) on the page."""
    violations = axe_violations(page, impacts)
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes'][:3]}" for v in violations)
