"""Signing in, the forms and /requests in a real browser (Debian's Chromium through Playwright)
against ``podium server --auth``: forms work without JavaScript's help (POST-redirect-GET), a form
with a wrong CSRF token changes nothing, a reader sees no actions, the approve flow runs in two
browsers, hostile strings typed into forms never run, and no page logs a console error.
Screenshots of the pages at 1280 px and 390 px go to ``$PODIUM_UI_SCREENSHOTS`` (``docs/ui``) or a
temporary directory; no page scrolls sideways."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.auth_server import AuthServer, password_of, start_auth_server

from .helpers import A2, ok
from .ui_browser_helpers import CHROMIUM, assert_accessible, browser  # noqa: F401 - the Chromium fixture, shared
from .ui_data import IMG, SCRIPT, register_model

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")

PODIUM = "/api/podium/v1"
USERS = {"admin": True, "bob": False, "alice": False, "reader": False}
WIDTHS = {"wide": 1280, "narrow": 390}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An --auth server with a team's model: ``wine-quality`` (Production and @champion need approval)."""
    server = start_auth_server(tmp_path_factory.mktemp("ui-browser-auth"), USERS, None, None, "read")
    with httpx.Client(base_url=server.url, timeout=30, auth=AuthServer.basic("admin")) as admin:
        register_model(admin, "wine-quality", versions=3, tags={"team": "ml-platform", "task": "regression"},
                       description="Predicts **wine quality** from physico-chemical measurements.",
                       params={"max_depth": "7", "n_estimators": "200"})
        for user, permission in (("alice", "edit"), ("bob", "manage")):
            ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": "wine-quality", "user": user,
                                                                       "permission": permission}))
        ok(admin.post(f"{PODIUM}/registered-models/policy", json={
            "name": "wine-quality", "protected_stages": ["Production"], "protected_aliases": ["champion"],
            "requires_approval": True, "gates": ["metrics.rmse <= 0.5"]}))
        ok(admin.post(f"{A2}/model-versions/transition-stage", json={
            "name": "wine-quality", "version": "2", "stage": "Staging", "archive_existing_versions": False}))
    yield server
    server.stop()


