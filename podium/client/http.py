"""One HTTP session to a Podium (or MLflow) server: pooled connections, timeouts, auth, retries.

Retries happen only for requests that are safe to repeat (GET, HEAD, PUT of an artifact, DELETE),
on connection errors and on 429/502/503/504 answers, with exponential backoff. A POST or PATCH is
sent once: repeating ``model-versions/create`` would register two versions.

Settings (environment): ``PODIUM_HTTP_TIMEOUT`` (seconds, default 120), ``PODIUM_HTTP_MAX_RETRIES``
(default 5), credentials from ``PODIUM_TRACKING_TOKEN`` / ``MLFLOW_TRACKING_TOKEN`` (Bearer) or
``MLFLOW_TRACKING_USERNAME`` + ``MLFLOW_TRACKING_PASSWORD`` (Basic), as the mlflow client does.
A program can give other defaults, which the variables still override, when it makes the first
session for a URL: ``session_for(url, timeout=30, connect_timeout=5, max_retries=2)`` (the
``podium`` CLI does: a person waits 5 s for a connection, not minutes).

Each retry is logged (logger ``podium.client.http``, level INFO, ``... retrying (n/N)…``), so the
library prints nothing by itself; the CLI shows these lines on stderr. The final error names the
URL, the number of attempts and the time they took.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Iterator

import httpx

from podium import settings
from podium.errors import PodiumError, TemporarilyUnavailable
from podium.version import __version__
from podium.wire import error_from_wire

__all__ = ["HttpSession", "session_for"]

logger = logging.getLogger(__name__)

API = "/api/2.0/mlflow"
_RETRY_STATUSES = {429, 502, 503, 504}
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE"}

_sessions: dict[str, "HttpSession"] = {}
_sessions_lock = threading.Lock()

#: what a session uses when neither the environment nor its arguments say otherwise
_DEFAULTS = {"timeout": 120.0, "connect_timeout": 10.0, "max_retries": 5}


def session_for(base_url: str, **defaults) -> "HttpSession":
    """One shared session (and connection pool) per server URL; ``defaults`` (``timeout``,
    ``connect_timeout``, ``max_retries``) apply when this call makes it."""
    base = base_url.rstrip("/")
    with _sessions_lock:
        session = _sessions.get(base)
        if session is None:
            session = _sessions[base] = HttpSession(base, **defaults)
        return session


def _auth() -> httpx.Auth | None:
    token, user, password = settings.tracking_credentials()
    if token:
        return _BearerAuth(token)
    if user and password is not None:
        return httpx.BasicAuth(user, password)
    return None


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class HttpSession:
    def __init__(self, base_url: str, *, timeout: float | None = None, connect_timeout: float | None = None,
                 max_retries: int | None = None) -> None:
        """``timeout``, ``connect_timeout`` (seconds) and ``max_retries`` replace the library's defaults;
        ``PODIUM_HTTP_TIMEOUT`` and ``PODIUM_HTTP_MAX_RETRIES`` win over both."""
        self.base_url = base_url
        timeout = _DEFAULTS["timeout"] if timeout is None else timeout
        max_retries = _DEFAULTS["max_retries"] if max_retries is None else max_retries
        self.timeout = settings.http_timeout(timeout)
        self.max_retries = settings.http_max_retries(max_retries)
        self.connect_timeout = min(self.timeout, connect_timeout or _DEFAULTS["connect_timeout"])
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            headers={"User-Agent": f"podium-python-client/{__version__}"},
            auth=_auth(),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    # -- JSON API -------------------------------------------------------------------------------
    def call(self, method: str, endpoint: str, body: dict | None = None, *, prefix: str = API) -> dict:
        """Call ``<prefix>/<endpoint>``: GET sends ``body`` as query parameters, others as JSON."""
        url = f"{prefix}/{endpoint}"
        if method == "GET":
            response = self.send("GET", url, params=_query(body or {}))
        else:
            response = self.send(method, url, content=json.dumps(body or {}),
                                 headers={"Content-Type": "application/json"})
        return self.json_of(response)

    def json_of(self, response: httpx.Response) -> dict:
        if response.status_code >= 400:
            raise _error(response)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise PodiumError(f"The server at {self.base_url} answered {response.request.url.path} with "
                              "a body that is not JSON; is this a Podium or MLflow server?") from None

    # -- raw requests, with retries for idempotent methods ------------------------------------------
    def send(self, method: str, url: str, **kwargs) -> httpx.Response:
        retries = self.max_retries if method in _IDEMPOTENT and _replayable(kwargs) else 0
        started = time.monotonic()
        for attempt in range(retries + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except _RETRIED_ERRORS as exc:
                problem = _describe(exc, self)
                if attempt >= retries:
                    raise TemporarilyUnavailable(
                        f"Cannot reach {self.base_url} ({method} {url}): {problem}; gave up after "
                        f"{attempt + 1} attempt{'s' if attempt else ''} in {time.monotonic() - started:.1f} s"
                        + (" (PODIUM_HTTP_TIMEOUT sets how long to wait)."
                           if isinstance(exc, httpx.TimeoutException) else ".")) from exc
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= retries:
                    return response
                problem = f"HTTP {response.status_code}"
            logger.info("%s %s%s: %s; retrying (%d/%d)…", method, self.base_url, url, problem, attempt + 1, retries)
            time.sleep(min(30.0, 0.25 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, method: str, url: str, **kwargs):
        """A streamed response (context manager); the caller reads ``iter_bytes``."""
        return self.client.stream(method, url, **kwargs)

    def close(self) -> None:
        self.client.close()


_RETRIED_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError,
                   httpx.TimeoutException)


def _describe(exc: Exception, session: HttpSession) -> str:
    """What went wrong, in a few words: ``connection refused``, ``no answer within 5 s``."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {session.connect_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {session.timeout:g} s"
    reason = str(exc) or type(exc).__name__
    return reason.split("] ", 1)[-1].lower() if reason.startswith("[Errno") else reason


def _replayable(kwargs: dict) -> bool:
    """A request whose body is a one-shot stream cannot be retried."""
    content = kwargs.get("content")
    return content is None or isinstance(content, (bytes, str))


def _query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """MLflow's GET encoding: repeated keys for lists, lower-case booleans, strings for the rest."""
    items: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            items.append((key, "true" if item is True else "false" if item is False else str(item)))
    return items


def _error(response: httpx.Response) -> PodiumError:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return error_from_wire(body, response.status_code)


def iter_file(path: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            yield block
