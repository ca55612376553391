"""The identity and permission tables (migration ``0003``), on the one ``tables.metadata``.

- ``auth_users``: accounts; ``password_hash`` is an scrypt string (NULL: token-only account).
- ``auth_tokens``: API tokens as ``prefix`` (unique, for lookup) + SHA-256 ``token_hash``; never the token.
- ``auth_groups`` / ``auth_group_members``: groups of users.
- ``auth_model_grants``: ``permission`` on a registered model for exactly one user or one group.
  Keyed by the model's surrogate id, so grants follow a rename and vanish with the model
  (``ON DELETE CASCADE``, as do a deleted user's or group's grants, tokens and memberships).
- ``auth_model_policies``: a model's protected stages and aliases (JSON lists), who may move them,
  and whether a move needs an approved request (with migration ``0006``: how many approvals,
  who may approve, and the gates a request must pass).
- ``auth_login_failures`` (migration ``0012``): one row per failed (or not yet finished) password
  check and per limited key, so the failed sign-in limit holds across every worker and server on the
  database (:class:`podium.auth.limiter.SharedFailureLimiter`). ``key`` is a SHA-256 of the kind and
  value (a user name or a client address, of any length, never stored as such); rows older than
  the window are deleted as new ones are written.

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from podium.store.sql.tables import metadata, registered_models

__all__ = ["group_members", "groups", "login_failures", "model_grants", "model_policies", "tokens", "users"]

_NAME = String(250)

users = Table(
    "auth_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _NAME, nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
)

tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", _NAME),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("last_used_at", BigInteger),
    Column("revoked_at", BigInteger),
)

groups = Table(
    "auth_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _NAME, nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

group_members = Table(
    "auth_group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("auth_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_auth_group_members_user", "user_id"),
)

model_grants = Table(
    "auth_model_grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", Integer, ForeignKey(registered_models.c.id, ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE")),
    Column("group_id", Integer, ForeignKey("auth_groups.id", ondelete="CASCADE")),
    Column("permission", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("(user_id IS NULL) <> (group_id IS NULL)", name="ck_auth_model_grants_one_principal"),
    Index("ix_auth_model_grants_model_user", "model", "user_id", unique=True),
    Index("ix_auth_model_grants_model_group", "model", "group_id", unique=True),
    Index("ix_auth_model_grants_user", "user_id"),
    Index("ix_auth_model_grants_group", "group_id"),
)

model_policies = Table(
    "auth_model_policies",
    metadata,
    Column("model", Integer, ForeignKey(registered_models.c.id, ondelete="CASCADE"), primary_key=True),
    Column("protected_stages", Text, nullable=False),  # JSON list of canonical stage names
    Column("protected_aliases", Text, nullable=False),  # JSON list of alias names
    Column("require_role", String(16), nullable=False),
    Column("requires_approval", Boolean, nullable=False, default=False),
    Column("updated_at", BigInteger, nullable=False),
    # approvals (migration 0006): how many, from whom (JSON list), gates (JSON list); NULL = none
    Column("required_approvals", Integer, nullable=False, server_default="1"),
    Column("approvers", Text),
    Column("gates", Text),
)

login_failures = Table(
    "auth_login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),  # sha256 hex of "<kind>\0<value>"
    Column("at", BigInteger, nullable=False),  # Unix ms
    Index("ix_auth_login_failures_key_at", "key", "at"),
    Index("ix_auth_login_failures_at", "at"),
)

for _table in (users, tokens, groups, group_members, model_grants, model_policies, login_failures):
    _table.kwargs.update(mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")
