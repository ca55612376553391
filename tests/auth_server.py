"""A real ``podium server --auth`` process with users, groups and tokens made beforehand.

``start_auth_server(root, users=..., groups=..., tokens=...)`` creates the accounts directly in the
server's database (as ``podium users create`` does), then starts ``python -m podium.server --auth``
on it. The database is SQLite, or PostgreSQL/MySQL when ``PODIUM_TEST_SERVER_DB`` says so (as for
the compat suite). Every user's password is ``password_of(name)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.databases import server_database_for
from tests.harness import ServerProcess

__all__ = ["AuthServer", "BearerAuth", "password_of", "start_auth_server"]


def password_of(user: str) -> str:
    return f"pw-{user}-s3cret"


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@dataclass
class AuthServer:
    server: ServerProcess
    db_url: str
    tokens: dict[str, str] = field(default_factory=dict)  # label -> token
    database: object = None

    @property
    def url(self) -> str:
        return self.server.url

    @staticmethod
    def basic(user: str, password: str | None = None) -> httpx.BasicAuth:
        return httpx.BasicAuth(user, password if password is not None else password_of(user))

    def stop(self) -> None:
        self.server.stop()
        if self.database is not None:
            self.database.drop()


def prepare_accounts(db_url: str, users: dict[str, bool], groups: dict[str, list[str]] | None = None,
                     tokens: dict[str, str] | None = None) -> dict[str, str]:
    """Users (name -> is_admin), groups (name -> members) and tokens (label -> user); returns the tokens."""
    from podium.auth.identity import IdentityService
    from podium.store.sql.auth import SqlAuthStore
    from podium.store.sql.engine import Database

    db = Database(db_url)
    try:
        identity = IdentityService(SqlAuthStore(db))
        for name, is_admin in users.items():
            identity.create_user(name, password_of(name), is_admin=is_admin)
        for group, members in (groups or {}).items():
            identity.create_group(group)
            for member in members:
                identity.add_group_member(group, member)
        return {label: identity.create_token(user, label)[0] for label, user in (tokens or {}).items()}
    finally:
        db.dispose()


def start_auth_server(root: Path, users: dict[str, bool], groups: dict[str, list[str]] | None = None,
                      tokens: dict[str, str] | None = None, default_role: str = "read", *extra: str,
                      env: dict[str, str] | None = None) -> AuthServer:
    root.mkdir(parents=True, exist_ok=True)
    db_url, database = server_database_for(root, "podium.db")
    made = prepare_accounts(db_url, users, groups, tokens)
    # suites send many wrong passwords from one address on purpose: a high failed-login limit unless a
    # test sets its own (a flag in ``extra`` wins over the variable)
    env = {"PODIUM_LOGIN_ATTEMPTS_PER_MINUTE": "100000", **(env or {})}
    running = ServerProcess(root, backend_store_uri=db_url, extra=("--auth", "--default-role", default_role, *extra),
                            env=env).start()
    return AuthServer(running, db_url, made, database)
