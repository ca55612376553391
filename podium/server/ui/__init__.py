"""The web UI: server-rendered HTML pages on the API's own process and port (decisions 0013, 0016).

:class:`UI` owns ``/``, ``/models``, ``/models/<name>``, ``/models/<name>/versions/<v>``,
``/models/<name>/compare``, ``/models/<name>/history``, ``/requests``, ``/login``, ``/logout``,
``/experiments``, ``/experiments/<id>``, ``/runs/<run_id>`` (:mod:`.experiments_pages`) and
``/static/<hash>/<name>``; the app (:mod:`podium.server.app`) hands it every
request for a path its API route table does not serve and that :meth:`UI.owns`.

With ``--auth`` a page authenticates like the API (HTTP Basic or a bearer token in
``Authorization``), or by the signed session cookie the sign-in form sets (:mod:`.session`); a
browser with neither is sent to ``/login?next=<page>``. A page asks the gate the same question as
the API endpoint that reads the same thing, so it is refused exactly when that endpoint would be.

A form posts to its page (POST-redirect-GET, with a one-line flash message): its CSRF token is
checked first, then it runs the API route it stands for (:mod:`.actions`: parameters, gate, handler),
so a refusal has the API's status and message. Errors become HTML pages with the API's status and
its one-line message.
"""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace
from urllib.parse import parse_qsl, unquote, urlencode

from podium.auth.actor import ANONYMOUS, acting_as
from podium.auth.authenticator import PendingPassword
from podium.errors import InvalidParameterValue, PermissionDenied, PodiumError, RequestLimitExceeded, Unauthenticated
from podium.server import errors
from podium.server.requests import parse_params
from podium.server.ui import actions, experiments_pages, pages
from podium.server.ui.compare_page import compare_page
from podium.server.ui.history_page import history_page
from podium.server.ui.render import html_response, render, static_response
from podium.server.ui.requests_page import requests_page
from podium.server.ui.session import ANONYMOUS_HOURS, COOKIE, Sessions, chrome, is_https, safe_next

__all__ = ["UI"]

_CHALLENGE = [(b"www-authenticate", b'Basic realm="podium"')]
_PAGES = ("/", "/models", "/experiments")
_PAGE_PREFIXES = ("/models/", "/static/", "/experiments/", "/runs/")
_OWN_PAGES = ("/login", "/logout", "/requests")  # sign-in and approval requests (decision 0016)


