"""``SqlManifestStore``: version manifests and protected locations in SQL (tables of migration 0004).

:func:`insert_manifest` runs inside :meth:`SqlRegistryStore.create_model_version`'s transaction, so
a version never exists without its manifest row. Reads are one or two queries; the protection check
is one indexed ``IN`` probe on ``location_hash`` (plus, for deletes, a ``LIKE`` scan of the
locations below the deleted path: deletes through the proxy are rare).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import bindparam, insert, or_, select

from podium.domain.manifests import Manifest, ManifestFile, location_hash, location_key
from podium.store.sql.engine import Database
from podium.store.sql.manifest_tables import model_version_files, model_version_manifests
from podium.store.sql.prepared import prepared
from podium.store.sql.tables import registered_models

__all__ = ["SqlManifestStore", "insert_manifest"]

mf, files, rm = model_version_manifests, model_version_files, registered_models


def insert_manifest(conn, model_pk: int, version: int, location: str | None, manifest: Manifest | None,
                    now: int | None = None) -> None:
    """Record version ``(model_pk, version)``'s location (protected from now on) and its manifest."""
    if not location:
        return
    key = manifest.location if manifest is not None and manifest.location else location_key(location)
    now = now if now is not None else int(time.time() * 1000)
    prepared(conn, "model_version_manifests.insert", _insert_manifest).run(
        conn, model=model_pk, version=version, location=key, location_hash=location_hash(key),
        digest=manifest.digest if manifest is not None else None,
        file_count=manifest.file_count if manifest is not None else None,
        total_bytes=manifest.total_bytes if manifest is not None else None,
        created_at=now,
    )
    if manifest is not None and manifest.files:
        rows = [{"model": model_pk, "version": version, "ordinal": i, "path": f.path, "size": f.size,
                 "sha256": f.sha256} for i, f in enumerate(manifest.files)]
        insert_file = prepared(conn, "model_version_files.insert", _insert_file)
        for start in range(0, len(rows), 1000):
            insert_file.run_many(conn, rows[start:start + 1000])


def _insert_manifest():
    return insert(mf).inline().values({c.name: bindparam(c.name) for c in mf.c})


def _insert_file():
    return insert(files).inline().values({c.name: bindparam(c.name) for c in files.c})


def _protected_at():
    return (
        select(rm.c.name, mf.c.version, mf.c.location)
        .join(rm, rm.c.id == mf.c.model)
        .where(mf.c.location_hash.in_(bindparam("hashes", expanding=True)))
        .order_by(rm.c.name, mf.c.version)
        .limit(50)
    )


def _like_prefix(key: str) -> str:
    """``key/%`` for LIKE, with ``!`` as the escape character (a backslash means different things
    in MySQL's and PostgreSQL's string literals)."""
    escaped = key.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped.rstrip("/") + "/%"


class SqlManifestStore:
    """Manifests by model name and version, and which registered version protects a location."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_manifest(self, name: str, version: int) -> Manifest | None:
        """The manifest of a version (None: the version has none, or does not exist)."""
        with self.db.read() as conn:
            head = conn.execute(
                select(mf.c.model, mf.c.location, mf.c.digest, mf.c.created_at)
                .join(rm, rm.c.id == mf.c.model)
                .where(rm.c.name == name, mf.c.version == int(version))
            ).first()
            if head is None or head.digest is None:
                return None
            rows = conn.execute(
                select(files.c.path, files.c.size, files.c.sha256)
                .where(files.c.model == head.model, files.c.version == int(version))
                .order_by(files.c.ordinal)
            ).all()
        return Manifest(tuple(ManifestFile(r.path, int(r.size), r.sha256) for r in rows), head.digest,
                        head.location, head.created_at)

    def protecting_version(self, keys: Sequence[str], below: Sequence[str] = ()) -> tuple[str, int, str] | None:
        """``(model name, version, location)`` of a version whose location is one of ``keys``, or lies
        below one of ``below`` (for deletes of a directory); None when nothing is protected there."""
        if not keys and not below:
            return None
        wanted, hashes = set(keys), sorted({location_hash(k) for k in keys})
        with self.db.read() as conn:
            if below:
                conditions = [mf.c.location_hash.in_(hashes)] if hashes else []
                conditions += [mf.c.location.like(_like_prefix(key), escape="!") for key in below]
                rows = conn.execute(
                    select(rm.c.name, mf.c.version, mf.c.location)
                    .join(rm, rm.c.id == mf.c.model)
                    .where(or_(*conditions))
                    .order_by(rm.c.name, mf.c.version)
                    .limit(50)
                ).all()
            else:  # a write's check (every upload, twice): compiled once, on the driver's cursor
                rows = prepared(conn, "model_version_manifests.protected_at", _protected_at).rows(conn, hashes=hashes)
        for row in rows:  # a hash match is confirmed on the key itself
            if row.location in wanted or any(row.location.startswith(b.rstrip("/") + "/") for b in below):
                return row.name, int(row.version), row.location
        return None
