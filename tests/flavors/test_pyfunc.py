"""The python_function flavor: custom PythonModels, artifacts, config, loader dispatch, errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import yaml

import podium.pyfunc
import podium.sklearn
from podium.errors import InvalidParameterValue, NotImplementedByPodium, ResourceDoesNotExist
from podium.flavors.model import Model
from podium.version import __version__

from . import fitted_logreg


class Greeter(podium.pyfunc.PythonModel):
    """Reads a word from an artifact and a repeat count from the model config."""

    def load_context(self, context):
        with open(context.artifacts["word"]) as f:
            self.word = f.read().strip()
        self.times = context.model_config.get("times", 1)

    def predict(self, context, model_input, params=None):
        suffix = (params or {}).get("suffix", "")
        return [f"{self.word * self.times} {name}{suffix}" for name in model_input["name"]]


class Doubler(podium.pyfunc.PythonModel):
    """A model whose predict takes no context (MLflow 3 allows that)."""

    def predict(self, model_input):
        return model_input * 2


@pytest.fixture
def word_file(tmp_path):
    path = tmp_path / "word.txt"
    path.write_text("hi")
    return path


def _mlmodel(path) -> dict:
    return yaml.safe_load((path / "MLmodel").read_text())


def test_a_custom_model_is_saved_in_mlflows_layout(tmp_path, word_file):
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)}, model_config={"times": 2}
    )

    assert sorted(os.listdir(tmp_path / "m")) == [
        "MLmodel",
        "artifacts",
        "conda.yaml",
        "python_env.yaml",
        "python_model.pkl",
        "requirements.txt",
    ]
    assert (tmp_path / "m" / "artifacts" / "word.txt").read_text() == "hi"
    conf = _mlmodel(tmp_path / "m")["flavors"]["python_function"]
    import cloudpickle

    assert conf == {
        "loader_module": "mlflow.pyfunc.model",
        "python_model": "python_model.pkl",
        "cloudpickle_version": cloudpickle.__version__,
        "code": None,
        "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
        "python_version": conf["python_version"],
        "streamable": False,
        "artifacts": {"word": {"path": "artifacts/word.txt", "uri": str(word_file)}},
        "config": {"times": 2},
    }
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert reqs == [f"cloudpickle=={cloudpickle.__version__}", f"podium=={__version__}"]


def test_load_context_gets_local_artifact_paths_and_the_model_config(tmp_path, word_file):
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)}, model_config={"times": 2}
    )
    word_file.unlink()  # the loaded model must use its own copy

    model = podium.pyfunc.load_model(tmp_path / "m")

    assert model.predict(pd.DataFrame({"name": ["ann"]})) == ["hihi ann"]
    assert model.predict(pd.DataFrame({"name": ["bo"]}), params={"suffix": "!"}) == ["hihi bo!"]
    assert model.model_config == {"times": 2}
    assert isinstance(model.unwrap_python_model(), Greeter)
    assert isinstance(model.metadata, Model) and model.loader_module == "mlflow.pyfunc.model"


def test_model_config_given_at_load_overrides_the_saved_one(tmp_path, word_file):
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)}, model_config={"times": 2}
    )

    model = podium.pyfunc.load_model(tmp_path / "m", model_config={"times": 3})

    assert model.predict(pd.DataFrame({"name": ["x"]})) == ["hihihi x"]


def test_predict_without_a_context_parameter_and_plain_functions_work(tmp_path):
    podium.pyfunc.save_model(tmp_path / "a", python_model=Doubler())
    podium.pyfunc.save_model(tmp_path / "b", python_model=lambda x: x + 1)

    assert (podium.pyfunc.load_model(tmp_path / "a").predict(np.array([1, 2])) == [2, 4]).all()
    assert (podium.pyfunc.load_model(tmp_path / "b").predict(np.array([1, 2])) == [2, 3]).all()


def test_the_signature_is_inferred_from_the_example_by_running_the_saved_model(tmp_path, word_file):
    example = pd.DataFrame({"name": ["ann", "bo"]})
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)}, input_example=example
    )

    meta = Model.load(tmp_path / "m")
    assert meta.signature.to_dict()["inputs"] == '[{"type": "string", "name": "name", "required": true}]'
    assert meta.signature.to_dict()["outputs"] == '[{"type": "string", "required": true}]'
    assert meta.load_input_example(tmp_path / "m").equals(example)


def test_signature_params_supply_defaults_to_predict(tmp_path, word_file):
    from podium.flavors.signature import infer_signature

    signature = infer_signature(pd.DataFrame({"name": ["a"]}), params={"suffix": "?"})
    podium.pyfunc.save_model(
        tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)}, signature=signature
    )

    model = podium.pyfunc.load_model(tmp_path / "m")

    assert model.predict(pd.DataFrame({"name": ["a"]})) == ["hi a?"]
    assert model.predict(pd.DataFrame({"name": ["a"]}), params={"suffix": "."}) == ["hi a."]


def test_pyfunc_load_dispatches_sklearn_models_to_the_sklearn_loader(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "m")
    model = podium.pyfunc.load_model(tmp_path / "m")

    assert model.loader_module == "mlflow.sklearn"
    with pytest.raises(InvalidParameterValue, match="unwrap_python_model"):
        model.unwrap_python_model()


# -- errors ------------------------------------------------------------------------------------


def test_an_unknown_loader_module_is_not_implemented_and_names_the_module(tmp_path):
    Model().add_flavor("python_function", loader_module="mlflow.xgboost").save(tmp_path)

    with pytest.raises(NotImplementedByPodium) as err:
        podium.pyfunc.load_model(tmp_path)
    assert err.value.error_code == "NOT_IMPLEMENTED" and "mlflow.xgboost" in err.value.message


def test_a_model_without_python_function_flavor_is_resource_does_not_exist(tmp_path):
    Model().add_flavor("sklearn", pickled_model="model.pkl").save(tmp_path)
    with pytest.raises(ResourceDoesNotExist) as err:
        podium.pyfunc.load_model(tmp_path)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidParameterValue),
        ({"python_model": 42}, InvalidParameterValue),
        ({"python_model": "model_code.py"}, NotImplementedByPodium),
        ({"python_model": Doubler(), "artifacts": {"x": "/does/not/exist"}}, InvalidParameterValue),
        ({"python_model": Doubler(), "artifacts": ["not", "a", "dict"]}, InvalidParameterValue),
        ({"python_model": Doubler(), "model_config": 3}, InvalidParameterValue),
        ({"python_model": Doubler(), "conda_env": {}, "pip_requirements": ["a"]}, InvalidParameterValue),
    ],
)
def test_bad_save_arguments_raise_and_leave_no_directory(tmp_path, kwargs, error):
    with pytest.raises(error):
        podium.pyfunc.save_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_models_from_code_are_not_implemented_at_load(tmp_path):
    Model().add_flavor("python_function", loader_module="mlflow.pyfunc.model", model_code_path="code.py").save(tmp_path)
    with pytest.raises(NotImplementedByPodium, match="models-from-code"):
        podium.pyfunc.load_model(tmp_path)


def test_an_artifact_path_outside_the_model_directory_is_refused(tmp_path, word_file):
    podium.pyfunc.save_model(tmp_path / "m", python_model=Greeter(), artifacts={"word": str(word_file)})
    data = _mlmodel(tmp_path / "m")
    data["flavors"]["python_function"]["artifacts"]["word"]["path"] = "../../etc/passwd"
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(data))

    with pytest.raises(InvalidParameterValue, match="outside the model directory"):
        podium.pyfunc.load_model(tmp_path / "m")


def test_the_shim_reexports_the_flavor_module():
    import podium.flavors.pyfunc as flavor

    assert podium.pyfunc.load_model is flavor.load_model and podium.pyfunc.PythonModel is flavor.PythonModel
    assert set(podium.pyfunc.__all__) >= {
        "PythonModel",
        "PythonModelContext",
        "PyFuncModel",
        "save_model",
        "load_model",
        "log_model",
    }
