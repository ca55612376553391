"""The ``python_function`` flavor: one ``predict`` for every model, and custom Python models.

``load_model`` reads MLmodel's ``python_function.loader_module`` and hands the directory to the
Podium loader for it: ``mlflow.sklearn`` -> :mod:`podium.flavors.sklearn`, ``mlflow.pyfunc.model``
-> the custom-model loader below. Other loader modules raise :class:`NotImplementedByPodium`.

A custom model (a :class:`PythonModel` subclass) is saved in MLflow's layout, so MLflow loads it::

    python_model.pkl          the instance, pickled by cloudpickle
    artifacts/<basename>      each entry of ``artifacts``, copied in
    code/                     ``code_paths``, copied in and put on ``sys.path`` when loading
    MLmodel                   python_function: {loader_module: mlflow.pyfunc.model,
                                python_model: python_model.pkl, cloudpickle_version, code, env,
                                python_version, streamable: false,
                                artifacts: {name: {path: artifacts/<basename>, uri: <source>}},
                                config: <model_config>}

**Security:** loading ``python_model.pkl`` unpickles it, which runs whatever code the file holds.
Only load custom models from sources you trust. (scikit-learn models default to the safer skops
format, see :mod:`podium.flavors.sklearn`.)

ML libraries are imported lazily.
"""

from __future__ import annotations

import inspect
import os
import warnings
from abc import ABCMeta, abstractmethod
from types import SimpleNamespace
from typing import Any, Callable

