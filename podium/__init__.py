"""Podium: an open-source model registry, a drop-in for MLflow's Model Registry.

``import podium as mlflow`` runs MLflow-style code unchanged::

    import podium as mlflow
    from podium import MlflowClient

    with mlflow.start_run():
        mlflow.log_param("C", 1.0)
        mlflow.sklearn.log_model(model, name="model", registered_model_name="wine")
    model = mlflow.sklearn.load_model("models:/wine/1")

Importing this package is cheap: stores, SQLAlchemy and ML libraries load on first use.
"""

from __future__ import annotations

import importlib

from podium.client.client import MlflowClient, PodiumClient
from podium.errors import MlflowException, PodiumError
from podium.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_logged_model,
    get_run,
    last_active_run,
    last_logged_model,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_model_params,
    log_param,
    log_params,
    log_text,
    register_model,
    search_experiments,
    search_logged_models,
    search_model_versions,
    search_registered_models,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_tag,
    set_tags,
    start_run,
)
from podium.tracking_context import get_registry_uri, get_tracking_uri, set_registry_uri, set_tracking_uri
from podium.version import __version__

#: submodules that load on first attribute access (``podium.sklearn.log_model``)
_LAZY_SUBMODULES = {"sklearn", "pyfunc", "artifacts", "entities"}

__all__ = [
    "ActiveRun",
    "MlflowClient",
    "MlflowException",
    "PodiumClient",
    "PodiumError",
    "__version__",
    "active_run",
    "artifacts",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "last_logged_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_model_params",
    "log_param",
    "log_params",
    "log_text",
    "pyfunc",
    "register_model",
    "search_experiments",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
]


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"podium.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'podium' has no attribute '{name}'")
