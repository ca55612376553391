"""Compile the neutral search AST (``podium.domain.search_ast``) into SQL expressions.

Every filter, including ``OR``, ``NOT`` and parentheses, becomes one SQL ``WHERE`` clause; no row is
loaded into Python to be filtered. Tags, params and metrics are matched with correlated ``EXISTS``
sub-queries that ride on the owner's primary key ``(owner, key)``, except ``tags.k = 'v'`` on a side
table that declares its ``owner`` columns (the registry's tag tables): that one is
``owner IN (SELECT owner FROM tags WHERE key = 'k' AND value = 'v')``, answered from the
``(key, value)`` index (migration 0011; on PostgreSQL through ``md5(value)``, see
:func:`_value_equals`), so a search for a rare tag reads its matches, not every model (decision 0023).
Unless an indexed attribute in the same ``AND`` (``name = 'x'``, ``name LIKE 'prefix%'``:
:attr:`Target.indexed`) matches fewer rows than the tag: then the tag is checked per candidate with
``EXISTS`` (:func:`tags_to_check` counts both, up to :data:`PROBE_LIMIT`, on SQLite, whose planner
has no statistics of values and otherwise drives from the tag index even for a value most rows
share: ``tags.validated = 'true'`` read 9,000 rows to find 10 in a name prefix, 17 ms instead of 0.3).

Semantics worth knowing (as MLflow): ``tags.k != 'v'`` matches entities that *have* tag ``k`` with
another value, except for ``mlflow.prompt.is_prompt``, where entities without the tag match too (the
mlflow client appends ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every model search).
``NOT tags.k = 'v'`` matches entities without the tag as well. ``LIKE`` is case-sensitive on every
backend, ``ILIKE`` is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import BigInteger, Double, Text, and_, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from podium.domain.search_ast import And, Comparison, Node, Not, Or, OrderKey
from podium.errors import InvalidParameterValue

__all__ = ["Target", "compile_filter", "compile_order_by", "order_expression", "tags_to_check"]

#: tag keys whose ``!=`` also matches entities without the tag (MLflow's prompt convention)
_ABSENT_MATCHES_NOT_EQUAL = {"mlflow.prompt.is_prompt"}


@dataclass
class KeyedTable:
    """A key/value side table (tags, params, metrics) and how its rows join the searched row."""

    table: object
    join: Callable[[object], ColumnElement]  # table -> condition tying it to the outer row
    value_column: str = "value"
    #: table -> (the outer row's key, the table's columns holding it), for ``key IN (SELECT ...)``;
    #: given only where a ``(key, value, owner...)`` index exists (``tables._tag_value_index``)
    owner: Callable[[object], tuple[ColumnElement, list]] | None = None


@dataclass
class Target:
    """What a search runs over: attribute columns by canonical key, plus side tables by kind."""

    attributes: dict[str, ColumnElement]
    keyed: dict[str, KeyedTable] = field(default_factory=dict)
    dialect: str = "sqlite"
    #: attributes an index serves by equality and by prefix (the name): a conjunct on one of them
    #: narrows the search, so tags in the same ``AND`` are checked per row rather than driving it
    indexed: frozenset[str] = frozenset()


def compile_filter(node: Node | None, target: Target, checked: frozenset = frozenset()) -> ColumnElement:
    """``node`` as a ``WHERE`` condition; tag equalities in ``checked`` (from :func:`tags_to_check`)
    are tested per row instead of driving the search."""
    if node is None:
        return true()
    if isinstance(node, And):
        return and_(*(compile_filter(item, target, checked) for item in node.items))
    if isinstance(node, Or):
        return or_(*(compile_filter(item, target, checked) for item in node.items))
    if isinstance(node, Not):
        return not_(compile_filter(node.item, target, checked))
    if isinstance(node, Comparison):
        if node.kind == "attribute":
            column = target.attributes.get(node.key)
            if column is None:
                raise InvalidParameterValue(f"Invalid attribute key '{node.key}' specified.")
            return _compare(column, node.op, node.value, target.dialect)
        return _compare_keyed(node, target, node in checked)
    raise InvalidParameterValue(f"Unsupported filter node {node!r}")


#: how many matching rows a probe of :func:`tags_to_check` counts before it stops
PROBE_LIMIT = 500


def tags_to_check(conn, node: Node | None, target: Target) -> frozenset:
    """The tag equalities of a top-level ``AND`` that match more rows than an indexed attribute beside
    them (each side counted up to :data:`PROBE_LIMIT` through its index, a fraction of a millisecond):
    those are better checked per candidate than used to drive the search. SQLite only: PostgreSQL's
    planner chooses from its own statistics of common values, and on PostgreSQL (under a collation
    other than C) and MySQL/MariaDB (``COLLATE utf8mb4_bin``) a case-sensitive ``LIKE`` prefix is not
    served by the name's index, so the name could not drive there anyway."""
    if target.dialect != "sqlite" or not isinstance(node, And):
        return frozenset()
    narrowing = [item for item in node.items if _narrows(item, target)]
    tags = [item for item in node.items if _drives(item, target)]
    if not narrowing or not tags:
        return frozenset()
    fewest = min(_count(conn, select(literal(1)).where(compile_filter(item, target))) for item in narrowing)
    checked = set()
    for tag in tags:
        side = target.keyed[tag.kind]
        table = side.table.alias()
        matching = select(literal(1)).select_from(table).where(
            table.c.key == tag.key, _value_equals(getattr(table.c, side.value_column), tag.value, target.dialect))
        if _count(conn, matching) > fewest:
            checked.add(tag)
    return frozenset(checked)


