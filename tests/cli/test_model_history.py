"""``podium models history``, ``podium models at`` and ``podium models rollback`` on a SQLite file (CliRunner)."""

from __future__ import annotations

import getpass
import json
import time
import warnings

import pytest

from .helpers import assert_one_line_error


@pytest.fixture
def promoted(seed, clock):
    """Model ``wine``: v1 then v2 then v3 promoted to Production (archiving), @champion 1 then 2;
    returns a time (ms) when v2 served and @champion pointed at 2."""
    seed.create_registered_model("wine")
    for n in (1, 2, 3):
        seed.create_model_version("wine", f"/data/models/wine-{n}", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        seed.transition_model_version_stage("wine", 1, "Production", archive_existing_versions=True)
        seed.set_registered_model_alias("wine", "champion", 1)
        seed.transition_model_version_stage("wine", 2, "Production", archive_existing_versions=True)
        seed.set_registered_model_alias("wine", "champion", 2)
        when = clock.mark()
        seed.transition_model_version_stage("wine", 3, "Production", archive_existing_versions=True)
    return when


def test_history_lists_newest_first_with_actor_and_change(podium_cli, promoted):
    result = podium_cli("models", "history", "wine")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "History of wine (11 events)" in out
    assert out.index("model_created") > out.index("alias_set") > out.index("stage_transitioned")  # newest first
    assert "stage: None → Production" in out and "archive_existing_versions" in out
    assert getpass.getuser() in out
    oldest = podium_cli("models", "history", "wine", "--reverse", "--max-results", "2").stdout
    assert "(2 events)" in oldest and "model_created" in oldest and "alias_set" not in oldest


def test_history_json_and_version_filter(podium_cli, promoted):
    events = json.loads(podium_cli("models", "history", "wine", "--json", "--all").stdout)["events"]
    assert len(events) == 11 and events[0]["action"] == "stage_transitioned" and events[-1]["action"] == "model_created"
    assert all(e["actor_via"] == "local" for e in events)
    only = json.loads(podium_cli("models", "history", "wine", "--version", "1", "--json", "--reverse").stdout)["events"]
    assert [e["action"] for e in only] == ["version_created", "stage_transitioned", "alias_set",
                                           "stage_transitioned"]
    moves = json.loads(podium_cli("models", "history", "wine", "--action", "alias_set", "--action", "model_created",
                                  "--actor", getpass.getuser(), "--json", "--reverse").stdout)["events"]
    assert [e["action"] for e in moves] == ["model_created", "alias_set", "alias_set"]
    assert json.loads(podium_cli("models", "history", "wine", "--actor", "nobody", "--json").stdout)["events"] == []
    bad = podium_cli("models", "history", "wine", "--action", "bogus")
    assert_one_line_error(bad, 1, "INVALID_PARAMETER_VALUE")
    assert "Unknown history action 'bogus'" in bad.stderr


def test_at_shows_stages_and_aliases_at_a_time(podium_cli, promoted):
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(promoted // 1000)) + f".{promoted % 1000:03d}Z"
    result = podium_cli("models", "at", "wine", "--time", iso)
    assert result.exit_code == 0, result.output
    assert "Production" in result.stdout and "@champion" in result.stdout and "v2" in result.stdout
    state = json.loads(podium_cli("models", "at", "wine", "--time", str(promoted), "--json").stdout)["state"]
    assert state["stages"]["Production"] == {"version": 2, "versions": [2]} and state["aliases"] == {"champion": 2}
    assert state["complete"] is True
    before = podium_cli("models", "at", "wine", "--time", "2001-01-01T00:00:00Z")
    assert before.exit_code == 0 and "did not exist" in before.stdout
    now = json.loads(podium_cli("models", "at", "wine", "--time", "now", "--json").stdout)["state"]
    assert now["aliases"] == {"champion": 2}


def test_rollback_of_a_stage_and_an_alias(podium_cli, promoted, seed):
    result = podium_cli("models", "rollback", "wine", "--stage", "Production", "--reason", "v3 fails")
    assert result.exit_code == 0, result.output
    assert "Rolled back Production of wine: v3 → v2" in result.stdout
    assert {v.version: v.current_stage for v in seed.search_model_versions("name='wine'")} == {
        1: "Archived", 2: "Production", 3: "Archived"}
    done = json.loads(podium_cli("models", "rollback", "wine", "--alias", "champion", "--reason", "r", "--json").stdout)
    assert done["rollback"]["alias"] == "champion" and done["rollback"]["to_version"] == 1
    assert seed.get_model_version_by_alias("wine", "champion").version == 1
    shown = podium_cli("models", "history", "wine", "--max-results", "4").stdout
    assert "rollback" in shown and "v3 fails" in shown


def test_rollback_errors(podium_cli, promoted):
    usage = podium_cli("models", "rollback", "wine", "--reason", "r")
    assert usage.exit_code == 2 and "exactly one of --stage and --alias" in usage.stderr
    assert podium_cli("models", "rollback", "wine", "--stage", "Production").exit_code == 2  # --reason required
    assert_one_line_error(podium_cli("models", "rollback", "wine", "--stage", "Staging", "--reason", "r"),
                          1, "INVALID_PARAMETER_VALUE")
    assert_one_line_error(podium_cli("models", "rollback", "nope", "--stage", "Production", "--reason", "r"),
                          3, "RESOURCE_DOES_NOT_EXIST")
    assert_one_line_error(podium_cli("models", "history", "nope"), 3, "RESOURCE_DOES_NOT_EXIST")
    assert_one_line_error(podium_cli("models", "at", "wine", "--time", "soon"), 1, "INVALID_PARAMETER_VALUE")
