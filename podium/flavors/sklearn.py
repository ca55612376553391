"""The scikit-learn flavor (``podium.sklearn``), in MLflow's format.

A saved model directory holds ``model.skops`` (the default, as in MLflow 3) or ``model.pkl``
(``serialization_format="pickle"`` or ``"cloudpickle"``), the environment files, and an MLmodel::

    flavors:
      python_function: {loader_module: mlflow.sklearn, model_path: model.skops, predict_fn: predict,
                        python_version: 3.11.7, env: {conda: conda.yaml, virtualenv: python_env.yaml}}
      sklearn: {pickled_model: model.skops, serialization_format: skops, sklearn_version: 1.9.1,
                code: null, skops_trusted_types: null}

so ``mlflow.sklearn.load_model`` and ``mlflow.pyfunc.load_model`` load it, and Podium loads MLflow's.

Security
--------
*skops* files name the Python types they rebuild; skops refuses types outside its default trust set
unless the loader trusts them. Podium decides that list itself and never trusts a file blindly:

* **Saving** with skops: every type ``skops.io.get_untrusted_types`` reports for the model must be
  named in ``skops_trusted_types`` (as in MLflow: a decision tree needs ``sklearn.tree._tree.Tree``),
  otherwise :class:`InvalidParameterValue`. The list is recorded in MLmodel.
* **Loading**: a reported type is trusted only if (1) it is a numpy scalar or dtype class (pure
  values, always trusted), or (2) MLmodel's ``skops_trusted_types`` records it *and* it is
  *eligible*, or (3) the caller passes it to ``load_model(..., skops_trusted_types=[...])``. Anything
  else raises :class:`InvalidParameterValue` before skops builds a single object.

  MLmodel sits next to the model file, so whoever wrote one could write the other: a recorded type
  counts only when it is eligible. *Eligible* means: a class (never a function, method or module),
  found under its own canonical name, that is either a scikit-learn class outside
  ``sklearn.datasets`` / ``sklearn.utils._testing`` / ``sklearn.externals`` / ``sklearn.callback`` /
  ``sklearn.experimental`` / test modules; a numpy array, scalar, dtype or random-generator class;
  or a ``scipy.sparse`` matrix/array class. Building these runs no user code. Caveat (skops's own
  warning): tree structures such as ``sklearn.tree._tree.Tree`` hold raw node indices, so a crafted
  file can crash the process at ``predict`` time; load models only from sources you trust.
* **pickle / cloudpickle** are written only when asked for. Loading them runs arbitrary code from
  the file by design of those formats; the model's owner chose them, so Podium loads them.
  (MLflow 3.17 refuses to load *any* sklearn model, skops included, unless the environment variable
  ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` is set.)
"""

from __future__ import annotations

import importlib
import os
import pickle
from typing import Any

from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.flavors.model import (
    Model,
    add_code_to_path,
    copy_code_paths,
    copy_into,
    finish_model,
    name_from_log_args,
    new_model_dir,
    resolve_model_dir,
    safe_join,
)

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = ("skops", "pickle", "cloudpickle")
_MODEL_FILES = {"skops": "model.skops", "pickle": "model.pkl", "cloudpickle": "model.pkl"}
_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")
_EXTRA_FILES_DIR = "extra_files"


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    """The pinned packages a scikit-learn model directory lists in ``requirements.txt``."""
    from podium.flavors.environment import pinned_requirements

    extras = ["cloudpickle"] * include_cloudpickle + ["skops"] * include_skops
    return pinned_requirements(sorted(["scikit-learn", "numpy", "scipy", *extras]))


def _check_predict_fn(predict_fn: Any) -> None:
    if predict_fn not in _PREDICT_FNS:
        raise InvalidParameterValue(f"pyfunc_predict_fn={predict_fn!r} must be one of {list(_PREDICT_FNS)}.")


