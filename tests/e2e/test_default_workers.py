"""The default ``podium server`` (no ``--workers``: ``min(2, cores)`` worker processes, decision 0028)
end to end with the real mlflow client: log and register sklearn models, move an alias and a stage,
load the champion back in a fresh process, and read ``/metrics`` (summed over the workers) from
fresh connections.

The other e2e tests pin their worker count (tests/harness.py); this one runs what ``podium server``
alone runs, so the default is exercised end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from podium.server.settings import default_workers
from tests.compat.conftest import _forget_mlflow_uris, _reset_mlflow_state, point_mlflow_at

from .conftest import A2, OBSERVATIONS

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")

LOAD = """
import json, sys
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
print(json.dumps([int(p) for p in model.predict(json.loads(sys.argv[2]))]))
"""


def _requests_counted(url: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", headers={"connection": "close"}, timeout=60).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "podium_http_requests_total")


def test_the_default_server_runs_the_mlflow_workflow_on_every_worker(server_factory, monkeypatch, tmp_path):
    from mlflow import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    server = server_factory.new("default", workers=None).start()  # no --workers flag at all
    workers = default_workers()
    log = server.log()
    assert f", {workers} worker" in log.splitlines()[0]  # the banner
    assert log.count("Application startup complete") == workers
    point_mlflow_at(monkeypatch, server.url)
    try:
        X, y = load_iris(return_X_y=True)
        name = "iris-default-workers"
        mlflow.set_experiment("default-workers")
        for c in (0.1, 1.0):
            with mlflow.start_run():
                mlflow.log_param("C", c)
                mlflow.sklearn.log_model(LogisticRegression(C=c, max_iter=500).fit(X, y), name="model",
                                         registered_model_name=name, pip_requirements=["scikit-learn"])
        client = MlflowClient()
        assert sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'")) == [1, 2]
        client.set_registered_model_alias(name, "champion", 2)
        client.transition_model_version_stage(name, 2, "Production")
        assert client.get_model_version_by_alias(name, "champion").current_stage == "Production"
        expected = [int(p) for p in mlflow.sklearn.load_model(f"models:/{name}/2").predict(X[:10])]
        # a fresh process, fresh connections: whichever worker answers, the same model comes back
        child = subprocess.run([sys.executable, "-c", LOAD, f"models:/{name}@champion", json.dumps(X[:10].tolist())],
                               capture_output=True, text=True, timeout=300, check=False)
        assert child.returncode == 0, child.stderr[-2000:]
        assert json.loads(child.stdout.strip().splitlines()[-1]) == expected
    finally:
        _reset_mlflow_state()
        _forget_mlflow_uris()
    # every scrape, whichever worker answers it, counts the requests of all of them
    for _ in range(2):
        httpx.get(f"{server.url}{A2}/registered-models/get", params={"name": name},
                  headers={"connection": "close"}, timeout=60).raise_for_status()
    counts = [_requests_counted(server.url) for _ in range(6)]
    # each scrape counts everything before it, the previous scrape included: one more each time (a
    # scrape that saw only the worker answering it would go back and forth)
    assert counts == [counts[0] + i for i in range(6)] and counts[0] >= 10, counts
    assert server.stop() == 0
    assert "Traceback" not in server.log()
    OBSERVATIONS.append(("default workers", f"{workers} worker(s), {int(counts[0])} requests counted"))
