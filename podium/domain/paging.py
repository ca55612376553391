"""Opaque page tokens: base64 of a small JSON object.

Stores decide what goes inside; callers only pass the token back. A token that does not decode is
a client mistake (``INVALID_PARAMETER_VALUE``). Standard library only.

Two shapes are understood:

* **keyset** (what Podium's searches hand out): ``{"after": [v1, ..., vn], "query": "<fingerprint>"}``,
  the last row's sort-key values (ending with the unique tiebreaker) and a fingerprint of the
  filter/order the token was made for. The next page is "rows after these values", so fetching page
  N costs the same as fetching page 2, and rows inserted or deleted meanwhile never shift a page.
  A token replayed with another filter or order is refused.
* **offset**: MLflow's ``{"offset": N}``, still accepted (the next token is a keyset token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from podium.errors import InvalidParameterValue

__all__ = [
    "PagePosition",
    "decode_page_position",
    "decode_page_token",
    "encode_keyset_token",
    "encode_page_token",
    "query_fingerprint",
    "validate_max_results",
]

_MAX_OFFSET = 2**63 - 1
_INT64 = (-(2**63), 2**63 - 1)


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
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidParameterValue("Invalid page token, decoded value is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidParameterValue("Invalid page token, decoded value is not an object")
    offset = payload.get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= _MAX_OFFSET:
        raise InvalidParameterValue("Invalid page token, offset must be a non-negative integer")
    return payload


# ------------------------------------------------------------------------------ keyset tokens
def query_fingerprint(*parts: object) -> str:
    """A short digest of what a search was asked (entity, parsed filter, order keys, scope).

    ``parts`` must have a deterministic ``repr`` (the frozen dataclasses of the search AST do).
    """
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def encode_keyset_token(after: Sequence, query: str) -> str:
    """The token for the page that starts after the row whose sort-key values are ``after``."""
    return encode_page_token({"after": list(after), "query": query})


@dataclass(frozen=True)
class PagePosition:
    """Where a page starts: after a row's sort-key values (keyset), or at an offset (MLflow tokens)."""

    after: tuple | None = None
    offset: int = 0


def decode_page_position(token: str | None, query: str, types: Sequence[type]) -> PagePosition:
    """Decode ``token`` for a search whose fingerprint is ``query`` and whose sort keys hold values of
    ``types`` (``int``, ``float`` or ``str``; any of them may be ``None``, a SQL NULL).

    Raises ``InvalidParameterValue`` for a token made for another filter/order or holding values of
    the wrong shape (the values go into SQL as bound parameters, so a forged token can only select
    another starting point, never break the query).
    """
    payload = decode_page_token(token)
    if "after" not in payload:
        return PagePosition(offset=payload.get("offset", 0))
    if payload.get("query") != query:
        raise InvalidParameterValue(
            "Invalid page token: it was issued for a different filter or order_by. "
            "Repeat the search without a page token."
        )
    after = payload["after"]
    if not isinstance(after, list) or len(after) != len(types):
        raise InvalidParameterValue("Invalid page token, malformed sort-key values")
    for value, kind in zip(after, types):
        if not _fits(value, kind):
            raise InvalidParameterValue("Invalid page token, malformed sort-key values")
    return PagePosition(after=tuple(after))


def _fits(value: object, kind: type) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
    if kind is float:
        return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))
    if kind is str:  # a lone surrogate (JSON allows "\ud800") cannot be sent to any database
        return isinstance(value, str) and _encodable(value)
    return isinstance(value, kind)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
