"""The MLmodel file, signatures, input examples and environment files (no flavor involved)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.flavors import environment
from podium.flavors.model import Model, ModelInfo, name_from_log_args, new_model_dir, safe_join
from podium.flavors.signature import (
    ModelSignature,
    apply_signature,
    infer_signature,
    load_input_example,
    save_input_example,
)

REPO = Path(__file__).resolve().parents[2]

# -- MLmodel ---------------------------------------------------------------------------------


def test_mlmodel_round_trips_through_yaml_keeping_unknown_keys(tmp_path):
    model = Model(run_id="r1", model_id="m-1", metadata={"team": "x"}, prompts=None, custom_key={"a": 1})
    model.add_flavor("python_function", loader_module="mlflow.sklearn", model_path="model.skops")
    model.signature = infer_signature(np.zeros((2, 3)), np.zeros(2, dtype="int64"))
    model.save(tmp_path)

    loaded = Model.load(tmp_path)

    assert loaded == model
    assert loaded.extra == {"prompts": None, "custom_key": {"a": 1}}
    assert loaded.signature == model.signature
    assert loaded.flavors["python_function"]["loader_module"] == "mlflow.sklearn"


def test_mlmodel_is_sorted_yaml_with_model_id_even_when_null_and_no_other_nulls(tmp_path):
    model = Model(model_uuid="abc", utc_time_created="2026-01-01 00:00:00.000001")
    model.save(tmp_path / "MLmodel")

    text = (tmp_path / "MLmodel").read_text()
    data = yaml.safe_load(text)

    assert data == {
        "flavors": {},
        "model_id": None,
        "model_uuid": "abc",
        "utc_time_created": "2026-01-01 00:00:00.000001",
    }
    assert list(data) == sorted(data)


def test_model_load_accepts_the_directory_the_file_and_a_file_uri(tmp_path):
    Model(model_uuid="u1").save(tmp_path)

    for where in (tmp_path, tmp_path / "MLmodel", tmp_path.as_uri(), str(tmp_path)):
        assert Model.load(where).model_uuid == "u1"


def test_model_load_without_mlmodel_is_resource_does_not_exist(tmp_path):
    with pytest.raises(ResourceDoesNotExist) as err:
        Model.load(tmp_path)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_load_of_invalid_yaml_is_invalid_parameter_value(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: [unclosed\n")
    with pytest.raises(InvalidParameterValue) as err:
        Model.load(tmp_path)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_model_info_is_built_from_the_model_and_its_uri():
    model = Model(artifact_path="model", run_id="r", model_id="m-1", metadata={"k": 1})
    model.add_flavor("sklearn", pickled_model="model.skops")

    info = ModelInfo.from_model(model, "models:/m-1", name="model")

    assert (info.model_uri, info.model_id, info.run_id, info.name) == ("models:/m-1", "m-1", "r", "model")
    assert info.model_uuid == model.model_uuid and info.flavors == model.flavors
    assert info.registered_model_version is None and info.metadata == {"k": 1}


def test_safe_join_refuses_paths_that_leave_the_model_directory(tmp_path):
    assert safe_join(str(tmp_path), "model.skops") == str(tmp_path.resolve() / "model.skops")
    for bad in ("../secret", "/etc/passwd", "", None, "a/../../b"):
        with pytest.raises(InvalidParameterValue):
            safe_join(str(tmp_path), bad)


def test_new_model_dir_refuses_a_non_empty_path_and_cleans_up_after_failure(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ResourceAlreadyExists):
        with new_model_dir(tmp_path / "full"):
            pass
    with pytest.raises(RuntimeError):
        with new_model_dir(tmp_path / "new") as d:
            Path(d, "partial").write_text("x")
            raise RuntimeError("boom")
    assert not (tmp_path / "new").exists()


def test_artifact_path_is_a_deprecated_alias_of_name():
    assert name_from_log_args(None, "m") == "m"
    with pytest.warns(FutureWarning, match="`artifact_path` is deprecated"):
        assert name_from_log_args("m", None) == "m"
    with pytest.raises(InvalidParameterValue):
        name_from_log_args("a", "b")


def test_importing_the_flavors_loads_no_ml_library_and_podium_never_imports_mlflow():
    code = (
        "import sys, podium.flavors.model, podium.flavors.signature, podium.flavors.environment, "
        "podium.sklearn, podium.pyfunc\n"
        "print(sorted(m for m in ('sklearn', 'numpy', 'pandas', 'skops', 'cloudpickle', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    importing = re.compile(r"^\s*(import|from)\s+mlflow\b", re.MULTILINE)
    assert not [p for p in (REPO / "podium").rglob("*.py") if importing.search(p.read_text())]


# -- signatures ------------------------------------------------------------------------------


def test_ndarray_signature_is_a_tensor_spec_stored_as_json_strings():
    sig = infer_signature(np.zeros((5, 13)), np.zeros(5, dtype="int64"))
    assert sig.to_dict() == {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 13]}}]',
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
        "params": None,
    }


def test_dataframe_signature_has_one_column_spec_per_column_and_optional_columns_with_nulls():
    df = pd.DataFrame({"a": [1.0, None], "b": [1, 2], "c": ["x", "y"], "d": [True, False]})
    specs = json.loads(infer_signature(df).to_dict()["inputs"])
    assert specs == [
        {"type": "double", "name": "a", "required": False},
        {"type": "long", "name": "b", "required": True},
        {"type": "string", "name": "c", "required": True},
        {"type": "boolean", "name": "d", "required": True},
    ]


def test_signature_params_record_type_default_and_shape():
    sig = infer_signature(np.zeros((1, 2)), params={"alpha": 0.5, "ids": [1, 2]})
    assert json.loads(sig.to_dict()["params"]) == [
        {"name": "alpha", "default": 0.5, "shape": None, "type": "double"},
        {"name": "ids", "default": [1, 2], "shape": [-1], "type": "long"},
    ]


def test_signature_round_trips_through_its_dict():
    sig = infer_signature(pd.DataFrame({"a": [1.0]}), pd.Series([1]), params={"k": "v"})
    assert ModelSignature.from_dict(sig.to_dict()) == sig


def test_infer_signature_of_unsupported_data_is_invalid_parameter_value():
    with pytest.raises(InvalidParameterValue):
        infer_signature(object())


def test_apply_signature_orders_columns_drops_extras_and_reports_missing_ones():
    sig = infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    adapted = apply_signature(pd.DataFrame({"z": [0], "b": [2], "a": [1.0]}), sig)
    assert list(adapted.columns) == ["a", "b"] and adapted["b"].dtype == np.float64
    assert list(apply_signature({"a": 1.0, "b": 2.0}, sig).columns) == ["a", "b"]
    with pytest.raises(InvalidParameterValue, match="missing inputs \\['b'\\]"):
        apply_signature(pd.DataFrame({"a": [1.0]}), sig)


def test_apply_signature_turns_tabular_input_into_a_checked_array_for_tensor_specs():
    sig = infer_signature(np.zeros((2, 3)))
    out = apply_signature(pd.DataFrame(np.ones((2, 3), dtype="int32")), sig)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    with pytest.raises(InvalidParameterValue, match="Shape"):
        apply_signature(np.zeros((2, 4)), sig)


# -- input examples ----------------------------------------------------------------------------


def test_ndarray_example_is_written_as_nested_lists_and_a_serving_body(tmp_path):
    info = save_input_example(str(tmp_path), np.array([[1.5, 2.0], [3.0, 4.0]]))

    assert info == {
        "artifact_path": "input_example.json",
        "serving_input_path": "serving_input_example.json",
        "type": "ndarray",
    }
    assert (tmp_path / "input_example.json").read_text() == "[[1.5, 2.0], [3.0, 4.0]]"
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == {"inputs": [[1.5, 2.0], [3.0, 4.0]]}


def test_dataframe_example_is_written_in_split_orient_without_index(tmp_path):
    df = pd.DataFrame({"a": [1.0, np.nan], "i": [3, 4]}, index=[7, 8])
    info = save_input_example(str(tmp_path), df)

    assert info["type"] == "dataframe" and info["pandas_orient"] == "split"
    assert (tmp_path / "input_example.json").read_text() == '{"columns": ["a", "i"], "data": [[1.0, 3], [NaN, 4]]}'
    serving = json.loads((tmp_path / "serving_input_example.json").read_text())
    assert serving == {
        "dataframe_split": {
            "columns": ["a", "i"],
            "data": [[1.0, 3], [pytest.approx(np.nan, nan_ok=True), 4]],
        }
    }
    back = load_input_example(str(tmp_path), info)
    pd.testing.assert_frame_equal(back, df.reset_index(drop=True))


def test_json_example_round_trips_and_ndarray_example_gets_the_signature_dtype(tmp_path):
    info = save_input_example(str(tmp_path / "."), {"x": [1, 2]})
    assert info["type"] == "json_object" and load_input_example(str(tmp_path), info) == {"x": [1, 2]}

    arr = np.array([[1, 2]], dtype="float32")
    save_input_example(str(tmp_path), arr)
    back = load_input_example(
        str(tmp_path), {"artifact_path": "input_example.json", "type": "ndarray"}, infer_signature(arr)
    )
    assert back.dtype == np.float32 and (back == arr).all()


def test_unsupported_example_is_invalid_parameter_value(tmp_path):
    with pytest.raises(InvalidParameterValue):
        save_input_example(str(tmp_path), object())


# -- environment files -------------------------------------------------------------------------


def _env_files(path):
    reqs = (path / "requirements.txt").read_text().split()
    return (
        reqs,
        yaml.safe_load((path / "python_env.yaml").read_text()),
        yaml.safe_load((path / "conda.yaml").read_text()),
    )


def test_default_environment_pins_installed_versions_in_mlflow_shapes(tmp_path):
    defaults = environment.pinned_requirements(["numpy", "not-a-real-package-xyz"])
    env = environment.write_environment(str(tmp_path), defaults)
    reqs, python_env, conda = _env_files(tmp_path)

    assert env == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert reqs == [f"numpy=={np.__version__}"]
    assert python_env["python"] == environment.python_version()
    assert python_env["dependencies"] == ["-r requirements.txt"]
    assert python_env["build_dependencies"][0].startswith("pip")
    assert conda["channels"] == ["conda-forge"] and conda["dependencies"][-1] == {"pip": reqs}
    assert conda["dependencies"][0] == f"python={environment.python_version()}"


def test_pip_requirements_replace_and_extra_pip_requirements_append(tmp_path):
    (tmp_path / "a").mkdir()
    environment.write_environment(str(tmp_path / "a"), ["numpy==1"], pip_requirements=["foo==1"])
    assert _env_files(tmp_path / "a")[0] == ["foo==1"]

    (tmp_path / "b").mkdir()
    environment.write_environment(str(tmp_path / "b"), ["numpy==1"], extra_pip_requirements=["bar>=2", "numpy==1"])
    assert _env_files(tmp_path / "b")[0] == ["numpy==1", "bar>=2"]


def test_requirements_may_come_from_a_file_and_conda_env_from_a_dict(tmp_path):
    req_file = tmp_path / "reqs.txt"
    req_file.write_text("# comment\nfoo==1\n\nbar  # trailing\n")
    (tmp_path / "a").mkdir()
    environment.write_environment(str(tmp_path / "a"), [], pip_requirements=str(req_file))
    assert _env_files(tmp_path / "a")[0] == ["foo==1", "bar"]

    (tmp_path / "b").mkdir()
    conda_env = {"name": "x", "dependencies": ["python=3.10.1", {"pip": ["baz==3"]}]}
    environment.write_environment(str(tmp_path / "b"), ["numpy==1"], conda_env=conda_env)
    reqs, python_env, conda = _env_files(tmp_path / "b")
    assert reqs == ["baz==3"] and python_env["python"] == "3.10.1" and conda == conda_env


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pip_requirements": ["a"], "extra_pip_requirements": ["b"]},
        {"conda_env": {}, "pip_requirements": ["a"]},
        {"pip_requirements": "does/not/exist.txt"},
        {"pip_requirements": ["-r other.txt"]},
        {"extra_pip_requirements": [1]},
        {"conda_env": 42},
    ],
)
def test_bad_environment_arguments_are_invalid_parameter_values(tmp_path, kwargs):
    with pytest.raises(InvalidParameterValue) as err:
        environment.write_environment(str(tmp_path), [], **kwargs)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not os.listdir(tmp_path)
