"""The real ``mlflow`` 3.17 client against a live ``podium server`` process.

One server process serves the whole session (one per pytest-xdist worker; ``podium_server``, a
tests/harness.py ``ServerProcess``): it listens on an ephemeral port, keeps its database (SQLite, or
``PODIUM_TEST_SERVER_DB``'s) and artifacts in a temporary directory, and is terminated at the end of
the session. When a test fails, the tail of the server log is attached to that test's report
(tests/conftest.py); every 5xx the server answered during a test is listed in the terminal summary.

Every test gets the mlflow client pointed at the server (``mlflow_client_env``, autouse):
``MLFLOW_TRACKING_URI``, ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`` (a 5xx fails at once instead of being
retried for minutes), ``MLFLOW_HTTP_REQUEST_TIMEOUT=60``, ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``
(mlflow 3.17 refuses to load sklearn models without it) and telemetry off; mlflow's active runs,
experiment and last logged model are reset around each test. Tests share the server, so every
resource name is unique (``unique``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from tests.databases import server_database_for
from tests.harness import ServerProcess

mlflow = pytest.importorskip("mlflow")
httpx = pytest.importorskip("httpx")


# ------------------------------------------------------------------------------------- server
@pytest.fixture(scope="session")
def podium_server(tmp_path_factory):
    """A running ``python -m podium.server`` (temp DB + artifact dir, ephemeral port). The database is
    SQLite, or PostgreSQL/MySQL when ``PODIUM_TEST_SERVER_DB`` says so (see tests/databases.py)."""
    root = tmp_path_factory.mktemp("podium-compat-server")
    backend_store_uri, database = server_database_for(root)
    server = ServerProcess(root, backend_store_uri=backend_store_uri)
    try:
        yield server.start()
    finally:
        server.stop()
        server.kill()
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
        # setenv first, so that undoing it removes what mlflow itself sets later (set_experiment writes
        # MLFLOW_EXPERIMENT_ID): a bare delenv of an unset variable would leave that to the next module
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
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


# ------------------------------------------------------------------ 5xx answers in the summary
#: an access-log line with a 5xx status (501 NOT_IMPLEMENTED for multipart/presigned is MLflow's own answer)
_ACCESS_5XX = re.compile(r"podium\.access (\S+) (\S+) (5(?!01)\d\d) ")
_SUMMARY_5XX = "summary: podium server 5xx responses (a client mistake must never be a 5xx)"
_LINES_SEEN: dict[str, int] = {}  # server log -> lines already scanned


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """After each test, the 5xx lines its server logged since the previous test go into the report."""
    outcome = yield
    report = outcome.get_result()
    server = item.funcargs.get("podium_server") if call.when == "teardown" else None
    if isinstance(server, ServerProcess):
        lines = server.log().splitlines()
        seen, _LINES_SEEN[str(server.log_path)] = _LINES_SEEN.get(str(server.log_path), 0), len(lines)
        report.user_properties.extend((_SUMMARY_5XX, f"{item.nodeid}: {line}") for line in lines[seen:]
                                      if _ACCESS_5XX.search(line))
