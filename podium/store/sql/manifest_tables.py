"""The integrity tables (migration ``0004``), on the one ``tables.metadata``.

- ``model_version_manifests``: one row per model version, written in the transaction that creates
  the version. ``location`` is the version's storage location as a location key
  (:func:`podium.domain.manifests.location_key`) and ``location_hash`` its SHA-256, indexed: the
  artifact proxy refuses writes below any location in this table (one indexed probe per directory
  level of the path). ``digest`` is the manifest digest; NULL when no manifest was recorded (the
  version was registered before 0004, or from a location Podium cannot read), in which case the row
  still protects the location.
- ``model_version_files``: the manifest's files (``ordinal`` keeps them in path order; paths are
  long texts, which MySQL cannot put in a key).

Both hang off ``model_versions`` with ``ON DELETE CASCADE``: deleting a version (or its model)
drops its manifest and lifts the protection of its location.

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index, Integer, String, Table, Text

from podium.store.sql.tables import metadata

__all__ = ["model_version_files", "model_version_manifests"]

SHA256 = String(64)

model_version_manifests = Table(
    "model_version_manifests",
    metadata,
    Column("model", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("location", Text, nullable=False),
    Column("location_hash", SHA256, nullable=False),
    Column("digest", SHA256),
    Column("file_count", Integer),
    Column("total_bytes", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["model", "version"], ["model_versions.model", "model_versions.version"],
                         ondelete="CASCADE"),
    Index("ix_model_version_manifests_location_hash", "location_hash"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

model_version_files = Table(
    "model_version_files",
    metadata,
    Column("model", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", SHA256, nullable=False),
    ForeignKeyConstraint(["model", "version"], ["model_version_manifests.model", "model_version_manifests.version"],
                         ondelete="CASCADE"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
