"""Two processes, one server: the test process logs and registers, a fresh Python process loads.

The child gets the same environment (``MLFLOW_TRACKING_URI`` & co. from the ``mlflow_client_env``
fixture), loads ``models:/N@champion`` with ``mlflow.pyfunc`` and prints its predictions as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import mlflow
import mlflow.sklearn
import numpy as np
from mlflow import MlflowClient

CHILD = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    import mlflow, mlflow.pyfunc, mlflow.sklearn

    uri, data_path = sys.argv[1], sys.argv[2]
    with open(data_path) as f:
        data = json.load(f)
    X = pd.DataFrame(data["data"], columns=data["columns"])
    pyfunc_model = mlflow.pyfunc.load_model(uri)
    sk_model = mlflow.sklearn.load_model(uri)
    print(json.dumps({
        "tracking_uri": mlflow.get_tracking_uri(),
        "model_id": pyfunc_model.metadata.model_id,
        "predictions": [int(p) for p in pyfunc_model.predict(X)],
        "proba": sk_model.predict_proba(X).tolist(),
    }))
    """
)


def test_model_registered_here_loads_identically_in_another_process(unique, models, wine, tmp_path, server_url):
    m1, m2 = models
    name = unique("two-process")
    mlflow.set_experiment(unique("exp"))
    with mlflow.start_run():
        mlflow.sklearn.log_model(m1, name="model", registered_model_name=name, pip_requirements=["scikit-learn"])
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(m2, name="model", registered_model_name=name,
                                        pip_requirements=["scikit-learn"])
    assert str(info.registered_model_version) == "2"
    MlflowClient().set_registered_model_alias(name, "champion", 2)

    data_path = tmp_path / "X.json"
    # Python's float repr round-trips exactly, so the child sees the very same inputs
    data_path.write_text(json.dumps({"columns": list(wine.X.columns), "data": wine.X.values.tolist()}))
    env = dict(os.environ)  # MLFLOW_TRACKING_URI, MLFLOW_HTTP_REQUEST_MAX_RETRIES=0, ... (monkeypatched)
    assert env["MLFLOW_TRACKING_URI"] == server_url
    child = subprocess.run(
        [sys.executable, "-c", CHILD, f"models:/{name}@champion", str(data_path)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps({"predictions": out["predictions"]}))

    assert out["tracking_uri"] == server_url
    assert out["model_id"] == info.model_id
    assert out["predictions"] == [int(p) for p in m2.predict(wine.X)]
    np.testing.assert_array_equal(np.array(out["proba"]), m2.predict_proba(wine.X))
    # and the test process's own load gives the same answers
    here = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert [int(p) for p in here.predict(wine.X)] == out["predictions"]
