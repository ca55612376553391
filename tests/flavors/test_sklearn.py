"""The scikit-learn flavor: layout, formats, round trips, errors and the skops trust rules."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml

import podium.pyfunc
import podium.sklearn
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.flavors import sklearn as flavor
from podium.flavors.model import Model
from podium.flavors.signature import infer_signature

from . import TREE_TYPE, fitted_logreg, fitted_tree, wine, wine_frame

#: Records every __setstate__ call: proof of whether loading ran this class's code.
SETSTATE_CALLS: list[str] = []


class Payload:
    """A custom class whose rebuilding runs code (as an attacker's class would)."""

    def __init__(self):
        self.state = "anything"

    def __setstate__(self, state):
        SETSTATE_CALLS.append("ran")
        self.__dict__.update(state)


def _mlmodel(path) -> dict:
    return yaml.safe_load((path / "MLmodel").read_text())


def _set_recorded_types(path, types) -> None:
    data = _mlmodel(path)
    data["flavors"]["sklearn"]["skops_trusted_types"] = types
    (path / "MLmodel").write_text(yaml.safe_dump(data))


# -- layout ------------------------------------------------------------------------------------


def test_save_writes_mlflows_layout_with_skops_by_default(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "m")

    assert sorted(os.listdir(tmp_path / "m")) == [
        "MLmodel",
        "conda.yaml",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
    ]
    data = _mlmodel(tmp_path / "m")
    import sklearn

    assert data["flavors"]["sklearn"] == {
        "pickled_model": "model.skops",
        "serialization_format": "skops",
        "sklearn_version": sklearn.__version__,
        "code": None,
        "skops_trusted_types": None,
    }
    pyfunc = data["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn" and pyfunc["model_path"] == "model.skops"
    assert pyfunc["predict_fn"] == "predict" and pyfunc["env"] == {
        "conda": "conda.yaml",
        "virtualenv": "python_env.yaml",
    }
    assert "mlflow_version" not in data and data["podium_version"]
    assert data["model_size_bytes"] == sum(
        os.path.getsize(tmp_path / "m" / f) for f in os.listdir(tmp_path / "m") if f != "MLmodel"
    )


def test_requirements_list_the_flavors_packages_and_not_mlflow(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "skops")
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "cp", serialization_format="cloudpickle")

    skops_reqs = (tmp_path / "skops" / "requirements.txt").read_text().split()
    cp_reqs = (tmp_path / "cp" / "requirements.txt").read_text().split()
    import sklearn
    import skops

    assert f"scikit-learn=={sklearn.__version__}" in skops_reqs and f"skops=={skops.__version__}" in skops_reqs
    assert f"numpy=={np.__version__}" in skops_reqs
    assert any(r.startswith("cloudpickle==") for r in cp_reqs) and not any(r.startswith("skops") for r in cp_reqs)
    assert not any(r.startswith("mlflow") for r in skops_reqs + cp_reqs)


def test_pip_requirements_and_extras_are_honoured(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "a", pip_requirements=["scikit-learn", "extra==1"])
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "b", extra_pip_requirements=["extra==1"])

    assert (tmp_path / "a" / "requirements.txt").read_text().split() == ["scikit-learn", "extra==1"]
    b = (tmp_path / "b" / "requirements.txt").read_text().split()
    assert b[-1] == "extra==1" and any(r.startswith("scikit-learn==") for r in b)


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_each_format_loads_back_and_predicts_like_the_original(tmp_path, fmt):
    X, _ = wine()
    model = fitted_logreg()
    podium.sklearn.save_model(model, tmp_path / "m", serialization_format=fmt)

    assert os.path.exists(tmp_path / "m" / ("model.skops" if fmt == "skops" else "model.pkl"))
    assert (podium.sklearn.load_model(tmp_path / "m").predict(X) == model.predict(X)).all()
    assert (podium.pyfunc.load_model(str(tmp_path / "m")).predict(X) == model.predict(X)).all()


def test_pyfunc_predict_fn_selects_the_method_pyfunc_calls(tmp_path):
    X, _ = wine()
    model = fitted_logreg()
    podium.sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn="predict_proba")

    loaded = podium.pyfunc.load_model(tmp_path / "m")

    np.testing.assert_allclose(loaded.predict(X[:5]), model.predict_proba(X[:5]))
    assert loaded.get_raw_model().__class__.__name__ == "LogisticRegression"
    assert loaded.loader_module == "mlflow.sklearn"


