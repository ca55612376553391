"""The scoring server's ASGI app and its runner (uvicorn, as ``podium server`` runs it).

Routes, as ``mlflow models serve`` has them: ``GET /ping`` (200 once a model is loaded), ``GET
/health`` (the same, with the model's name, version and the last failed swap as JSON), ``GET
/version`` (Podium's version and the model's), ``POST /invocations`` (:mod:`podium.serving.protocol`).
With a webhook secret, ``POST /podium/webhook`` takes the registry's signed deliveries and makes the
follower resolve at once (:mod:`podium.serving.webhook`).
Every response carries ``X-Podium-Model-Version`` when a registered version serves. A request takes
``follower.current`` once, so it finishes on the model it started with whatever swap happens
meanwhile. Parsing and prediction run on a thread pool, except for a model whose requests take less
than :data:`INLINE_SECONDS` on average (a small sklearn model: about a millisecond): those run on the
event loop, since handing them to a thread costs more than they do (and, Python holding one lock,
the threads would not run them side by side anyway). A model's first requests always go to the pool,
so a slow model is never run on the event loop, and one that turns slow moves back to the pool.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from podium.errors import PodiumError
from podium.server.http import JSONResponse, Request, Response
from podium.serving.follower import ModelFollower, ServedModel
from podium.serving.protocol import ScoringError, parse_request, to_predictions
from podium.serving.webhook import MAX_DELIVERY_BYTES, WEBHOOK_PATH, WebhookRefused, verify_delivery
from podium.version import __version__

__all__ = ["ScoringApp", "ServeSettings", "create_app_from_env", "run"]

logger = logging.getLogger("podium.serving")

#: the largest request body accepted (MLflow has no limit; a scoring batch this big is a mistake)
MAX_BODY_BYTES = 64 << 20
#: a model whose requests (parse + predict) take less than this on average is run on the event loop
INLINE_SECONDS = 0.004
#: ... and only for bodies up to this size
INLINE_BODY_BYTES = 256 << 10
_ROUTES = {"/ping": "GET", "/health": "GET", "/version": "GET", "/invocations": "POST"}


@dataclass(frozen=True)
class ServeSettings:
    """``podium serve``'s options (the names :func:`podium.server.runner.uvicorn_options` reads)."""

    model_uri: str
    tracking_uri: str | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    poll_interval: float = 2.0
    threads: int = 8
    log_level: str = "info"
    log_format: str = "text"
    access_log: bool = False
    #: verifies deliveries to ``POST /podium/webhook`` (None: no webhook route)
    webhook_secret: str | None = None


