"""The reference seed workflow (mlflow-rest-surface.md §1 a–g), driven by ``import mlflow``.

A module-scoped fixture runs steps a–c once (experiment, two runs, three logged models, versions 1
and 2, stage transitions); the tests then check each step's results and run steps d–g against it.
"""

from __future__ import annotations

import os
import uuid
import warnings
from dataclasses import dataclass

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .helpers import PIP_REQS, same_predictions, same_sklearn_model

pytestmark = pytest.mark.filterwarnings("ignore:Hint.*Inferred schema contains integer:UserWarning")


@dataclass
class Seed:
    name: str
    positional_name: str
    experiment_id: str
    run1: str
    run2: str
    info1: object  # ModelInfo of run1's model (registered as v1 by log_model)
    info_pos: object  # the positional log_model(m, "model", registered_model_name=...) form
    info2: object  # ModelInfo of run2's model (registered as v2 by register_model)
    mv2: object  # what register_model returned
    transitions: list  # ModelVersion returned by each transition
    m1: object
    m2: object


@pytest.fixture(scope="module")
def seed(module_mlflow_env, wine, models):
    token = uuid.uuid4().hex[:8]
    name = f"wine-quality-classifier-{token}"
    m1, m2 = models
    X = wine.X

    # a. experiment
    experiment = mlflow.set_experiment(f"wine-seed-{token}")
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"

    # a. first run: params, metrics, tag, text, log_model with registration and an input example
    with mlflow.start_run(run_name="wine-lr-1") as run1:
        mlflow.log_params({"C": 1.0, "max_iter": 1000, "model": "LogisticRegression"})
        for step, value in enumerate([0.8, 0.9, float(m1.score(X, wine.y))]):
            mlflow.log_metric("accuracy", value, step=step)
        mlflow.log_metric("f1", 0.97)
        mlflow.set_tag("team", "wine")
        mlflow.log_text("hello from run 1\n", "notes/readme.txt")
        info1 = mlflow.sklearn.log_model(m1, name="model", registered_model_name=name, input_example=X[:3])

    # a2. the old positional artifact_path form
    with mlflow.start_run(run_name="wine-lr-positional"):
        info_pos = mlflow.sklearn.log_model(
            m1, "model", registered_model_name=f"{name}-positional", pip_requirements=PIP_REQS
        )

    # b. second run, model logged without registration, then register_model("runs:/<run2>/model")
    with mlflow.start_run(run_name="wine-lr-2") as run2:
        mlflow.log_param("C", 0.05)
        mlflow.log_metric("accuracy", float(m2.score(X, wine.y)))
        info2 = mlflow.sklearn.log_model(m2, name="model", pip_requirements=PIP_REQS)
    mv2 = mlflow.register_model(f"runs:/{run2.info.run_id}/model", name)

    # c. stages (deprecated, FutureWarning) incl. archive_existing_versions
    client = MlflowClient()
    transitions = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        transitions.append(client.transition_model_version_stage(name, 2, "Staging"))
        transitions.append(client.transition_model_version_stage(name, 2, "Production"))
        transitions.append(client.transition_model_version_stage(name, 1, "Production"))
        transitions.append(
            client.transition_model_version_stage(name, 2, "Production", archive_existing_versions=True)
        )
    # d3. alias
    client.set_registered_model_alias(name, "champion", 2)

    return Seed(
        name=name, positional_name=f"{name}-positional", experiment_id=experiment.experiment_id,
        run1=run1.info.run_id, run2=run2.info.run_id, info1=info1, info_pos=info_pos, info2=info2,
        mv2=mv2, transitions=transitions, m1=m1, m2=m2,
    )


@pytest.fixture
def c():
    return MlflowClient()


# ----------------------------------------------------------------------------------- a, a2, b
def test_a_log_model_registers_version_1(seed, c):
    assert str(seed.info1.registered_model_version) == "1"
    assert seed.info1.model_id.startswith("m-")
    assert seed.info1.model_uri == f"models:/{seed.info1.model_id}"
    assert seed.info1.run_id == seed.run1
    mv = c.get_model_version(seed.name, "1")
    assert mv.version == "1"
    assert mv.source == f"models:/{seed.info1.model_id}"
    assert mv.run_id == seed.run1  # derived by the server from the logged model (the client omits run_id)
    assert mv.status == "READY"
    assert mv.current_stage == "Archived"  # after step c4