def test_input_example_is_saved_and_the_signature_inferred_from_it(tmp_path):
    df, y = wine_frame()
    podium.sklearn.save_model(fitted_logreg(df, y), tmp_path / "m", input_example=df[:3])

    model = Model.load(tmp_path / "m")
    assert model.saved_input_example_info["type"] == "dataframe"
    assert json.loads(model.signature.to_dict()["inputs"])[0] == {
        "type": "double",
        "name": "a",
        "required": True,
    }
    assert model.signature.to_dict()["outputs"] == '[{"type": "long", "required": true}]'
    assert model.load_input_example(tmp_path / "m").equals(df[:3].reset_index(drop=True))


def test_an_explicit_signature_wins_and_metadata_is_recorded(tmp_path):
    X, y = wine()
    signature = infer_signature(X, y)
    podium.sklearn.save_model(
        fitted_logreg(), tmp_path / "m", signature=signature, input_example=X[:2], metadata={"owner": "me"}
    )

    model = Model.load(tmp_path / "m")
    assert model.signature == signature and model.metadata == {"owner": "me"}


def test_pyfunc_applies_the_signature_to_dataframe_input(tmp_path):
    df, y = wine_frame()
    podium.sklearn.save_model(fitted_logreg(df, y), tmp_path / "m", input_example=df[:3])
    shuffled = df[["d", "c", "b", "a"]].assign(extra=1)

    assert (podium.pyfunc.load_model(tmp_path / "m").predict(shuffled) == fitted_logreg(df, y).predict(df)).all()
    with pytest.raises(InvalidParameterValue, match="missing inputs"):
        podium.pyfunc.load_model(tmp_path / "m").predict(df[["a", "b"]])


def test_code_paths_and_extra_files_are_copied_and_recorded(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    (tmp_path / "notes.txt").write_text("hi")
    podium.sklearn.save_model(
        fitted_logreg(),
        tmp_path / "m",
        code_paths=[str(tmp_path / "helper.py")],
        extra_files=[str(tmp_path / "notes.txt")],
    )

    data = _mlmodel(tmp_path / "m")
    assert (tmp_path / "m" / "code" / "helper.py").exists() and (tmp_path / "m" / "extra_files" / "notes.txt").exists()
    assert data["flavors"]["sklearn"]["code"] == "code" and data["flavors"]["python_function"]["code"] == "code"
    assert data["flavors"]["sklearn"]["extra_files"] == [{"path": "extra_files/notes.txt"}]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"serialization_format": "joblib"}, InvalidParameterValue),
        ({"pyfunc_predict_fn": "transform"}, InvalidParameterValue),
        ({"skops_trusted_types": "sklearn.tree._tree.Tree"}, InvalidParameterValue),
        ({"pip_requirements": ["a"], "extra_pip_requirements": ["b"]}, InvalidParameterValue),
        ({"code_paths": ["/does/not/exist.py"]}, InvalidParameterValue),
        ({"signature": {"inputs": "[]"}}, InvalidParameterValue),
    ],
)
def test_bad_save_arguments_raise_and_leave_no_directory(tmp_path, kwargs, error):
    with pytest.raises(error) as err:
        podium.sklearn.save_model(fitted_logreg(), tmp_path / "m", **kwargs)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "m").exists()


def test_saving_into_a_non_empty_directory_is_resource_already_exists(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "m")
    with pytest.raises(ResourceAlreadyExists) as err:
        podium.sklearn.save_model(fitted_logreg(), tmp_path / "m")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_loading_a_model_without_the_sklearn_flavor_is_resource_does_not_exist(tmp_path):
    Model().add_flavor("python_function", loader_module="mlflow.pyfunc.model").save(tmp_path)
    with pytest.raises(ResourceDoesNotExist):
        podium.sklearn.load_model(tmp_path)
    with pytest.raises(ResourceDoesNotExist):
        podium.sklearn.load_model(tmp_path / "nowhere")


def test_an_mlmodel_pointing_outside_its_directory_is_refused(tmp_path):
    podium.sklearn.save_model(fitted_logreg(), tmp_path / "m", serialization_format="pickle")
    data = _mlmodel(tmp_path / "m")
    data["flavors"]["sklearn"]["pickled_model"] = "../elsewhere.pkl"
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidParameterValue, match="outside the model directory"):
        podium.sklearn.load_model(tmp_path / "m")


# -- skops trust -------------------------------------------------------------------------------


