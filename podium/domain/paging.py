"""Opaque page tokens: base64 of a small JSON object, MLflow-compatible (``{"offset": N}``).

Stores decide what goes inside; callers only pass the token back. A token that does not decode is
a client mistake (``INVALID_PARAMETER_VALUE``). Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json

from podium.errors import InvalidParameterValue

__all__ = ["decode_page_token", "encode_page_token", "validate_max_results"]

_MAX_OFFSET = 2**63 - 1


def encode_page_token(payload: dict) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def decode_page_token(token: str | None) -> dict:
    """The payload of a token; ``{}`` for no token."""
    if not token:
        return {}
    try:
        raw = base64.b64decode(token.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidParameterValue("Invalid page token, could not base64-decode") from None
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameterValue("Invalid page token, decoded value is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidParameterValue("Invalid page token, decoded value is not an object")
    offset = payload.get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= _MAX_OFFSET:
        raise InvalidParameterValue("Invalid page token, offset must be a non-negative integer")
    return payload


def validate_max_results(value, *, default: int, limit: int, param: str = "max_results") -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValue(
            f"Invalid value {value!r} for parameter '{param}' supplied: it must be an integer."
        ) from None
    if isinstance(value, bool) or number < 1 or number > limit:
        raise InvalidParameterValue(
            f"Invalid value \"{value}\" for parameter '{param}' supplied: it must be at most "
            f"{limit} and at least 1."
        )
    return number