def _check_format(serialization_format: Any) -> None:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameterValue(
            f"Unrecognized serialization format: {serialization_format!r}. "
            f"Use one of {list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )


# -- skops trust -------------------------------------------------------------------------------

_ELIGIBLE_ROOTS = ("sklearn.", "numpy.", "scipy.sparse.")
_DENIED = (
    *(
        "sklearn.datasets",
        "sklearn.utils._testing",
        "sklearn.externals",
        "sklearn.callback",
        "sklearn.conftest",
        "sklearn.experimental",
    ),
    *("numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.ctypeslib"),
)


def _is_candidate(name: str) -> bool:
    """Worth resolving at all: under an eligible root and outside the denied modules."""
    return (
        name.startswith(_ELIGIBLE_ROOTS)
        and ".tests." not in name
        and not any(name == d or name.startswith(d + ".") for d in _DENIED)
    )


def _resolve_class(name: str) -> type | None:
    """The class ``name`` denotes, if ``name`` is that class's own canonical module path."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - not a module: try a shorter prefix
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        if isinstance(obj, type) and f"{obj.__module__}.{obj.__qualname__}" == name:
            return obj
        return None
    return None


def _is_numpy_value_type(cls: type) -> bool:
    import numpy as np

    return issubclass(cls, (np.generic, np.dtype))


def _is_always_trusted(name: str) -> bool:
    """numpy scalar and dtype classes: pure values, trusted without being recorded."""
    cls = _resolve_class(name) if name.startswith("numpy.") and _is_candidate(name) else None
    return cls is not None and _is_numpy_value_type(cls)


def _is_eligible(name: str) -> bool:
    """May a type recorded in MLmodel be trusted? (See the module docstring.)"""
    cls = _resolve_class(name) if _is_candidate(name) else None
    if cls is None:
        return False
    if name.startswith("sklearn."):
        return True
    if name.startswith("scipy.sparse."):
        import scipy.sparse as sp

        return issubclass(cls, (sp.spmatrix, sp.sparray))
    import numpy as np

    random_types = (np.random.Generator, np.random.RandomState, np.random.SeedSequence)
    return (
        cls in (np.ndarray, np.ma.MaskedArray)
        or cls in random_types
        or issubclass(cls, np.random.BitGenerator)
        or _is_numpy_value_type(cls)
    )


def _trusted_types_for(path: str, recorded: Any, explicit: Any) -> list[str]:
    """The types to pass to ``skops.io.load``, or InvalidParameterValue naming the refused ones."""
    import skops.io

    explicit = set(_type_list(explicit, "skops_trusted_types"))
    recorded = set(recorded) if isinstance(recorded, list) else set()
    found = skops.io.get_untrusted_types(file=path)
    refused = []
    for name in found:
        if name not in explicit and not _is_always_trusted(name) and not (name in recorded and _is_eligible(name)):
            refused.append(name)
    if refused:
        raise InvalidParameterValue(
            f"The model file '{path}' uses types Podium does not trust: {sorted(refused)}. Podium trusts "
            "scikit-learn, numpy and scipy.sparse classes recorded in MLmodel's skops_trusted_types; other "
            "types (functions, custom classes, other libraries) can run code while loading. If you trust "
            f"this model's source, pass load_model(..., skops_trusted_types={sorted(refused)!r})."
        )
    return sorted(found)


def _type_list(value: Any, argument: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValue(f"`{argument}` must be a list of fully qualified type names (strings).")
    return sorted(set(value))


# -- save ----------------------------------------------------------------------------------------


def _serialize(sk_model: Any, serialization_format: str, trusted: list[str]) -> bytes:
    if serialization_format == SERIALIZATION_FORMAT_PICKLE:
        return pickle.dumps(sk_model)
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle

        return cloudpickle.dumps(sk_model)
    import skops.io

    try:
        data = skops.io.dumps(sk_model)
    except Exception as exc:  # noqa: BLE001 - skops says why the object is not supported
        raise InvalidParameterValue(
            f"The model cannot be serialized in the skops format: {exc}. skops cannot save functions "
            "or classes defined outside an importable module; use serialization_format='cloudpickle'."
        ) from None
    missing = sorted(set(skops.io.get_untrusted_types(data=data)) - set(trusted))
    if missing:
        raise InvalidParameterValue(
            f"The model contains types skops does not trust by default: {missing}. Review them and, if you "
            f"trust them, pass skops_trusted_types={missing!r} to save_model/log_model; they are recorded "
            "in MLmodel so the model loads later."
        )
    return data


def _output_for_signature(sk_model: Any, predict_fn: str, example: Any) -> Any:
    output = getattr(sk_model, predict_fn)(example)
    if type(example).__name__ == "DataFrame" and getattr(output, "ndim", None) == 1:
        import pandas as pd  # MLflow describes a 1-D prediction on a DataFrame as a column

        output = pd.Series(output)
    return output


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
) -> None:
    """Save a scikit-learn model as an MLflow-format model directory at ``path``."""
    import sklearn

    from podium.flavors.environment import python_version, validate_env_args, write_environment

    _check_format(serialization_format)
    _check_predict_fn(pyfunc_predict_fn)
    if extra_files is not None and not isinstance(extra_files, (list, tuple)):
        raise InvalidParameterValue("`extra_files` must be a list of local file paths.")
    trusted = _type_list(skops_trusted_types, "skops_trusted_types")
    validate_env_args(conda_env, pip_requirements, extra_pip_requirements)
    data = _serialize(sk_model, serialization_format, trusted)
    model_file = _MODEL_FILES[serialization_format]
    mlflow_model = mlflow_model if mlflow_model is not None else Model()
    with new_model_dir(path) as model_dir:
        with open(os.path.join(model_dir, model_file), "wb") as f:
            f.write(data)
        code = copy_code_paths(model_dir, code_paths)
        extras_dir = os.path.join(model_dir, _EXTRA_FILES_DIR)
        extras = [{"path": f"{_EXTRA_FILES_DIR}/{copy_into(p, extras_dir, 'extra file')}"} for p in extra_files or []]
        defaults = get_default_pip_requirements(
            include_cloudpickle=serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE,
            include_skops=serialization_format == SERIALIZATION_FORMAT_SKOPS,
        )
        env = write_environment(model_dir, defaults, conda_env, pip_requirements, extra_pip_requirements)
        pyfunc_conf: dict[str, Any] = {
            "loader_module": "mlflow.sklearn",
            "model_path": model_file,
            "predict_fn": pyfunc_predict_fn,
            "python_version": python_version(),
            "env": env,
        }
        if code:
            pyfunc_conf["code"] = code
        mlflow_model.add_flavor("python_function", **pyfunc_conf)
        sklearn_conf: dict[str, Any] = {
            "pickled_model": model_file,
            "serialization_format": serialization_format,
            "sklearn_version": sklearn.__version__,
            "code": code,
            "skops_trusted_types": (trusted or None) if serialization_format == "skops" else None,
        }
        if extras:
            sklearn_conf["extra_files"] = extras
        mlflow_model.add_flavor(FLAVOR_NAME, **sklearn_conf)
        finish_model(
            model_dir, mlflow_model, signature=signature, input_example=input_example, metadata=metadata,
            predict=lambda example: _output_for_signature(sk_model, pyfunc_predict_fn, example),
        )  # fmt: skip


# -- load ----------------------------------------------------------------------------------------


def _load_file(path: str, serialization_format: str, recorded_trusted: Any, explicit_trusted: Any) -> Any:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        trusted = _trusted_types_for(path, recorded_trusted, explicit_trusted)
        return skops.io.load(path, trusted=trusted)
    _check_format(serialization_format)
    with open(path, "rb") as f:  # the model's owner chose a pickle format: see the module docstring
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    skops_trusted_types: list[str] | None = None,
) -> Any:
    """Load a scikit-learn model from a Podium or MLflow model directory (or a model URI).

    ``skops_trusted_types`` trusts extra types in a skops file beyond Podium's rules (see the module
    docstring); pass only types you have reviewed."""
    model_dir = resolve_model_dir(model_uri, dst_path)
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if not isinstance(conf, dict):
        raise ResourceDoesNotExist(f'Model does not have the "{FLAVOR_NAME}" flavor.')
    add_code_to_path(model_dir, conf.get("code"))
    return _load_file(
        safe_join(model_dir, conf.get("pickled_model")),
        conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
        conf.get("skops_trusted_types"),
        skops_trusted_types,
    )


class _SklearnPyfunc:
    """The pyfunc face of a scikit-learn model: ``predict`` calls the recorded ``predict_fn``."""

    def __init__(self, sk_model: Any, predict_fn: str = "predict"):
        _check_predict_fn(predict_fn)
        self.sk_model = sk_model
        self.predict_fn = predict_fn

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return getattr(self.sk_model, self.predict_fn)(data)  # scikit-learn takes no inference params

    def get_raw_model(self) -> Any:
        return self.sk_model


def _load_pyfunc(path: str) -> _SklearnPyfunc:
    """Load the pyfunc implementation (``path``: the model directory or its model file)."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    flavors = Model.load(model_dir).flavors
    sk_conf = flavors.get(FLAVOR_NAME) or {}
    pyfunc_conf = flavors.get("python_function") or {}
    model_file = path if os.path.isfile(path) else safe_join(model_dir, pyfunc_conf.get("model_path"))
    fmt = sk_conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    sk_model = _load_file(model_file, fmt, sk_conf.get("skops_trusted_types"), None)
    return _SklearnPyfunc(sk_model, pyfunc_conf.get("predict_fn", "predict"))


# -- log -----------------------------------------------------------------------------------------


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    registered_model_name: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
    await_registration_for: int = 300,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
):
    """Log a scikit-learn model to the active run (and register it when ``registered_model_name`` is set)."""
    from podium.flavors import logging as model_logging

    name = name_from_log_args(artifact_path, name)

    def save(path: str, mlflow_model: Model) -> None:
        save_model(
            sk_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            serialization_format=serialization_format, signature=signature, input_example=input_example,
            pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn, metadata=metadata,
            skops_trusted_types=skops_trusted_types, extra_files=extra_files,
        )  # fmt: skip

    return model_logging.log_model(
        save_model=save, name=name, registered_model_name=registered_model_name,
        await_registration_for=await_registration_for, params=params, tags=tags,
        model_type=model_type, step=step, model_id=model_id,
    )  # fmt: skip