class ScoringApp:
    """ASGI app over a :class:`ModelFollower` (module docstring)."""

    def __init__(self, follower: ModelFollower, threads: int = 8, webhook_secret: str | None = None) -> None:
        self.follower = follower
        self.webhook_secret = webhook_secret
        self._cost: tuple[ServedModel | None, float] = (None, 1.0)  # (model, moving average of a request's seconds)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="podium-predict")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        served = self.follower.current
        try:
            response = await self._respond(scope, receive, served)
        except Exception:  # a bug (or a model returning what JSON cannot hold): logged, and the server goes on
            logger.exception("Error answering %s %s", scope["method"], scope["path"])
            response = JSONResponse({"error_code": "INTERNAL_ERROR", "message": "The scoring server failed to "
                                     "answer this request; its log has the details."}, 500)
        if served is not None and served.version is not None:
            response.headers.append((b"x-podium-model-version", str(served.version).encode()))
        await response.send(send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.follower.stop()
                self.executor.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _respond(self, scope, receive, served: ServedModel | None) -> Response:
        path, method = scope["path"], scope["method"]
        if path == WEBHOOK_PATH and self.webhook_secret:
            if method != "POST":
                return JSONResponse({"detail": "Method Not Allowed"}, 405, [(b"allow", b"POST")])
            return await self._webhook(Request(scope, receive, max_body=MAX_DELIVERY_BYTES))
        if path not in _ROUTES:
            return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND", "message": f"No route {path}."}, 404)
        if method != _ROUTES[path] and not (method == "HEAD" and _ROUTES[path] == "GET"):
            return JSONResponse({"detail": "Method Not Allowed"}, 405, [(b"allow", _ROUTES[path].encode())])
        if served is None:
            return JSONResponse({"status": "loading", "model_uri": self.follower.model_uri}, 503)
        if path == "/ping":
            return Response(b"\n", content_type="application/json")
        if path == "/health":
            return JSONResponse({"status": "ok", **self._describe(served),
                                 "last_swap_error": self.follower.last_swap_error})
        if path == "/version":
            return JSONResponse({"podium_version": __version__, **self._describe(served)})
        request = Request(scope, receive, max_body=MAX_BODY_BYTES)
        try:
            body = await request.body()
        except PodiumError as error:  # too large, or the client went away
            return JSONResponse({"error_code": error.error_code, "message": error.message}, error.http_status)
        try:
            result = await self._run(served, request.header("content-type"), body)
        except ScoringError as error:
            if error.status == 415:
                return Response(error.message.encode(), 415)
            return JSONResponse(error.body(), error.status)
        return JSONResponse(result)

    async def _run(self, served: ServedModel, content_type: str | None, body: bytes) -> dict:
        """Score on the event loop when this model is known to be fast (module docstring), else on the pool."""
        model, average = self._cost
        timing: list[float] = []
        try:
            if model is served and average < INLINE_SECONDS and len(body) <= INLINE_BODY_BYTES:
                return _timed_score(timing, served, content_type, body)
            return await asyncio.get_running_loop().run_in_executor(self.executor, _timed_score, timing, served,
                                                                    content_type, body)
        finally:
            if timing:  # the time the work took, without the hop to a thread
                model, average = self._cost
                self._cost = (served, average * 0.9 + timing[0] * 0.1) if model is served else (served, timing[0])

    async def _webhook(self, request: Request) -> Response:
        """A registry delivery: verified, then (about the served model) an immediate re-resolve."""
        try:
            body = await request.body()
            envelope = verify_delivery(self.webhook_secret, request.header, body)
        except PodiumError as error:  # too large, or the client went away
            return JSONResponse({"error_code": error.error_code, "message": error.message}, error.http_status)
        except WebhookRefused as refused:
            logger.warning("Refused a webhook delivery: %s", refused.message)
            return JSONResponse(refused.body(), refused.status)
        concerns = self.follower.follows and envelope["data"].get("name") == self.follower.name
        if concerns:
            self.follower.poke()
        logger.info("Webhook delivery %s (%s.%s for %r): %s.", request.header("x-mlflow-delivery-id"),
                    envelope["entity"], envelope["action"], envelope["data"].get("name"),
                    "resolving now" if concerns else "not about the served model")
        return JSONResponse({"accepted": True, "resolving": concerns})

    def _describe(self, served: ServedModel) -> dict:
        return {"model_uri": served.uri, "name": served.name, "version": served.version,
                "follows": self.follower.follows, "loaded_at": int(served.loaded_at * 1000)}


def _timed_score(timing: list[float], served: ServedModel, content_type: str | None, body: bytes) -> dict:
    """:func:`_score`, appending the seconds it took to ``timing`` (also when it raises)."""
    start = time.perf_counter()
    try:
        return _score(served, content_type, body)
    finally:
        timing.append(time.perf_counter() - start)


def _score(served: ServedModel, content_type: str | None, body: bytes) -> dict:
    """Parse and predict (on the thread pool). A model that refuses the input is the client's
    mistake for MLflow too: 400, with MLflow's codes."""
    data, params = parse_request(content_type, body)
    _require_named_columns(served.model, data)
    try:
        result = served.model.predict(data, params=params)
    except Exception as exc:  # schema enforcement, a column of the wrong type, the model's own refusal
        code = getattr(exc, "error_code", None) or "BAD_REQUEST"
        raise ScoringError(f"Failed to predict data: {' '.join(str(getattr(exc, 'message', exc)).split())}",
                           code if code != "INTERNAL_ERROR" else "BAD_REQUEST") from None
    return to_predictions(result)


def _require_named_columns(model, data) -> None:
    """MLflow refuses unnamed input (``{"inputs": [[1, 2]]}``) for a model whose signature names its
    columns; so does the scoring server (the library's ``predict`` is lighter and maps by position)."""
    import numpy as np

    signature = getattr(model.metadata, "signature", None)
    inputs = signature.inputs if signature is not None else None
    if isinstance(data, np.ndarray) and inputs is not None and not inputs.is_tensor_spec() and inputs.has_input_names():
        raise ScoringError(f"Failed to enforce schema of the input: model is missing inputs {inputs.input_names()} "
                           "(send named columns: dataframe_split, dataframe_records, or records in 'inputs').",
                           "INVALID_PARAMETER_VALUE")


# ------------------------------------------------------------------------------ running
def _start(settings: ServeSettings) -> ScoringApp:
    host = socket.gethostname() if settings.host in ("0.0.0.0", "::", "") else settings.host
    follower = ModelFollower(settings.model_uri, settings.tracking_uri, settings.poll_interval,
                             scorer=f"{host}:{settings.port}")
    follower.start()
    return ScoringApp(follower, settings.threads, settings.webhook_secret)


def create_app_from_env() -> ScoringApp:
    """The app of one worker process (``--workers`` > 1): settings from :func:`podium.settings.serve_config`."""
    from podium.server.logs import configure_logging
    from podium.settings import serve_config

    settings = ServeSettings(**serve_config())
    configure_logging(settings)
    return _start(settings)


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


def run(settings: ServeSettings) -> None:
    """Load the model (failing before listening when it cannot be served), then serve until
    SIGTERM/SIGINT; in-flight requests finish first."""
    import uvicorn

    from podium.server.logs import configure_logging
    from podium.server.runner import uvicorn_options

    if settings.workers <= 1:
        app = _start(settings)
    else:  # each worker loads its own copy; a wrong URI fails here, once
        ModelFollower(settings.model_uri, settings.tracking_uri).resolve()
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    configure_logging(settings)
    options = uvicorn_options(settings)
    if settings.workers <= 1:
        uvicorn.run(app, **options)
        return
    from podium.settings import export_serve_config

    export_serve_config(asdict(settings))
    uvicorn.run("podium.serving.app:create_app_from_env", factory=True, workers=settings.workers, **options)
