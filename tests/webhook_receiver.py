"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread that records every
request (path, headers, raw body) and answers from a script (status, headers) per path, 200 "ok"
once the script is used up. :func:`verify_mlflow` is what a receiver written for MLflow does
with ``X-MLflow-Signature`` (written from MLflow's documented scheme, not with Podium's code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Received", "Receiver", "verify_mlflow"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def json(self) -> dict:
        return json.loads(self.body)


def verify_mlflow(secret: str, received: Received) -> bool:
    """MLflow's receiver-side check: HMAC-SHA256 over ``{delivery_id}.{timestamp}.{raw body}``."""
    h = received.headers
    payload = f"{h['X-MLflow-Delivery-Id']}.{h['X-MLflow-Timestamp']}.{received.body.decode()}"
    digest = base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()
    signature = h.get("X-MLflow-Signature", "")
    return signature.startswith("v1,") and hmac.compare_digest(signature[3:], digest)


@dataclass
class Receiver:
    """``with Receiver() as r: r.url("/hook") ... r.wait_for(3)``."""

    script: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        self._cond = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                    steps = receiver.script[self.path]
                    status, headers = steps.popleft() if steps else (200, {})
                    receiver._cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *steps: tuple[int, dict]) -> None:
        """Answer the next requests to ``path`` with these ``(status, headers)``, in order."""
        with self._cond:
            self.script[path].extend(steps)

    def at(self, path: str) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, path: str = "/hook", timeout: float = 30.0) -> list[Received]:
        """Poll until ``path`` received ``count`` requests (the sender is another process)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self.received if r.path == path]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path} received {len(got)} of {count} requests in {timeout}s: "
                                         f"{[r.body[:200] for r in got]}")
                self._cond.wait(left)
