"""``podium.pyfunc``: MLflow's ``mlflow.pyfunc`` API. Implemented in :mod:`podium.flavors.pyfunc`."""

from podium.flavors.pyfunc import *  # noqa: F403
from podium.flavors.pyfunc import __all__  # noqa: F401
