"""MLflow's scoring protocol (what ``mlflow models serve`` accepts), for ``POST /invocations``.

A JSON body is a dictionary with exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs``, plus optional ``params``; a ``text/csv`` body is a table with a header
row. The answer is ``{"predictions": ...}``. Bad input is a 400 with MLflow's error body
(``error_code``, ``message``); an unsupported content type is a 415 with a plain-text message, as
MLflow answers.
"""

from __future__ import annotations

import io
import json
from typing import Any

try:  # a declared dependency; the standard library's parser is the fallback
    from orjson import JSONDecodeError as _JSONDecodeError
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads, _JSONDecodeError = json.loads, ValueError

__all__ = ["INPUT_FIELDS", "ScoringError", "parse_request", "to_predictions"]

INPUT_FIELDS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_CONTENT_TYPES = ("text/csv", "application/json")


class ScoringError(Exception):
    """A request the model cannot score: answered with ``status`` and MLflow's error body."""

    def __init__(self, message: str, error_code: str = "BAD_REQUEST", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status

    def body(self) -> dict:
        return {"error_code": self.error_code, "message": self.message}


def _media_type(content_type: str | None) -> str:
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    if media not in _CONTENT_TYPES:
        raise ScoringError(f"This predictor only supports the following content types: {list(_CONTENT_TYPES)}. "
                           f"Got '{media or 'none'}'.", "UNSUPPORTED_MEDIA_TYPE", 415)
    names = [p.split("=", 1)[0].strip().lower() for p in parameters.split(";") if p.strip()]
    unknown = [n for n in names if n != "charset"]
    if unknown:
        raise ScoringError(f"Unrecognized content type parameters: {', '.join(unknown)} (the pre-2.0 "
                           "'format=' parameter is gone: put the format in the JSON body instead).",
                           "UNSUPPORTED_MEDIA_TYPE", 415)
    return media


def parse_request(content_type: str | None, body: bytes) -> tuple[Any, dict | None]:
    """``(model input, params)`` for a request, or :class:`ScoringError`."""
    if _media_type(content_type) == "text/csv":
        return _parse_csv(body), None
    try:
        try:
            payload = _loads(body)
        except _JSONDecodeError:  # NaN, Infinity: the standard library reads them, as MLflow's server does
            payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScoringError(f"Invalid input. Ensure that input is a valid JSON formatted string. Error: {exc}") from None
    if not isinstance(payload, dict):
        raise ScoringError("Invalid input. The input must be a JSON dictionary with exactly one of the input "
                           f"fields {set(INPUT_FIELDS)}. Received a {type(payload).__name__}.")
    given = [k for k in INPUT_FIELDS if k in payload]
    if len(given) != 1:
        raise ScoringError(f"The input must be a JSON dictionary with exactly one of the input fields "
                           f"{set(INPUT_FIELDS)}. Received dictionary with input fields: {given}.")
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise ScoringError("Invalid input. 'params' must be a JSON dictionary.")
    return _model_input(given[0], payload[given[0]]), params


def _model_input(field: str, value: Any) -> Any:
    import numpy as np
    import pandas as pd

    try:
        if field == "dataframe_split":
            if not isinstance(value, dict):
                raise ValueError("'dataframe_split' must be a dictionary with 'columns' and 'data'")
            data, columns, index = value.get("data", []), value.get("columns"), value.get("index")
            if _all_floats(data, columns):  # one float64 block: what pandas infers column by column, 10x faster;
                # names as plain objects, which scikit-learn's feature-name check reads faster than Arrow strings
                return pd.DataFrame(np.array(data, dtype=np.float64), columns=pd.Index(columns, dtype=object),
                                    index=index)
            return pd.DataFrame(data, columns=columns, index=index)
        if field == "dataframe_records":
            if not isinstance(value, list):
                raise ValueError("'dataframe_records' must be a list of records")
            return pd.DataFrame.from_records(value)
        # instances / inputs: records -> a frame; a dict of columns -> a frame; anything else -> an array
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return pd.DataFrame.from_records(value)
        if isinstance(value, dict):
            return pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in value.items()})
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ScoringError(f"Invalid input. Could not read '{field}' as model input: {exc}") from None


def _all_floats(data: Any, columns: Any) -> bool:
    """Is ``data`` a non-empty list of rows of JSON floats, as many as ``columns`` names?"""
    if not isinstance(data, list) or not data or not isinstance(columns, list) or not columns:
        return False
    width = len(columns)
    for row in data:
        if type(row) is not list or len(row) != width:
            return False
        for v in row:
            if type(v) is not float:
                return False
    return True


def _parse_csv(body: bytes):
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ScoringError(f"Invalid input. Could not read the CSV body: {exc}") from None


def to_predictions(result: Any) -> dict:
    """``{"predictions": ...}`` for what a model returned (arrays, frames, series, plain values)."""
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return {"predictions": json.loads(result.to_json(orient="records"))}
    if isinstance(result, pd.Series):
        result = result.to_numpy()
    if isinstance(result, np.ndarray):
        return {"predictions": result.tolist()}
    return {"predictions": result}
