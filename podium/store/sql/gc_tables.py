"""Garbage collection's tables (migration ``0009``), on the one ``tables.metadata``.

- ``gc_pending_artifacts``: locations whose files are to be deleted (tombstones). A row is written
  in the transaction that purges an experiment, run or logged model (``podium gc``), or that deletes
  a model version or a registered model (versions are deleted for good at once; their files wait
  here). ``podium gc`` deletes the files once nothing that still exists refers to them, *then*
  removes the row: an interrupted collection leaves the row, and the next one finishes the job.
- ``gc_purges``: the purge history, append-only (``podium gc --history``): one row per object whose
  rows were purged and per location whose files were deleted (or found missing, or left alone).
- ``gc_leases``: one row per scheduled job (``name``): who runs it now (``holder`` until
  ``expires_at``) and when it is next due (``next_run_at``), so that one server process of many
  collects per interval (:meth:`podium.store.sql.gc.SqlGcStore.claim_collection`).

None is a foreign key: a tombstone and a purge record outlive what they are about.

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from podium.store.sql.tables import ID, NAME, TAG_VALUE, metadata

__all__ = ["gc_leases", "gc_pending_artifacts", "gc_purges"]

gc_pending_artifacts = Table(
    "gc_pending_artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("object_id", NAME, nullable=False),
    Column("name", NAME),
    Column("version", Integer),
    Column("model_key", Integer),
    Column("location", Text, nullable=False),
    Column("deleted_at", BigInteger, nullable=False),
    Index("ix_gc_pending_artifacts_deleted_at", "deleted_at"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

gc_purges = Table(
    "gc_purges",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("action", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("object_id", NAME, nullable=False),
    Column("actor", NAME),
    Column("detail", TAG_VALUE),
    Index("ix_gc_purges_object", "kind", "object_id"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

gc_leases = Table(
    "gc_leases",
    metadata,
    Column("name", ID, primary_key=True),
    Column("holder", NAME),
    Column("expires_at", BigInteger, nullable=False),
    Column("next_run_at", BigInteger, nullable=False),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
