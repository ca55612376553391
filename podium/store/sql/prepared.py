"""Statements compiled once, run on the driver's cursor: the registry's hottest reads (decision 0021).

Running a Core statement through ``Connection.execute`` costs ~70-100 us of Python per call on
SQLAlchemy 2.1 (cache-key generation, the compiled-cache lookup, execution context, result
wrapping), against ~10 us for the same ``SELECT`` on the DBAPI cursor; a registry read is a few
such statements, so that overhead was most of a read's cost. A :class:`Prepared` is a Core
statement compiled once for the database's dialect at start-up; :meth:`Prepared.rows` runs it on
the DBAPI cursor of an SQLAlchemy connection, inside that connection's transaction (so the read
keeps :meth:`~podium.store.sql.engine.Database.read`'s snapshot and isolation level). It serves
only statements whose columns need no type conversion (integers and strings) and whose
parameters are plain values (no ``IN`` lists that expand per call). ``before_cursor_execute``
listeners on the engine still see each statement (the tests count statements that way).
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["Prepared", "prepared"]


class Prepared:
    """``stmt`` compiled for ``dialect``; rows come back as named tuples of its selected columns."""

    __slots__ = ("sql", "_names", "_defaults", "_row")

    def __init__(self, stmt, dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self._defaults = {k: v for k, v in compiled.params.items() if v is not None}
        # positional paramstyles (qmark, format) list names in order, repeats included
        self._names = tuple(compiled.positiontup) if compiled.positional else None
        columns = [c.name for c in stmt.exported_columns]  # a SELECT's columns, or what DML RETURNs
        self._row = namedtuple("Row", columns, rename=True)._make if columns else None

    def _args(self, params: dict):
        if self._defaults:
            params = {**self._defaults, **params}
        return params if self._names is None else tuple([params[n] for n in self._names])

    def _execute(self, conn, args, many: bool = False):
        cursor = conn.connection.cursor()
        listeners = conn.engine.dispatch.before_cursor_execute
        if listeners:  # statement counters and tracers still see every statement
            listeners(conn, cursor, self.sql, args, None, many)
        if many:
            cursor.executemany(self.sql, args)
        else:
            cursor.execute(self.sql, args)
        return cursor

    def rows(self, conn, **params) -> list:
        """The statement's rows with ``params``, on ``conn``'s (an SQLAlchemy ``Connection``) cursor."""
        cursor = self._execute(conn, self._args(params))
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


_SHARED: dict[tuple, Prepared] = {}


def prepared(conn, key: str, build) -> Prepared:
    """The :class:`Prepared` ``build()`` for ``conn``'s dialect, compiled on first use and then shared
    (for module-level writers such as the event log, which have no store instance to keep it on)."""
    dialect = conn.dialect
    cache_key = (dialect.name, dialect.driver, key)
    found = _SHARED.get(cache_key)
    if found is None:
        found = _SHARED[cache_key] = Prepared(build(), dialect)
    return found
