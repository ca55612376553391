"""Podium's model directories load in the real MLflow, and MLflow's load in Podium.

Only these tests import ``mlflow``. MLflow 3.17 refuses to deserialize any sklearn or custom
model (skops included) unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``, so every test sets it.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml

mlflow = pytest.importorskip("mlflow")
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402

import podium.pyfunc  # noqa: E402
import podium.sklearn  # noqa: E402
from podium.flavors.model import Model  # noqa: E402
from podium.flavors.signature import infer_signature  # noqa: E402

from . import TREE_TYPE, fitted_logreg, fitted_tree, wine, wine_frame  # noqa: E402


@pytest.fixture(autouse=True)
def _allow_mlflow_to_deserialize(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


class PodiumEcho(podium.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["tag"]) as f:
            self.tag = f.read()
        self.scale = context.model_config.get("scale", 1)

    def predict(self, context, model_input, params=None):
        return model_input.assign(y=model_input["x"] * self.scale, tag=self.tag)


class MlflowEcho(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["tag"]) as f:
            self.tag = f.read()
        self.scale = context.model_config.get("scale", 1)

    def predict(self, context, model_input, params=None):
        return model_input.assign(y=model_input["x"] * self.scale, tag=self.tag)


@pytest.fixture
def tag_file(tmp_path):
    path = tmp_path / "tag.txt"
    path.write_text("v1")
    return path


#: Given to MLflow's save_model so it skips inferring requirements (a subprocess, seconds per save).
FAST = {"pip_requirements": ["scikit-learn"]}


def _flavors(path) -> dict:
    return yaml.safe_load((path / "MLmodel").read_text())["flavors"]


# -- Podium writes, MLflow reads ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_podium_sklearn_model_loads_in_mlflow_and_predicts_identically(tmp_path, fmt):
    X, _ = wine()
    model = fitted_logreg()
    podium.sklearn.save_model(model, tmp_path / "m", serialization_format=fmt, input_example=X[:3])

    expected = model.predict(X)
    assert (mlflow.sklearn.load_model(str(tmp_path / "m")).predict(X) == expected).all()
    assert (mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X) == expected).all()


def test_podium_decision_tree_with_trusted_tree_type_loads_in_mlflow(tmp_path):
    tree, X = fitted_tree()
    podium.sklearn.save_model(tree, tmp_path / "m", skops_trusted_types=[TREE_TYPE])

    assert (mlflow.sklearn.load_model(str(tmp_path / "m")).predict(X) == tree.predict(X)).all()


def test_podium_signature_and_input_example_read_back_in_mlflow(tmp_path):
    df, y = wine_frame()
    podium.sklearn.save_model(fitted_logreg(df, y), tmp_path / "m", input_example=df[:3])

    theirs = mlflow.models.Model.load(str(tmp_path / "m"))
    ours = Model.load(tmp_path / "m")
    assert theirs.signature.to_dict() == ours.signature.to_dict()
    pd.testing.assert_frame_equal(theirs.load_input_example(str(tmp_path / "m")), df[:3].reset_index(drop=True))


def test_podium_custom_model_loads_in_mlflow_with_artifacts_and_config(tmp_path, tag_file):
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=PodiumEcho(), artifacts={"tag": str(tag_file)}, model_config={"scale": 3}
    )

    out = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(pd.DataFrame({"x": [1.0, 2.0]}))

    assert out["y"].tolist() == [3.0, 6.0] and out["tag"].tolist() == ["v1", "v1"]


# -- MLflow writes, Podium reads ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_mlflow_sklearn_model_loads_in_podium(tmp_path, fmt):
    X, _ = wine()
    model = fitted_logreg()
    mlflow.sklearn.save_model(model, str(tmp_path / "m"), serialization_format=fmt, **FAST)

    expected = model.predict(X)
    assert (podium.sklearn.load_model(tmp_path / "m").predict(X) == expected).all()
    assert (podium.pyfunc.load_model(tmp_path / "m").predict(X) == expected).all()


def test_mlflow_decision_tree_loads_in_podium_through_its_recorded_tree_type(tmp_path):
    tree, X = fitted_tree()
    mlflow.sklearn.save_model(tree, str(tmp_path / "m"), skops_trusted_types=[TREE_TYPE], **FAST)

    assert (podium.sklearn.load_model(tmp_path / "m").predict(X) == tree.predict(X)).all()


def test_mlflow_custom_model_loads_in_podium(tmp_path, tag_file):
    mlflow.pyfunc.save_model(
        str(tmp_path / "m"),
        python_model=MlflowEcho(),
        artifacts={"tag": str(tag_file)},
        model_config={"scale": 2},
        **FAST,
    )

    loaded = podium.pyfunc.load_model(tmp_path / "m")
    out = loaded.predict(pd.DataFrame({"x": [1.0]}))

    assert out["y"].tolist() == [2.0] and out["tag"].tolist() == ["v1"]
    assert isinstance(loaded.unwrap_python_model(), MlflowEcho)


def test_mlflow_signature_and_input_example_read_back_in_podium(tmp_path):
    df, y = wine_frame()
    mlflow.sklearn.save_model(fitted_logreg(df, y), str(tmp_path / "m"), input_example=df[:3], **FAST)

    ours = Model.load(tmp_path / "m")
    theirs = mlflow.models.Model.load(str(tmp_path / "m"))
    assert ours.signature.to_dict() == theirs.signature.to_dict()
    assert ours.mlflow_version == mlflow.__version__ and "prompts" in ours.extra
    pd.testing.assert_frame_equal(ours.load_input_example(tmp_path / "m"), df[:3].reset_index(drop=True))


# -- same bytes, same shapes -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ndarray", "dataframe"])
def test_input_example_files_and_inferred_signature_match_mlflows(tmp_path, kind):
    X, y = wine()
    if kind == "ndarray":
        example, model = X[:3], fitted_logreg()
    else:
        df, y = wine_frame()
        example, model = df[:3], fitted_logreg(df, y)
    podium.sklearn.save_model(model, tmp_path / "ours", input_example=example)
    mlflow.sklearn.save_model(model, str(tmp_path / "theirs"), input_example=example, **FAST)

    for name in ("input_example.json", "serving_input_example.json"):
        assert (tmp_path / "ours" / name).read_text() == (tmp_path / "theirs" / name).read_text()
    ours, theirs = (yaml.safe_load((tmp_path / d / "MLmodel").read_text()) for d in ("ours", "theirs"))
    assert ours["saved_input_example_info"] == theirs["saved_input_example_info"]
    assert ours["signature"] == theirs["signature"]


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_sklearn_flavor_sections_match_mlflows(tmp_path, fmt):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "ours", serialization_format=fmt)
    mlflow.sklearn.save_model(fitted_logreg(), str(tmp_path / "theirs"), serialization_format=fmt, **FAST)

    assert _flavors(tmp_path / "ours") == _flavors(tmp_path / "theirs")


def test_custom_model_flavor_section_matches_mlflows(tmp_path, tag_file):
    podium.pyfunc.save_model(
        tmp_path / "ours",
        python_model=PodiumEcho(),
        artifacts={"tag": str(tag_file)},
        model_config={"scale": 1},
    )
    mlflow.pyfunc.save_model(
        str(tmp_path / "theirs"),
        python_model=MlflowEcho(),
        artifacts={"tag": str(tag_file)},
        model_config={"scale": 1},
        **FAST,
    )

    assert _flavors(tmp_path / "ours") == _flavors(tmp_path / "theirs")
    assert sorted(os.listdir(tmp_path / "ours")) == sorted(os.listdir(tmp_path / "theirs"))


def test_environment_files_have_mlflows_shapes_without_mlflow(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "ours")
    mlflow.sklearn.save_model(fitted_logreg(), str(tmp_path / "theirs"))

    def env(d):
        return (
            (tmp_path / d / "requirements.txt").read_text().split(),
            yaml.safe_load((tmp_path / d / "python_env.yaml").read_text()),
            yaml.safe_load((tmp_path / d / "conda.yaml").read_text()),
        )

    (our_reqs, our_py, our_conda), (their_reqs, their_py, their_conda) = env("ours"), env("theirs")
    assert set(our_reqs) <= set(their_reqs) and not any(r.startswith("mlflow") for r in our_reqs)
    assert our_py == their_py
    assert our_conda["dependencies"][:2] == their_conda["dependencies"][:2]
    assert {k: v for k, v in our_conda.items() if k != "dependencies"} == {
        k: v for k, v in their_conda.items() if k != "dependencies"
    }


@pytest.mark.parametrize(
    ("model_input", "model_output", "params"),
    [
        (np.zeros((4, 3)), np.zeros(4, dtype="int64"), None),
        (np.zeros((4, 2, 3), dtype="float32"), None, None),
        (
            pd.DataFrame({"a": [1.0, None], "b": [1, 2], "c": ["x", "y"], "d": [True, False]}),
            pd.Series([1, 2]),
            None,
        ),
        (
            pd.DataFrame({"e": np.array([1, 2], dtype="int32"), "f": np.array([1, 2], dtype="float32")}),
            pd.DataFrame({"o": [1.0, 2.0]}),
            None,
        ),
        (
            pd.DataFrame({"g": pd.to_datetime(["2020-01-01", "2020-01-02"]), "h": [b"a", b"b"]}),
            ["p", "q"],
            None,
        ),
        (np.zeros((1, 2)), None, {"alpha": 0.5, "n": 3, "flag": True, "name": "x", "ids": [1, 2]}),
    ],
)
def test_infer_signature_matches_mlflows(model_input, model_output, params):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hint about integer columns
        theirs = mlflow.models.infer_signature(model_input, model_output, params=params).to_dict()
    assert infer_signature(model_input, model_output, params=params).to_dict() == theirs
    assert json.loads(theirs["inputs"])  # sanity: non-empty
