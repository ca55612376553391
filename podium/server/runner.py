"""Running the server: migrations once in the parent, then uvicorn with one or more workers.

* The schema is upgraded (Alembic) in the parent process before any worker starts, so workers
  never race to migrate; each worker only checks the revision (one query).
* uvicorn with httptools and uvloop when installed. Accepted connections get ``TCP_NODELAY`` (our
  protocol classes set it): without it a keep-alive client waits ~40 ms for a delayed ACK on most
  writes, which is what MLflow's multi-worker server pays. The httptools protocol also lends each
  request its connection, so big artifacts move socket ↔ file without passing through Python
  (``_UvicornConnection``, :mod:`podium.server.http`, decision 0025).
* SIGTERM and SIGINT shut down gracefully: stop accepting, finish in-flight requests (up to 30 s),
  then close the database pool and the thread pool (ASGI lifespan shutdown).
* Worker processes get the settings as ``PODIUM_*`` environment variables and build their app with
  :func:`podium.server.app.create_app_from_env`.
* Unfinished uploads of processes that are gone (a ``kill -9``) are removed from the artifact
  destination's staging directory before the workers start (:mod:`podium.store.artifacts.local`).
* With several workers and ``--metrics`` on, ``PROMETHEUS_MULTIPROC_DIR`` points every worker at one
  directory of metric files (a fresh temporary one, removed at exit, unless the operator set the
  variable), so ``GET /metrics`` from any worker reports all of them (:mod:`podium.server.metrics`).
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import socket

from podium.server.http import CONNECTION_EXTENSION
from podium.server.logs import configure_logging, uvicorn_log_config
from podium.server.settings import ServerSettings

__all__ = ["migrate", "serve"]

GRACEFUL_SHUTDOWN_SECONDS = 30
KEEP_ALIVE_SECONDS = 5


def _set_nodelay(transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # not TCP (a Unix socket), or a transport without options
            pass


class _UvicornConnection:
    """The connection under one request, lent to the app for zero-copy artifact transfers
    (:class:`podium.server.http.Connection`): uvicorn's httptools protocol and the request's cycle.

    The only module that touches uvicorn's internals (``flow``, the cycle's ``body``, ``keep_alive``,
    ``expected_content_length``); an uvicorn without them simply lends nothing, and the app moves
    bytes through ASGI as before.
    """

    __slots__ = ("protocol", "cycle")

    def __init__(self, protocol, cycle) -> None:
        self.protocol = protocol
        self.cycle = cycle

    def socket_fd(self) -> int | None:
        """The TCP socket's descriptor, or None (TLS, a closing connection, no socket)."""
        transport = self.protocol.transport
        if transport is None or transport.is_closing() or transport.get_extra_info("ssl_object") is not None:
            return None
        sock = transport.get_extra_info("socket")
        return sock.fileno() if sock is not None else None

    def take_body(self) -> bytes:
        """Stop the event loop reading the connection and return the body bytes it already read; the
        caller reads the rest from the socket. The connection closes after the answer: the HTTP parser
        never sees those bytes, so it cannot find the next request."""
        cycle, transport = self.cycle, self.protocol.transport
        self.protocol.flow.pause_reading()
        cycle.keep_alive = False
        if cycle.waiting_for_100_continue and not transport.is_closing():  # curl asks for big bodies
            transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        prefix, cycle.body = bytes(cycle.body), bytearray()
        return prefix

    def write_buffer_size(self) -> int:
        return self.protocol.transport.get_write_buffer_size()

    def body_sent(self, nbytes: int) -> None:
        """``nbytes`` of the response body went out on the socket directly (``sendfile``)."""
        self.cycle.expected_content_length -= nbytes

    def close(self) -> None:
        """End the connection (a body cut short); uvicorn then expects nothing more of the request."""
        self.cycle.keep_alive = False
        self.cycle.disconnected = True
        self.protocol.transport.close()


#: the uvicorn internals _UvicornConnection uses: an uvicorn without any of them lends nothing
_CYCLE_FIELDS = ("body", "keep_alive", "expected_content_length", "waiting_for_100_continue", "disconnected")


