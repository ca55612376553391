"""``podium export`` / ``podium import``: an archive moves a store to another backend and back unchanged.

Round trip: a store (imported from the mlflow-written source, then changed natively so it has real
history) is exported, imported into an empty store on PostgreSQL (or MariaDB), exported again: the
two archives are byte-identical apart from ``exported_at``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium.cli import main
from tests.databases import ServerDatabase

pytestmark = pytest.mark.xdist_group("mlflow-source")  # one worker seeds the source store


def _podium(*args: str, code: int = 0) -> dict | str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.output


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _other_backend() -> tuple[str, str]:
    for kind, variable in (("postgresql", "PODIUM_TEST_POSTGRES_URL"), ("mysql", "PODIUM_TEST_MYSQL_URL")):
        if os.environ.get(variable):
            return kind, os.environ[variable]
    pytest.skip("needs PODIUM_TEST_POSTGRES_URL or PODIUM_TEST_MYSQL_URL (the round trip crosses backends)")


def test_export_import_on_another_backend_export_again_gives_the_same_archive(sqlite_source, tmp_path):
    kind, server = _other_backend()
    a = f"sqlite:///{tmp_path / 'a' / 'podium.db'}"
    (tmp_path / "a").mkdir()
    _podium("--tracking-uri", a, "import-mlflow", sqlite_source.uri, "--artifacts-destination",
            str(tmp_path / "a" / "artifacts"), "--json")
    # native history on top of the imported one
    _podium("--tracking-uri", a, "models", "alias", "clf", "champion", "1")
    _podium("--tracking-uri", a, "models", "transition", "clf", "4", "Archived")
    first = _podium("--tracking-uri", a, "export", str(tmp_path / "one"), "--json")
    assert first["errors"] == []

    database = ServerDatabase(server, kind, label="archive")
    try:
        b = database.url
        loaded = _podium("--tracking-uri", b, "import", str(tmp_path / "one"), "--artifacts-destination",
                         str(tmp_path / "b-artifacts"), "--json")
        assert loaded["errors"] == [] and loaded["counts"]["model_version"]["created"] == 3
        again = _podium("--tracking-uri", b, "import", str(tmp_path / "one"), "--artifacts-destination",
                        str(tmp_path / "b-artifacts"), "--json")
        assert sum(c["created"] + c["updated"] for c in again["counts"].values()) == 0
        second = _podium("--tracking-uri", b, "export", str(tmp_path / "two"), "--artifacts-destination",
                         str(tmp_path / "b-artifacts"), "--json")
        assert second["errors"] == []
        history = _podium("--tracking-uri", b, "models", "history", "clf", "--json")
    finally:
        database.drop()

    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    header_one, header_two = json.loads(one.pop("podium-archive.json")), json.loads(two.pop("podium-archive.json"))
    assert header_one.pop("exported_at") <= header_two.pop("exported_at")
    assert header_one == header_two
    assert one.keys() == two.keys()
    assert [name for name in one if one[name] != two[name]] == []
    assert header_one["counts"]["events"] >= 6  # 4 imported + the alias and stage moves
    actions = [e["action"] for e in history["events"]]
    assert actions[:2] == ["stage_transitioned", "alias_set"]  # newest first, after the 4 imported events
    assert actions.count("imported") == 4


def test_an_unfinished_or_foreign_directory_is_refused_in_one_line(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "experiments.jsonl").write_text("{}\n")
    result = CliRunner().invoke(main, ["--tracking-uri", f"sqlite:///{tmp_path / 'p.db'}", "import",
                                       str(tmp_path / "half")])
    assert result.exit_code != 0
    assert "not a Podium archive" in result.stderr and "Traceback" not in result.output
    taken = CliRunner().invoke(main, ["--tracking-uri", f"sqlite:///{tmp_path / 'p.db'}", "export",
                                      str(tmp_path / "half")])
    assert taken.exit_code != 0 and "not empty" in taken.stderr


def test_a_tampered_archive_file_is_not_imported(sqlite_source, tmp_path):
    a = f"sqlite:///{tmp_path / 'podium.db'}"
    _podium("--tracking-uri", a, "import-mlflow", sqlite_source.uri, "--models", "clf", "--json")
    _podium("--tracking-uri", a, "export", str(tmp_path / "arch"), "--json")
    victim = next((tmp_path / "arch" / "artifacts").rglob("MLmodel"))
    victim.write_text(victim.read_text() + "# changed\n")
    result = CliRunner().invoke(main, ["--tracking-uri", f"sqlite:///{tmp_path / 'b.db'}", "import",
                                       str(tmp_path / "arch"), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["counts"]["model_version"]["failed"] == 1
    assert any("differ from the manifest" in e for e in summary["errors"])
