"""Alembic migrations on every backend: an empty database upgrades to exactly the code's schema,
upgrades are idempotent, and ``podium db`` reports and applies them (the migration-drift check)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from podium.cli import main
from podium.store.sql.engine import SCHEMA_REVISION, Database


def test_an_empty_database_upgrades_to_the_schema_the_code_declares(empty_db_url):
    db = Database(empty_db_url, upgrade=False)
    assert db.current_revision() is None
    db.upgrade()
    assert db.current_revision() == SCHEMA_REVISION
    assert db.drift() == []
    db.upgrade()  # a second upgrade is a no-op
    assert db.current_revision() == SCHEMA_REVISION
    db.dispose()


def test_downgrade_to_base_and_back_leaves_the_same_schema(empty_db_url):
    db = Database(empty_db_url)
    from alembic import command
    from alembic.config import Config

    from podium.store.sql.engine import _MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert db.current_revision() is None
    db.upgrade()
    assert db.drift() == []
    db.dispose()


def test_podium_db_upgrade_current_and_check(empty_db_url):
    runner = CliRunner()
    before = runner.invoke(main, ["db", "current", "--backend-store-uri", empty_db_url, "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output) == {"revision": None, "head": SCHEMA_REVISION, "up_to_date": False}

    upgraded = runner.invoke(main, ["db", "upgrade", "--backend-store-uri", empty_db_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"(empty) -> {SCHEMA_REVISION}" in upgraded.output

    after = runner.invoke(main, ["db", "current", "--backend-store-uri", empty_db_url])
    assert "up to date" in after.output
    checked = runner.invoke(main, ["db", "check", "--backend-store-uri", empty_db_url])
    assert checked.exit_code == 0 and "matches" in checked.output


def test_podium_db_check_fails_on_drift(tmp_path):
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    db = Database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_not_in_the_code ON runs (run_name)")
    db.dispose()
    result = CliRunner().invoke(main, ["db", "check", "--backend-store-uri", url])
    assert result.exit_code == 1
    assert "ix_not_in_the_code" in result.output


def test_podium_db_on_an_unreachable_database_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["db", "current", "--backend-store-uri",
                                       "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code != 0
    assert "Error: TEMPORARILY_UNAVAILABLE: Cannot reach PostgreSQL at 127.0.0.1:1 (user nobody" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------- what db_url hands a test == a fresh migration
def _state(url: str) -> dict:
    """Rows per table and every identity counter (PostgreSQL sequences, MariaDB AUTO_INCREMENT,
    SQLite has none): what a test could observe of a database before writing to it."""
    from sqlalchemy import inspect, text

    db = Database(url)
    try:
        with db.read() as conn:
            rows = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in inspect(conn).get_table_names()}
            if db.dialect == "postgresql":
                counters = conn.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all()
            elif db.is_sqlite:  # no AUTOINCREMENT tables: a new id is the table's largest + 1
                counters = []
            else:
                counters = conn.execute(text("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                                             "WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL")).all()
        return {"rows": rows, "counters": sorted(tuple(c) for c in counters)}
    finally:
        db.dispose()


def _use(url: str, artifact_root: str) -> str:
    """Write to every kind of table a test typically fills; return the id the next experiment gets."""
    from podium.auth.identity import IdentityService
    from podium.compose import build
    from podium.domain.entities import Metric

    backend = build(url, artifact_root=artifact_root)
    try:
        run = backend.tracking.create_run(backend.tracking.create_experiment("used"))
        backend.tracking.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 1, 0)])
        backend.registry.create_registered_model("used")
        backend.registry.create_model_version("used", f"{artifact_root}/m", run_id=run.info.run_id)
        IdentityService(backend.stores.auth).create_user("someone", "a-long-password-1")
        return backend.tracking.create_experiment("next")
    finally:
        backend.close()


def test_each_test_gets_the_database_a_fresh_migration_makes(db_url, db_kind, request, tmp_path):
    """The per-worker PostgreSQL/MariaDB database, used by a test and emptied for the next one (as
    ``db_url`` does), holds what a freshly migrated database holds, and hands out the same ids."""
    import os

    from podium.compose import reset_backends
    from tests.databases import MYSQL_ENV, POSTGRES_ENV, ServerDatabase

    if db_kind == "sqlite":
        fresh, fresh_url = None, f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"
    else:
        _use(db_url, str(tmp_path / "a"))
        reset_backends()
        request.getfixturevalue("_worker_databases")(db_kind).reset()
        fresh = ServerDatabase(os.environ[POSTGRES_ENV if db_kind == "postgresql" else MYSQL_ENV], db_kind)
        fresh_url = fresh.url
    try:
        Database(fresh_url).dispose()
        assert _state(db_url) == _state(fresh_url)
        assert _use(db_url, str(tmp_path / "b")) == _use(fresh_url, str(tmp_path / "c"))
        assert _state(db_url) == _state(fresh_url)
    finally:
        reset_backends()
        if fresh is not None:
            fresh.drop()