@pytest.fixture
def open_as(browser, site):  # noqa: F811
    """``open_as(user)``: a signed-in browser page (through the sign-in form) that records console
    errors, uncaught exceptions and dialogs (an ``alert`` would be a script that ran)."""
    contexts = []

    def sign_in(user: str | None, javascript: bool = True):
        context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 800},
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.errors, page.dialogs = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        if user is not None:
            page.goto("/models/wine-quality")
            page.wait_for_url(re.compile(r"/login\?next="))
            page.fill("#user", user)
            page.fill("#password", password_of(user))
            page.click("form.stack button[type=submit]")
            page.wait_for_url("**/models/wine-quality")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _shoot(page, name: str, tmp_path: Path) -> None:
    """Screenshots at both widths; the page must not scroll sideways at either."""
    out = Path(os.environ["PODIUM_UI_SCREENSHOTS"]) if os.environ.get("PODIUM_UI_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow == 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 800})


def _flash(page) -> str:
    return page.locator("p.flash").inner_text()


def test_sign_in_page(open_as, tmp_path):
    page = open_as(None)
    page.goto("/requests")
    page.wait_for_url(re.compile(r"/login\?next=%2Frequests"))
    _shoot(page, "login", tmp_path)
    assert_accessible(page)
    page.fill("#user", "alice")
    page.fill("#password", "wrong password")
    page.click("form.stack button[type=submit]")
    assert "Invalid username or password" in page.get_by_role("alert").inner_text()
    page.fill("#password", password_of("alice"))
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/requests")
    assert page.locator(".account .user").inner_text() == "alice"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert "signed out" in _flash(page)
    assert [e for e in page.errors if "401" not in e] == []  # Chromium logs the wrong password's 401 status


def test_manager_moves_a_stage_and_edits_by_clicking(open_as, tmp_path):
    page = open_as("bob")
    assert page.locator(".account .user").inner_text() == "bob"
    page.goto("/models/wine-quality/versions/3")
    assert page.get_by_role("button", name="Request Production").is_visible()
    assert page.get_by_role("button", name="Move to Production").count() == 0  # protected: request instead
    page.get_by_role("button", name="Move to Staging").click()
    page.wait_for_load_state()
    assert "moved to Staging" in _flash(page)
    assert page.locator("dl.facts .stage").inner_text() == "Staging"
    page.locator("details.editor summary", has_text="Edit description").click()
    page.fill("#description", f"Tuned **v3**. {SCRIPT} {IMG} [x](javascript:alert(1))")
    page.get_by_role("button", name="Save description").click()
    page.wait_for_load_state()
    assert "saved" in _flash(page)
    markdown = page.locator("#about ~ .markdown, section[aria-labelledby=about] .markdown").first
    assert markdown.locator("strong").inner_text() == "v3"
    assert markdown.locator("script, img, a[href^=javascript]").count() == 0  # shown as text, never as HTML
    _shoot(page, "version-actions", tmp_path)
    assert_accessible(page)  # the page with every form open to a manager
    page.goto("/models/wine-quality")
    _shoot(page, "model-actions", tmp_path)
    assert_accessible(page)
    assert page.dialogs == [] and page.errors == []


def test_a_forged_token_changes_nothing_and_a_reader_sees_no_actions(open_as):
    page = open_as("bob")
    page.goto("/models/wine-quality")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
    page.locator("details.editor summary", has_text="Edit tags").click()
    page.fill("#tag-key", "forged")
    page.get_by_role("button", name="Set tag").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Not allowed" and "security token" in page.get_by_role("alert").inner_text()
    page.goto("/models/wine-quality")
    assert "forged" not in page.locator("section[aria-labelledby=about]").inner_text()
    reader = open_as("reader")
    for path in ("/models/wine-quality", "/models/wine-quality/versions/1"):
        reader.goto(path)
        assert reader.locator("#change").count() == 0 and reader.locator("button[name=action]").count() == 0
    assert [e for e in page.errors if "403" not in e] == [] and reader.errors == []


def test_request_and_approve_in_two_browsers(open_as, tmp_path):
    alice = open_as("alice")
    alice.goto("/models/wine-quality/versions/2")
    alice.fill("#stage-comment", f"ready {SCRIPT}")
    alice.get_by_role("button", name="Request Production").click()
    alice.wait_for_load_state()
    assert "Approval requested" in _flash(alice)
    alice.goto("/requests")
    mine = alice.locator("article.request", has_text="wine-quality").first
    assert mine.get_by_role("button", name="Withdraw my request").is_visible()
    assert mine.get_by_role("button", name="Approve").count() == 0  # no self-approval
    bob = open_as("bob")
    bob.goto("/requests")
    waiting = bob.locator("section[aria-labelledby=waiting] article.request").first
    assert "passes" in waiting.locator(".gates").inner_text() and "Approvals: 0 of 1" in waiting.inner_text()
    _shoot(bob, "requests", tmp_path)
    assert_accessible(bob)
    waiting.locator("input[name=comment]").fill(f"ok {IMG}")
    waiting.get_by_role("button", name="Approve").click()
    bob.wait_for_load_state()
    assert "approved" in _flash(bob)
    bob.goto("/models/wine-quality/versions/2")
    assert bob.locator("dl.facts .stage").inner_text() == "Production"
    bob.goto("/requests?view=all")
    assert bob.locator(".status-applied").count() >= 1 and bob.locator("article img").count() == 0
    assert alice.dialogs == bob.dialogs == [] and alice.errors == bob.errors == []


def test_forms_work_with_javascript_off(open_as):
    page = open_as("bob", javascript=False)
    page.goto("/models/wine-quality/versions/1")
    page.locator("details.editor summary", has_text="Edit tags").click()
    page.fill("#tag-key", "no-js")
    page.fill("#tag-value", "works")
    page.get_by_role("button", name="Set tag").click()
    page.wait_for_load_state()
    assert "Tag 'no-js'" in _flash(page) and "works" in page.locator("section[aria-labelledby=about]").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