def test_a_decision_tree_cannot_be_saved_without_trusting_the_tree_type(tmp_path):
    tree, _ = fitted_tree()
    with pytest.raises(InvalidParameterValue) as err:
        podium.sklearn.save_model(tree, tmp_path / "m")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert TREE_TYPE in err.value.message and "skops_trusted_types" in err.value.message
    assert not (tmp_path / "m").exists()


def test_a_decision_tree_saved_with_the_tree_type_records_it_and_loads(tmp_path):
    tree, X = fitted_tree()
    podium.sklearn.save_model(tree, tmp_path / "m", skops_trusted_types=[TREE_TYPE])

    assert _mlmodel(tmp_path / "m")["flavors"]["sklearn"]["skops_trusted_types"] == [TREE_TYPE]
    assert (podium.sklearn.load_model(tmp_path / "m").predict(X) == tree.predict(X)).all()
    assert (podium.pyfunc.load_model(tmp_path / "m").predict(X) == tree.predict(X)).all()


def test_an_unrecorded_tree_type_needs_explicit_trust_at_load(tmp_path):
    tree, X = fitted_tree()
    podium.sklearn.save_model(tree, tmp_path / "m", skops_trusted_types=[TREE_TYPE])
    _set_recorded_types(tmp_path / "m", None)

    with pytest.raises(InvalidParameterValue, match="skops_trusted_types="):
        podium.sklearn.load_model(tmp_path / "m")
    loaded = podium.sklearn.load_model(tmp_path / "m", skops_trusted_types=[TREE_TYPE])
    assert (loaded.predict(X) == tree.predict(X)).all()


def test_a_recorded_function_like_os_system_is_refused_at_load(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    system = f"{os.system.__module__}.{os.system.__name__}"
    podium.sklearn.save_model(FunctionTransformer(os.system), tmp_path / "m", skops_trusted_types=[system])
    assert _mlmodel(tmp_path / "m")["flavors"]["sklearn"]["skops_trusted_types"] == [system]

    with pytest.raises(InvalidParameterValue) as err:
        podium.sklearn.load_model(tmp_path / "m")
    assert system in err.value.message
    with pytest.raises(InvalidParameterValue):
        podium.pyfunc.load_model(tmp_path / "m")


def test_a_recorded_custom_class_is_refused_and_none_of_its_code_runs(tmp_path):
    model = fitted_logreg()
    model.payload = Payload()
    payload_type = f"{Payload.__module__}.{Payload.__qualname__}"
    podium.sklearn.save_model(model, tmp_path / "m", skops_trusted_types=[payload_type])
    SETSTATE_CALLS.clear()

    with pytest.raises(InvalidParameterValue) as err:
        podium.sklearn.load_model(tmp_path / "m")
    assert payload_type in err.value.message
    assert SETSTATE_CALLS == []

    # the same file loads once the caller vouches for the type, and then its code does run
    podium.sklearn.load_model(tmp_path / "m", skops_trusted_types=[payload_type])
    assert SETSTATE_CALLS == ["ran"]


@pytest.mark.parametrize(
    ("name", "eligible"),
    [
        (TREE_TYPE, True),
        ("sklearn.neighbors._kd_tree.KDTree", True),
        ("scipy.sparse._csr.csr_matrix", True),
        ("numpy.dtype", True),
        ("numpy.random.mtrand.RandomState", True),
        ("posix.system", False),  # not under an eligible root
        ("numpy.load", False),  # a function, not a class
        ("numpy.memmap", False),  # creates files
        ("numpy.lib._datasource.DataSource", False),  # deletes directories when collected
        ("sklearn.base.np.memmap", False),  # an alias, not the class's own name
        ("sklearn.utils._testing.TempMemmap", False),  # denied module
        ("sklearn.datasets._base.Bunch", False),
        ("scipy.sparse.load_npz", False),
        ("sklearn.tree._tree.NoSuchClass", False),
    ],
)
def test_only_scikit_learn_numpy_and_sparse_classes_are_eligible_for_recorded_trust(name, eligible):
    assert flavor._is_eligible(name) is eligible


def test_the_shims_reexport_the_flavor_modules():
    assert podium.sklearn.save_model is flavor.save_model
    assert set(podium.sklearn.__all__) >= {
        "save_model",
        "load_model",
        "log_model",
        "SERIALIZATION_FORMAT_SKOPS",
    }
    assert podium.sklearn.SERIALIZATION_FORMAT_PICKLE == "pickle" and podium.sklearn.FLAVOR_NAME == "sklearn"
