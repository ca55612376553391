"""Statements compiled once, run on the driver's cursor: the registry's hottest reads (decision 0021).

Running a Core statement through ``Connection.execute`` costs ~70-100 us of Python per call on
SQLAlchemy 2.1 (cache-key generation, the compiled-cache lookup, execution context, result
wrapping), against ~10 us for the same ``SELECT`` on the DBAPI cursor; a registry read is a few
such statements, so that overhead was most of a read's cost. A :class:`Prepared` is a Core
statement compiled once for the database's dialect at start-up; :meth:`Prepared.rows` runs it on
the DBAPI cursor of an SQLAlchemy connection, inside that connection's transaction (so the read
keeps :meth:`~podium.store.sql.engine.Database.read`'s snapshot and isolation level). It serves
only statements whose columns need no type conversion (integers and strings) and whose
parameters are plain values, or lists of integers (or of lowercase hex digests, such as a
location's hash) for an expanding ``IN`` (``bindparam(name, expanding=True)``). On PostgreSQL and
MySQL those are written into the SQL as literals at each call (keys the store read or computed
itself; nothing else passes the check), so the planner sees them as a literal ``IN (...)`` list would
show them (PostgreSQL's most-common-values statistics: see ``SqlRegistryStore``). On SQLite they are
bound, as ``?`` placeholders padded to the next power of two with the list's last value (a
duplicate changes nothing in an ``IN``): the statement's text then depends only on the lists'
sizes, so the driver's statement cache serves it instead of compiling a new text per call (a
search's five statements cost 0.9 ms cached against 1.2 ms compiled each time). ``before_cursor_execute``
listeners on the engine still see each statement (the tests count statements that way).
"""

from __future__ import annotations

import re
from collections import namedtuple

__all__ = ["Prepared", "prepared", "shared"]


