"""The real ``mlflow`` 3.17 client against a live ``podium server`` process.

One server process serves the whole session (``podium_server``): it listens on an ephemeral port
(picked by binding port 0), keeps its SQLite database and artifacts in a temporary directory, and is
terminated at the end of the session. When a test fails, the tail of the server log is attached to
that test's report and printed once more in the terminal summary.

Every test gets the mlflow client pointed at the server (``mlflow_client_env``, autouse):
``MLFLOW_TRACKING_URI``, ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`` (a 5xx fails at once instead of being
retried for minutes), ``MLFLOW_HTTP_REQUEST_TIMEOUT=60``, ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``
(mlflow 3.17 refuses to load sklearn models without it) and telemetry off; mlflow's active runs,
experiment and last logged model are reset around each test. Tests share the server, so every
resource name is unique (``unique``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import server_database_for
mlflow = pytest.importorskip("mlflow")
httpx = pytest.importorskip("httpx")

#: how many lines of the server log a failing test shows
LOG_TAIL_LINES = 60

_SERVER_LOG_KEY = pytest.StashKey[Path]()
_FAILED_KEY = pytest.StashKey[list]()


# ------------------------------------------------------------------------------------- server
@dataclass
class PodiumServer:
    url: str
    process: subprocess.Popen
    root: Path
    log_path: Path

    @property
    def artifacts(self) -> Path:
        return self.root / "art"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    """The test process's environment without PODIUM_*/MLFLOW_* settings that could redirect it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start_server(root: Path, backend_store_uri: str, timeout: float = 60.0) -> PodiumServer:
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "server.log"
    last_error = ""
    for _attempt in range(3):  # the port could be taken between the bind-to-0 probe and the server's bind
        port = _free_port()
        cmd = [
            sys.executable, "-m", "podium.server",
            "--backend-store-uri", backend_store_uri,
            "--artifacts-destination", str(root / "art"),
            "--host", "127.0.0.1", "--port", str(port),
        ]
        log = open(log_path, "ab")
        process = subprocess.Popen(cmd, cwd=root, env=_server_env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = f"podium server exited with {process.returncode}"
                break
            try:
                r = httpx.get(f"{url}/health", timeout=2)
                if r.status_code == 200 and r.text.strip() == "OK":
                    return PodiumServer(url, process, root, log_path)
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            process.kill()
            process.wait()
            raise RuntimeError(f"podium server did not answer /health in {timeout}s:\n{log_path.read_text()}")
    raise RuntimeError(f"{last_error}:\n{log_path.read_text(errors='replace')}")


def _stop_server(server: PodiumServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def podium_server(tmp_path_factory, pytestconfig):
    """A running ``python -m podium.server`` (temp DB + artifact dir, ephemeral port). The database is
    SQLite, or PostgreSQL/MySQL when ``PODIUM_TEST_SERVER_DB`` says so (see tests/databases.py)."""
    root = tmp_path_factory.mktemp("podium-compat-server")
    backend_store_uri, database = server_database_for(root, "p.db")
    server = _start_server(root, backend_store_uri)
    pytestconfig.stash[_SERVER_LOG_KEY] = server.log_path
    try:
        yield server
    finally:
        _stop_server(server)
        if database is not None:
            database.drop()


@pytest.fixture(scope="session")
def server_url(podium_server) -> str:
    return podium_server.url


@pytest.fixture(scope="session")
def api(server_url):
    """A raw ``httpx`` client on the server (to check status codes and bodies of the REST API)."""
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


# ------------------------------------------------------------------------------ mlflow client
def _reset_mlflow_state() -> None:
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        try:
            mlflow.end_run()
        except Exception:  # the server may be gone or the run deleted: forget it locally anyway
            fluent._active_run_stack.get().pop()
    fluent._active_experiment_id = None
    fluent._last_active_run_id.set(None)
    fluent._last_logged_model_id.set(None)


def point_mlflow_at(monkeypatch, server_url: str) -> None:
    """Environment and module state so the mlflow client talks to ``server_url`` (and fails fast)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    for name in ("MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    _reset_mlflow_state()
    mlflow.set_tracking_uri(server_url)
    mlflow.set_registry_uri(server_url)


def _forget_mlflow_uris() -> None:
    """Undo ``mlflow.set_tracking_uri``/``set_registry_uri`` (module globals) so nothing leaks past a test."""
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    tracking_utils._tracking_uri = None
    registry_utils._registry_uri = None


@pytest.fixture(autouse=True)
def mlflow_client_env(server_url, monkeypatch):
    """Point the mlflow client (env and ``mlflow.set_tracking_uri``) at the server, per test."""
    point_mlflow_at(monkeypatch, server_url)
    yield server_url
    _reset_mlflow_state()
    _forget_mlflow_uris()  # monkeypatch then restores the environment variables


@pytest.fixture(scope="module")
def module_mlflow_env(server_url):
    """The same for module-scoped fixtures that build shared state before the tests run."""
    with pytest.MonkeyPatch.context() as mp:
        point_mlflow_at(mp, server_url)
        yield server_url
        _reset_mlflow_state()
        _forget_mlflow_uris()


@pytest.fixture
def client(mlflow_client_env):
    """``mlflow.MlflowClient`` on the server."""
    return mlflow.MlflowClient(tracking_uri=mlflow_client_env, registry_uri=mlflow_client_env)


@pytest.fixture
def unique():
    """``unique("model")`` -> ``model-1a2b3c4d5e`` (one token per test; shared server, no collisions)."""
    token = uuid.uuid4().hex[:10]
    return lambda base="x": f"{base}-{token}"


# ---------------------------------------------------------------------------------- data, models
@dataclass
class Wine:
    X: "object"  # pandas.DataFrame, standardized features (LogisticRegression converges in ~15 steps)
    y: "object"


@pytest.fixture(scope="session")
def wine() -> Wine:
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True, as_frame=True)
    X = ((X - X.mean()) / X.std()).astype("float64")
    return Wine(X, y)


@pytest.fixture(scope="session")
def models(wine):
    """Two small fitted LogisticRegressions whose probabilities differ (C=1.0 and C=0.05)."""
    from sklearn.linear_model import LogisticRegression

    m1 = LogisticRegression(C=1.0, max_iter=1000).fit(wine.X, wine.y)
    m2 = LogisticRegression(C=0.05, max_iter=1000).fit(wine.X, wine.y)
    return m1, m2


# ------------------------------------------------------------------ server log on failures
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and not hasattr(report, "wasxfail"):
        item.config.stash.setdefault(_FAILED_KEY, []).append(item.nodeid)
        log_path = item.config.stash.get(_SERVER_LOG_KEY, None)
        if log_path is not None and log_path.exists():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
            report.sections.append(("podium server log (tail)", tail))


_ACCESS_5XX = re.compile(r"podium\.access (\S+) (\S+) (5\d\d) ")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    log_path = config.stash.get(_SERVER_LOG_KEY, None)
    if log_path is None or not log_path.exists():
        return
    lines = log_path.read_text(errors="replace").splitlines()
    # every 5xx the server sent (501 NOT_IMPLEMENTED for multipart/presigned is MLflow's own answer)
    server_errors = [line for line in lines if (m := _ACCESS_5XX.search(line)) and m.group(3) != "501"]
    if server_errors:
        terminalreporter.section("podium server 5xx responses (a client mistake must never be a 5xx)")
        for line in server_errors:
            terminalreporter.write_line(line)
    if config.stash.get(_FAILED_KEY, []):
        terminalreporter.section("podium server log tail (compat tests failed)")
        terminalreporter.write_line(f"log: {log_path}")
        for line in lines[-LOG_TAIL_LINES:]:
            terminalreporter.write_line(line)
