"""What the tracking store's parts share: ids, artifact locations, errors, metric values, upserts."""

from __future__ import annotations

import math
import random

from collections import defaultdict

from sqlalchemy import bindparam, delete, insert, select

from podium import clock
from podium.errors import InvalidParameterValue, ResourceDoesNotExist

__all__ = ["experiment_not_found", "experiment_pk", "from_db", "join_location", "now_ms", "random_run_name",
           "key_values", "run_not_found", "to_db", "upsert"]

_ADJECTIVES = "able bold brave bright calm clever crisp eager fair gentle grand keen kind lively lucky merry neat noble proud quick quiet rare sharp smart swift tidy warm wise".split()
_NOUNS = "otter heron lynx finch panda koala falcon bison robin whale zebra gecko owl fox hare crane moose seal swan wren yak ibis lark mole".split()


def now_ms() -> int:
    return clock.now_ms()


def join_location(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def run_not_found(run_id: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Run with id={run_id} not found")


def experiment_not_found(experiment_id) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")


def experiment_pk(experiment_id) -> int:
    try:
        pk = int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Invalid experiment ID: '{experiment_id}'") from None
    if not 0 <= pk <= 2**31 - 1:  # no such experiment can exist (ids are 32-bit)
        raise experiment_not_found(experiment_id)
    return pk


_MAX_DOUBLE = 1.7976931348623157e308


def to_db(value: float) -> float | None:
    """NaN is stored as NULL (SQLite turns NaN into NULL anyway, MySQL cannot store it), and
    +/-infinity as +/-the largest double (MySQL has no infinity; MLflow does the same)."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return math.copysign(_MAX_DOUBLE, value)
    return value


def from_db(value: float | None) -> float:
    if value is None:
        return math.nan
    if abs(value) == _MAX_DOUBLE:
        return math.copysign(math.inf, value)
    return value


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


def upsert(conn, table, owner: dict, key: str, value: str) -> None:
    """Set ``key`` of the entity ``owner`` (its key columns) in a key/value ``table`` to ``value``."""
    conditions = [getattr(table.c, k) == v for k, v in owner.items()]
    conn.execute(delete(table).where(*conditions, table.c.key == key))
    conn.execute(insert(table).values(**owner, key=key, value=value))


def key_values(conn, table, owner_column: str, owners: list[str]) -> dict[str, dict[str, str]]:
    """``{owner: {key: value}}`` from a key/value ``table`` (tags, params) for ``owners``, one query."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    owner = getattr(table.c, owner_column)
    query = select(owner, table.c.key, table.c.value).where(owner.in_(bindparam("owners", expanding=True)))
    for row_owner, key, value in conn.execute(query, {"owners": owners}):
        out[row_owner][key] = value
    return out