def _count(conn, query) -> int:
    return conn.execute(select(func.count()).select_from(query.limit(PROBE_LIMIT + 1).subquery())).scalar()


def _drives(node: Node, target: Target) -> bool:
    """Whether ``node`` is a tag equality that :func:`_compare_keyed` would answer from the tag index."""
    if not isinstance(node, Comparison) or node.kind == "attribute" or node.op != "=":
        return False
    side = target.keyed.get(node.kind)
    return side is not None and side.owner is not None and isinstance(node.value, str)


def _narrows(node: Node, target: Target) -> bool:
    """Whether ``node`` is a condition an index answers by itself: equality, or ``LIKE`` with a literal
    prefix, on one of the target's indexed attributes."""
    if not isinstance(node, Comparison) or node.kind != "attribute" or node.key not in target.indexed:
        return False
    if node.op == "=":
        return True
    return node.op == "LIKE" and isinstance(node.value, str) and node.value[:1] not in ("", "%", "_")


def _compare_keyed(node: Comparison, target: Target, checked: bool = False) -> ColumnElement:
    side = target.keyed.get(node.kind)
    if side is None:
        raise InvalidParameterValue(f"Invalid entity type '{node.kind}' in this search.")
    table = side.table.alias()
    value = getattr(table.c, side.value_column)
    base = [side.join(table), table.c.key == node.key]
    if node.op == "IS NULL":
        return not_(exists().where(*base))
    if node.op == "IS NOT NULL":
        return exists().where(*base)
    if node.op == "!=" and node.kind == "tag" and node.key in _ABSENT_MATCHES_NOT_EQUAL:
        return not_(exists().where(*base, value == node.value))
    if node.op == "NOT IN" and node.kind == "tag" and node.key in _ABSENT_MATCHES_NOT_EQUAL:
        return not_(exists().where(*base, value.in_(list(node.value))))
    if _drives(node, target) and not checked:
        outer, inner = side.owner(table)
        matching = select(*inner).where(table.c.key == node.key, _value_equals(value, node.value, target.dialect))
        return outer.in_(matching)
    return exists().where(*base, _compare(value, node.op, node.value, target.dialect))


def _value_equals(column, value: str, dialect: str) -> ColumnElement:
    """``column = value`` in the form the ``(key, value)`` index of its dialect can answer: on
    PostgreSQL the index holds ``md5(value)`` (whole values may exceed a b-tree entry), so the
    hashes are compared too; MySQL/MariaDB's prefix index and SQLite's whole-value index serve the
    plain comparison."""
    if dialect == "postgresql":
        return and_(func.md5(column) == func.md5(literal(value, Text())), column == value)
    return column == value


_INT64 = 2**63 - 1


def _bindable(value):
    """Integers are bound as 64-bit (a 32-bit column's type would otherwise be forced on them, and
    PostgreSQL refuses 2**31 as INTEGER); beyond 64 bits they are bound as doubles, which still
    compare correctly with any integer column."""
    if isinstance(value, int) and not isinstance(value, bool):
        return literal(value, BigInteger()) if abs(value) <= _INT64 else literal(float(value), Double())
    if isinstance(value, tuple):
        return tuple(_bindable(v) for v in value)
    return value


def _compare(column, op: str, value, dialect: str) -> ColumnElement:
    value = _bindable(value)
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return _like(column, value, dialect)
    if op == "ILIKE":
        return column.ilike(value)
    if op == "IN":
        return column.in_(list(value)) if value else false()
    if op == "NOT IN":
        return column.not_in(list(value)) if value else true()
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    raise InvalidParameterValue(f"Invalid comparator '{op}'.")


def _like(column, pattern: str, dialect: str) -> ColumnElement:
    """Case-sensitive LIKE everywhere (SQLite's LIKE folds ASCII case, so it gets GLOB)."""
    if dialect == "sqlite":
        return column.op("GLOB", is_comparison=True)(_like_to_glob(pattern))
    if dialect in ("mysql", "mariadb"):
        return column.collate("utf8mb4_bin").like(pattern)
    return column.like(pattern)


def _like_to_glob(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def order_expression(key: OrderKey, target: Target) -> ColumnElement:
    """The SQL expression an ORDER BY key sorts on: an attribute's column, or a keyed value (a tag)
    as a scalar sub-select (NULL where the entity has no such key)."""
    if key.kind == "attribute":
        column = target.attributes.get(key.key)
        if column is None:
            raise InvalidParameterValue(f"Invalid order_by key '{key.key}'.")
        return column
    side = target.keyed.get(key.kind)
    if side is None:
        raise InvalidParameterValue(f"Invalid order_by entity '{key.kind}'.")
    table = side.table.alias()
    return (
        select(getattr(table.c, side.value_column))
        .where(side.join(table), table.c.key == key.key)
        .limit(1)
        .scalar_subquery()
    )


def compile_order_by(keys: list[OrderKey], target: Target) -> list[ColumnElement]:
    """ORDER BY terms; missing values (NULLs) sort last in both directions, on every backend."""
    terms = []
    for key in keys:
        column = order_expression(key, target)
        terms.append(column.is_(None))
        terms.append(column.asc() if key.ascending else column.desc())
    return terms