def _lendable(protocol, cycle) -> bool:
    """Has this uvicorn the internals a lent connection needs? (Checked per request: cheap, and an
    upgrade that renames one makes the app fall back to the ASGI paths instead of failing uploads.)"""
    return (getattr(protocol, "flow", None) is not None and getattr(protocol, "transport", None) is not None
            and all(hasattr(cycle, name) for name in _CYCLE_FIELDS))


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with TCP_NODELAY on every accepted connection, lending each
        request its connection (``scope["extensions"]["podium.connection"]``) for zero-copy transfers."""

        def connection_made(self, transport) -> None:
            _set_nodelay(transport)
            super().connection_made(transport)

        def _start_asgi_task(self, cycle, app) -> None:
            if _lendable(self, cycle):
                cycle.scope.setdefault("extensions", {})[CONNECTION_EXTENSION] = _UvicornConnection(self, cycle)
            super()._start_asgi_task(cycle, app)
except ImportError:  # pragma: no cover - httptools is a declared dependency
    NoDelayHttpToolsProtocol = None

from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's pure-Python protocol with TCP_NODELAY (used when httptools is missing)."""

    def connection_made(self, transport) -> None:
        _set_nodelay(transport)
        super().connection_made(transport)


def migrate(settings: ServerSettings) -> None:
    """Bring the database schema up to date and create the Default experiment (parent process only);
    with ``--auth`` on a database without users, create or announce the first admin."""
    from podium.compose import build

    backend = build(settings)  # the same backend a worker builds: the schema is upgraded on the way
    _clean_staging(settings.artifacts_destination)
    try:
        if settings.auth:  # the first admin, from PODIUM_ADMIN_PASSWORD, or a message saying how
            from podium.server.gate import first_start

            first_start(backend.stores.auth, settings.backend_store_uri)
    finally:
        backend.close()


def _clean_staging(destination: str) -> None:
    """The destination's staging directory for uploads, without the temporary files that uploads cut
    short by a crash (``kill -9``) left behind (once, in the parent: workers may be uploading)."""
    from podium.compose import prepare_upload_staging

    removed = prepare_upload_staging(destination)
    if removed:
        logging.getLogger("podium.server").info("Removed %d unfinished upload(s) from the staging directory.",
                                                removed)


def uvicorn_options(settings: ServerSettings) -> dict:
    return {
        "host": settings.host,
        "port": settings.port,
        "http": NoDelayHttpToolsProtocol or NoDelayH11Protocol,
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "lifespan": "on",
        "access_log": False,
        "log_config": uvicorn_log_config(settings),
        "log_level": settings.log_level,
        "server_header": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        # an idle keep-alive connection is closed after this; slow headers/bodies have no uvicorn timeout
        # (docs/security.md#limits: a reverse proxy's client_header_timeout/client_body_timeout)
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


def serve(settings: ServerSettings) -> None:
    """Run until SIGTERM/SIGINT, then exit with status 0 once in-flight requests are done."""
    import uvicorn

    # uvicorn re-raises the signal it caught after its graceful shutdown; with these handlers in
    # place that ends the process with status 0 instead of "killed by SIGTERM"
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    configure_logging(settings)
    settings = settings.with_session_secret()  # one key for every worker's session cookies
    migrate(settings)
    options = uvicorn_options(settings)
    metrics_dir = _prepare_metrics_dir(settings)
    try:
        if settings.workers <= 1:
            from podium.server.app import create_app

            uvicorn.run(create_app(settings), **options)
        else:
            settings.export_to_workers()
            uvicorn.run("podium.server.app:create_app_from_env", factory=True, workers=settings.workers, **options)
    finally:
        if metrics_dir is not None:
            from podium.server.metrics import remove_multiprocess_dir

            remove_multiprocess_dir(metrics_dir)


def _prepare_metrics_dir(settings: ServerSettings) -> str | None:
    """Multiprocess metrics for several workers (or when the operator set the variable): the
    directory to remove at exit, if it was made here."""
    from podium.server.metrics import prepare_multiprocess_dir
    from podium.server.settings import metrics_dir

    if not settings.metrics or (settings.workers <= 1 and not metrics_dir()):
        return None
    path, created = prepare_multiprocess_dir()
    return path if created else None