def test_a_logged_model_is_ready_and_linked_to_the_run(seed, c):
    lm = mlflow.get_logged_model(seed.info1.model_id)
    assert lm.name == "model"
    assert lm.source_run_id == seed.run1
    assert str(lm.status) in ("READY", "LoggedModelStatus.READY")
    assert lm.artifact_location == f"mlflow-artifacts:/{seed.experiment_id}/models/{lm.model_id}/artifacts"
    assert lm.params.get("C") == "1.0"
    run = c.get_run(seed.run1)
    assert [o.model_id for o in run.outputs.model_outputs] == [seed.info1.model_id]
    assert run.info.status == "FINISHED"
    # the server records the registration on the logged model
    assert seed.name in lm.tags.get("mlflow.modelVersions", "")
    # log_model re-logged the run's step-0 metric points with the model's id (reference §6.3)
    assert sorted((m.key, m.value, m.step) for m in lm.metrics) == [("accuracy", 0.8, 0), ("f1", 0.97, 0)]
    assert all(m.model_id == lm.model_id and m.run_id == seed.run1 for m in lm.metrics)


def test_a2_positional_artifact_path_form(seed, c, wine):
    assert str(seed.info_pos.registered_model_version) == "1"
    lm = mlflow.get_logged_model(seed.info_pos.model_id)
    assert lm.name == "model"
    mv = c.get_model_version(seed.positional_name, "1")
    assert mv.source == f"models:/{seed.info_pos.model_id}"
    same_sklearn_model(mlflow.sklearn.load_model(f"models:/{seed.positional_name}/1"), seed.m1, wine.X)


def test_b_register_model_from_runs_uri_is_version_2(seed, c):
    assert seed.mv2.version == "2"
    assert seed.mv2.run_id == seed.run2
    assert seed.mv2.source == f"models:/{seed.info2.model_id}"
    assert seed.mv2.status == "READY"
    rm = c.get_registered_model(seed.name)
    assert rm.name == seed.name


# ------------------------------------------------------------------------------------------- c
def test_c_stage_transitions(seed, c):
    assert [mv.current_stage for mv in seed.transitions] == ["Staging", "Production", "Production", "Production"]
    assert [mv.version for mv in seed.transitions] == ["2", "2", "1", "2"]
    # archive_existing_versions=True archived v1, which was in the target stage
    assert c.get_model_version(seed.name, "1").current_stage == "Archived"
    assert c.get_model_version(seed.name, "2").current_stage == "Production"


# ------------------------------------------------------------------------------------------- d
@pytest.mark.parametrize(
    "uri, which",
    [
        ("models:/{name}/Production", 2),
        ("models:/{name}/production", 2),
        ("models:/{name}/2", 2),
        ("models:/{name}/1", 1),
        ("models:/{name}@champion", 2),
        ("models:/{name}/latest", 2),
        ("models:/{model_id1}", 1),
        ("models:/{model_id2}", 2),
        ("runs:/{run1}/model", 1),
        ("runs:/{run2}/model", 2),
    ],
)
def test_d_load_sklearn(seed, wine, uri, which):
    uri = uri.format(name=seed.name, model_id1=seed.info1.model_id, model_id2=seed.info2.model_id,
                     run1=seed.run1, run2=seed.run2)
    trained = seed.m1 if which == 1 else seed.m2
    same_sklearn_model(mlflow.sklearn.load_model(uri), trained, wine.X)


@pytest.mark.parametrize(
    "uri, which",
    [
        ("models:/{name}@champion", 2),
        ("models:/{name}/Production", 2),
        ("models:/{name}/2", 2),
        ("models:/{model_id1}", 1),
        ("runs:/{run1}/model", 1),
        ("models:/{name}/latest", 2),
    ],
)
def test_d_load_pyfunc(seed, wine, uri, which):
    uri = uri.format(name=seed.name, model_id1=seed.info1.model_id, run1=seed.run1)
    trained = seed.m1 if which == 1 else seed.m2
    model = mlflow.pyfunc.load_model(uri)
    same_predictions(model, trained, wine.X)
    assert model.metadata.model_id in (seed.info1.model_id, seed.info2.model_id)


def test_d_the_input_example_and_signature_travel(seed, wine):
    model = mlflow.pyfunc.load_model(f"models:/{seed.info1.model_id}")
    assert model.metadata.signature is not None
    assert model.metadata.signature.inputs.input_names() == list(wine.X.columns)
    example = model.metadata.load_input_example(
        mlflow.artifacts.download_artifacts(f"models:/{seed.info1.model_id}")
    )
    assert example.shape == (3, wine.X.shape[1])


def test_d_alias_resolution(seed, c):
    mv = c.get_model_version_by_alias(seed.name, "champion")
    assert mv.version == "2"
    assert mv.aliases == ["champion"]
    assert c.get_registered_model(seed.name).aliases == {"champion": "2"}


def test_d_missing_stage_is_a_client_side_error(seed):
    # no Staging version any more: 200 with no versions from get-latest-versions, the client raises
    with pytest.raises(MlflowException, match="No versions of model with name .* and stage 'Staging' found"):
        mlflow.sklearn.load_model(f"models:/{seed.name}/Staging")


