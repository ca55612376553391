"""The neutral syntax tree a search filter parses into (see ``podium.domain.search``).

Stores compile it to their own query language (``podium.store.sql.filters`` to SQL); nothing here
knows about a database. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = ["And", "Comparison", "Node", "Not", "Or", "OrderKey"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``<identifier> <op> <value>`` term.

    kind:  "attribute" | "tag" | "metric" | "param"
    key:   canonical attribute name (e.g. "name", "version_number", "run_id", "source_path",
           "start_time", "status", "run_name", "creation_timestamp", ...), or the tag/metric/param key
    op:    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
    value: str | int | float for scalar ops; tuple of those for IN / NOT IN; None for IS [NOT] NULL
    """

    kind: str
    key: str
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"


Node = Union[Comparison, And, Or, Not]


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``order_by`` clause: kind as in Comparison, canonical key, direction."""

    kind: str
    key: str
    ascending: bool = True
