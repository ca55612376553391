"""``create_app(settings)``: the ASGI application that dispatches requests.

Its services come from the composition root (:func:`podium.compose.build` with the server's
settings): the use cases over SQL stores, with ``mlflow-artifacts:/<id>`` experiment locations (so
clients upload through this server), the proxy's store on the artifacts destination (a directory,
or ``s3://bucket/prefix``) and, with ``--auth``, the authorizer that :mod:`podium.server.gate`
uses. The app closes that backend at shutdown.

One request, end to end: route table lookup -> parameters parsed (:mod:`podium.server.requests`) ->
handler (database calls on a thread pool, off the event loop) -> JSON via :mod:`podium.wire`. The
exception: on SQLite, a route marked ``point_read`` (get model, get version, get by alias, latest
versions) runs its handler on the event loop, under the database's non-blocking mode
(``Backend.inline_reads``: a connection with busy timeout 0 that never waits for a lock); if SQLite
is busy the read raises ``WouldBlock`` having changed nothing and the request goes to the thread
pool as any other (decision 0026). The hop to a thread and back costs more CPU than such a read.
A GET for a path the table does not serve that is a web UI page (``/``, ``/models...``, ``/static/...``)
goes to :class:`podium.server.ui.UI` instead (server-rendered HTML over the same services and gate).
With ``--auth``, :mod:`podium.server.gate` authenticates and authorizes each request before its
handler, and the actor it proved is set for the services (:mod:`podium.auth.actor`; without
``--auth`` the actor is anonymous). Credentials are checked from the headers before any byte of the
body is read (a password's scrypt hash on a small pool of its own, never the database pool), and a
JSON body is read only up to ``--max-json-body-bytes`` (413 past it); an answer given with the body
unread closes the connection (docs/security.md#limits). Any exception ends in :func:`podium.server.errors.error_response`.
Every request is counted for ``GET /metrics`` by its route template (:mod:`podium.server.metrics`,
unless ``--no-metrics``). On SQLite, writes of one worker take turns on an asyncio lock before they
reach the pool, so they never queue inside SQLite's sleeping busy-handler (decision 0002).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.auth.actor import ANONYMOUS, acting_as
from podium.auth.authenticator import PendingPassword
from podium.compose import Backend, build
from podium.errors import RequestLimitExceeded
from podium.server import errors
from podium.server.http import JSONResponse, Request, Response
from podium.server.logs import log_access
from podium.server.requests import parse_body, parse_params, parse_query
from podium.server.routing import RouteTable
from podium.server.settings import ServerSettings
from podium.server.ui import UI
from podium.store.base import WouldBlock

if TYPE_CHECKING:
    from podium.auth.access import AccessService
    from podium.server.gate import Gate
    from podium.server.metrics import ServerMetrics
    from podium.services.approvals import ApprovalService
    from podium.services.history import HistoryService
    from podium.services.integrity import IntegrityService
    from podium.services.registry import RegistryService
    from podium.services.tracking import TrackingService
    from podium.services.webhooks import WebhookService
    from podium.store.artifacts.base import ArtifactStore

__all__ = ["PodiumApp", "Services", "create_app", "create_app_from_env"]

logger = logging.getLogger("podium.server")

#: sent with every 401, so browsers and HTTP tools know to offer Basic credentials
_CHALLENGE = [(b"www-authenticate", b'Basic realm="podium"')]
#: threads per worker for artifact file I/O (uploads hold one for their whole duration)
FILE_THREADS = 32
#: threads per worker for password hashes (scrypt): guesses queue here, never on the database pool
HASH_THREADS = 2


@dataclass
class Services:
    """What handlers receive: the use cases and the proxy's artifact store."""

    tracking: TrackingService
    registry: RegistryService
    artifacts: ArtifactStore  # the proxy's store on the artifacts destination (guarded)
    settings: ServerSettings
    store_type: str = "SqlStore"
    file_executor: ThreadPoolExecutor | None = None
    metrics: ServerMetrics | None = None  # None when off
    access: AccessService | None = None  # model grants and policies
    gate: Gate | None = None  # with --auth, else None (everyone is admitted)
    integrity: IntegrityService | None = None  # manifests, verify, compare
    history: HistoryService | None = None  # audit history, state at a time, rollback
    approvals: ApprovalService | None = None  # requests, approvals, gates
    webhooks: WebhookService | None = None  # webhooks and their deliveries
    backend: Backend | None = None  # what the services come from; the app closes it

    def run(self, fn, *args):
        """Await ``fn(*args)`` on the file thread pool (streaming artifact handlers), in the request's context."""
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self.file_executor, context.run, fn, *args)


