"""The ``MLmodel`` file: what a model directory holds and how to load it.

``MLmodel`` is a YAML mapping written with sorted keys, as MLflow writes it::

    artifact_path: ...            # set when logged (MLflow 3: the logged model's artifact location)
    flavors: {python_function: {...}, sklearn: {...}}
    model_id: null                # always written, even when null (MLflow does the same)
    model_size_bytes: 10251
    model_uuid: 0614aada...
    podium_version: 0.1.0         # Podium's marker; MLflow writes mlflow_version instead
    run_id: ...                   # set when logged
    saved_input_example_info: {artifact_path: input_example.json, type: ndarray, ...}
    signature: {inputs: '<json>', outputs: '<json>', params: null}
    utc_time_created: '2026-01-01 12:00:00.000000'

MLflow's loaders do not need ``mlflow_version`` (its ``Model`` treats it as optional and accepts
unknown keys), so Podium leaves it out and writes ``podium_version``. Keys Podium does not know
(``prompts``, ``is_signature_from_type_hint``, ``mlflow_version``...) are kept on load and written
back unchanged on save.

Also here: :class:`ModelInfo` (what ``log_model`` returns) and the model-directory helpers every
flavor shares: :func:`resolve_model_dir` (a model URI to a local directory), :func:`safe_join` (a
path named inside MLmodel, refused if it escapes the model directory), :func:`new_model_dir` (an
empty directory, removed again if saving fails), :func:`copy_code_paths` and :func:`finish_model`
(input example, signature inference, ``model_size_bytes`` = every file but MLmodel, and MLmodel
itself, written last). Imports only the standard library and PyYAML.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import unquote, urlparse

from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist

if TYPE_CHECKING:
    from podium.flavors.signature import ModelSignature

__all__ = [
    "MLMODEL_FILE_NAME",
    "Model",
    "ModelInfo",
    "add_code_to_path",
    "copy_code_paths",
    "copy_into",
    "directory_size_bytes",
    "finish_model",
    "name_from_log_args",
    "new_model_dir",
    "resolve_model_dir",
    "safe_join",
]

MLMODEL_FILE_NAME = "MLmodel"
_CODE_DIR = "code"

_FIELDS = (
    "artifact_path",
    "run_id",
    "model_id",
    "utc_time_created",
    "flavors",
    "signature",
    "saved_input_example_info",
    "model_uuid",
    "mlflow_version",
    "podium_version",
    "model_size_bytes",
    "metadata",
)
#: Fields written even when None (MLflow writes ``model_id: null``).
_ALWAYS_WRITTEN = ("model_id",)


def _now() -> str:
    return str(datetime.now(timezone.utc).replace(tzinfo=None))


class Model:
    """An ``MLmodel`` file in memory. Unknown keys are preserved in :attr:`extra`."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        model_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        mlflow_version: str | None = None,
        model_size_bytes: int | None = None,
        metadata: dict[str, Any] | None = None,
        podium_version: str | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.model_id = model_id
        self.utc_time_created = str(utc_time_created) if utc_time_created else _now()
        self.flavors: dict[str, dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.mlflow_version = mlflow_version
        self.model_size_bytes = model_size_bytes
        self.metadata = metadata
        self.podium_version = podium_version
        self.extra: dict[str, Any] = extra

    # -- flavors and schemas -------------------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Record a flavor's configuration (replacing any earlier one of that name)."""
        self.flavors[name] = params
        return self

    def get_input_schema(self):
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self):
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self):
        return self.signature.params if self.signature is not None else None

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The input example saved in model directory ``path``, or None if there is none."""
        from podium.flavors.signature import load_input_example

        return load_input_example(os.fspath(path), self.saved_input_example_info, self.signature)

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for name in _FIELDS:
            value = getattr(self, name)
            if name == "signature" and value is not None:
                value = value.to_dict()
            if value is not None or name in _ALWAYS_WRITTEN:
                out[name] = value
        return out

    def to_yaml(self, stream: Any = None) -> str | None:
        import yaml

        return yaml.safe_dump(self.to_dict(), stream=stream, default_flow_style=False)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the MLmodel file to ``path`` (a file path, or a directory to write MLmodel in)."""
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE_NAME)
        with open(path, "w", encoding="utf-8") as out:
            self.to_yaml(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if not isinstance(data, dict):
            raise InvalidParameterValue("An MLmodel file must hold a YAML mapping.")
        data = dict(data)
        signature = data.pop("signature", None)
        if isinstance(signature, dict):
            from podium.flavors.signature import ModelSignature

            signature = ModelSignature.from_dict(signature)
        return cls(signature=signature, **data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read an MLmodel file: ``path`` is the file, its model directory, or a model URI."""
        import yaml

        path = os.fspath(path)
        path = _local_path(path) if _is_local(path) else resolve_model_dir(path)
        file = os.path.join(path, MLMODEL_FILE_NAME) if os.path.isdir(path) else path
        if not os.path.isfile(file):
            raise ResourceDoesNotExist(f"Could not find an 'MLmodel' configuration file at '{path}'.")
        with open(file, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f)
            except yaml.YAMLError as exc:
                raise InvalidParameterValue(f"The MLmodel file '{file}' is not valid YAML: {exc}") from None
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, model_uuid={self.model_uuid!r})"


@dataclass
class ModelInfo:
    """What ``log_model`` returns: where the model went and what its MLmodel file says."""

    artifact_path: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_uri: str | None = None
    model_id: str | None = None
    run_id: str | None = None
    model_uuid: str | None = None
    signature: Any = None
    utc_time_created: str | None = None
    saved_input_example_info: dict[str, Any] | None = None
    registered_model_version: int | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    mlflow_version: str | None = None

    @classmethod
    def from_model(
        cls,
        model: Model,
        model_uri: str,
        *,
        name: str | None = None,
        registered_model_version: int | None = None,
    ) -> ModelInfo:
        return cls(
            artifact_path=model.artifact_path,
            flavors=dict(model.flavors),
            model_uri=model_uri,
            model_id=model.model_id,
            run_id=model.run_id,
            model_uuid=model.model_uuid,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            saved_input_example_info=model.saved_input_example_info,
            registered_model_version=registered_model_version,
            name=name,
            metadata=model.metadata,
            mlflow_version=model.mlflow_version,
        )


# -- helpers shared by the flavors -----------------------------------------------------------

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def _is_local(uri: str) -> bool:
    match = _SCHEME.match(uri)
    # one letter before the colon is a Windows drive, not a scheme
    return match is None or len(match.group(1)) == 1 or match.group(1).lower() == "file"


def _local_path(uri: str) -> str:
    if uri.lower().startswith("file:"):
        parsed = urlparse(uri)
        return unquote(parsed.path) if parsed.netloc in ("", "localhost") else uri
    return uri


def resolve_model_dir(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> str:
    """A local directory holding the model: local paths and ``file://`` URIs are used in place;
    any other URI (``models:/``, ``runs:/``, ``s3://``...) is downloaded through the registry."""
    uri = os.fspath(model_uri)
    if _is_local(uri):
        path = _local_path(uri)
        if not os.path.exists(path):
            raise ResourceDoesNotExist(f"No model found at '{uri}'.")
        return path
    from podium.artifacts import download_artifacts  # the registry's artifact access

    return download_artifacts(artifact_uri=uri, dst_path=dst_path)


def safe_join(model_dir: str, relative: Any) -> str:
    """``model_dir/relative`` for a path read from MLmodel, refused if it leaves ``model_dir``."""
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        raise InvalidParameterValue(f"Invalid path {relative!r} in the MLmodel file of '{model_dir}'.")
    root = os.path.realpath(model_dir)
    joined = os.path.realpath(os.path.join(root, relative))
    if joined != root and not joined.startswith(root + os.sep):
        raise InvalidParameterValue(
            f"The MLmodel file of '{model_dir}' names '{relative}', which is outside the model directory."
        )
    return joined


def directory_size_bytes(path: str, exclude: tuple[str, ...] = (MLMODEL_FILE_NAME,)) -> int:
    """Total size of the files under ``path``, except the top-level names in ``exclude``."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if root == path and name in exclude:
                continue
            total += os.path.getsize(os.path.join(root, name))
    return total


def name_from_log_args(artifact_path: str | None, name: str | None) -> str | None:
    """``log_model``'s model name: ``name``, or the deprecated positional ``artifact_path``."""
    if artifact_path is not None and name is not None:
        raise InvalidParameterValue("Both `artifact_path` and `name` were given; use only `name`.")
    if artifact_path is not None:
        warnings.warn("`artifact_path` is deprecated. Please use `name` instead.", FutureWarning, stacklevel=3)
        return artifact_path
    return name


# -- writing a model directory (shared by the flavors) ---------------------------------------


@contextmanager
def new_model_dir(path: str | os.PathLike[str]) -> Iterator[str]:
    """Create an empty model directory; remove what was written if saving fails."""
    path = os.fspath(path)
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise ResourceAlreadyExists(f"Path '{path}' already exists and is not empty")
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    except BaseException:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for name in os.listdir(path):
                target = os.path.join(path, name)
                shutil.rmtree(target, ignore_errors=True) if os.path.isdir(target) else os.remove(target)
        raise


def copy_into(source: str, dest_dir: str, what: str) -> str:
    source = os.fspath(source)
    if not os.path.exists(source):
        raise InvalidParameterValue(f"{what} '{source}' does not exist.")
    name = os.path.basename(os.path.normpath(source))
    target = os.path.join(dest_dir, name)
    if os.path.exists(target):
        raise InvalidParameterValue(f"Two {what}s share the name '{name}'.")
    os.makedirs(dest_dir, exist_ok=True)
    (shutil.copytree if os.path.isdir(source) else shutil.copy2)(source, target)
    return name


def copy_code_paths(model_dir: str, code_paths: list[str] | None) -> str | None:
    """Copy ``code_paths`` into ``code/``; return ``"code"`` for MLmodel (None when there are none)."""
    if not code_paths:
        return None
    if isinstance(code_paths, (str, os.PathLike)):
        raise InvalidParameterValue("`code_paths` must be a list of paths.")
    for source in code_paths:
        copy_into(source, os.path.join(model_dir, _CODE_DIR), "code path")
    return _CODE_DIR


def add_code_to_path(model_dir: str, code: Any) -> None:
    """Put a model's ``code/`` directory first on ``sys.path`` so its modules import."""
    if code:
        code_dir = safe_join(model_dir, code)
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)


def finish_model(
    model_dir: str,
    mlflow_model: Model,
    *,
    signature: Any,
    input_example: Any,
    metadata: dict[str, Any] | None,
    predict: Callable[[Any], Any] | None,
) -> None:
    """Write the input example, infer a missing signature from it, and write MLmodel last."""
    from podium.flavors.signature import infer_signature, save_input_example
    from podium.version import __version__

    from podium.flavors.signature import ModelSignature

    if signature is not None and signature is not False and not isinstance(signature, ModelSignature):
        raise InvalidParameterValue("`signature` must be a ModelSignature (see infer_signature), None or False.")
    if input_example is not None:
        mlflow_model.saved_input_example_info = save_input_example(model_dir, input_example)
        if signature is None:
            signature = _signature_from_example(input_example, predict, infer_signature)
    if signature is not None and signature is not False:
        mlflow_model.signature = signature
    if metadata is not None:
        mlflow_model.metadata = metadata
    mlflow_model.podium_version = __version__
    mlflow_model.model_size_bytes = directory_size_bytes(model_dir)
    mlflow_model.save(os.path.join(model_dir, MLMODEL_FILE_NAME))


def _signature_from_example(example: Any, predict: Callable | None, infer: Callable) -> Any:
    """The signature of ``example`` and of the model's prediction for it (inputs only if that fails)."""
    try:
        return infer(example, predict(example) if predict is not None else None)
    except Exception as exc:  # noqa: BLE001 - a model that cannot score its example still saves
        warnings.warn(f"Could not infer the model's output signature from the input example: {exc}", stacklevel=3)
    try:
        return infer(example)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"Could not infer a model signature from the input example: {exc}", stacklevel=3)
        return None
