"""The SQL engine layer: schema upgrades on an empty database, SQLite tuning, URL normalisation."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from podium.compose import build
from podium.store.sql.engine import SCHEMA_REVISION, Database, default_sqlite_url, normalize_db_url


def test_embedded_backend_migrates_an_empty_sqlite_file_in_a_new_directory(tmp_path):
    url = f"sqlite:///{(tmp_path / 'new' / 'dir' / 'podium.db').as_posix()}"
    backend = build(url, artifact_root=str(tmp_path / "artifacts"))
    try:
        db = backend.database
        assert db.current_revision() == SCHEMA_REVISION
        assert backend.tracking.get_experiment("0").name == "Default"
        backend.registry.create_registered_model("m")
        assert backend.registry.create_model_version("m", "/x").version == 1
    finally:
        backend.close()


def test_reopening_a_database_keeps_its_data(db_url, artifact_root):
    first = build(db_url, artifact_root=str(artifact_root))
    first.registry.create_registered_model("kept")
    first.close()
    second = build(db_url, artifact_root=str(artifact_root))
    try:
        assert second.registry.get_registered_model("kept").name == "kept"
        assert [e.experiment_id for e in second.tracking.search_experiments()] == ["0"]
    finally:
        second.close()


def test_current_revision_of_an_empty_database_is_none(tmp_path):
    db = Database(f"sqlite:///{(tmp_path / 'empty.db').as_posix()}", upgrade=False)
    try:
        assert db.current_revision() is None
        db.upgrade()
        assert db.current_revision() == SCHEMA_REVISION
        db.upgrade()  # already at head: a no-op
        assert db.current_revision() == SCHEMA_REVISION
    finally:
        db.dispose()


def test_schema_revision_is_the_newest_migration():
    from pathlib import Path

    import podium.store.sql.engine as engine_module

    versions = Path(engine_module.__file__).parent / "migrations" / "versions"
    revisions = sorted(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*_*.py"))
    assert revisions[-1] == SCHEMA_REVISION


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    db = Database(f"sqlite:///{(tmp_path / 'p.db').as_posix()}")
    try:
        with db.read() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        db.dispose()


def test_write_transaction_rolls_back_on_error(tmp_path):
    db = Database(f"sqlite:///{(tmp_path / 'p.db').as_posix()}")
    try:
        with pytest.raises(RuntimeError):
            with db.write() as conn:
                conn.execute(text("INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES ('x', '', 'active')"))
                raise RuntimeError("boom")
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM experiments")).scalar() == 0
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("mysql://u@h/db", "mysql+pymysql://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_db_url_picks_podiums_drivers(url, normalized):
    assert normalize_db_url(url) == normalized


def test_default_sqlite_url_is_absolute(tmp_path):
    assert default_sqlite_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/podium.db"
