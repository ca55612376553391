"""The web UI's sign-in, session cookie, CSRF protection, forms and /requests over a live
``podium server --auth`` (HTTP level; test_ui_actions_browser.py drives the same in Chromium).

Users: admin (admin), bob (manage on the models), alice (edit), reader (read). ``guarded`` has a
policy that protects Production and @champion with approval; ``open`` has none."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from podium.server.ui.session import safe_next
from tests.auth_server import AuthServer, password_of, start_auth_server

from .helpers import A2, ok
from .ui_data import ATTRIBUTE, SCRIPT, FormClient, register_model

PODIUM = "/api/podium/v1"
USERS = {"admin": True, "bob": False, "alice": False, "reader": False}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("ui-actions"), USERS, None, None, "read")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def users(auth_server):
    """Each user's API client (HTTP Basic): to set up and to check what a form changed."""
    clients = {u: httpx.Client(base_url=auth_server.url, timeout=30, auth=AuthServer.basic(u)) for u in USERS}
    yield clients
    for client in clients.values():
        client.close()


def _model(users, *, guarded: bool) -> str:
    name = f"{'guarded' if guarded else 'open'}-{uuid.uuid4().hex[:6]}"
    register_model(users["admin"], name, versions=3)
    for user, permission in (("alice", "edit"), ("bob", "manage")):
        ok(users["admin"].post(f"{PODIUM}/registered-models/grants", json={"name": name, "user": user,
                                                                           "permission": permission}))
    if guarded:
        ok(users["admin"].post(f"{PODIUM}/registered-models/policy", json={
            "name": name, "protected_stages": ["Production"], "protected_aliases": ["champion"],
            "requires_approval": True}))
    return name


@pytest.fixture
def browser_as(auth_server):
    """``browser_as(user)``: a signed-in cookie client."""
    made = []

    def sign_in(user: str) -> FormClient:
        client = FormClient(auth_server.url)
        response = client.sign_in(user, password_of(user))
        assert response.status_code == 303, response.text
        made.append(client)
        return client

    yield sign_in
    for client in made:
        client.close()


def _mv(users, name, version) -> dict:
    return ok(users["admin"].get(f"{A2}/model-versions/get", params={"name": name, "version": str(version)}))["model_version"]


def _rm(users, name) -> dict:
    return ok(users["admin"].get(f"{A2}/registered-models/get", params={"name": name}))["registered_model"]


def _forms(page: str) -> list[str]:
    """The actions of the page's POST forms, but the header's sign-out."""
    return re.findall(r'name="action" value="([^"]+)"', page)


# ---------------------------------------------------------------------------------------- sign-in


