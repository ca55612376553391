"""Model signatures and input examples, in MLflow's MLmodel format.

A signature describes a model's inputs, outputs and inference params. In MLmodel each part is a
JSON *string* (``params: null`` when absent), exactly as MLflow writes it::

    signature:
      inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 13]}}]'
      outputs: '[{"type": "long", "required": true}]'
      params: null

Column specs (``{"type": "double", "name": "a", "required": true}``) come from pandas data, tensor
specs from numpy arrays. ``required`` is false for a column with missing values.

An input example is written twice, as MLflow does: ``input_example.json`` (the example itself: a
nested list for an ndarray, ``{"columns", "data"}`` for a DataFrame, plain JSON otherwise) and
``serving_input_example.json`` (the request body a scoring server takes: ``{"inputs": ...}`` or
``{"dataframe_split": ...}``), recorded in MLmodel as ``saved_input_example_info``.

:func:`apply_signature` adapts prediction input to the signature, lightly: it checks and orders
DataFrame columns, builds a DataFrame from a dict, and turns tabular data into an array for a
tensor signature. numpy and pandas are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from podium.errors import InvalidParameterValue

__all__ = [
    "ColSpec",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "apply_signature",
    "infer_signature",
    "load_input_example",
    "save_input_example",
]

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"


@dataclass
class ColSpec:
    """One column: ``type`` is MLflow's type name (double, long, string, ...)."""

    type: str
    name: Any = None
    required: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. ``items`` of an array column

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, **self.extra}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass
class TensorSpec:
    """One tensor: numpy ``dtype`` name and ``shape`` (-1 for a variable dimension)."""

    dtype: str
    shape: tuple[int, ...]
    name: Any = None

    def to_dict(self) -> dict[str, Any]:
        named = {"name": self.name} if self.name is not None else {}
        return {**named, "type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}


def _spec_from_dict(d: dict[str, Any]) -> ColSpec | TensorSpec:
    if not isinstance(d, dict) or "type" not in d:
        raise InvalidParameterValue(f"Invalid schema entry: {d!r}")
    if d["type"] == "tensor":
        spec = d.get("tensor-spec") or {}
        return TensorSpec(dtype=str(spec.get("dtype")), shape=tuple(spec.get("shape") or ()), name=d.get("name"))
    extra = {k: v for k, v in d.items() if k not in ("type", "name", "required")}
    return ColSpec(type=d["type"], name=d.get("name"), required=d.get("required", True), extra=extra)


class Schema:
    """An ordered list of column specs or of tensor specs."""

    def __init__(self, inputs: list[ColSpec | TensorSpec]) -> None:
        self.inputs = list(inputs)

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and all(isinstance(s, TensorSpec) for s in self.inputs)

    def has_input_names(self) -> bool:
        return bool(self.inputs) and all(s.name is not None for s in self.inputs)

    def input_names(self) -> list[Any]:
        return [s.name for s in self.inputs]

    def required_input_names(self) -> list[Any]:
        return [s.name for s in self.inputs if getattr(s, "required", True)]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | list) -> Schema:
        return cls([_spec_from_dict(d) for d in (json.loads(text) if isinstance(text, str) else text)])

    def __iter__(self):
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Schema({self.to_dict()!r})"


@dataclass
class ParamSpec:
    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        shape = list(self.shape) if self.shape else None
        return {"name": self.name, "default": self.default, "shape": shape, "type": self.type}


class ParamSchema(Schema):
    """Inference params (``predict(..., params=...)``) with their defaults."""

    @classmethod
    def from_json(cls, text: str | list) -> ParamSchema:
        items = json.loads(text) if isinstance(text, str) else text
        return cls(
            [ParamSpec(d["name"], d["type"], d.get("default"), tuple(d.get("shape") or ()) or None) for d in items]
        )


class ModelSignature:
    """A model's ``inputs`` and ``outputs`` schemas and its ``params`` schema."""

    def __init__(self, inputs: Schema | None = None, outputs: Schema | None = None, params: ParamSchema | None = None):
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        def part(key: str, kind: type[Schema]):
            return kind.from_json(d[key]) if d.get(key) not in (None, "", []) else None

        return cls(part("inputs", Schema), part("outputs", Schema), part("params", ParamSchema))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ModelSignature({self.to_dict()!r})"


