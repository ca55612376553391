"""Alembic migrations for Podium's schema (``versions/``, one file per change)."""
