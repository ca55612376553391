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
