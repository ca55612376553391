"""Package-level promises: cheap import, no mlflow dependency, schema in step with migrations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import podium

PACKAGE = Path(podium.__file__).parent


def test_import_podium_loads_no_heavy_libraries():
    code = "import sys, json, podium; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    for heavy in ("sqlalchemy", "alembic", "numpy", "pandas", "sklearn", "skops", "httpx", "yaml", "mlflow"):
        assert heavy not in loaded, f"import podium loads {heavy}"


def test_podium_never_imports_mlflow():
    pattern = re.compile(r"^\s*(import mlflow|from mlflow)", re.M)
    offenders = [str(p) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_public_api_names_resolve():
    for name in podium.__all__:
        assert getattr(podium, name) is not None, name
    assert podium.MlflowClient is podium.PodiumClient
    assert podium.sklearn.log_model and podium.pyfunc.load_model


def test_schema_revision_is_the_alembic_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from podium.store.sql.engine import SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", str(PACKAGE / "store" / "sql" / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


def test_migrations_create_exactly_the_tables_the_code_declares(tmp_path):
    """Migration drift check: upgrading an empty database yields the schema in tables.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from podium.store.sql.engine import Database
    from podium.store.sql.tables import metadata

    db = Database(f"sqlite:///{tmp_path / 'drift.db'}")
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    db.dispose()
    assert diff == []
