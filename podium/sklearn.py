"""``podium.sklearn``: MLflow's ``mlflow.sklearn`` API. Implemented in :mod:`podium.flavors.sklearn`."""

from podium.flavors.sklearn import *  # noqa: F403
from podium.flavors.sklearn import __all__  # noqa: F401
