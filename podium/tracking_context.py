"""Process-wide tracking state: the tracking and registry URIs, the experiment, the active runs.

The active-run stack is per thread (as MLflow's), so runs started in worker threads do not leak
into each other.
"""

from __future__ import annotations

import threading
from pathlib import Path

from podium import settings

__all__ = [
    "get_registry_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "set_tracking_uri",
]

_state = {"tracking_uri": None, "registry_uri": None, "experiment_id": None}
_local = threading.local()


def set_tracking_uri(uri: str | Path) -> None:
    """Where Podium keeps runs and models: ``sqlite:///path.db``, ``postgresql://...``, ``http://host:port``."""
    uri = str(uri)
    if uri and "://" not in uri and not uri.startswith(("file:", "sqlite:")):
        uri = f"sqlite:///{Path(uri).expanduser().resolve().as_posix()}" if uri.endswith(".db") else uri
    _state["tracking_uri"] = uri or None
    _state["experiment_id"] = None


def get_tracking_uri() -> str:
    return settings.tracking_uri(_state["tracking_uri"])


def set_registry_uri(uri: str) -> None:
    _state["registry_uri"] = str(uri) if uri else None


def get_registry_uri() -> str | None:
    return _state["registry_uri"] or settings.registry_uri()


def set_active_experiment_id(experiment_id: str | None) -> None:
    _state["experiment_id"] = experiment_id


def get_active_experiment_id() -> str | None:
    return _state["experiment_id"]


def run_stack() -> list:
    stack = getattr(_local, "runs", None)
    if stack is None:
        stack = _local.runs = []
    return stack


def last_run_id() -> str | None:
    return getattr(_local, "last_run_id", None)


def set_last_run_id(run_id: str | None) -> None:
    _local.last_run_id = run_id


def last_logged_model_id() -> str | None:
    return getattr(_local, "last_model_id", None)


def set_last_logged_model_id(model_id: str | None) -> None:
    _local.last_model_id = model_id
