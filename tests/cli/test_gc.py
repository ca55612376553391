"""``podium gc`` from the command line, on a real SQLite file seeded through ``PodiumClient``."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import assert_one_line_error


def _deleted_run_with_a_file(seed) -> tuple[str, Path]:
    run = seed.create_run("0")
    path = Path(run.info.artifact_uri)
    path.mkdir(parents=True)
    (path / "model.pkl").write_bytes(b"x" * 2048)
    seed.delete_run(run.info.run_id)
    return run.info.run_id, path


def test_dry_run_then_gc_then_nothing_left(podium_cli, seed):
    run_id, path = _deleted_run_with_a_file(seed)

    kept = podium_cli("gc")  # deleted just now: inside the default 30 days
    assert kept.exit_code == 0, kept.output
    assert kept.stdout.strip() == "Purged nothing (0 rows); deleted 0 files (0 bytes)."

    dry = podium_cli("gc", "--older-than", "0", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert run_id in dry.stdout and "would delete" in dry.stdout
    assert dry.stdout.strip().endswith("would delete 1 files (2.0 KiB) (dry run: nothing changed).")
    assert path.exists()

    done = json.loads(podium_cli("gc", "--older-than", "0", "--json").stdout)
    assert [p["id"] for p in done["purged"]] == [run_id]
    assert (done["bytes"], done["dry_run"], done["older_than"]) == (2048, False, "0")
    assert not path.exists()

    again = json.loads(podium_cli("gc", "--older-than", "0", "--json").stdout)
    assert (again["purged"], again["artifacts"]) == ([], [])

    history = json.loads(podium_cli("gc", "--history", "--json").stdout)["purges"]
    assert [(h["action"], h["object_id"]) for h in history] == [("artifacts_deleted", run_id), ("rows_purged", run_id)]
    assert "rows purged" in podium_cli("gc", "--history").stdout


def test_run_ids_and_experiment_ids(podium_cli, seed):
    first, _ = _deleted_run_with_a_file(seed)
    second, second_path = _deleted_run_with_a_file(seed)
    experiment_id = seed.create_experiment("old")
    seed.delete_experiment(experiment_id)

    only = json.loads(podium_cli("gc", "--older-than", "0", "--run-ids", f"{first}", "--json").stdout)
    assert [p["id"] for p in only["purged"]] == [first]
    assert second_path.exists()
    both = json.loads(podium_cli("gc", "--older-than", "0", "--experiment-ids", experiment_id,
                                 "--run-ids", second, "--json").stdout)
    assert sorted(p["id"] for p in both["purged"]) == sorted([experiment_id, second])


def test_mistakes_are_one_line_errors(podium_cli, seed):
    live = seed.create_run("0").info.run_id
    assert_one_line_error(podium_cli("gc", "--older-than", "0", "--run-ids", live), 1, "INVALID_PARAMETER_VALUE")
    recent, _ = _deleted_run_with_a_file(seed)
    refused = podium_cli("gc", "--run-ids", recent)
    assert_one_line_error(refused, 1, "INVALID_PARAMETER_VALUE")
    assert "--older-than 0" in refused.stderr
    bad = podium_cli("gc", "--older-than", "soon")
    assert bad.exit_code == 2 and "30d, 12h" in bad.stderr
    server = podium_cli("gc", "--backend-store-uri", "http://127.0.0.1:1")
    assert_one_line_error(server, 1, "INVALID_PARAMETER_VALUE")


def test_a_missing_artifact_is_a_warning_on_stderr(podium_cli, seed):
    run = seed.create_run("0")
    seed.delete_run(run.info.run_id)
    result = podium_cli("gc", "--older-than", "0")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: run ") and "no files at" in result.stderr