# -- inference -------------------------------------------------------------------------------


def _column_type(values: Any) -> str:
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return "boolean"
    if api.is_integer_dtype(dtype):
        return "long" if dtype.itemsize >= 8 or (dtype.kind == "u" and dtype.itemsize >= 4) else "integer"
    if api.is_float_dtype(dtype):
        return "double" if dtype.itemsize >= 8 else "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_type(pd.Series(values.cat.categories))
    if isinstance(dtype, pd.StringDtype) or dtype == np.dtype(object):
        present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
        for kinds, name in (
            ((str,), "string"),
            ((bytes, bytearray), "binary"),
            ((bool, np.bool_), "boolean"),
        ):
            if present and all(isinstance(v, kinds) for v in present):
                return name
    raise InvalidParameterValue(f"Cannot infer a column type for values of dtype '{dtype}'.")


def _infer_schema(data: Any) -> Schema:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema(
            [ColSpec(_column_type(data[c]), name=c, required=not bool(data[c].isna().any())) for c in data.columns]
        )
    if isinstance(data, pd.Series):
        return Schema([ColSpec(_column_type(data), name=data.name, required=not bool(data.isna().any()))])
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            raise InvalidParameterValue("Cannot infer a signature from a 0-dimensional array.")
        return Schema([TensorSpec(dtype=data.dtype.name, shape=(-1, *data.shape[1:]))])
    if isinstance(data, (str, bytes, bool, int, float)):
        data = [data]
    if isinstance(data, list) and data and all(isinstance(v, (str, bytes, bool, int, float)) for v in data):
        return _infer_schema(pd.Series(data))
    raise InvalidParameterValue(
        f"Cannot infer a signature from data of type {type(data).__name__}: "
        "pass a pandas DataFrame or Series, a numpy array, or a list of scalars."
    )


def _param_type(value: Any) -> str:
    from datetime import datetime

    for kinds, name in (
        (bool, "boolean"),
        (int, "long"),
        (float, "double"),
        (str, "string"),
        (bytes, "binary"),
        (datetime, "datetime"),
    ):
        if isinstance(value, kinds):
            return name
    raise InvalidParameterValue(f"Unsupported type {type(value).__name__} for a signature param.")


def _infer_params(params: dict[str, Any]) -> ParamSchema:
    specs = []
    for name, value in params.items():
        if isinstance(value, list):
            if not value:
                raise InvalidParameterValue(f"Cannot infer the type of param '{name}' from an empty list.")
            specs.append(ParamSpec(name, _param_type(value[0]), value, (-1,)))
        else:
            specs.append(ParamSpec(name, _param_type(value), value))
    return ParamSchema(specs)


def infer_signature(model_input: Any, model_output: Any = None, params: dict[str, Any] | None = None) -> ModelSignature:
    """A signature describing ``model_input`` (and ``model_output``, ``params`` when given)."""
    return ModelSignature(
        inputs=_infer_schema(model_input),
        outputs=_infer_schema(model_output) if model_output is not None else None,
        params=_infer_params(params) if params else None,
    )


# -- input examples --------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    import base64
    from datetime import date, datetime

    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (datetime, date)):  # pandas.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _example_payload(example: Any) -> tuple[str, Any, Any]:
    """(type, input_example.json content, serving_input_example.json content)."""
    import numpy as np
    import pandas as pd

    if isinstance(example, pd.Series):
        example = example.to_frame()
    if isinstance(example, pd.DataFrame):
        split = example.to_dict(orient="split")
        payload = {"columns": split["columns"], "data": split["data"]}
        return "dataframe", payload, {"dataframe_split": payload}
    if isinstance(example, np.ndarray):
        return "ndarray", example.tolist(), {"inputs": example.tolist()}
    if isinstance(example, (dict, list, str, int, float, bool)):
        return "json_object", example, {"inputs": example}
    raise InvalidParameterValue(
        f"Unsupported input example of type {type(example).__name__}: "
        "pass a pandas DataFrame, a numpy array, or JSON-serialisable data (dict, list, str, number)."
    )


