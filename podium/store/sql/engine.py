"""Engines and transactions for SQLite, PostgreSQL and MySQL, and schema upgrades.

SQLite is tuned for many writers in many processes: WAL journal (readers never block writers),
``synchronous=NORMAL`` (durable across process crashes; see decision 0003), a 30 s busy timeout and
write transactions opened with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade.
Together these keep "database is locked" from ever reaching a caller. For the server's event loop,
:meth:`Database.nonblocking` turns that around: its reads never wait (busy timeout 0) and raise
:class:`~podium.store.base.WouldBlock` instead, to be made again on a thread (decision 0026).

A database that cannot be opened is a :class:`~podium.errors.PodiumError` with a hint, never a
driver traceback: a slip in the URL (:func:`~podium.uris.check_store_uri`), a SQLite path that is a
directory, a missing driver (``pip install 'podium[postgres]'``), a server that refuses the user or
the database (``INVALID_PARAMETER_VALUE``) or cannot be reached (``TEMPORARILY_UNAVAILABLE``).
Messages name the host, port, user and database, never the password.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from podium.errors import InvalidParameterValue, NotImplementedByPodium, PodiumError, TemporarilyUnavailable
from podium.store.base import WouldBlock
from podium.uris import check_store_uri, sqlite_path_of, without_password

__all__ = ["SCHEMA_REVISION", "Database", "default_sqlite_url", "normalize_db_url"]

#: The Alembic head this code expects. A test checks it matches ``migrations/versions``.
SCHEMA_REVISION = "0012"

_MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCKED_RETRY_SECONDS = 60.0
#: the database whose non-blocking mode is on in this context (:meth:`Database.nonblocking`)
_NONBLOCKING: ContextVar["Database | None"] = ContextVar("podium_nonblocking", default=None)


def normalize_db_url(url: str) -> str:
    """Pick Podium's drivers for bare dialect names (``postgresql://`` -> psycopg 3, ``mysql://`` -> PyMySQL)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("mysql://"):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    return url


