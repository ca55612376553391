"""What imports have loaded (migration ``0008``), on the one ``tables.metadata``.

``imported_objects`` has one row per object an import loaded (an experiment, a run, a logged
model, a registered model, a model version), written in the transaction that loads the object:
``(kind, key_hash)`` identifies it (``key_hash`` is the SHA-256 of its key: an id, a model name, or
``name/version``), ``digest`` is the digest of the record loaded
(:func:`podium.domain.portable.digest`). Running an import again compares digests: an object whose
row is there with the same digest is skipped, one with another digest is brought up to date, and
an object without a row is new. No foreign keys: the row outlives what it describes, so a deleted
object is not imported again by accident.

Imported at the end of :mod:`podium.store.sql.tables`, so Alembic and the drift check see it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from podium.store.sql.tables import metadata

__all__ = ["imported_objects"]

imported_objects = Table(
    "imported_objects",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("key_hash", String(64), primary_key=True),
    Column("object_key", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("imported_at", BigInteger, nullable=False),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)