def save_input_example(model_dir: str, example: Any) -> dict[str, Any]:
    """Write ``input_example.json`` and ``serving_input_example.json``; return the MLmodel info."""
    kind, payload, serving = _example_payload(example)
    try:
        text = json.dumps(payload, default=_json_default)
        serving_text = json.dumps(serving, indent=2, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterValue(f"The input example cannot be written as JSON: {exc}") from None
    with open(os.path.join(model_dir, INPUT_EXAMPLE_FILE), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(model_dir, SERVING_INPUT_FILE), "w", encoding="utf-8") as f:
        f.write(serving_text)
    info: dict[str, Any] = {
        "artifact_path": INPUT_EXAMPLE_FILE,
        "serving_input_path": SERVING_INPUT_FILE,
        "type": kind,
    }
    if kind == "dataframe":
        info["pandas_orient"] = "split"
    return info


def load_input_example(model_dir: str, info: dict[str, Any] | None, signature: ModelSignature | None = None) -> Any:
    """The saved input example as an ndarray, a DataFrame or plain JSON data (None if absent)."""
    if not info or not info.get("artifact_path"):
        return None
    from podium.flavors.model import safe_join

    with open(safe_join(model_dir, info["artifact_path"]), encoding="utf-8") as f:
        data = json.load(f)
    kind = info.get("type")
    if kind == "ndarray":
        import numpy as np

        inputs = signature.inputs if signature is not None else None
        dtype = inputs.inputs[0].dtype if inputs is not None and inputs.is_tensor_spec() and len(inputs) == 1 else None
        return np.asarray(data, dtype=dtype)
    if kind == "dataframe":
        import pandas as pd

        if isinstance(data, dict) and "columns" in data:
            return pd.DataFrame(data.get("data", []), columns=data["columns"])
        return pd.DataFrame(data)
    return data


# -- light enforcement -----------------------------------------------------------------------


def _apply_tensor(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if len(schema) != 1:
        return data
    spec: TensorSpec = schema.inputs[0]
    if isinstance(data, (pd.DataFrame, pd.Series)):
        data = data.to_numpy()
    elif isinstance(data, list):
        data = np.asarray(data)
    if not isinstance(data, np.ndarray):
        return data
    expected = tuple(spec.shape)
    if expected and (data.ndim != len(expected) or any(e not in (-1, a) for e, a in zip(expected, data.shape))):
        raise InvalidParameterValue(f"Shape of input {data.shape} does not match the signature's shape {expected}.")
    try:
        target = np.dtype(spec.dtype)
    except TypeError:
        return data
    if data.dtype != target and np.can_cast(data.dtype, target, casting="safe"):
        data = data.astype(target)
    return data


def _apply_columns(data: Any, schema: Schema) -> Any:
    import pandas as pd

    if isinstance(data, dict):
        scalars = all(isinstance(v, (str, bytes)) or not hasattr(v, "__len__") for v in data.values())
        data = pd.DataFrame([data]) if scalars else pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        return data
    missing = [n for n in schema.required_input_names() if n not in data.columns]
    if missing:
        raise InvalidParameterValue(
            f"Model is missing inputs {missing}. The signature expects columns {schema.input_names()}."
        )
    names = [n for n in schema.input_names() if n in data.columns]
    if list(data.columns) != names:  # reorder and drop extras (a copy), only when needed
        data = data[names]
    dtypes = data.dtypes  # once: a column lookup per spec costs more than the model on small batches
    casts = {spec.name: "float64" if spec.type == "double" else "float32" for spec in schema.inputs
             if spec.name in dtypes.index and spec.type in ("double", "float")
             and pd.api.types.is_integer_dtype(dtypes[spec.name])}
    return data.astype(casts) if casts else data


def apply_signature(data: Any, signature: ModelSignature | None) -> Any:
    """Adapt ``data`` to the signature's inputs, lightly (see the module docstring)."""
    if signature is None or signature.inputs is None or not len(signature.inputs):
        return data
    if signature.inputs.is_tensor_spec():
        return _apply_tensor(data, signature.inputs)
    if signature.inputs.has_input_names():
        return _apply_columns(data, signature.inputs)
    return data
