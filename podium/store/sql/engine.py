"""Engines and transactions for SQLite, PostgreSQL and MySQL, and schema upgrades.

SQLite is tuned for many writers in many processes: WAL journal (readers never block writers),
``synchronous=NORMAL`` (durable across process crashes; see decision 0003), a 30 s busy timeout and
write transactions opened with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade.
Together these keep "database is locked" from ever reaching a caller.

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
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from podium.errors import InvalidParameterValue, NotImplementedByPodium, PodiumError, TemporarilyUnavailable
from podium.uris import check_store_uri, sqlite_path_of, without_password

__all__ = ["SCHEMA_REVISION", "Database", "default_sqlite_url", "normalize_db_url"]

#: The Alembic head this code expects. A test checks it matches ``migrations/versions``.
SCHEMA_REVISION = "0012"

_MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCKED_RETRY_SECONDS = 60.0


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
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -------------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self):
        """A read-only transaction over one consistent snapshot (SQLite's WAL; REPEATABLE READ on
        PostgreSQL and MySQL, so an entity assembled from several queries never mixes two states)."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self):
        """A write transaction: all of it commits, or none of it does."""
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
        self.engine.dispose()


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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


def _is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


def _unavailable(exc: Exception) -> TemporarilyUnavailable:
    return TemporarilyUnavailable(f"The database is busy; try again. ({type(exc).__name__})")


def default_sqlite_url(directory: str | os.PathLike) -> str:
    return f"sqlite:///{Path(directory).expanduser().resolve() / 'podium.db'}"

