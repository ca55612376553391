"""The web UI: server-rendered HTML pages on the API's own process and port (decision 0013).

:class:`UI` owns ``/``, ``/models``, ``/models/<name>``, ``/models/<name>/versions/<v>``,
``/experiments``, ``/experiments/<id>``, ``/runs/<run_id>`` (:mod:`.experiments_pages`) and
``/static/<hash>/<name>``;
the app (:mod:`podium.server.app`) hands it every request for a path its API route table does not
serve and that :meth:`UI.owns`. A page authenticates like the API
(``--auth``: HTTP Basic or a bearer token in ``Authorization``; the 401 page asks the browser for
Basic credentials) and asks the gate the same question as the API endpoint that reads the same
thing, so a page is refused exactly when that endpoint would be. Errors become HTML pages with the
API's status and its one-line message.
"""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace
from urllib.parse import parse_qsl, unquote

from podium.auth.actor import ANONYMOUS, acting_as
from podium.server import errors
from podium.server.ui import experiments_pages, pages
from podium.server.ui.render import render, static_response

__all__ = ["UI"]

_CHALLENGE = [(b"www-authenticate", b'Basic realm="podium"')]
_PAGES = ("/", "/models", "/experiments")
_PAGE_PREFIXES = ("/models/", "/static/", "/experiments/", "/runs/")


class UI:
    """Routes a browser path to its page handler and renders errors as pages."""

    def __init__(self, app) -> None:
        self.app = app  # PodiumApp: its services, gate, thread pool and authentication

    @staticmethod
    def owns(path: str) -> bool:
        return path in _PAGES or path.startswith(_PAGE_PREFIXES)

    async def handle(self, method: str, path: str, request) -> object:
        if method not in ("GET", "HEAD"):
            return message_page(405, "This page only answers GET.", [(b"allow", b"GET, HEAD")])
        if path.startswith("/static/"):
            return static_response(path) or _not_found(path)
        raw = request.scope.get("raw_path") or path.encode()
        pairs = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"))
        page = _route(raw.decode("latin-1"), dict(pairs)) or experiments_pages.route(raw.decode("latin-1"), pairs)
        if page is None:
            return _not_found(path)
        actor = ANONYMOUS
        try:
            if self.app.gate is not None:
                actor = await self.app._authenticate(request)
            with acting_as(actor):
                context = contextvars.copy_context()
                run = lambda: page(self.app.services, self._checker(actor))  # noqa: E731
                response = await asyncio.get_running_loop().run_in_executor(self.app.executor, context.run, run)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page with the API's status
            status, body = errors.error_response(exc, method, path)
            response = message_page(status, body["message"], _CHALLENGE if status == 401 else None)
        return response

    def _checker(self, actor):
        """``check(operation_id, params)``: the gate's decision for the API endpoint of that name
        (raises as the API would); returns the params (a search's filter narrowed to readable models)."""
        gate = self.app.gate

        def check(operation_id: str, params: dict) -> dict:
            if gate is None:
                return params
            return gate.admit(SimpleNamespace(operation_id=operation_id), None, lambda: params, actor)[1]

        return check


def _route(path: str, query: dict):
    """The page handler for ``path`` (percent-encoded, as sent) as ``handler(services, check)``, or ``None``."""
    if path in ("/", "/models"):
        return lambda s, check: pages.models_page(s, check, query)
    if not path.startswith("/models/"):
        return None
    parts = [unquote(p) for p in path[len("/models/"):].split("/")]
    if len(parts) == 1 and parts[0]:
        return lambda s, check: pages.model_page(s, check, parts[0], query)
    if len(parts) == 3 and parts[0] and parts[1] == "versions" and parts[2]:
        return lambda s, check: pages.version_page(s, check, parts[0], parts[2])
    return None


def message_page(status: int, message: str, headers: list | None = None):
    """An error as a page: the status and the API's one-line message."""
    return render("error.html", status, headers, status=status, message=message)


def _not_found(path: str):
    return message_page(404, f"No page at {path}.")
