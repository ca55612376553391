"""Keyset ("seek") pagination for the SQL stores' searches.

A page token carries the sort values of the last row served (plus a fingerprint of the query), and
the next page starts with "rows after these values" in the search's order, so page N costs what
page 2 costs and the database reads one page of an index instead of skipping N pages of rows.
:class:`KeysetOrder` turns ``order_by`` keys (always ending in a unique tiebreaker) into the ORDER BY
terms, the selected sort columns and the "after" condition; :func:`keyset_page` applies it to a
query. Used by the registry's searches and by ``search_runs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Double, and_, false, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from podium.domain.paging import decode_page_position, encode_keyset_token
from podium.domain.search_ast import OrderKey
from podium.store.sql.filters import Target, order_expression

__all__ = ["KeysetOrder", "keyset_page"]


@dataclass(frozen=True)
class _SortKey:
    expr: ColumnElement
    ascending: bool
    nullable: bool
    kind: type  # int | float | str: what a page token may carry for this key


class KeysetOrder:
    """An ORDER BY ending in a unique tiebreaker, and the "rows after this row" condition for it.

    Semantics are ``filters.compile_order_by``'s: NULLs sort last in both directions. ``col IS NULL``
    is emitted only for expressions that can be NULL, so that an index on the key columns can
    deliver the order (``(col IS NULL)`` is an expression no plain index provides).

    Paging: ``columns()`` are selected with the rows, ``values(last_row)`` go into the page token,
    and the next page adds ``after(values)``, the expanded form of "(k1, ..., kn) > (v1, ..., vn)"
    with each key's own direction (row-value comparison cannot mix directions)::

        (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ... (NULL-aware; ">" is "<" for a DESC key)

    plus a sargable bound on the first key (``k1 >= v1``) so that the database starts an index
    range scan at the cursor instead of filtering from the first row.
    """

    _LABEL = "podium_sort_{}"

    def __init__(self, keys: Sequence[OrderKey], target: Target) -> None:
        self.order_keys = list(keys)
        self._keys = [self._resolve(key, target) for key in keys]

    @staticmethod
    def _resolve(key: OrderKey, target: Target) -> _SortKey:
        expr = order_expression(key, target)
        nullable = bool(getattr(expr, "nullable", True)) if key.kind == "attribute" else True
        try:
            kind = expr.type.python_type
        except NotImplementedError:
            kind = str
        if kind not in (int, float, str):
            kind = str
        return _SortKey(expr, key.ascending, nullable, kind)

    @property
    def types(self) -> list[type]:
        return [k.kind for k in self._keys]

    def order_by(self) -> list[ColumnElement]:
        terms = []
        for k in self._keys:
            if k.nullable:
                terms.append(k.expr.is_(None))
            terms.append(k.expr.asc() if k.ascending else k.expr.desc())
        return terms

    def columns(self) -> list[ColumnElement]:
        return [k.expr.label(self._LABEL.format(i)) for i, k in enumerate(self._keys)]

    def values(self, row) -> list:
        return [getattr(row, self._LABEL.format(i)) for i in range(len(self._keys))]

    def after(self, values: Sequence) -> ColumnElement:
        equal: list[ColumnElement] = []
        beyond: list[ColumnElement] = []
        for k, raw in zip(self._keys, values):
            if raw is None:  # NULL sorts last: nothing is beyond it on this key
                equal.append(k.expr.is_(None))
                continue
            value = _bound(raw, k.kind)
            step = k.expr > value if k.ascending else k.expr < value
            if k.nullable:
                step = or_(step, k.expr.is_(None))
            beyond.append(and_(*equal, step))
            equal.append(k.expr == value)
        condition = or_(*beyond) if beyond else false()
        first, raw = self._keys[0], values[0]
        if raw is None:
            lead = first.expr.is_(None)
        else:
            value = _bound(raw, first.kind)
            lead = first.expr >= value if first.ascending else first.expr <= value
            if first.nullable:
                lead = or_(lead, first.expr.is_(None))
        return and_(lead, condition)


def _bound(value, kind: type):
    """Token values bound with 64-bit/double types (a forged 2**40 must not overflow an INTEGER
    parameter on PostgreSQL: it then simply compares as larger than every row)."""
    if kind is int:
        return literal(value, BigInteger())
    if kind is float:
        return literal(float(value), Double())
    return literal(value)


def keyset_page(query, order: KeysetOrder, fingerprint: str, page_token: str | None, max_results: int):
    """``query`` (already filtered) limited to one page, and a function turning the fetched rows into
    ``(rows of this page, next page token or None)``."""
    position = decode_page_position(page_token, fingerprint, order.types)
    query = query.add_columns(*order.columns()).order_by(*order.order_by()).limit(max_results + 1)
    if position.after is not None:
        query = query.where(order.after(position.after))
    elif position.offset:
        query = query.offset(position.offset)  # an MLflow-shaped {"offset": N} token

    def finish(rows: Sequence) -> tuple[Sequence, str | None]:
        if len(rows) <= max_results:
            return rows, None
        return rows[:max_results], encode_keyset_token(order.values(rows[max_results - 1]), fingerprint)

    return query, finish