class Prepared:
    """``stmt`` compiled for ``dialect``; rows come back as named tuples of its selected columns."""

    __slots__ = ("sql", "_names", "_defaults", "_row", "_lists", "_order", "_expanded")

    def __init__(self, stmt, dialect, *, bound: bool = False) -> None:
        # bound: the statement carries every value it needs (a search built from its filter); its IN
        # lists and literal-rendered values are written out now, and every value is a default
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True} if bound else {})
        self.sql = compiled.string
        # expanding IN lists: rendered per call, as "__[POSTCOMPILE_<name>]" until then
        self._lists = tuple(dict.fromkeys(_EXPANDING.findall(self.sql)))
        self._defaults = {k: v for k, v in compiled.params.items()
                          if (bound or v is not None) and k not in self._lists}
        # positional paramstyles (qmark, format) list names in order, repeats included
        self._names = tuple(n for n in compiled.positiontup if n not in self._lists) if compiled.positional else None
        # SQLite (qmark): every parameter in order, lists included, for binding lists as placeholders
        self._order = tuple(compiled.positiontup) if self._lists and dialect.name == "sqlite" \
            and dialect.paramstyle == "qmark" and not bound else None
        self._expanded: dict[tuple[int, ...], str] = {}  # the SQL for each combination of padded sizes
        columns = [c.name for c in stmt.exported_columns]  # a SELECT's columns, or what DML RETURNs
        self._row = namedtuple("Row", columns, rename=True)._make if columns else None

    def _sql(self, params: dict) -> str:
        """The SQL with each expanding list written out: a non-empty list of ints, or of lowercase hex
        digests (written as quoted literals); anything else is refused."""
        sql = self.sql
        for name in self._lists:
            values = params.pop(name)
            if _checked(name, values) is int:
                text = ", ".join(map(str, values))
            else:
                text = ", ".join(f"'{v}'" for v in values)
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", text)
        return sql

    def _bound(self, params: dict) -> tuple[str, tuple]:
        """SQLite: the SQL with a ``?`` per list item, each list padded to a power of two, and the
        arguments in order; the lists are checked as :meth:`_sql` checks them. Over 999 parameters
        in all, the lists are written as literals (:meth:`_sql`)."""
        if self._defaults:
            params = {**self._defaults, **params}
        lists = {}
        for name in self._lists:
            values = params[name]
            _checked(name, values)
            size = 1 << (len(values) - 1).bit_length()
            lists[name] = [*values, *[values[-1]] * (size - len(values))]
        sizes = tuple(len(lists[name]) for name in self._lists)
        if sum(sizes) + len(self._order) > _MAX_BOUND:
            return self._sql(params), self._args(params)
        sql = self._expanded.get(sizes)
        if sql is None:
            sql = self.sql
            for name, size in zip(self._lists, sizes):
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * size))
            self._expanded[sizes] = sql
        args: list = []
        for name in self._order:
            if name in lists:
                args.extend(lists[name])
            else:
                args.append(params[name])
        return sql, tuple(args)

    def _args(self, params: dict):
        if self._defaults:
            params = {**self._defaults, **params}
        return params if self._names is None else tuple([params[n] for n in self._names])

    def _execute(self, conn, args, many: bool = False, sql: str | None = None):
        sql = sql or self.sql
        cursor = conn.connection.cursor()
        listeners = conn.engine.dispatch.before_cursor_execute
        if listeners:  # statement counters and tracers still see every statement
            listeners(conn, cursor, sql, args, None, many)
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
        return cursor

    def rows(self, conn, **params) -> list:
        """The statement's rows with ``params``, on ``conn``'s (an SQLAlchemy ``Connection``) cursor."""
        if self._order is not None:
            sql, args = self._bound(params)
        else:
            sql = self._sql(params) if self._lists else None
            args = self._args(params)
        cursor = self._execute(conn, args, sql=sql)
        try:
            make = self._row
            return [make(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, conn, **params) -> int:
        """Run a statement that returns no rows (INSERT, UPDATE, DELETE); the number of rows it touched."""
        cursor = self._execute(conn, self._args(params))
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(self, conn, rows: list[dict]) -> None:
        """Run the statement once per parameter set (the driver's ``executemany``)."""
        if rows:
            self._execute(conn, [self._args(r) for r in rows], many=True).close()


#: parameters one SQLite statement may take on every version Podium runs on (SQLite before 3.32
#: allows 999): longer lists are written as literals instead
_MAX_BOUND = 999


def _checked(name: str, values) -> type:
    """``int`` or ``str``: what ``values`` is a non-empty list of (ints, or lowercase hex digests);
    anything else is refused."""
    if isinstance(values, (list, tuple)) and values:  # a string is not a list of its characters
        if all(type(v) is int for v in values):
            return int
        if all(type(v) is str and _HEX.fullmatch(v) for v in values):
            return str
    raise ValueError(f"{name!r} must be a non-empty list of int or of hex digests, not {values!r}")


_EXPANDING = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_HEX = re.compile(r"[0-9a-f]{1,128}")  # a digest (location_hash): nothing that could end a quoted literal
_SHARED: dict[tuple, object] = {}


def _dialect_key(dialect) -> tuple:
    # what a compiled statement depends on: the dialect, its driver (paramstyle) and the server's
    # version (which features the dialect uses, e.g. RETURNING on MariaDB)
    return dialect.name, dialect.driver, dialect.paramstyle, dialect.server_version_info


def shared(dialect, key: str, build):
    """``build(dialect)``, built on first use for this dialect and then shared: a store's statements
    compiled once per process rather than once per store (compiled statements are immutable)."""
    cache_key = (*_dialect_key(dialect), key)
    found = _SHARED.get(cache_key)
    if found is None:
        found = _SHARED[cache_key] = build(dialect)
    return found


def prepared(conn, key: str, build) -> Prepared:
    """The :class:`Prepared` ``build()`` for ``conn``'s dialect, compiled on first use and then shared
    (for module-level writers such as the event log, which have no store instance to keep it on)."""
    return shared(conn.dialect, key, lambda dialect: Prepared(build(), dialect))