from podium.errors import InvalidParameterValue, NotImplementedByPodium, ResourceDoesNotExist
from podium.flavors.model import (
    Model,
    _is_local,
    _local_path,
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
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "python_function"
PYTHON_MODEL_LOADER = "mlflow.pyfunc.model"
_PYTHON_MODEL_FILE = "python_model.pkl"
_ARTIFACTS_DIR = "artifacts"


# -- public classes --------------------------------------------------------------------------


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: local ``artifacts`` paths and ``model_config``."""

    def __init__(self, artifacts: dict[str, str] | None = None, model_config: dict[str, Any] | None = None):
        self._artifacts = dict(artifacts or {})
        self._model_config = dict(model_config or {})

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config


class PythonModel(metaclass=ABCMeta):
    """Base class of custom models: override ``predict`` (and ``load_context`` if needed)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, with the model's artifacts; loads whatever ``predict`` needs."""

    @abstractmethod
    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Return predictions for ``model_input``."""

    @property
    def predict_type_hints(self) -> SimpleNamespace:
        # MLflow's loader reads this to convert DataFrame input; Podium models declare no hints.
        return SimpleNamespace(input=None, output=None)


class _FunctionPythonModel(PythonModel):
    """A plain function saved as a custom model: ``predict`` calls ``func(model_input)``."""

    def __init__(self, func: Callable[[Any], Any]):
        self.func = func

    def predict(self, context, model_input, params=None):
        return self.func(model_input)


class PyFuncModel:
    """What :func:`load_model` returns: ``predict(data, params=None)`` for any supported model."""

    def __init__(self, model_meta: Model, model_impl: Any, loader_module: str | None = None):
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._loader_module = loader_module

    @property
    def metadata(self) -> Model:
        return self._model_meta

    @property
    def loader_module(self) -> str | None:
        return self._loader_module

    @property
    def model_config(self) -> dict[str, Any]:
        context = getattr(self._model_impl, "context", None)
        return context.model_config if context is not None else {}

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from podium.flavors.signature import apply_signature

        signature = self._model_meta.signature
        data = apply_signature(data, signature)
        if signature is not None and signature.params is not None:
            params = {**{p.name: p.default for p in signature.params}, **(params or {})}
        return self._model_impl.predict(data, params=params)

    def unwrap_python_model(self) -> Any:
        """The custom :class:`PythonModel` instance behind this model."""
        python_model = getattr(self._model_impl, "python_model", None)
        if python_model is None:
            raise InvalidParameterValue(
                "unwrap_python_model() needs a custom PythonModel; "
                f"this model's loader module is '{self._loader_module}'."
            )
        return python_model

    def get_raw_model(self) -> Any:
        """The underlying model object (the estimator, or the custom PythonModel)."""
        raw = getattr(self._model_impl, "get_raw_model", None)
        return raw() if raw is not None else self.unwrap_python_model()

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self._loader_module!r}, model_uuid={self._model_meta.model_uuid!r})"


# -- custom models: save ---------------------------------------------------------------------


def _as_python_model(python_model: Any) -> Any:
    if python_model is None:
        raise InvalidParameterValue("`python_model` is required: pass a PythonModel instance.")
    if isinstance(python_model, (str, os.PathLike)):
        raise NotImplementedByPodium("Podium does not support models-from-code (`python_model` given as a file path).")
    if callable(getattr(python_model, "predict", None)):
        return python_model
    if callable(python_model):
        return _FunctionPythonModel(python_model)
    raise InvalidParameterValue("`python_model` must be a PythonModel instance (or a function).")


def _model_config_dict(model_config: Any) -> dict[str, Any] | None:
    if model_config is None or isinstance(model_config, dict):
        return model_config
    if isinstance(model_config, (str, os.PathLike)) and os.path.isfile(model_config):
        import yaml

        with open(model_config, encoding="utf-8") as f:
            loaded = yaml.safe_load(f)
        if isinstance(loaded, dict):
            return loaded
    raise InvalidParameterValue("`model_config` must be a dict or the path of a YAML file holding a mapping.")


def _save_artifacts(model_dir: str, artifacts: dict[str, str] | None) -> dict[str, dict[str, str]]:
    if not artifacts:
        return {}
    if not isinstance(artifacts, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, os.PathLike)) for k, v in artifacts.items()
    ):
        raise InvalidParameterValue("`artifacts` must map names to local paths or artifact URIs.")
    saved = {}
    for name, uri in artifacts.items():
        local = _local_path(os.fspath(uri)) if _is_local(os.fspath(uri)) else resolve_model_dir(uri)
        base = copy_into(local, os.path.join(model_dir, _ARTIFACTS_DIR), "artifact")
        saved[name] = {"path": f"{_ARTIFACTS_DIR}/{base}", "uri": os.fspath(uri)}
    return saved


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: Any = None,
) -> None:
    """Save a custom :class:`PythonModel` as an MLflow-format model directory at ``path``."""
    import cloudpickle

    from podium.flavors.environment import (
        pinned_requirements,
        python_version,
        validate_env_args,
        write_environment,
    )
    from podium.version import __version__

    python_model = _as_python_model(python_model)
    model_config = _model_config_dict(model_config)
    validate_env_args(conda_env, pip_requirements, extra_pip_requirements)
    try:
        pickled = cloudpickle.dumps(python_model)
    except Exception as exc:
        raise InvalidParameterValue(f"The python_model cannot be serialized with cloudpickle: {exc}") from None
    mlflow_model = mlflow_model if mlflow_model is not None else Model()
    with new_model_dir(path) as model_dir:
        with open(os.path.join(model_dir, _PYTHON_MODEL_FILE), "wb") as f:
            f.write(pickled)
        saved_artifacts = _save_artifacts(model_dir, artifacts)
        code = copy_code_paths(model_dir, code_paths)
        defaults = pinned_requirements(["cloudpickle"])
        if isinstance(python_model, PythonModel):  # unpickling it imports podium
            defaults.append(f"podium=={__version__}")
        env = write_environment(model_dir, defaults, conda_env, pip_requirements, extra_pip_requirements)
        conf: dict[str, Any] = {
            "loader_module": PYTHON_MODEL_LOADER,
            "python_model": _PYTHON_MODEL_FILE,
            "cloudpickle_version": cloudpickle.__version__,
            "code": code,
            "env": env,
            "python_version": python_version(),
            "streamable": False,
        }
        if saved_artifacts:
            conf["artifacts"] = saved_artifacts
        if model_config:
            conf["config"] = model_config
        mlflow_model.add_flavor(FLAVOR_NAME, **conf)

        def predict(example: Any) -> Any:
            impl = _load_python_model(model_dir, conf, model_config)
            return impl.predict(example)

        finish_model(
            model_dir,
            mlflow_model,
            signature=signature,
            input_example=input_example,
            metadata=metadata,
            predict=predict,
        )


# -- custom models: load ---------------------------------------------------------------------


class _PythonModelImpl:
    def __init__(self, python_model: Any, context: PythonModelContext):
        self.python_model = python_model
        self.context = context

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        parameters = inspect.signature(self.python_model.predict).parameters
        kwargs = {"params": params} if "params" in parameters else {}
        if "context" in parameters:
            return self.python_model.predict(self.context, data, **kwargs)
        return self.python_model.predict(data, **kwargs)


def _load_python_model(model_dir: str, conf: dict[str, Any], model_config: dict[str, Any] | None) -> _PythonModelImpl:
    import cloudpickle

    if conf.get("model_code_path"):
        raise NotImplementedByPodium("Podium cannot load models-from-code (MLmodel names 'model_code_path').")
    if conf.get("compression"):
        raise NotImplementedByPodium(f"Podium cannot load a compressed python_model ({conf['compression']}).")
    if not conf.get("python_model"):
        raise InvalidParameterValue(f"The MLmodel file of '{model_dir}' names no python_model file.")
    saved_with = conf.get("cloudpickle_version")
    if saved_with and saved_with != cloudpickle.__version__:
        warnings.warn(
            f"The model was saved with cloudpickle {saved_with}; cloudpickle {cloudpickle.__version__} is installed.",
            stacklevel=3,
        )
    with open(safe_join(model_dir, conf["python_model"]), "rb") as f:
        python_model = cloudpickle.load(f)  # the owner chose a pickle format: see module docstring
    artifacts = {name: safe_join(model_dir, info["path"]) for name, info in (conf.get("artifacts") or {}).items()}
    context = PythonModelContext(artifacts, {**(conf.get("config") or {}), **(model_config or {})})
    if hasattr(python_model, "load_context"):
        python_model.load_context(context)
    return _PythonModelImpl(python_model, context)


def _load_sklearn(model_dir: str, conf: dict[str, Any], model_config: dict[str, Any] | None) -> Any:
    from podium.flavors.sklearn import _load_pyfunc

    return _load_pyfunc(model_dir)


_LOADERS: dict[str, Callable[[str, dict[str, Any], dict[str, Any] | None], Any]] = {
    "mlflow.sklearn": _load_sklearn,
    "podium.flavors.sklearn": _load_sklearn,
    PYTHON_MODEL_LOADER: _load_python_model,
    "podium.flavors.pyfunc": _load_python_model,
}


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load any supported model directory (Podium's or MLflow's) as a :class:`PyFuncModel`."""
    from podium.flavors.environment import python_version

    model_dir = resolve_model_dir(model_uri, dst_path)
    meta = Model.load(model_dir)
    conf = meta.flavors.get(FLAVOR_NAME)
    if not isinstance(conf, dict):
        raise ResourceDoesNotExist(f'Model does not have the "{FLAVOR_NAME}" flavor.')
    loader_module = conf.get("loader_module")
    loader = _LOADERS.get(loader_module)
    if loader is None:
        raise NotImplementedByPodium(
            f"Podium cannot load models whose loader module is '{loader_module}'; "
            f"supported loader modules: {sorted(_LOADERS)}."
        )
    saved_python = str(conf.get("python_version") or "")
    if not suppress_warnings and saved_python and saved_python.split(".")[:2] != python_version().split(".")[:2]:
        warnings.warn(
            f"The model was saved with Python {saved_python}; this is Python {python_version()}.",
            stacklevel=2,
        )
    add_code_to_path(model_dir, conf.get("code"))
    impl = loader(model_dir, conf, _model_config_dict(model_config))
    return PyFuncModel(meta, impl, loader_module)


def log_model(
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: Any = None,
    await_registration_for: int = 300,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
):
    """Log a custom model to the active run (and register it when ``registered_model_name`` is set)."""
    from podium.flavors import logging as model_logging

    name = name_from_log_args(artifact_path, name)

    def save(path: str, mlflow_model: Model) -> None:
        save_model(
            path, python_model=python_model, artifacts=artifacts, conda_env=conda_env, code_paths=code_paths,
            mlflow_model=mlflow_model, signature=signature, input_example=input_example,
            pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
            metadata=metadata, model_config=model_config,
        )  # fmt: skip

    return model_logging.log_model(
        save_model=save, name=name, registered_model_name=registered_model_name,
        await_registration_for=await_registration_for, params=params, tags=tags,
        model_type=model_type, step=step, model_id=model_id,
    )  # fmt: skip
