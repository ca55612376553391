"""Podium's entities under MLflow's module name (``mlflow.entities``)."""

from podium.domain.entities import *  # noqa: F401,F403
from podium.domain.entities import __all__  # noqa: F401
