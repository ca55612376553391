"""The MLflow store the import tests read: written once per session by the real mlflow client."""

from __future__ import annotations

import pytest

from tests.moving.helpers import Source, observe, seed


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory) -> Source:
    root = tmp_path_factory.mktemp("mlflow-sqlite")
    source = seed(root, f"sqlite:///{root / 'mlflow.db'}")
    source.observed = observe(source.uri, root)
    return source


