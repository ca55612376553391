"""The SQL implementation of Podium's stores (SQLAlchemy 2 Core + Alembic).

This package is the only importer of SQLAlchemy in Podium.
"""

from podium.store.sql.engine import Database
from podium.store.sql.registry import SqlRegistryStore
from podium.store.sql.tracking import SqlTrackingStore

__all__ = ["Database", "SqlRegistryStore", "SqlTrackingStore"]
