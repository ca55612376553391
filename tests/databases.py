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
    """

    def __init__(self, server_url: str, kind: str, template: str | None = None) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from podium.store.sql.engine import normalize_db_url

        self._text = text
        self.kind = kind
        self.name = f"podium_test_{uuid.uuid4().hex[:16]}"
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