class Database:
    """One engine plus the two kinds of transaction Podium uses: ``read()`` and ``write()``."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        check_store_uri(url, database_only=True)
        self.url = normalize_db_url(url)
        path = sqlite_path_of(self.url)
        self.is_sqlite = self.url.startswith("sqlite")
        try:
            if self.is_sqlite:
                if path:
                    _make_sqlite_directory(Path(path).expanduser())
                self.engine = create_engine(
                    self.url,
                    connect_args={"timeout": 30, "check_same_thread": False},
                    pool_size=8,
                    max_overflow=32,
                )
                event.listen(self.engine, "connect", _sqlite_on_connect)
                event.listen(self.engine, "begin", _sqlite_on_begin)
            else:
                kwargs = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
                if self.url.startswith("mysql"):
                    kwargs["isolation_level"] = "READ COMMITTED"
                self.engine = create_engine(self.url, **kwargs)
        except ImportError as exc:
            raise _missing_driver(self.url, exc) from None
        except (ArgumentError, NoSuchModuleError) as exc:
            raise InvalidParameterValue(f"Database URL '{without_password(url)}' is not valid: {exc}") from None
        event.listen(self.engine, "handle_error", _on_connect_error)
        self._upgrade_lock = threading.Lock()
        self._nonblocking = _NonBlockingReads(self) if self.is_sqlite else None
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -------------------------------------------------------------------------
    def read(self):
        """A read-only transaction over one consistent snapshot (SQLite's WAL; REPEATABLE READ on
        PostgreSQL and MySQL, so an entity assembled from several queries never mixes two states).
        Under :meth:`nonblocking`, on the non-blocking connection (:class:`WouldBlock` rather than wait)."""
        if _NONBLOCKING.get() is self:
            return self._nonblocking.read()
        return self._pooled_read()

    def nonblocking(self):
        """SQLite only: a context in which this database's reads never wait for a lock (decision
        0026). They run on one connection kept for the purpose (busy timeout 0, ``query_only``); a read
        that would wait, a nested read and any write raise :class:`~podium.store.base.WouldBlock`
        instead, having changed nothing. For the server's event loop: it must never sleep in SQLite's
        busy handler. One caller at a time (the loop's thread); not re-entrant."""
        if self._nonblocking is None:
            raise NotImplementedByPodium(f"Non-blocking reads need SQLite, not {self.dialect}.")
        return self._nonblocking

    @contextlib.contextmanager
    def _pooled_read(self):
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self):
        """A write transaction: all of it commits, or none of it does."""
        if _NONBLOCKING.get() is self:
            raise WouldBlock("a write under non-blocking mode")
        deadline = time.monotonic() + _LOCKED_RETRY_SECONDS
        while True:
            conn = self.engine.connect().execution_options(podium_write=True)
            try:
                trans = conn.begin()
            except OperationalError as exc:  # SQLite: BEGIN IMMEDIATE timed out
                conn.close()
                if _is_locked(exc) and time.monotonic() < deadline:
                    continue
                raise _unavailable(exc) from exc
            break
        try:
            yield conn
            trans.commit()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
        finally:
            conn.close()

    # -- schema -------------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            except Exception:  # noqa: BLE001 - no table yet: an empty database
                conn.rollback()
                return None
            return row[0] if row else None

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (a no-op costing one query when it is current)."""
        if revision == "head" and self.current_revision() == SCHEMA_REVISION:
            return
        with self._upgrade_lock:
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS_DIR))
            config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
            # one migrator at a time across processes: an advisory lock on PostgreSQL, a named
            # session lock on MySQL (its DDL commits implicitly), the write lock on SQLite
            with self.engine.connect().execution_options(podium_write=True) as conn:
                if self.dialect in ("mysql", "mariadb"):
                    conn.execute(text("SELECT GET_LOCK('podium_migrate', 300)"))
                    conn.commit()
                try:
                    with conn.begin():
                        if self.dialect == "postgresql":
                            conn.execute(text("SELECT pg_advisory_xact_lock(724201)"))
                        config.attributes["connection"] = conn
                        command.upgrade(config, revision)
                finally:
                    if self.dialect in ("mysql", "mariadb"):
                        conn.execute(text("SELECT RELEASE_LOCK('podium_migrate')"))
                        conn.commit()

    def drift(self) -> list:
        """Differences between the live schema and ``tables.py`` (empty when migrations and code agree)."""
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from podium.store.sql.tables import metadata

        dialect = self.dialect

        def include_object(obj, name, type_, reflected, compare_to) -> bool:
            # an index declared for other dialects only (tables._tag_value_index) is not expected here
            dialects = obj.info.get("dialects") if type_ == "index" and not reflected else None
            return dialects is None or dialect in dialects

        with self.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
            return list(compare_metadata(context, metadata))

    def dispose(self) -> None:
        if self._nonblocking is not None:
            self._nonblocking.close()
        self.engine.dispose()


class _NonBlockingReads:
    """:meth:`Database.nonblocking`: its context manager, its connection and its transactions.

    The connection is an engine of its own on the same file (a ``StaticPool``: one DBAPI connection,
    opened on first use, kept), so it never takes a connection from the shared pool and its settings
    never leak into it: ``busy_timeout`` 0 (SQLite answers "database is locked" at once instead of
    sleeping in its busy handler) and ``query_only`` (it cannot write). One SQLAlchemy ``Connection``
    on it is kept too. A read is ``BEGIN`` ... ``COMMIT`` sent on the driver's connection (~5 us,
    against ~25 us through SQLAlchemy's transaction objects), so it holds its WAL snapshot only while
    it runs; a statement run through SQLAlchemy inside it (``conn.execute``) joins that transaction
    (the ``begin`` hook sends no second ``BEGIN``) and is ended with it.
    """

    __slots__ = ("db", "engine", "conn", "driver", "busy", "token")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = None
        self.conn = None  # the SQLAlchemy Connection, kept
        self.driver = None  # its sqlite3 connection
        self.busy = False
        self.token = None

    # the mode: ``with database.nonblocking():``
    def __enter__(self):
        if self.token is not None:
            raise RuntimeError("Database.nonblocking() is not re-entrant")
        self.token = _NONBLOCKING.set(self.db)
        return self

    def __exit__(self, *exc) -> None:
        _NONBLOCKING.reset(self.token)
        self.token = None

    # one read: ``with database.read() as conn:`` under the mode
    def read(self):
        if self.busy:  # a read inside a read: the connection has one transaction
            raise WouldBlock("a nested read under non-blocking mode")
        return _NonBlockingRead(self)

    def begin(self) -> Connection:
        try:
            if self.conn is None or self.conn.invalidated or self.conn.closed:
                self._connect()
            self.driver.execute("BEGIN")
        except (OperationalError, sqlite3.Error) as exc:
            self.drop()
            if _is_locked(exc):
                raise WouldBlock(str(exc)) from exc
            raise
        self.busy = True
        return self.conn

    def end(self, exc: BaseException | None) -> None:
        """Close the read's transaction; ``WouldBlock`` in place of a busy error."""
        self.busy = False
        try:
            if self.conn.in_transaction():  # SQLAlchemy began one inside ours (conn.execute)
                self.conn.rollback()
            if self.driver.in_transaction:
                self.driver.rollback()  # a read: nothing to keep
        except (OperationalError, sqlite3.Error):
            self.drop()
            if exc is None:
                raise
        if isinstance(exc, (OperationalError, sqlite3.Error)):
            if _is_locked(exc):
                raise WouldBlock(str(exc)) from exc
            self.drop()  # a driver error other than busy: a fresh connection next time

    def _connect(self) -> None:
        if self.engine is None:
            self.engine = create_engine(self.db.url, poolclass=StaticPool,
                                        connect_args={"timeout": 0, "check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_nonblocking_on_connect)
            event.listen(self.engine, "begin", _sqlite_join_on_begin)
        self.conn = self.engine.connect()
        self.driver = self.conn.connection.driver_connection

    def drop(self) -> None:
        """Forget the connection (invalidated: it is closed, never reused); the next read opens one."""
        conn, self.conn, self.driver, self.busy = self.conn, None, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()

    def close(self) -> None:
        self.drop()
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


class _NonBlockingRead:
    """One read transaction of :class:`_NonBlockingReads` (a class, not a generator: ~2 us less)."""

    __slots__ = ("reads",)

    def __init__(self, reads: _NonBlockingReads) -> None:
        self.reads = reads

    def __enter__(self) -> Connection:
        return self.reads.begin()

    def __exit__(self, kind, exc, tb) -> None:
        self.reads.end(exc)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_nonblocking_on_connect(dbapi_connection, _record) -> None:
    # no journal_mode here: the shared engine made the file WAL, and changing it would need a lock
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA query_only=1")
    cursor.close()


def _sqlite_join_on_begin(conn: Connection) -> None:
    # the non-blocking connection: SQLAlchemy's transaction joins the read's BEGIN already sent
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


def _sqlite_on_begin(conn: Connection) -> None:
    # on the driver's connection (through exec_driver_sql this cost ~20 us of every transaction),
    # raising what SQLAlchemy would (Database.write retries a busy "BEGIN IMMEDIATE")
    statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get("podium_write") else "BEGIN"
    try:
        conn.connection.driver_connection.execute(statement)
    except conn.dialect.loaded_dbapi.OperationalError as exc:
        raise OperationalError(statement, (), exc) from exc


def _make_sqlite_directory(path: Path) -> None:
    """The directory a SQLite file will be created in (refusing a path that is itself a directory)."""
    if os.path.isdir(path):
        raise InvalidParameterValue(f"The SQLite path '{path}' is a directory; name a database file in it: "
                                    f"'sqlite:///{(path / 'podium.db').as_posix()}'.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file has that name" if isinstance(exc, FileExistsError) else exc.strerror
        raise InvalidParameterValue(f"Cannot create the directory '{path.parent}' for the SQLite database: "
                                    f"{why}.") from None


#: dialect -> (product, default port, the driver Podium installs, its pip extra)
_DRIVERS = {"postgresql": ("PostgreSQL", 5432, "psycopg", "postgres"), "mysql": ("MySQL", 3306, "pymysql", "mysql")}


def _missing_driver(url: str, exc: ImportError) -> PodiumError:
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    product, _port, driver, extra = _DRIVERS.get(dialect, (dialect, None, None, None))
    missing = exc.name or "its driver"
    if missing == driver:
        hint = f"pip install 'podium[{extra}]'"
    elif extra:
        hint = f"install {missing}, or use '{dialect}://' and pip install 'podium[{extra}]'"
    else:
        hint = f"install {missing}"
    return NotImplementedByPodium(f"This installation cannot open {product} databases: the driver {missing} "
                                  f"is not installed; {hint}.")


#: what a driver says when the server is not there (as opposed to refusing the user or database)
_UNREACHABLE = re.compile(r"refused|resolve host|translate host|timeout|timed out|unreachable|no route|"
                          r"can't connect|no such file", re.IGNORECASE)


def _on_connect_error(ctx) -> None:
    """``handle_error`` hook: a failed connect becomes a one-line Podium error (pre-pings excepted:
    the pool handles those by reconnecting)."""
    if (ctx.connection is not None or ctx.is_pre_ping or ctx.engine is None
            or not isinstance(ctx.sqlalchemy_exception, OperationalError)):
        return
    url = ctx.engine.url
    reason = _driver_reason(ctx.original_exception)
    if url.get_backend_name() == "sqlite":
        if _is_locked(ctx.sqlalchemy_exception):
            return
        raise InvalidParameterValue(f"Cannot open the SQLite database '{url.database}': {reason}. Check that "
                                    "the path names a file in a directory you can write.")
    product, default_port = _DRIVERS.get(url.get_backend_name(), (url.get_backend_name(), ""))[:2]
    where = f"{url.host or 'localhost'}:{url.port or default_port}".rstrip(":")
    target = f"{product} at {where} (user {url.username or '(none)'}, database {url.database or '(none)'})"
    if _UNREACHABLE.search(reason):
        raise TemporarilyUnavailable(f"Cannot reach {target}: {reason}. Is the database server running, and "
                                     "are the host and port in the URL right?")
    raise InvalidParameterValue(f"{target} refused the connection: {reason}. Check the user, password and "
                                "database name in the URL.")


def _driver_reason(exc: BaseException) -> str:
    """The driver's own words, without its preamble: 'role "x" does not exist', 'Connection refused'."""
    args = getattr(exc, "args", ())
    text = args[1] if len(args) == 2 and isinstance(args[0], int) else str(exc)  # PyMySQL: (code, message)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return re.split(r"FATAL:\s*|failed: ", first)[-1].strip().rstrip(".")


def _is_locked(exc: Exception) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


def _unavailable(exc: Exception) -> TemporarilyUnavailable:
    return TemporarilyUnavailable(f"The database is busy; try again. ({type(exc).__name__})")


def default_sqlite_url(directory: str | os.PathLike) -> str:
    return f"sqlite:///{Path(directory).expanduser().resolve() / 'podium.db'}"

