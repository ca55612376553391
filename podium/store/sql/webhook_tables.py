"""The webhook tables (migration ``0007``), on the one ``tables.metadata``.

- ``webhooks``: one subscription: where to send (``url``), which events (``events``, a JSON list of
  ``entity.action`` strings), ``status`` (``ACTIVE``/``DISABLED``), the signing ``secret``
  encrypted at rest (:mod:`podium.webhooks.secrets`; never returned), and ``standard_webhooks``
  (also send the Standard Webhooks headers).
- ``webhook_deliveries``: the outbox. A row is inserted in the transaction of the registry change
  that causes it (:func:`podium.store.sql.webhooks.enqueue`), with the exact body to send, and a
  stable ``delivery_id`` (the ``X-MLflow-Delivery-Id``). The delivery worker claims due rows by
  setting ``lease_until`` (:meth:`~podium.store.sql.webhooks.SqlWebhookStore.claim_due`) and
  records each attempt's outcome on the row: ``status`` (``pending``, ``succeeded``, ``failed``,
  ``cancelled``), ``attempts``, ``next_attempt_at``, the last response code, error and latency.
  Deleting a webhook deletes its deliveries (``ON DELETE CASCADE``).

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from podium.store.sql.tables import NAME, metadata

__all__ = ["webhook_deliveries", "webhooks"]

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(63), nullable=False),
    Column("description", Text),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secret", Text),
    Column("status", String(16), nullable=False),
    Column("standard_webhooks", Boolean, nullable=False, default=False),
    Column("created_by", NAME),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Index("ix_webhooks_status", "status"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, unique=True),
    Column("webhook_id", String(36), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger),
    Column("lease_until", BigInteger),
    Column("last_attempt_at", BigInteger),
    Column("response_status", Integer),
    Column("last_error", Text),
    Column("latency_ms", Integer),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
