"""Request parsing: query string or JSON body -> a dict of typed parameters, with MLflow's messages.

MLflow's conventions, measured against 3.17.2:

* GET parameters come from the query string; repeated keys make a list (``order_by=a&order_by=b``);
  booleans are ``true``/``false``; numbers are decimal strings.
* POST, PATCH and DELETE carry a JSON object body (DELETE too). A malformed or non-object body is
  treated as ``{}``, so the error a client sees is about the missing parameter.
* A value of the wrong JSON type is ``INVALID_PARAMETER_VALUE``: ``Invalid value 123 for parameter
  'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about
  request parameters.`` (the value JSON-encoded, the type its Python name). Model version numbers are
  strings on the wire, so ``"version": 2`` is refused this way, as MLflow does.
* A required parameter that is absent or ``""`` is ``Missing value for required parameter 'name'.
  See the API docs for more information about request parameters.``
* ``run_uuid`` is accepted wherever ``run_id`` is (parameters declare it as ``alias``).
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl

from podium.errors import InvalidParameterValue
from podium.server.routing import Param, Route

try:  # orjson is a declared dependency; the stdlib fallback keeps the parser importable anywhere
    import orjson

    _loads = orjson.loads
    _DecodeError: tuple = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover
    _loads = json.loads
    _DecodeError = (ValueError, UnicodeDecodeError)

__all__ = ["invalid_value", "missing_value", "parse_body", "parse_params", "parse_query"]

_INT_RE = re.compile(r"-?\d+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_DOCS_HINT = "See the API docs for more information about request parameters."


def missing_value(name: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Missing value for required parameter '{name}'. {_DOCS_HINT}")


def invalid_value(name: str, value) -> InvalidParameterValue:
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return InvalidParameterValue(
        f"Invalid value {shown} for parameter '{name}' supplied:  Hint: Value was of type "
        f"'{type(value).__name__}'. {_DOCS_HINT}"
    )


def parse_body(raw: bytes) -> dict:
    """A JSON object body; anything else (empty, malformed, a list) reads as ``{}`` like MLflow."""
    if not raw:
        return {}
    try:
        body = _loads(raw)
    except _DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """``a=1&b=2&b=3`` -> ``{"a": ["1"], "b": ["2", "3"]}``."""
    out: dict[str, list[str]] = {}
    if query_string:
        for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            out.setdefault(key, []).append(value)
    return out


def parse_params(route: Route, query: dict[str, list[str]], body: dict, path_params: dict[str, str]) -> dict:
    """Every declared parameter of ``route`` by name (``None`` when absent), typed and checked."""
    out: dict = {}
    for p in route.params:
        if p.where == "path":
            value = path_params.get(p.name)  # ASGI paths arrive percent-decoded already
        elif p.where == "query":
            value = _from_query(p, query)
        else:
            value = body.get(p.name)
            if value is None and p.alias:
                value = body.get(p.alias)
            if value is not None:
                value = _check(p, value, p.name)
        if p.required and (value is None or value == ""):
            raise missing_value(p.name)
        out[p.name] = value
    return out


def _from_query(p: Param, query: dict[str, list[str]]):
    values = query.get(p.name)
    if values is None and p.alias:
        values = query.get(p.alias)
    if values is None:
        return None
    if p.kind == "array":
        return [v for v in values if v != ""] if p.items in (None, "string") else _bad_query(p, values[0])
    raw = values[0]
    if raw == "" and p.kind != "string":
        return None
    if p.kind == "integer":
        if not _INT_RE.fullmatch(raw.strip()):
            raise invalid_value(p.name, raw)
        return _bounded(p, int(raw), raw)
    if p.kind == "number":
        return _number(p.name, raw)
    if p.kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise invalid_value(p.name, raw)
        return raw.lower() == "true"
    if p.kind == "object":
        return _bad_query(p, raw)
    return raw


def _bad_query(p: Param, raw: str):
    raise InvalidParameterValue(
        f"Parameter '{p.name}' cannot be given in the query string (got {raw!r}); send it in a JSON body."
    )


def _check(p: Param, value, name: str):
    """``value`` from a JSON body, checked against ``p``'s kind (and converted where proto3 JSON allows)."""
    kind = p.kind
    if kind == "string":
        if not isinstance(value, str):
            raise invalid_value(name, value)
        return value
    if kind == "integer":
        if isinstance(value, bool):
            raise invalid_value(name, value)
        if isinstance(value, int):
            return _bounded(p, value, value)
        if isinstance(value, float) and value.is_integer():
            return _bounded(p, int(value), value)
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return _bounded(p, int(value), value)
        raise invalid_value(name, value)
    if kind == "number":
        if isinstance(value, bool):
            raise invalid_value(name, value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return _number(name, value)
        raise invalid_value(name, value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid_value(name, value)
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid_value(name, value)
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise invalid_value(name, value)
        return [_check_item(p, item) for item in value]
    return value  # pragma: no cover - every kind is handled above


def _check_item(p: Param, item):
    if isinstance(p.items, tuple):  # an object with declared fields
        if not isinstance(item, dict):
            raise invalid_value(p.name, item)
        checked = dict(item)
        for field in p.items:
            value = item.get(field.name)
            if value is None:
                if field.required:
                    raise missing_value(field.name)
                continue
            checked[field.name] = _check(field, value, field.name)
            if field.required and checked[field.name] == "":
                raise missing_value(field.name)
        return checked
    if p.items in (None, "string"):
        if not isinstance(item, str):
            raise invalid_value(p.name, item)
        return item
    return _check(Param(p.name, p.items), item, p.name)


def _bounded(p: Param, number: int, raw):
    """int64 range (as proto3 JSON), then the parameter's own maximum."""
    if not _INT64_MIN <= number <= _INT64_MAX or (p.maximum is not None and number > p.maximum):
        raise invalid_value(p.name, raw)
    return number


def _number(name: str, raw: str) -> float:
    if raw in _NON_FINITE:
        return _NON_FINITE[raw]
    try:
        return float(raw)
    except ValueError:
        raise invalid_value(name, raw) from None
