"""Validation rules for names, keys, stages and aliases, with MLflow's messages.

Every function raises :class:`~podium.errors.InvalidParameterValue` on bad input and returns the
canonical value otherwise. Standard library only.
"""

from __future__ import annotations

import difflib
import posixpath
import re
import unicodedata

from podium.domain.entities import STAGES
from podium.errors import InvalidParameterValue

__all__ = [
    "MAX_ENTITY_KEY_LENGTH",
    "MAX_EXPERIMENT_TAG_VALUE_LENGTH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_REGISTRY_TAG_VALUE_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "canonical_stage",
    "require",
    "validate_alias_name",
    "validate_experiment_name",
    "validate_int64",
    "validate_key",
    "validate_metric_value",
    "validate_description",
    "validate_model_name",
    "validate_new_model_name",
    "validate_tag_value",
    "validate_version",
]

MAX_ENTITY_KEY_LENGTH = 250
# MLflow's limits (values longer than these are refused, never silently cut)
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000  # run tags
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20000
MAX_REGISTRY_TAG_VALUE_LENGTH = 100000  # registered models, versions and logged models
MAX_VERSION = 2**31 - 1  # version numbers are 32-bit integers in every backend
MAX_NAME_LENGTH = 500
#: descriptions of registered models and versions (MLflow has no limit; its SQL column holds 5,000)
MAX_DESCRIPTION_LENGTH = 100_000
#: Unicode categories a new model name may not contain: control characters (newlines, tabs, escape),
#: format characters (bidirectional overrides such as U+202E, zero-width spaces and joiners, BOM),
#: line and paragraph separators, surrogates. They make one name look like another.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})

_ALIAS_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_VERSION_ALIAS_RE = re.compile(r"^[vV]\d+$")
_KEY_RE = re.compile(r"^[\w\-. /:]+$")


def _missing(param: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Missing value for required parameter '{param}'. "
        "See the API docs for more information about request parameters."
    )


def require(value, param: str):
    """A required parameter must be present and non-empty."""
    if value is None or (isinstance(value, str) and value == ""):
        raise _missing(param)
    return value


def validate_model_name(name, param: str = "name") -> str:
    require(name, param)
    if not isinstance(name, str):
        raise InvalidParameterValue(
            f"Invalid value {name!r} for parameter '{param}' supplied: "
            f"Hint: Value was of type '{type(name).__name__}'."
        )
    if "/" in name or ":" in name:
        raise InvalidParameterValue(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValue(
            f"Invalid model name: names may be at most {MAX_NAME_LENGTH} characters long."
        )
    return name


def validate_new_model_name(name, param: str = "name") -> str:
    """A name for a model being created or renamed: :func:`validate_model_name`, and no invisible or
    control characters (lookups still accept any name, so models named before this rule stay reachable)."""
    validate_model_name(name, param)
    for char in name:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise InvalidParameterValue(
                f"Invalid model name {name!r}: names cannot contain control or invisible formatting characters "
                f"(found U+{ord(char):04X} {unicodedata.name(char, 'control character')}).")
    return name


def validate_description(description, param: str = "description") -> str | None:
    """A description: text of at most :data:`MAX_DESCRIPTION_LENGTH` characters (None: not given)."""
    if description is None:
        return None
    if not isinstance(description, str):
        raise InvalidParameterValue(
            f"Invalid value {description!r} for parameter '{param}' supplied: "
            f"Hint: Value was of type '{type(description).__name__}'.")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidParameterValue(
            f"'{param}' exceeds the maximum length of {MAX_DESCRIPTION_LENGTH} characters (got {len(description)}).")
    return description


def validate_experiment_name(name) -> str:
    require(name, "name")
    if not isinstance(name, str):
        raise InvalidParameterValue(
            f"Invalid experiment name: {name!r}. Expects a string."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValue(
            f"Invalid experiment name: names may be at most {MAX_NAME_LENGTH} characters long."
        )
    return name


def validate_version(version, param: str = "version") -> int:
    """Model version numbers arrive as int or numeric string; anything else is refused."""
    require(version, param)
    if isinstance(version, bool):
        raise InvalidParameterValue(f"Parameter '{param}' must be an integer, got '{version}'.")
    if isinstance(version, int):
        number = version
    else:
        text = str(version).strip()
        if not re.fullmatch(r"-?\d+", text):
            raise InvalidParameterValue(f"Parameter '{param}' must be an integer, got '{version}'.")
        number = int(text)
    if number < 1 or number > MAX_VERSION:
        raise InvalidParameterValue(
            f"Parameter '{param}' must be an integer between 1 and {MAX_VERSION}, got '{version}'."
        )
    return number


def canonical_stage(stage) -> str:
    """Stage names are case-insensitive on input and canonical on output."""
    if isinstance(stage, str):
        for canonical in STAGES:
            if stage.lower() == canonical.lower():
                return canonical
    close = difflib.get_close_matches(stage.capitalize(), STAGES, n=1) if isinstance(stage, str) else []
    raise InvalidParameterValue(
        f"Invalid Model Version stage: {stage}. Value must be one of "
        f"{', '.join(STAGES)}." + (f" Did you mean '{close[0]}'?" if close else "")
    )


def validate_alias_name(alias) -> str:
    require(alias, "alias")
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise InvalidParameterValue(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    if alias.lower() == "latest":
        raise InvalidParameterValue("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(alias):
        raise InvalidParameterValue(f"Version alias name '{alias}' is reserved.")
    if len(alias) > MAX_NAME_LENGTH:
        raise InvalidParameterValue(f"Alias name may be at most {MAX_NAME_LENGTH} characters long.")
    return alias


def validate_key(key, param: str = "key") -> str:
    """Tag, param and metric keys: non-empty, bounded, and never path-like (``..``, leading ``/``)."""
    require(key, param)
    if not isinstance(key, str):
        raise InvalidParameterValue(
            f"Invalid value {key!r} for parameter '{param}' supplied: "
            f"Hint: Value was of type '{type(key).__name__}'."
        )
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidParameterValue(
            f"'{param}' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} characters."
        )
    normalized = posixpath.normpath(key)
    if key.startswith("/") or normalized != key or normalized.startswith(".."):
        raise InvalidParameterValue(
            f"Invalid value \"{key}\" for parameter '{param}' supplied: Names may be treated as "
            "files in certain cases, and must not resolve to other names when treated as such. "
            f"This name would resolve to '{normalized}'"
        )
    if not _KEY_RE.match(key):
        raise InvalidParameterValue(
            f"Invalid value \"{key}\" for parameter '{param}' supplied: Names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and "
            "slashes (/)."
        )
    return key


def validate_tag_value(value, param: str = "value", limit: int = MAX_REGISTRY_TAG_VALUE_LENGTH) -> str:
    if value is None:
        value = ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidParameterValue(
            f"'{param}' exceeds the maximum length of {limit} characters (got {len(text)})."
        )
    return text


def validate_int64(value, param: str, *, default: int | None = None) -> int | None:
    """An integer field (timestamps, steps): an int or integral string within 64 bits."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid value {value!r} for parameter '{param}': expected an integer.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise InvalidParameterValue(f"Invalid value {value!r} for parameter '{param}': expected an integer.") from None
    if not -(2**63) <= number <= 2**63 - 1:
        raise InvalidParameterValue(f"Invalid value {value!r} for parameter '{param}': out of the 64-bit range.")
    return number


def validate_metric_value(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidParameterValue(
                f"Got invalid value {value!r} for metric '{key}' (timestamp, step). "
                "Please specify value as a valid double (64-bit floating point)."
            ) from None
    return float(value)
