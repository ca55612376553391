"""Write an MLflow store with the real mlflow client, and read one back as the mlflow client sees it.

Run as a script in its own process (mlflow keeps global state):

    python mlflow_store.py seed TRACKING_URI            # in the directory that gets ./mlruns
    python mlflow_store.py add-version TRACKING_URI     # one more version of "clf"
    python mlflow_store.py observe TRACKING_URI OUT.json

``observe`` writes what the client returns (experiments, runs with metric histories and inputs,
logged models, registered models, versions, aliases) and the predictions of ``models:/clf@champion``.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402

FEATURES = [[0.1, 1.0], [0.9, 0.2], [0.5, 0.5], [0.2, 0.8]]


def seed(uri: str) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp_a = client.create_experiment("exp-a", tags={"team": "vision", "note": "first"})
    client.create_experiment("exp-b")
    mlflow.set_experiment("exp-a")
    X = np.array([[0, 1], [1, 0], [0.2, 0.9], [0.8, 0.1]] * 5)
    y = np.array([0, 1, 0, 1] * 5)
    frame = pd.DataFrame(X, columns=["a", "b"])
    run_ids, model_ids = [], []
    for i in range(3):
        with mlflow.start_run(run_name=f"train-{i}") as run:
            mlflow.log_params({"C": str(1.0 + i), "solver": "lbfgs"})
            mlflow.set_tags({"stage": "dev", "i": str(i)})
            for step in range(12):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step, timestamp=1_700_000_000_000 + step)
                mlflow.log_metric("acc", 0.5 + step / 30, step=step)
            mlflow.log_metric("nan_metric", float("nan"))
            mlflow.log_input(mlflow.data.from_pandas(frame, name="train-frame"), context="training")
            mlflow.log_text(f"notes of run {i}\n", "notes/readme.txt")
            model = LogisticRegression(C=1.0 + i).fit(X, y)
            info = mlflow.sklearn.log_model(model, name="model", input_example=frame.head(2),
                                            params={"C": 1.0 + i}, pip_requirements=["scikit-learn"])
            run_ids.append(run.info.run_id)
            model_ids.append(info.model_id)
    client.set_logged_model_tags(model_ids[0], {"quality": "good"})
    with mlflow.start_run(run_name="doomed", experiment_id=exp_a) as run:
        mlflow.log_metric("x", 1.0)
        doomed_info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model",
                                               pip_requirements=["scikit-learn"])
        doomed = run.info.run_id
    with mlflow.start_run(run_name="in-b", experiment_id=client.get_experiment_by_name("exp-b").experiment_id):
        mlflow.log_param("p", "v")

    client.create_registered_model("clf", tags={"owner": "ana"}, description="the classifier")
    for i in range(3):
        client.create_model_version("clf", f"models:/{model_ids[i]}", run_id=run_ids[i],
                                    tags={"n": str(i + 1)}, description=f"version {i + 1}")
    client.create_model_version("clf", f"models:/{doomed_info.model_id}", run_id=doomed)  # 4: run deleted below
    client.delete_model_version("clf", "2")  # a gap
    client.transition_model_version_stage("clf", "1", "Production")
    client.transition_model_version_stage("clf", "3", "Staging")
    client.set_registered_model_alias("clf", "champion", "3")
    client.set_registered_model_alias("clf", "old", "1")
    client.set_model_version_tag("clf", "3", "validated", "yes")
    client.update_model_version("clf", "3", "the champion")
    client.create_registered_model("empty", description="no versions yet")
    client.delete_run(doomed)


def add_version(uri: str) -> None:
    client = MlflowClient(uri)
    v1 = client.get_model_version("clf", "1")
    client.create_model_version("clf", v1.source, run_id=v1.run_id, description="added later")


def add_served(uri: str) -> None:
    """One more experiment, run and version through a server (``mlflow-artifacts:/`` locations)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("through-the-server")
    with mlflow.start_run(run_name="served") as run:
        mlflow.log_metric("m", 2.5, step=3)
        mlflow.log_text("served\n", "served.txt")
        X, y = np.array([[0, 1], [1, 0]] * 3), np.array([0, 1] * 3)
        info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model",
                                        pip_requirements=["scikit-learn"])
    mlflow.register_model(info.model_uri, "served")


def observe(uri: str, out: str) -> None:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    result: dict = {"experiments": [], "runs": [], "histories": {}, "logged_models": [], "models": [], "versions": []}
    exps = client.search_experiments(view_type=ViewType.ALL, order_by=["name"])
    for e in exps:
        result["experiments"].append({"id": e.experiment_id, "name": e.name, "stage": e.lifecycle_stage,
                                      "tags": dict(e.tags), "created": e.creation_time,
                                      "updated": e.last_update_time})
    ids = [e.experiment_id for e in exps]
    for r in client.search_runs(ids, run_view_type=ViewType.ALL, order_by=["attributes.run_name"]):
        result["runs"].append({
            "id": r.info.run_id, "name": r.info.run_name, "experiment": r.info.experiment_id,
            "status": r.info.status, "start": r.info.start_time, "end": r.info.end_time,
            "user": r.info.user_id, "stage": r.info.lifecycle_stage, "params": r.data.params,
            "tags": r.data.tags, "metrics": {k: repr(v) for k, v in r.data.metrics.items()},
            "datasets": sorted([d.dataset.name, d.dataset.digest, d.dataset.source_type,
                                sorted((t.key, t.value) for t in d.tags)] for d in r.inputs.dataset_inputs),
            "outputs": sorted(o.model_id for o in (r.outputs.model_outputs if r.outputs else [])),
        })
        for key in r.data.metrics:
            result["histories"][f"{r.info.run_id}/{key}"] = [
                (m.step, m.timestamp, repr(m.value)) for m in client.get_metric_history(r.info.run_id, key)]
    for m in client.search_logged_models(ids, order_by=[{"field_name": "creation_time"}]):
        result["logged_models"].append({"id": m.model_id, "name": m.name, "experiment": m.experiment_id,
                                        "run": m.source_run_id, "status": str(m.status), "tags": m.tags,
                                        "params": m.params, "created": m.creation_timestamp})
    for rm in client.search_registered_models(order_by=["name"]):
        result["models"].append({"name": rm.name, "description": rm.description, "tags": rm.tags,
                                 "aliases": dict(rm.aliases), "created": rm.creation_timestamp,
                                 "updated": rm.last_updated_timestamp})
        for v in client.search_model_versions(f"name='{rm.name}'", order_by=["version_number"]):
            result["versions"].append({
                "name": v.name, "version": v.version, "stage": v.current_stage, "description": v.description,
                "tags": v.tags, "aliases": sorted(v.aliases), "run_id": v.run_id, "source": v.source,
                "status": v.status, "created": v.creation_timestamp, "updated": v.last_updated_timestamp,
                "user": v.user_id})
    model = mlflow.pyfunc.load_model("models:/clf@champion")
    import pandas as pd

    result["predictions"] = [int(x) for x in model.predict(pd.DataFrame(FEATURES, columns=["a", "b"]))]
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    command, uri = sys.argv[1], sys.argv[2]
    if command == "seed":
        seed(uri)
    elif command == "add-version":
        add_version(uri)
    elif command == "add-served":
        add_served(uri)
    else:
        observe(uri, sys.argv[3])
