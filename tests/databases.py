"""Throwaway databases on the PostgreSQL / MySQL servers the tests are pointed at.

``PODIUM_TEST_POSTGRES_URL`` and ``PODIUM_TEST_MYSQL_URL`` name the servers (``.ci/pg-up.sh`` and
``.ci/mariadb-up.sh`` start them in CI). ``PODIUM_TEST_SERVER_DB`` (``sqlite``, ``postgresql`` or
``mysql``) picks the backend that live-server suites (compat, e2e) run their server on.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

POSTGRES_ENV = "PODIUM_TEST_POSTGRES_URL"
MYSQL_ENV = "PODIUM_TEST_MYSQL_URL"
SERVER_DB_ENV = "PODIUM_TEST_SERVER_DB"


class ServerDatabase:
    """A uniquely named database on a PostgreSQL or MySQL server, created now and dropped later.

    On PostgreSQL it may be created as a copy of a ``template`` database (already migrated).
    ``label`` goes into the name (e.g. the xdist worker: ``podium_test_gw0_1a2b3c4d``).
    """

    def __init__(self, server_url: str, kind: str, template: str | None = None, label: str | None = None) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from podium.store.sql.engine import normalize_db_url

        self._text = text
        self.kind = kind
        self.name = f"podium_test_{label}_{uuid.uuid4().hex[:8]}" if label else f"podium_test_{uuid.uuid4().hex[:16]}"
        server = make_url(normalize_db_url(server_url))
        self._admin = create_engine(server, isolation_level="AUTOCOMMIT", pool_size=1)
        with self._admin.connect() as conn:
            if kind == "postgresql":
                copy = f' TEMPLATE "{template}"' if template else ""
                conn.execute(text(f'CREATE DATABASE "{self.name}"{copy}'))
            else:
                conn.execute(text(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4"))
        self.url = server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._admin.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            else:
                conn.execute(self._text(f"DROP DATABASE IF EXISTS `{self.name}`"))
        self._admin.dispose()


class WorkerDatabase(ServerDatabase):
    """A database migrated once per test session (per xdist worker) and emptied before each test.

    :meth:`reset` leaves it as a freshly migrated database: every table but ``alembic_version``
    empty and every identity counter back at 1 (no migration seeds rows; the default experiment is
    created when a tracking store first opens the database). PostgreSQL: one ``TRUNCATE ... RESTART
    IDENTITY CASCADE``. MariaDB/MySQL: ``DELETE`` from the tables that hold rows and ``AUTO_INCREMENT
    = 1`` on those whose counter moved, with foreign-key checks off (a few ms instead of ~0.5 s for
    touching all of them). A connection a test left open is ended if it holds a lock the reset needs.
    """

    def __init__(self, server_url: str, kind: str, label: str) -> None:
        super().__init__(server_url, kind, label=label)
        from sqlalchemy import create_engine, inspect

        from podium.store.sql.engine import Database

        Database(self.url).dispose()  # migrate to head, once
        self.engine = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.tables = [t for t in inspect(self.engine).get_table_names() if t != "alembic_version"]

    def reset(self) -> None:
        from sqlalchemy.exc import OperationalError

        try:
            self._reset()
        except OperationalError:  # lock timeout: a leftover connection holds a table
            self._end_other_connections()
            self._reset()

    def _reset(self) -> None:
        text = self._text
        with self.engine.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(text("SET lock_timeout = '5s'"))
                tables = ", ".join(f'"{t}"' for t in self.tables)
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                return
            conn.execute(text("SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5"))
            holding = conn.execute(text("SELECT " + ", ".join(f"EXISTS(SELECT 1 FROM `{t}`)" for t in self.tables))).one()
            moved = conn.execute(text(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT > 1"
            )).scalars().all()
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
            try:
                for table, has_rows in zip(self.tables, holding):
                    if has_rows:
                        conn.execute(text(f"DELETE FROM `{table}`"))
                for table in moved:
                    conn.execute(text(f"ALTER TABLE `{table}` AUTO_INCREMENT = 1"))
            finally:
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))

    def _end_other_connections(self) -> None:
        self.engine.dispose()
        with self._admin.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(self._text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ), {"db": self.name})
                return
            ids = conn.execute(self._text(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID()"
            ), {"db": self.name}).scalars().all()
            for connection_id in ids:
                conn.execute(self._text(f"KILL {int(connection_id)}"))

    def drop(self) -> None:
        self.engine.dispose()
        super().drop()


def server_database_for(root: Path, filename: str = "podium.db") -> tuple[str, "ServerDatabase | None"]:
    """(backend store URI, database to drop afterwards or None) for a live-server suite's server."""
    kind = os.environ.get(SERVER_DB_ENV, "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{(root / filename).as_posix()}", None
    env = {"postgresql": POSTGRES_ENV, "mysql": MYSQL_ENV}.get(kind)
    if env is None or not os.environ.get(env):
        raise RuntimeError(f"{SERVER_DB_ENV}={kind} needs {env or 'a known backend'} to be set")
    database = ServerDatabase(os.environ[env], kind)
    return database.url, database
