"""The REAL mlflow 3.x client against ``podium server``: train, log, register, promote, alias, load.

mlflow is a test-only dependency (Podium never imports it); ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0``
makes any 5xx fail at once instead of being retried for minutes.
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")


@pytest.fixture
def mlflow_client_env(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(server.url)
    yield mlflow
    mlflow.set_tracking_uri(None)


def test_train_log_register_promote_alias_and_load(mlflow_client_env, tmp_path):
    import numpy as np
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    mlflow = mlflow_client_env
    from mlflow import MlflowClient

    X, y = load_wine(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    mlflow.set_experiment("wine-smoke")
    with mlflow.start_run(run_name="wine-lr") as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("accuracy", float(model.score(X, y)))
        mlflow.log_text("hello from run 1\n", "notes/readme.txt")
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="wine", input_example=X.head(2))
    run_id = run.info.run_id
    assert str(info.registered_model_version) == "1"

    mv2 = mlflow.register_model(f"runs:/{run_id}/model", "wine")
    assert mv2.version == "2" and mv2.run_id == run_id

    client = MlflowClient()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage("wine", "1", "Staging")
        client.transition_model_version_stage("wine", "2", "Production", archive_existing_versions=True)
        assert [v.version for v in client.get_latest_versions("wine", ["Production"])] == ["2"]
    client.set_registered_model_alias("wine", "champion", "2")
    assert client.get_model_version_by_alias("wine", "champion").version == "2"

    loaded = mlflow.pyfunc.load_model("models:/wine@champion")
    assert np.array_equal(np.asarray(loaded.predict(X)), model.predict(X))
    by_stage = mlflow.sklearn.load_model("models:/wine/Production")
    assert np.array_equal(by_stage.predict(X), model.predict(X))

    fetched = client.get_run(run_id)
    assert fetched.data.params == {"C": "1.0"} and "accuracy" in fetched.data.metrics
    assert [f.path for f in client.list_artifacts(run_id)] == ["notes"]
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/readme.txt", dst_path=str(tmp_path))
    assert open(local).read() == "hello from run 1\n"
    found = client.search_registered_models(filter_string="name='wine'")
    assert [m.name for m in found] == ["wine"]
    assert {v.version for v in client.search_model_versions("name='wine'")} == {"1", "2"}