class UI:
    """Routes a browser path to its page handler and renders errors as pages."""

    def __init__(self, app) -> None:
        self.app = app  # PodiumApp: its services, gate, thread pool and authentication
        settings = app.settings
        self.sessions = Sessions(settings.session_secret, settings.session_hours if settings.auth else ANONYMOUS_HOURS)
        self._routes = {route.operation_id: route for route in app.routes.routes}  # forms run API routes

    @staticmethod
    def owns(path: str) -> bool:
        return path in _PAGES or path in _OWN_PAGES or path.startswith(_PAGE_PREFIXES)

    async def handle(self, method: str, path: str, request) -> object:
        if path.startswith("/static/") and method in ("GET", "HEAD"):
            return static_response(path) or _not_found(path)
        if method not in ("GET", "HEAD", "POST"):
            return message_page(405, "This page only answers GET and POST.", [(b"allow", b"GET, HEAD, POST")])
        session = self.sessions.read(request)
        fresh = session is None
        if fresh:  # every browser gets a CSRF token (and, with --auth, signs in into a new session)
            session = self.sessions.new()
        query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1")))
        try:
            if method == "POST":
                response = await self._post(path, request, session)
            else:
                response = await self._get(path, request, session, query)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page with the API's status
            response = _error_page(exc, method, path)
        if fresh and not any(k == b"set-cookie" and v.startswith(COOKIE.encode()) for k, v in response.headers):
            response.headers.append(self.sessions.session_header(session, is_https(request)))
        return response

    # ------------------------------------------------------------------ reading pages
    async def _get(self, path: str, request, session: dict, query: dict):
        if path == "/login":
            flash = self.sessions.flash(request)
            page = self._login_page(request, session, query.get("next"), flash=flash)
            if flash is not None:
                page.headers.append(self.sessions.clear_flash_header(is_https(request)))
            return page
        if path == "/logout":
            return message_page(405, "Sign out with the button in the page header (a POST).",
                                [(b"allow", b"POST")])
        raw = request.scope.get("raw_path") or path.encode()
        pairs = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"))
        page = (requests_page_route(query) if path == "/requests"
                else _route(raw.decode("latin-1"), query, pairs) or experiments_pages.route(raw.decode("latin-1"), pairs))
        if page is None:
            return _not_found(path)
        actor = await self._actor(request, session)
        if actor is None:  # --auth, no credentials and no session: the sign-in page, then back here
            target = raw.decode("latin-1") + (f"?{request.scope['query_string'].decode('latin-1')}"
                                              if request.scope.get("query_string") else "")
            return _redirect("/login?" + urlencode({"next": target}))
        flash = self.sessions.flash(request)
        self._set_chrome(actor, session, flash)
        with acting_as(actor):
            context = contextvars.copy_context()
            run = lambda: page(self.app.services, self._checker(actor))  # noqa: E731
            try:
                response = await asyncio.get_running_loop().run_in_executor(self.app.executor, context.run, run)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the page with the API's status (and the flash, once)
                response = _error_page(exc, "GET", path)
        if flash is not None:
            response.headers.append(self.sessions.clear_flash_header(is_https(request)))
        return response

    async def _actor(self, request, session: dict):
        """The actor of a page request: anonymous without --auth; else what the ``Authorization``
        header proves (as for the API), else the signed-in session's user, else ``None``."""
        if self.app.gate is None:
            return ANONYMOUS
        if request.header("authorization"):
            return await self.app._authenticate(request)
        if not session.get("u"):
            return None
        authenticator = self.app.gate.authenticator
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.app.executor, authenticator.session_actor, session["u"], session.get("p"))
        except Unauthenticated:  # the password changed or the user is gone: sign in again
            return None

    def _set_chrome(self, actor, session: dict, flash: dict | None) -> None:
        gate = self.app.gate
        role = None
        if gate is not None and actor.authenticated:
            role = "admin" if actor.is_admin else gate.authorizer.registry_role(actor).label
        chrome({"user": actor.name, "role": role, "via": actor.via, "csrf": session["c"], "flash": flash,
                "auth": gate is not None})

    def _login_page(self, request, session: dict, next_path: str | None, error: str | None = None,
                    status: int = 200, user: str = "", flash: dict | None = None):
        if self.app.gate is None:
            return _redirect(safe_next(next_path))
        self._set_chrome(ANONYMOUS, session, flash)
        return render("login.html", status, next=safe_next(next_path), error=error, user=user)

    # ------------------------------------------------------------------ forms
    async def _post(self, path: str, request, session: dict):
        target = _form_target(request, path)
        if target is None and path not in _OWN_PAGES:
            return message_page(405, "This page has no forms.", [(b"allow", b"GET, HEAD")])
        form = await _form(request)
        self.sessions.check_csrf(session, form, request)  # before anything else: a forged form changes nothing
        secure = is_https(request)
        if path == "/login":
            return await self._sign_in(request, session, form)
        if path == "/logout":
            return _redirect("/login" if self.app.gate is not None else "/models",
                             [self.sessions.session_header(self.sessions.new(), secure),
                              self.sessions.flash_header("ok", "You are signed out.", secure)])
        if path == "/requests":
            target = (None, None, form.get("request_id") or "")
        # back to the page as the browser named it (percent-encoded: a decoded name could hold CR/LF)
        back = (request.scope.get("raw_path") or path.encode()).decode("latin-1")
        actor = await self._actor(request, session)
        if actor is None:  # the session ended while the form was open: sign in, then back to the page
            return _redirect("/login?" + urlencode({"next": back}))
        self._set_chrome(actor, session, None)  # a refusal's page shows who is signed in
        try:
            call = actions.operation(form, *target)
        except PodiumError as exc:
            return _redirect(back, [self.sessions.flash_header("error", exc.message, secure)])
        route = self._routes[call.operation_id]
        gate, services = self.app.gate, self.app.services

        def run():
            parse = lambda: parse_params(route, {}, call.body, call.path_params or {})  # noqa: E731
            params = gate.admit(route, None, parse, actor)[1] if gate is not None else parse()
            return route.handler(services, params)

        with acting_as(actor):
            context = contextvars.copy_context()
            try:
                if self.app._serialize_writes:  # SQLite: writes take turns, as the API's do
                    async with self.app._lock():
                        result = await asyncio.get_running_loop().run_in_executor(self.app.executor, context.run, run)
                else:
                    result = await asyncio.get_running_loop().run_in_executor(self.app.executor, context.run, run)
            except (PermissionDenied, Unauthenticated):
                raise  # refused as the API refuses: the error page with its status, nothing changed
            except PodiumError as exc:  # the user's mistake or a state the move needs: one line on the page
                return _redirect(back, [self.sessions.flash_header("error", exc.message, secure)])
        message = call.done + "".join(f" {w}" for w in (result or {}).get("warnings", ()))
        return _redirect(back, [self.sessions.flash_header("ok", message, secure)])

    async def _sign_in(self, request, session: dict, form: dict):
        gate = self.app.gate
        next_path = safe_next(form.get("next"))
        if gate is None:
            return _redirect(next_path)
        user, password = form.get("user", ""), form.get("password", "")
        client = (request.scope.get("client") or (None,))[0]
        loop = asyncio.get_running_loop()
        authenticator = gate.authenticator
        try:
            step = await loop.run_in_executor(self.app.executor, authenticator.begin_sign_in, user, password, client)
            actor = step if not isinstance(step, PendingPassword) else await loop.run_in_executor(
                self.app.hash_executor, authenticator.finish, step)
            fingerprint = await loop.run_in_executor(self.app.executor, authenticator.fingerprint_of, actor.name)
        except (Unauthenticated, RequestLimitExceeded) as exc:
            status, body = errors.error_response(exc)
            headers = [(b"retry-after", str(exc.retry_after).encode())] if isinstance(exc, RequestLimitExceeded) else []
            page = self._login_page(request, session, next_path, body["message"], status, user)
            page.headers.extend(headers)
            return page
        # a new session (and CSRF token) at sign-in: a token planted before cannot ride along
        return _redirect(next_path, [self.sessions.session_header(self.sessions.new(actor.name, fingerprint),
                                                                  is_https(request))])

    def _checker(self, actor):
        """``check(operation_id, params)``: the gate's decision for the API endpoint of that name
        (raises as the API would); returns the params (a search's filter narrowed to readable models)."""
        gate = self.app.gate

        def check(operation_id: str, params: dict) -> dict:
            if gate is None:
                return params
            return gate.admit(SimpleNamespace(operation_id=operation_id), None, lambda: params, actor)[1]

        return check


