"""Fixtures for the CLI tests: a real SQLite file per test, seeded through ``PodiumClient``.

``podium_cli(*args)`` runs ``podium --tracking-uri <that file> *args`` in-process with click's
``CliRunner``; ``result.stdout`` and ``result.stderr`` are kept apart. The seed data goes through
the client, never through the commands under test.
"""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from podium import PodiumClient
from podium.cli import main


@pytest.fixture
def db_uri(tmp_path) -> str:
    return f"sqlite:///{(tmp_path / 'podium.db').as_posix()}"


@pytest.fixture
def seed(db_uri) -> PodiumClient:
    """A client on the same database the CLI under test reads."""
    return PodiumClient(db_uri)


@pytest.fixture
def podium_cli(db_uri):
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        return runner.invoke(main, ["--tracking-uri", db_uri, *args], env=env, input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def registry(seed) -> dict:
    """Two models. ``wine``: v1 Production (@champion, from a run), v2 Staging, v3 None.
    ``fraud-detector``: v1 None. Returns the ids the tests check for."""
    run = seed.create_run("0", run_name="train-wine")
    seed.log_metric(run.info.run_id, "accuracy", 0.93)
    seed.log_param(run.info.run_id, "C", "1.0")
    seed.set_terminated(run.info.run_id)
    seed.create_registered_model("wine", tags={"team": "ml-platform"}, description="Wine quality classifier")
    seed.create_model_version("wine", f"runs:/{run.info.run_id}/model", run.info.run_id,
                              description="baseline", tags={"dataset": "wine-v1"})
    seed.create_model_version("wine", "/data/models/wine-2", None)
    seed.create_model_version("wine", "/data/models/wine-3", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        seed.transition_model_version_stage("wine", 1, "Production")
        seed.transition_model_version_stage("wine", 2, "Staging")
    seed.set_registered_model_alias("wine", "champion", 1)
    seed.create_registered_model("fraud-detector")
    seed.create_model_version("fraud-detector", "/data/models/fraud-1", None)
    return {"run_id": run.info.run_id}

