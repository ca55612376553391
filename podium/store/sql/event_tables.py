"""The audit history table (migration ``0005``), on the one ``tables.metadata``.

``registry_events`` is append-only: the store inserts a row in the transaction of every registry
change and nothing updates or deletes one. ``model_key`` is the registered model's surrogate key
at the time, deliberately *not* a foreign key: a model's history outlives the model (deleting it
records ``model_deleted`` and keeps every event), and follows it through renames (``model_name`` is
the name when the event happened). Reads are "a model's events in order" (``(model_key, id)``) and
"events of one model by name", for a model that no longer exists (``(model_name, id)``).

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from podium.store.sql.tables import KEY, NAME, TAG_VALUE, metadata

__all__ = ["registry_events"]

registry_events = Table(
    "registry_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("action", String(40), nullable=False),
    Column("model_key", Integer),
    Column("model_name", NAME, nullable=False),
    Column("version", Integer),
    Column("target", KEY),
    Column("actor", NAME),
    Column("actor_via", String(20)),
    Column("before", TAG_VALUE),
    Column("after", TAG_VALUE),
    Column("comment", Text),
    Column("cause", String(40)),
    Column("request_id", Integer),
    Index("ix_registry_events_model_key_id", "model_key", "id"),
    Index("ix_registry_events_model_key_action_id", "model_key", "action", "id"),  # 0010: by action
    Index("ix_registry_events_model_key_version_id", "model_key", "version", "id"),  # 0010: by version
    Index("ix_registry_events_model_name_id", "model_name", "id"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