def test_sign_in_session_cookie_and_sign_out(auth_server, users):
    name = _model(users, guarded=False)
    client = FormClient(auth_server.url)
    try:
        first = client.get(f"/models/{name}?page_token=")
        assert first.status_code == 303
        assert first.headers["location"] == f"/login?next=%2Fmodels%2F{name}%3Fpage_token%3D"
        login = client.get(first.headers["location"])
        assert login.status_code == 200 and 'type="password"' in login.text and client.csrf
        assert f'name="next" value="/models/{name}?page_token="' in login.text
        wrong = client.post("/login", {"user": "alice", "password": "nope", "next": "/models"})
        assert wrong.status_code == 401 and "Invalid username or password." in wrong.text
        odd = client.get("/models/what%3Fx%23y")  # a name with ? and #: next keeps it encoded
        assert odd.headers["location"] == "/login?next=%2Fmodels%2Fwhat%253Fx%2523y"
        assert "set-cookie" not in wrong.headers
        signed = client.sign_in("alice", password_of("alice"), f"/models/{name}")
        assert signed.status_code == 303 and signed.headers["location"] == f"/models/{name}"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("podium_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie and "Max-Age=43200" in cookie  # http here; 12 h by default
        page = client.get(f"/models/{name}").text
        assert '<span class="user">alice</span> <span class="role" title="registry-wide role">read</span>' in page
        assert "Your permission on this model: <strong>edit</strong>" in page
        assert 'action="/logout"' in page
        out = client.post("/logout", {})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert client.get("/models").status_code == 303  # signed out: back to the sign-in page
    finally:
        client.close()
    # scripts keep HTTP Basic and tokens on pages; a wrong password is still a 401 with the Basic challenge
    assert users["reader"].get("/models").status_code == 200
    wrong = httpx.get(f"{auth_server.url}/models", auth=AuthServer.basic("reader", "wrong"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == 'Basic realm="podium"'


def test_sign_in_goes_only_to_this_servers_pages(auth_server):
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "models"):
        assert safe_next(evil) == "/models"
    assert safe_next("/models/a?x=1") == "/models/a?x=1"
    client = FormClient(auth_server.url)
    try:
        client.get("/login?next=//evil.example")
        response = client.post("/login", {"user": "alice", "password": password_of("alice"), "next": "//evil.example"})
        assert response.status_code == 303 and response.headers["location"] == "/models"
    finally:
        client.close()


def test_a_tampered_or_foreign_session_cookie_is_no_session(auth_server, browser_as):
    alice = browser_as("alice")
    value = alice.http.cookies["podium_session"]
    forged = FormClient(auth_server.url)
    try:
        forged.http.cookies.set("podium_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert forged.get("/models").status_code == 303
    finally:
        forged.close()


# ---------------------------------------------------------------------------------------- CSRF


def test_csrf_refuses_forms_without_the_sessions_token(auth_server, users, browser_as):
    name = _model(users, guarded=False)
    admin = browser_as("admin")
    admin.get(f"/models/{name}")
    form = {"action": "tag-set", "key": "csrf", "value": "x"}
    missing = admin.post(f"/models/{name}", form, csrf=False)
    wrong = admin.post(f"/models/{name}", {**form, "csrf": "not-the-token"}, csrf=False)
    foreign = admin.post(f"/models/{name}", form, headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
    for refused in (missing, wrong, foreign):
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "security token" in missing.text and "another site" in foreign.text
    # behind a reverse proxy Host may differ from the browser's origin: the browser's own word counts
    proxied = admin.post(f"/models/{name}", {**form, "key": "proxied"},
                         headers={"origin": "https://podium.example.com", "sec-fetch-site": "same-origin"})
    assert admin.flash(proxied).startswith("ok:")
    admin.flash(admin.post(f"/models/{name}", {"action": "tag-delete", "key": "proxied"}))
    # another user's token does not fit this session either
    bob = browser_as("bob")
    bob.get(f"/models/{name}")
    assert admin.post(f"/models/{name}", {**form, "csrf": bob.csrf}, csrf=False).status_code == 403
    # Basic credentials do not replace the token (a browser sends them to any site's form too)
    basic = FormClient(auth_server.url, auth=AuthServer.basic("admin"))
    try:
        assert basic.post(f"/models/{name}", form, csrf=False).status_code == 403
        basic.get(f"/models/{name}")  # a page gives a Basic user a token too
        assert basic.flash(basic.post(f"/models/{name}", {**form, "key": "basic"})).startswith("ok:")
    finally:
        basic.close()
    assert "csrf" not in _rm(users, name).get("tags", [{}])[0].get("key", "")
    assert [t["key"] for t in _rm(users, name)["tags"]] == ["basic"]
    # the sign-in form is protected too (no login CSRF)
    fresh = FormClient(auth_server.url)
    try:
        assert fresh.post("/login", {"user": "alice", "password": password_of("alice")}, csrf=False).status_code == 403
    finally:
        fresh.close()


# ---------------------------------------------------------------------------------------- actions


def test_each_action_works_on_an_open_model(users, browser_as):
    name = _model(users, guarded=False)
    bob = browser_as("bob")  # manage on the model
    page = bob.get(f"/models/{name}/versions/2").text
    assert {"transition:Production", "transition:Staging", "alias-set", "describe", "tag-set"} <= set(_forms(page))
    path = f"/models/{name}/versions/2"
    assert "moved to Production" in bob.flash(bob.post(path, {"action": "transition:Production",
                                                              "archive_existing_versions": "on"}))
    assert _mv(users, name, 2)["current_stage"] == "Production" and _mv(users, name, 1)["current_stage"] == "Archived"
    assert "points at version 2" in bob.flash(bob.post(path, {"action": "alias-set", "alias": "canary"}))
    assert bob.flash(bob.post(path, {"action": "describe", "description": "**v2** notes"})).startswith("ok:")
    assert _mv(users, name, 2)["description"] == "**v2** notes"
    assert "<strong>v2</strong> notes" in bob.get(path).text
    bob.flash(bob.post(path, {"action": "tag-set", "key": "ready", "value": "yes"}))
    assert {"key": "ready", "value": "yes"} in _mv(users, name, 2)["tags"]
    bob.flash(bob.post(path, {"action": "tag-delete", "key": "ready"}))
    assert not _mv(users, name, 2).get("tags")
    model_path = f"/models/{name}"
    page = bob.get(model_path).text
    assert {"rollback", "alias-delete", "alias-set", "describe", "tag-set"} <= set(_forms(page))
    assert "rolled back" in bob.flash(bob.post(model_path, {"action": "rollback", "stage": "Production",
                                                            "reason": "bad canary"}))
    assert _mv(users, name, 1)["current_stage"] == "Production"
    bob.flash(bob.post(model_path, {"action": "alias-set", "alias": "shadow", "version": "3"}))
    bob.flash(bob.post(model_path, {"action": "alias-delete", "alias": "canary"}))
    assert _rm(users, name)["aliases"] == [{"alias": "champion", "version": "3"}, {"alias": "shadow", "version": "3"}]
    bob.flash(bob.post(model_path, {"action": "describe", "description": "model notes"}))
    bob.flash(bob.post(model_path, {"action": "tag-set", "key": "team", "value": "risk"}))
    rm = _rm(users, name)
    assert rm["description"] == "model notes" and rm["tags"] == [{"key": "team", "value": "risk"}]
    history = ok(users["admin"].get(f"{PODIUM}/registered-models/history", params={"name": name, "newest_first": "true"}))
    assert {e["actor"] for e in history["events"][:6]} == {"bob"}  # recorded as the signed-in user


def test_mistakes_are_one_line_messages_never_500(users, browser_as):
    name = _model(users, guarded=False)
    bob = browser_as("bob")
    bob.get(f"/models/{name}")
    for form in ({"action": "alias-set", "alias": "bad alias!", "version": "1"},
                 {"action": "alias-set", "alias": "x", "version": "99"},
                 {"action": "rollback", "alias": "never-set", "reason": "r"},
                 {"action": "tag-set", "key": "", "value": "v"},
                 {"action": "no-such-action"}):
        message = bob.flash(bob.post(f"/models/{name}", form))
        assert message.startswith("error: ") and "\n" not in message.strip() and "Traceback" not in message, form
    # the redirect goes back to the page as the browser named it: an encoded CR/LF stays encoded
    admin = browser_as("admin")  # may edit any model: the update runs (not found), then the redirect
    admin.get(f"/models/{name}")
    split = admin.post(f"/models/{name}%0d%0aSet-Cookie:%20evil=1", {"action": "describe", "description": ""})
    assert split.status_code == 303 and split.headers["location"] == f"/models/{name}%0d%0aSet-Cookie:%20evil=1"
    assert "evil" not in admin.http.cookies and admin.flash(split).startswith("error: ")
    not_form = bob.http.post(f"/models/{name}", json={"action": "describe"})
    assert not_form.status_code == 400 and "x-www-form-urlencoded" in not_form.text
    assert bob.http.post("/models", data={"csrf": bob.csrf}).status_code == 405


def test_a_reader_sees_no_actions_and_a_forged_post_is_refused_as_the_api_refuses(users, browser_as):
    name = _model(users, guarded=False)
    reader = browser_as("reader")
    for path in (f"/models/{name}", f"/models/{name}/versions/1"):
        page = reader.get(path).text
        assert _forms(page) == [] and 'id="change"' not in page
    forged = reader.post(f"/models/{name}", {"action": "alias-set", "alias": "mine", "version": "1"})
    through_api = users["reader"].post(f"{A2}/registered-models/alias", json={"name": name, "alias": "mine",
                                                                            "version": "1"})
    assert forged.status_code == through_api.status_code == 403
    assert through_api.json()["message"] in forged.text.replace("&#39;", "'")
    transition = reader.post(f"/models/{name}/versions/2", {"action": "transition:Production"})
    assert transition.status_code == 403
    assert _mv(users, name, 2)["current_stage"] == "None" and "mine" not in str(_rm(users, name)["aliases"])


def test_a_protected_target_offers_request_approval_and_requests_flow(users, browser_as):
    name = _model(users, guarded=True)
    alice, bob = browser_as("alice"), browser_as("bob")
    page = alice.get(f"/models/{name}/versions/2").text
    actions = _forms(page)
    assert "request-stage:Production" in actions and "transition:Production" not in actions
    assert "transition:Staging" in actions and "request-alias" in actions
    made = alice.post(f"/models/{name}/versions/2", {"action": "request-stage:Production",
                                                     "comment": f"ship it {SCRIPT}"})
    assert "Approval requested" in alice.flash(made)
    mine = alice.get("/requests").text
    waiting = mine.split('id="waiting"', 1)[1].split("</section>", 1)[0]
    assert "Nothing is waiting" in waiting and "Withdraw my request" in mine and 'value="approve"' not in mine
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mine and SCRIPT not in mine
    request_id = re.search(r'name="request_id" value="(\d+)"', mine).group(1)
    # no self-approval: the forged form is refused as the API refuses it
    forged = alice.post("/requests", {"action": "approve", "request_id": request_id})
    through_api = users["alice"].post(f"{PODIUM}/requests/{request_id}/approve", json={})
    assert forged.status_code == through_api.status_code == 403
    assert "cannot approve their own request" in forged.text
    listing = bob.get("/requests").text
    waiting = listing.split('id="waiting"', 1)[1].split("</section>", 1)[0]
    assert f'name="request_id" value="{request_id}"' in waiting and 'value="approve"' in waiting
    assert "Approvals: 0 of 1" in waiting
    assert f"Request {request_id} approved." in bob.flash(bob.post("/requests", {
        "action": "approve", "request_id": request_id, "comment": ATTRIBUTE}))
    assert _mv(users, name, 2)["current_stage"] == "Production"
    done = bob.get("/requests?view=all").text
    assert "status-applied" in done and "&#34; onerror=&#34;alert(1)" in done
    # a reader lists the request but decides nothing
    reader = browser_as("reader")
    assert name in reader.get("/requests?view=all").text and 'value="approve"' not in reader.get("/requests").text


def test_reject_with_a_comment_and_gates_shown(users, browser_as):
    name = _model(users, guarded=True)
    ok(users["admin"].post(f"{PODIUM}/registered-models/policy", json={
        "name": name, "protected_stages": ["Production"], "protected_aliases": ["champion"],
        "requires_approval": True, "gates": ["metrics.rmse <= 0.5"]}))
    alice, bob = browser_as("alice"), browser_as("bob")
    alice.get(f"/models/{name}/versions/2")
    made = alice.flash(alice.post(f"/models/{name}/versions/2", {"action": "request-alias", "alias": "champion"}))
    assert made.startswith("ok: Approval requested")
    assert "Needs an approved request: @champion" in alice.get(f"/models/{name}").text
    listing = bob.get("/requests").text
    assert "passes</span> <span class=\"mono\">metrics.rmse &lt;= 0.5</span>" in listing
    request_id = re.search(r'name="request_id" value="(\d+)"', listing).group(1)
    assert "closed" in bob.flash(bob.post("/requests", {"action": "reject", "request_id": request_id,
                                                         "comment": "not yet"}))
    got = ok(users["bob"].get(f"{PODIUM}/requests/{request_id}"))["request"]
    assert got["status"] == "rejected" and got["decision_comment"] == "not yet" and got["decided_by"] == "bob"
    again = bob.flash(bob.post("/requests", {"action": "approve", "request_id": request_id}))
    assert again.startswith("error: ") and "already rejected" in again


def test_requests_are_paged_newest_first(server):
    """More pending requests than a page holds: the newest page, then "Older requests" (rel=next)
    with the rest, none twice; a mangled ``before`` starts again at the newest."""
    from podium.server.ui.requests_page import REQUESTS_PAGE_SIZE

    name = f"paged-{uuid.uuid4().hex[:6]}"
    api = httpx.Client(base_url=server.url, timeout=30)
    count = REQUESTS_PAGE_SIZE + 3
    try:
        register_model(api, name, versions=count + 1)  # v1 is in Production already
        ok(api.post(f"{PODIUM}/registered-models/policy", json={
            "name": name, "protected_stages": ["Production"], "requires_approval": True}))
        made = [ok(api.post(f"{PODIUM}/requests", json={"name": name, "version": str(v), "stage": "Production"}))[
            "request"]["id"] for v in range(2, count + 2)]
        first = api.get("/requests").text
        ids = [int(i) for i in re.findall(r'id="request-(\d+)"', first)]
        assert len(ids) == REQUESTS_PAGE_SIZE and ids[0] == max(made)
        link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
        rest = [int(i) for i in re.findall(r'id="request-(\d+)"', api.get(link).text)]
        mine = [i for i in ids + rest if i in made]
        assert sorted(mine) == sorted(made) and len(set(ids) & set(rest)) == 0 and max(rest) < min(ids)
        assert re.findall(r'id="request-(\d+)"', api.get("/requests?before=x1").text)[:1] == [str(ids[0])]
    finally:
        api.close()


def test_without_auth_forms_work_and_still_need_the_token(server):
    """No --auth: no sign-in (the page is reachable, ``/login`` leads back), but every form still
    needs the browser's CSRF token."""
    name = f"anon-{uuid.uuid4().hex[:6]}"
    api = httpx.Client(base_url=server.url, timeout=30)
    register_model(api, name, versions=2)
    client = FormClient(server.url)
    try:
        first = client.get("/login?next=/requests")
        assert first.headers["location"] == "/requests" and "podium_session=" in first.headers["set-cookie"]
        page = client.get(f"/models/{name}/versions/2")
        assert "set-cookie" not in page.headers and "transition:Production" in _forms(page.text)  # kept, not renewed
        assert 'action="/logout"' not in page.text  # nobody to sign out
        assert client.post(f"/models/{name}/versions/2", {"action": "transition:Staging"}, csrf=False).status_code == 403
        assert client.flash(client.post(f"/models/{name}/versions/2", {"action": "transition:Staging"})).startswith("ok:")
        assert ok(api.get(f"{A2}/model-versions/get", params={"name": name, "version": "2"}))[
            "model_version"]["current_stage"] == "Staging"
    finally:
        client.close()
        api.close()


def test_a_session_holds_across_worker_processes(tmp_path):
    """Two workers, no --session-secret: the parent's key is every worker's, so a cookie signed by one
    worker is accepted by the other (each request on a new connection lands on either)."""
    server = start_auth_server(tmp_path, {"alice": False}, None, None, "read", "--workers", "2")
    try:
        client = FormClient(server.url)
        client.http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False,
                                   limits=httpx.Limits(max_keepalive_connections=0))
        assert client.sign_in("alice", password_of("alice")).status_code == 303
        statuses = [client.get("/models").status_code for _ in range(24)]
        assert statuses == [200] * 24
        client.close()
    finally:
        server.stop()


def test_a_password_change_ends_the_users_sessions(tmp_path):
    from podium.auth.identity import IdentityService
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.engine import Database

    server = start_auth_server(tmp_path, {"carol": False, "dan": False}, None, None, "read")
    clients = []
    try:
        for user in ("carol", "dan"):
            client = FormClient(server.url)
            clients.append(client)
            assert client.sign_in(user, password_of(user)).status_code == 303
            assert client.get("/models").status_code == 200
        db = Database(server.db_url)
        try:
            IdentityService(SqlAuthStore(db)).set_password("carol", "a-new-password-1")
        finally:
            db.dispose()
        carol, dan = clients
        carol.get("/requests")
        ended = carol.post("/requests", {"action": "approve", "request_id": "1"})  # a form left open
        assert ended.status_code == 303 and ended.headers["location"] == "/login?next=%2Frequests"
        assert carol.get("/models").headers["location"] == "/login?next=%2Fmodels"  # signed out at once
        assert dan.get("/models").status_code == 200  # other users' sessions are untouched
        assert carol.sign_in("carol", "a-new-password-1").status_code == 303
        assert carol.get("/models").status_code == 200
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_the_sign_in_form_has_the_failed_password_limit(tmp_path):
    server = start_auth_server(tmp_path, {"erin": False}, None, None, "read",
                               env={"PODIUM_LOGIN_ATTEMPTS_PER_MINUTE": "2"})
    client = FormClient(server.url)
    try:
        client.get("/login")
        statuses = [client.post("/login", {"user": "erin", "password": f"guess-{i}"}) for i in range(3)]
        assert [r.status_code for r in statuses] == [401, 401, 429]
        assert statuses[2].headers["retry-after"].isdigit() and "<form" in statuses[2].text
    finally:
        client.close()
        server.stop()