def build_services(settings: ServerSettings) -> Services:
    """One worker's services, from the composition root; with ``--auth``, the gate over its authorizer."""
    backend = build(settings)
    gate = None
    if settings.auth:
        from podium.auth.limiter import SharedFailureLimiter
        from podium.server.gate import Gate

        # failed sign-ins counted in the database: the limit holds whichever worker a guess reaches
        gate = Gate(backend.stores.auth, backend.registry, backend.authorizer,
                    limiter=SharedFailureLimiter(backend.stores.auth, settings.login_attempts_per_minute))
    return Services(backend.tracking, backend.registry, backend.artifacts, settings, access=backend.access,
                    gate=gate, integrity=backend.integrity, history=backend.history, approvals=backend.approvals,
                    webhooks=backend.webhooks, backend=backend)


class PodiumApp:
    """The ASGI application. ``routes`` is the :class:`RouteTable` (also what ``/openapi.json`` shows)."""

    def __init__(self, services: Services, routes: RouteTable) -> None:
        self.services = services
        self.routes = routes
        self.settings = services.settings
        self.executor = ThreadPoolExecutor(max(1, self.settings.db_threads), thread_name_prefix="podium-db")
        # files get their own pool: a long upload must not hold a database thread
        self.file_executor = ThreadPoolExecutor(FILE_THREADS, thread_name_prefix="podium-files")
        services.file_executor = self.file_executor
        self.access_log = self.settings.access_log
        self.gate = services.gate
        # password hashes get a small pool of their own: a burst of guesses must not starve the database pool
        self.hash_executor = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="podium-hash") if self.gate else None
        self._backend = services.backend
        self._serialize_writes = self._backend is not None and self._backend.is_sqlite
        # SQLite: point reads on the event loop, never waiting for a lock (decision 0026); None elsewhere
        self._inline_reads = self._backend.inline_reads if self._backend is not None else None
        self._write_lock: asyncio.Lock | None = None
        self.ui = UI(self)  # the web UI's pages, for the paths the route table does not serve
        from podium.server.gc_schedule import scheduler_for

        self.gc_scheduler = scheduler_for(self.settings, self._backend)  # --gc-interval
        self.metrics = None
        if self.settings.metrics:
            from podium.server.metrics import create_metrics

            self.metrics = services.metrics = create_metrics(self._backend.database if self._backend else None)
        self.delivery = self._delivery_worker(services)

    def _delivery_worker(self, services: Services):
        """The webhook delivery worker of this process (started with the app), unless switched off."""
        if services.webhooks is None or not self.settings.webhook_delivery:
            return None
        from podium.webhooks.worker import DeliveryWorker

        metrics = self.metrics
        observe = None
        if metrics is not None:
            metrics.count_pending = services.webhooks.count_pending
            observe = lambda d, outcome: metrics.delivered(d.event, outcome.status, outcome.latency_ms)  # noqa: E731
        lease_ms = (2 * self.settings.webhook_timeout + 30) * 1000  # longer than one attempt can take
        return DeliveryWorker(services.webhooks, self.settings.webhook_poll_ms / 1000, lease_ms, observe)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.metrics is not None:
                    self.metrics.start()
                if self.delivery is not None:
                    self.delivery.start()
                if self.gc_scheduler is not None:
                    self.gc_scheduler.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()
        if self.gc_scheduler is not None:
            self.gc_scheduler.stop()
        if self.metrics is not None:
            self.metrics.close()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.file_executor.shutdown(wait=False, cancel_futures=True)
        if self.hash_executor is not None:
            self.hash_executor.shutdown(wait=False, cancel_futures=True)
        if self._backend is not None:
            self._backend.close()

    async def _http(self, scope, receive, send) -> None:
        start = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        request = Request(scope, receive, self.settings.max_json_body_bytes, self.settings.body_idle_timeout)
        metrics = self.metrics
        if metrics is not None:
            metrics.started()
        status = 499  # the client went away before an answer existed (nginx's code)
        try:
            try:
                response = await self._dispatch(method, path, request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the one place that turns exceptions into answers
                status, body = errors.error_response(exc, method, path)
                response = JSONResponse(body, status, _error_headers(exc, status))
            status = response.status
            if request.has_unread_body and isinstance(response, Response):
                # answered before the body was read (401, 413): close rather than read the rest
                response.headers.append((b"connection", b"close"))
            try:
                await response.send(send, self.file_executor)
            except OSError:
                pass  # the client went away mid-response
        finally:
            if metrics is not None:
                metrics.finished(scope.get("podium.route"), path, method, status, time.perf_counter() - start)
        if self.access_log:
            self._log_access(method, path, response.status, start)

    async def _dispatch(self, method: str, path: str, request: Request):
        methods, path_params = self.routes.match(path)
        if methods is None:
            if self.ui is not None and self.ui.owns(path):
                return await self.ui.handle(method, path, request)
            status, body = errors.not_found(method, path)
            return JSONResponse(body, status)
        route = methods.get(method)
        if route is None:
            if method == "HEAD" and "GET" in methods:
                route = methods["GET"]
            else:
                request.scope["podium.route"] = next(iter(methods.values()))  # the template, for metrics
                status, body = errors.method_not_allowed(method, path, list(methods))
                return JSONResponse(body, status, [(b"allow", ", ".join(sorted(methods)).encode())])
        request.scope["podium.route"] = route
        query = parse_query(request.scope.get("query_string", b""))
        gated = self.gate is not None and not self.gate.is_public(route)
        reads_body = method != "GET" and not route.streaming
        actor = await self._authenticate(request) if gated and reads_body else None  # before the body is read
        body = parse_body(await request.body()) if reads_body else {}
        parse = lambda: parse_params(route, query, body, path_params)  # noqa: E731
        actor, params = await self._admit(route, request, actor, parse) if gated else (ANONYMOUS, parse())
        with acting_as(actor):  # services read it (podium.auth.actor); _run carries it to the thread pool
            if route.streaming:
                return await route.handler(self.services, params, request)
            if not route.blocking:
                result = route.handler(self.services, params)
            elif route.point_read and self._inline_reads is not None:
                result = await self._read_inline(route.handler, params)
            elif route.writes and self._serialize_writes:
                async with self._lock():
                    result = await self._run(route.handler, params)
            else:
                result = await self._run(route.handler, params)
        return result if isinstance(result, Response) else JSONResponse(result)

    async def _authenticate(self, request: Request, then=None):
        """The actor the request's credentials prove (``Unauthenticated``/``RequestLimitExceeded``
        otherwise): the lookup on the database pool, a password's hash on the hash pool. ``then(actor)``,
        if given, runs on the database pool right after a lookup that needed no hash (one trip)."""
        loop = asyncio.get_running_loop()
        client = (request.scope.get("client") or (None,))[0]
        step = await loop.run_in_executor(self.executor, self._begin, request.header("authorization"), client, then)
        if not isinstance(step, PendingPassword):
            return step
        actor = await loop.run_in_executor(self.hash_executor, self.gate.authenticator.finish, step)
        return actor if then is None else await loop.run_in_executor(self.executor, then, actor)

    def _begin(self, authorization, client, then):
        step = self.gate.authenticator.begin(authorization, client)
        return step if then is None or isinstance(step, PendingPassword) else then(step)

    async def _admit(self, route, request: Request, actor, parse):
        """``(actor, params)`` with ``--auth``: the gate parses and authorizes on the database pool (it
        reads the database); without an ``actor`` yet (no body to wait for), authentication comes first
        in the same trip."""
        admit = lambda proved: self.gate.admit(route, None, parse, proved)  # noqa: E731
        if actor is None:
            return await self._authenticate(request, then=admit)
        return await asyncio.get_running_loop().run_in_executor(self.executor, admit, actor)

    async def _read_inline(self, handler, params):
        """A point read on the event loop, on the connection that never waits (SQLite); on the thread
        pool when SQLite says it would have to (a lock held elsewhere): same answer, same errors."""
        try:
            with self._inline_reads:
                return handler(self.services, params)
        except WouldBlock:
            return await self._run(handler, params)

    def _run(self, handler, params):
        context = contextvars.copy_context()  # the request's actor, for the services
        return asyncio.get_running_loop().run_in_executor(self.executor, context.run, handler, self.services, params)

    def _lock(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    def _log_access(self, method: str, path: str, status: int, start: float) -> None:
        log_access(method, path, status, round((time.perf_counter() - start) * 1000, 2))


def _error_headers(exc: BaseException, status: int) -> list[tuple[bytes, bytes]] | None:
    if status == 401:
        return _CHALLENGE
    if isinstance(exc, RequestLimitExceeded):
        return [(b"retry-after", str(exc.retry_after).encode())]
    return None


def create_app(settings: ServerSettings | None = None) -> PodiumApp:
    """The ASGI app for ``settings`` (defaults plus ``PODIUM_*`` variables when omitted)."""
    from podium.server.api import all_routes

    settings = settings or ServerSettings.from_env()
    return PodiumApp(build_services(settings), RouteTable(all_routes()))


def create_app_from_env() -> PodiumApp:
    """Factory for ASGI servers started per worker process (settings arrive as ``PODIUM_*`` variables)."""
    from podium.server.logs import configure_logging

    settings = ServerSettings.from_env()
    configure_logging(settings)
    return create_app(settings)
