"""MLflow's model directory format, written and read by Podium.

A model directory holds an ``MLmodel`` YAML file plus the files it names: the serialized model,
``conda.yaml`` / ``python_env.yaml`` / ``requirements.txt``, and optionally ``input_example.json``
and ``serving_input_example.json``. Directories written here load with ``mlflow.<flavor>`` and
``mlflow.pyfunc``, and directories written by MLflow load here.

Modules (each with one job, each importing ML libraries only inside functions):

* :mod:`podium.flavors.model`: the ``MLmodel`` file (:class:`Model`) and :class:`ModelInfo`.
* :mod:`podium.flavors.signature`: model signatures and input examples.
* :mod:`podium.flavors.environment`: ``conda.yaml``, ``python_env.yaml``, ``requirements.txt``.
* :mod:`podium.flavors.sklearn`: the scikit-learn flavor (``podium.sklearn``).
* :mod:`podium.flavors.pyfunc`: the generic python-function flavor (``podium.pyfunc``).

Podium never imports ``mlflow``; MLmodel files name MLflow's loader modules (``mlflow.sklearn``,
``mlflow.pyfunc.model``) only as strings, so MLflow can load what Podium writes.
"""