# ------------------------------------------------------------------------------------------- e
def test_e_description_and_tags_on_version(seed, c):
    updated = c.update_model_version(seed.name, 2, description="LR C=0.05, promoted")
    assert updated.description == "LR C=0.05, promoted"
    assert updated.version == "2"
    c.set_model_version_tag(seed.name, 2, "approved_by", "luca")
    mv = c.get_model_version(seed.name, 2)
    assert mv.tags == {"approved_by": "luca"}
    assert mv.description == "LR C=0.05, promoted"
    assert mv.aliases == ["champion"]
    assert mv.current_stage == "Production"
    assert mv.run_id == seed.run2


# ------------------------------------------------------------------------------------------- f
def test_f_registry_queries(seed, c):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        prod = c.get_latest_versions(seed.name, stages=["Production"])
        every = c.get_latest_versions(seed.name)
    assert [(v.version, v.current_stage) for v in prod] == [("2", "Production")]
    assert sorted((v.version, v.current_stage) for v in every) == [("1", "Archived"), ("2", "Production")]

    rms = c.search_registered_models(filter_string=f"name='{seed.name}'")
    assert [rm.name for rm in rms] == [seed.name]
    assert sorted(v.version for v in rms[0].latest_versions) == ["1", "2"]

    mvs = c.search_model_versions(f"name='{seed.name}'")
    assert [(v.version, v.current_stage) for v in mvs] == [("2", "Production"), ("1", "Archived")]
    assert [v.version for v in mlflow.search_model_versions(filter_string=f"name='{seed.name}'", max_results=5)] \
        == ["2", "1"]

    uri = c.get_model_version_download_uri(seed.name, 2)
    assert uri == f"mlflow-artifacts:/{seed.experiment_id}/models/{seed.info2.model_id}/artifacts"

    c.set_registered_model_tag(seed.name, "task", "classification")
    c.update_registered_model(seed.name, description="Wine classifier")
    rm = c.get_registered_model(seed.name)
    assert rm.tags == {"task": "classification"}
    assert rm.description == "Wine classifier"
    assert rm.aliases == {"champion": "2"}


def test_f_scratch_model_version_lifecycle(seed, c):
    scratch = f"{seed.name}-scratch"
    c.create_registered_model(scratch, tags={"k": "v"}, description="scratch")
    with pytest.raises(MlflowException) as e:  # a models:/<id> source needs the matching model_id
        c.create_model_version(scratch, f"models:/{seed.info1.model_id}", run_id=seed.run1)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    v1 = c.create_model_version(scratch, f"models:/{seed.info1.model_id}", run_id=seed.run1,
                                model_id=seed.info1.model_id, tags={"t": "1"}, description="d")
    assert (v1.version, v1.status, v1.tags, v1.description) == ("1", "READY", {"t": "1"}, "d")
    v2 = c.create_model_version(scratch, f"runs:/{seed.run1}/model", run_id=seed.run1)
    assert v2.version == "2"
    assert v2.source == f"runs:/{seed.run1}/model"
    c.delete_model_version(scratch, 1)
    with pytest.raises(MlflowException) as e:
        c.get_model_version(scratch, 1)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    c.delete_registered_model(scratch)
    with pytest.raises(MlflowException) as e:
        c.get_registered_model(scratch)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ------------------------------------------------------------------------------------------- g
def test_g_runs_metrics_artifacts(seed, c, wine, tmp_path):
    runs = mlflow.search_runs([seed.experiment_id], "metrics.accuracy > 0", order_by=["start_time DESC"])
    assert list(runs["run_id"]) == [seed.run2, seed.run1]  # the positional run has no metric; newest first
    assert {"metrics.accuracy", "params.C", "tags.team"} <= set(runs.columns)

    history = c.get_metric_history(seed.run1, "accuracy")
    assert [(m.step, m.value) for m in history][:2] == [(0, 0.8), (1, 0.9)]
    assert len(history) == 3  # log_model's re-logging with model_id adds no duplicates
    assert all(m.model_id is None for m in history)  # points come back as they were logged

    assert [(f.path, f.is_dir) for f in c.list_artifacts(seed.run1)] == [("notes", True)]
    assert [(f.path, f.is_dir, f.file_size) for f in c.list_artifacts(seed.run1, "notes")] == [
        ("notes/readme.txt", False, 17)
    ]
    model_files = {f.path for f in c.list_artifacts(seed.run1, "model")}
    assert {"model/MLmodel", "model/model.skops", "model/input_example.json"} <= model_files

    local = c.download_artifacts(seed.run1, "notes/readme.txt", str(tmp_path))
    assert open(local).read() == "hello from run 1\n"
    model_dir = mlflow.artifacts.download_artifacts(f"runs:/{seed.run1}/model", dst_path=str(tmp_path / "m"))
    assert {"MLmodel", "model.skops"} <= set(os.listdir(model_dir))

    run = c.get_run(seed.run1)
    assert run.data.params == {"C": "1.0", "max_iter": "1000", "model": "LogisticRegression"}
    assert run.data.tags["team"] == "wine"
    assert run.data.metrics == {"accuracy": float(seed.m1.score(wine.X, wine.y)), "f1": 0.97}
