"""``podium gc`` on a server's database after the real mlflow client logged, registered and deleted:
a model version keeps loading while its run and experiment are purged, and its files go only once
the version is deleted too. A server of its own (gc purges everything deleted on its database)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from podium.cli import main
from tests.databases import server_database_for
from tests.harness import ServerProcess

mlflow = pytest.importorskip("mlflow")

PIP_REQS = ["scikit-learn"]


@pytest.fixture(scope="module")
def gc_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("podium-gc-server")
    backend_store_uri, database = server_database_for(root)
    server = ServerProcess(root, backend_store_uri=backend_store_uri)
    try:
        yield server.start()
    finally:
        server.stop()
        if database is not None:
            database.drop()


@pytest.fixture(scope="module")
def server_url(gc_server) -> str:
    """This module's server for the mlflow client fixtures (tests/compat/conftest.py)."""
    return gc_server.url


def _gc(server: ServerProcess) -> dict:
    result = CliRunner().invoke(main, ["gc", "--older-than", "0", "--backend-store-uri", server.store_uri,
                                       "--artifacts-destination", str(server.artifacts), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_registered_model_survives_gc_of_its_run_and_experiment(client, gc_server, unique, wine, models):
    import mlflow.sklearn

    experiment_id = client.create_experiment(unique("gc"))
    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(models[0], name="model", pip_requirements=PIP_REQS)
    name = unique("gc-model")
    mlflow.register_model(info.model_uri, name)
    client.delete_run(run.info.run_id)
    client.delete_experiment(experiment_id)

    first = _gc(gc_server)

    assert [(p["kind"], p["id"]) for p in first["purged"]] == [("experiment", experiment_id)]
    assert first["purged"][0]["rows"]["runs"] == 1 and first["purged"][0]["rows"]["logged_models"] == 1
    kept = {a["kind"]: a["action"] for a in first["artifacts"]}
    # MLflow 3 logs the model into the logged model's directory (the run's has nothing): the version's files stay
    assert kept == {"run": "missing", "logged_model": "kept", "experiment": "kept"}
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_run(run.info.run_id)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert (loaded.predict(wine.X) == models[0].predict(wine.X)).all()
    assert (gc_server.artifacts / experiment_id).exists()

    client.delete_registered_model(name)
    last = _gc(gc_server)

    assert {a["action"] for a in last["artifacts"]} == {"deleted"}
    assert not (gc_server.artifacts / experiment_id).exists()
    assert _gc(gc_server)["artifacts"] == []
