"""The approval tables (migration ``0006``), on the one ``tables.metadata``.

- ``approval_requests``: one request to move a version into a stage or onto an alias
  (``target_kind`` ``stage`` | ``alias``), its ``status`` (``pending``, ``applied``, ``rejected``,
  ``cancelled``), who asked and who decided. Keyed by the version (``ON DELETE CASCADE``: a deleted
  version takes its requests along; the audit history keeps their events).
- ``approval_request_approvals``: one row per approver and request. The primary key
  ``(request_id, approver)`` makes a second approval by the same approver impossible, whatever
  the timing.

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Table, Text

from podium.store.sql.tables import KEY, NAME, metadata

__all__ = ["approval_requests", "request_approvals"]

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("target_kind", String(10), nullable=False),
    Column("target", KEY, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requester", NAME),
    Column("comment", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger),
    Column("decided_by", NAME),
    Column("decision_comment", Text),
    ForeignKeyConstraint(["model", "version"], ["model_versions.model", "model_versions.version"],
                         ondelete="CASCADE"),
    Index("ix_approval_requests_model_status", "model", "status", "id"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

request_approvals = Table(
    "approval_request_approvals",
    metadata,
    Column("request_id", Integer, ForeignKey("approval_requests.id", ondelete="CASCADE"), primary_key=True),
    Column("approver", NAME, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("comment", Text),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