def requests_page_route(query: dict):
    return lambda s, check: requests_page(s, check, query)


def _form_target(request, path: str) -> tuple | None:
    """``(model name, version, request id)`` of the model page a form was posted to (``None``: no forms there)."""
    raw = (request.scope.get("raw_path") or path.encode()).decode("latin-1")
    if not raw.startswith("/models/"):
        return None
    parts = [unquote(p) for p in raw[len("/models/"):].split("?", 1)[0].split("/")]
    if len(parts) == 1 and parts[0]:
        return parts[0], None, None
    if len(parts) == 3 and parts[0] and parts[1] == "versions" and parts[2]:
        return parts[0], parts[2], None
    return None


async def _form(request) -> dict:
    """The posted form (``application/x-www-form-urlencoded``, what a browser sends), one value per field."""
    kind = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidParameterValue("A page form is posted as application/x-www-form-urlencoded.")
    body = await request.body()
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise InvalidParameterValue("The form is not UTF-8.") from None


def _redirect(location: str, headers: list | None = None):
    """POST-redirect-GET (303), or a redirect to the sign-in page."""
    return html_response("", 303, [(b"location", location.encode("latin-1", "replace")), *(headers or [])])


def _route(path: str, query: dict, pairs: list | None = None):
    """The page handler for ``path`` (percent-encoded, as sent) as ``handler(services, check)``, or ``None``.
    ``query`` holds each parameter's last value; ``pairs`` all of them, in order (``versions=1&versions=2``)."""
    if path in ("/", "/models"):
        return lambda s, check: pages.models_page(s, check, query)
    if not path.startswith("/models/"):
        return None
    parts = [unquote(p) for p in path[len("/models/"):].split("/")]
    if len(parts) == 1 and parts[0]:
        return lambda s, check: pages.model_page(s, check, parts[0], query)
    if len(parts) == 2 and parts[0] and parts[1] == "compare":
        versions = [v for k, v in pairs or () if k == "versions"]
        return lambda s, check: compare_page(s, check, parts[0], versions, query)
    if len(parts) == 2 and parts[0] and parts[1] == "history":
        return lambda s, check: history_page(s, check, parts[0], query)
    if len(parts) == 3 and parts[0] and parts[1] == "versions" and parts[2]:
        return lambda s, check: pages.version_page(s, check, parts[0], parts[2], query)
    return None


def _error_page(exc: BaseException, method: str, path: str):
    status, body = errors.error_response(exc, method, path)
    return message_page(status, body["message"], _CHALLENGE if status == 401 else None)


def message_page(status: int, message: str, headers: list | None = None):
    """An error as a page: the status and the API's one-line message."""
    return render("error.html", status, headers, status=status, message=message)


def _not_found(path: str):
    return message_page(404, f"No page at {path}.")
