"""``mlflow.sklearn.autolog()`` against ``podium server`` (reference trace 38, step x03)."""

from __future__ import annotations

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from .helpers import same_predictions

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")


@pytest.fixture
def autolog():
    yield mlflow.sklearn.autolog
    mlflow.sklearn.autolog(disable=True)


def _identity(X, pad=None):
    return X


def test_sklearn_autolog_logs_params_metrics_dataset_and_model(autolog, unique, wine):
    mlflow.set_experiment(unique("autolog"))
    autolog(log_models=True, log_input_examples=False, silent=True)
    with mlflow.start_run() as run:
        model = LogisticRegression(C=0.5, max_iter=500).fit(wine.X, wine.y)
    got = MlflowClient().get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5" and got.data.params["max_iter"] == "500"
    assert got.data.metrics["training_accuracy_score"] == pytest.approx(model.score(wine.X, wine.y))
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["dataset"]
    [output] = got.outputs.model_outputs
    logged = mlflow.get_logged_model(output.model_id)
    assert logged.source_run_id == run.info.run_id
    same_predictions(mlflow.pyfunc.load_model(f"models:/{output.model_id}"), model, wine.X)
    same_predictions(mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model"), model, wine.X)


def test_autolog_with_a_long_param_keeps_every_param(autolog, unique, wine):
    mlflow.set_experiment(unique("autolog"))
    autolog(log_models=False, silent=True)
    with mlflow.start_run() as run:
        make_pipeline(FunctionTransformer(_identity, kw_args={"pad": "x" * 7000}),
                      LogisticRegression(max_iter=500)).fit(wine.X, wine.y)
    params = MlflowClient().get_run(run.info.run_id).data.params
    assert params["logisticregression__max_iter"] == "500"
    assert len(params["functiontransformer__kw_args"]) == 6000
