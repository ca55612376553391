"""``podium models``: list, show, versions, transition, alias; tables, --json and errors."""

from __future__ import annotations

import json

import pytest

from .helpers import assert_one_line_error


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _row(stdout: str, first_cell: str) -> str:
    """The table line whose first cell is ``first_cell``."""
    return next(line for line in stdout.splitlines() if line.split() and line.split()[0] == first_cell)


# ------------------------------------------------------------------------------------ list
def test_list_shows_one_row_per_model_with_latest_versions_and_aliases(podium_cli, registry):
    result = podium_cli("models", "list")
    assert result.exit_code == 0
    assert "Registered models (2)" in result.stdout
    wine = _row(result.stdout, "wine")
    assert "Production: v1" in wine and "@champion: v1" in wine and "Wine quality classifier" in wine
    assert "Staging: v2" in result.stdout and "None: v3" in result.stdout
    assert "None: v1" in _row(result.stdout, "fraud-detector")


def test_list_json_has_mlflow_field_names_int_versions_and_ms_timestamps(podium_cli, registry):
    models = _json(podium_cli("models", "list", "--json"))["registered_models"]
    assert [m["name"] for m in models] == ["fraud-detector", "wine"]
    wine = models[1]
    assert set(wine) == {"name", "creation_timestamp", "last_updated_timestamp", "description", "user_id",
                         "latest_versions", "tags", "aliases"}
    assert wine["aliases"] == {"champion": 1}
    assert wine["tags"] == {"team": "ml-platform"}
    assert {(v["version"], v["current_stage"]) for v in wine["latest_versions"]} == {
        (1, "Production"), (2, "Staging"), (3, "None")}
    assert isinstance(wine["creation_timestamp"], int) and wine["creation_timestamp"] > 1_600_000_000_000


def test_list_filter_and_max_results(podium_cli, registry):
    assert [m["name"] for m in _json(podium_cli("models", "list", "--filter", "name LIKE 'w%'", "--json"))[
        "registered_models"]] == ["wine"]
    assert len(_json(podium_cli("models", "list", "--max-results", "1", "--json"))["registered_models"]) == 1


def test_list_follows_page_tokens_up_to_max_results(podium_cli, seed):
    for i in range(5):
        seed.create_registered_model(f"model-{i}")
    from podium.cli import collect

    pages = []

    def fetch(token, n):
        pages.append(n)
        return seed.search_registered_models(None, 2, None, token)

    assert [m.name for m in collect(fetch, 4)] == ["model-0", "model-1", "model-2", "model-3"]
    assert len(pages) == 2
    assert len(_json(podium_cli("models", "list", "--max-results", "4", "--json"))["registered_models"]) == 4


def test_list_empty_registry(podium_cli):
    result = podium_cli("models", "list")
    assert result.exit_code == 0 and "Registered models (0)" in result.stdout


def test_list_bad_filter_is_invalid_parameter_value(podium_cli, registry):
    assert_one_line_error(podium_cli("models", "list", "--filter", "name ==="), 1, "INVALID_PARAMETER_VALUE")


def test_list_max_results_below_one_is_a_usage_error(podium_cli):
    assert podium_cli("models", "list", "--max-results", "0").exit_code == 2


def test_user_text_is_printed_as_written_not_as_rich_markup(podium_cli, seed):
    seed.create_registered_model("marked", description="[bold red]not markup[/bold red] :smile:")
    assert "[bold red]not markup[/bold red] :smile:" in podium_cli("models", "list").stdout


# ------------------------------------------------------------------------------------ show
def test_show_prints_details_tags_aliases_and_latest_versions(podium_cli, registry):
    result = podium_cli("models", "show", "wine")
    assert result.exit_code == 0
    out = result.stdout
    assert "Registered model wine" in out and "Wine quality classifier" in out
    assert "ml-platform" in _row(out, "team")
    assert "1" in _row(out, "@champion").split()
    assert _row(out, "1").split()[1] == "Production" and registry["run_id"] in _row(out, "1")
    assert _row(out, "2").split()[1] == "Staging"


def test_show_json(podium_cli, registry):
    model = _json(podium_cli("models", "show", "wine", "--json"))["registered_model"]
    assert model["name"] == "wine" and model["description"] == "Wine quality classifier"
    assert model["aliases"] == {"champion": 1}
    assert sorted(v["version"] for v in model["latest_versions"]) == [1, 2, 3]


def test_show_model_without_tags_or_aliases(podium_cli, registry):
    result = podium_cli("models", "show", "fraud-detector")
    assert "No tags." in result.stdout and "No aliases." in result.stdout


def test_show_unknown_model_exits_3_with_one_line(podium_cli, registry):
    result = podium_cli("models", "show", "nope")
    assert_one_line_error(result, 3, "RESOURCE_DOES_NOT_EXIST")
    assert "nope" in result.stderr
    assert "Did you mean" not in result.stderr  # nothing is close to "nope"


def test_unknown_model_suggests_the_closest_name(podium_cli, registry):
    result = podium_cli("models", "show", "fraud-detecter")
    assert_one_line_error(result, 3, "RESOURCE_DOES_NOT_EXIST")
    assert result.stderr.rstrip().endswith("not found. Did you mean 'fraud-detector'?")
    result = podium_cli("models", "versions", "wien")
    assert result.exit_code == 3 and "Did you mean 'wine'?" in result.stderr


# ------------------------------------------------------------------------------------ versions
def test_versions_lists_every_version_newest_first(podium_cli, registry):
    result = podium_cli("models", "versions", "wine", env={"COLUMNS": "400"})  # no folded cells
    assert result.exit_code == 0
    out = result.stdout
    assert "Versions of wine (3)" in out
    rows = [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in {"1", "2", "3"}]
    assert rows == ["3", "2", "1"]
    v1 = _row(out, "1")
    for cell in ("Production", "@champion", registry["run_id"], f"runs:/{registry['run_id']}/model", "baseline",
                 "dataset=wine-v1"):
        assert cell in v1
    assert "/data/models/wine-3" in _row(out, "3")


def test_versions_table_leaves_tags_and_source_to_wide_consoles(podium_cli, registry):
    narrow = podium_cli("models", "versions", "wine", env={"COLUMNS": "120"}).stdout
    assert "Source / storage" not in narrow and "dataset=wine-v1" not in narrow
    assert "use a console 150 columns wide, or --json" in narrow
    assert "baseline" in narrow and registry["run_id"] in narrow
    wide = podium_cli("models", "versions", "wine", env={"COLUMNS": "150"}).stdout
    assert "Source / storage" in wide and "dataset=wine-v1" in wide and "--json" not in wide


def test_versions_stage_filter_is_case_insensitive(podium_cli, registry):
    result = podium_cli("models", "versions", "wine", "--stage", "production")
    assert "Versions of wine in stage Production (1)" in result.stdout
    versions = _json(podium_cli("models", "versions", "wine", "--stage", "STAGING", "--json"))["model_versions"]
    assert [v["version"] for v in versions] == [2]


def test_versions_json(podium_cli, registry):
    versions = _json(podium_cli("models", "versions", "wine", "--json"))["model_versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    v1 = versions[2]
    assert v1["current_stage"] == "Production" and v1["aliases"] == ["champion"]
    assert v1["run_id"] == registry["run_id"] and v1["source"] == f"runs:/{registry['run_id']}/model"
    assert v1["storage_location"].endswith("/model")
    assert v1["tags"] == {"dataset": "wine-v1"} and v1["description"] == "baseline"
    assert isinstance(v1["creation_timestamp"], int) and isinstance(v1["last_updated_timestamp"], int)


def test_versions_bad_stage_is_invalid_parameter_value(podium_cli, registry):
    result = podium_cli("models", "versions", "wine", "--stage", "prod")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")


def test_versions_of_unknown_model_exits_3(podium_cli, registry):
    assert_one_line_error(podium_cli("models", "versions", "nope"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_versions_of_a_name_with_a_quote(podium_cli, seed):
    seed.create_registered_model("o'brien")
    seed.create_model_version("o'brien", "/data/models/ob", None)
    assert [v["version"] for v in _json(podium_cli("models", "versions", "o'brien", "--json"))["model_versions"]] == [1]


# ------------------------------------------------------------------------------------ transition
def test_transition_prints_the_new_state_and_takes_any_case(podium_cli, seed, registry):
    result = podium_cli("models", "transition", "wine", "3", "sTaGiNg")
    assert result.exit_code == 0
    assert result.stdout.strip() == "wine version 3: None -> Staging"
    assert seed.get_model_version("wine", 3).current_stage == "Staging"
    assert seed.get_model_version("wine", 2).current_stage == "Staging"  # not archived without the flag


def test_transition_archive_existing_reports_archived_versions(podium_cli, seed, registry):
    result = podium_cli("models", "transition", "wine", "2", "production", "--archive-existing")
    assert result.exit_code == 0
    assert "wine version 2: Staging -> Production" in result.stdout
    assert "Archived version 1 (previously in Production)." in result.stdout
    assert seed.get_model_version("wine", 1).current_stage == "Archived"


def test_transition_archiving_the_champion_warns_on_stderr(podium_cli, seed, registry):
    result = podium_cli("models", "transition", "wine", "3", "Production", "--archive-existing")
    assert result.exit_code == 0 and "Archived version 1" in result.stdout
    assert result.stderr == ("Warning: alias 'champion' points at version 1, now Archived "
                             "(move it with: podium models alias wine ALIAS VERSION)\n")
    seed.set_registered_model_alias("wine", "challenger", 3)
    payload = _json(podium_cli("models", "transition", "wine", "3", "Archived", "--json"))
    assert payload["warnings"] == ["alias 'challenger' points at version 3, now Archived"]
    assert podium_cli("models", "transition", "wine", "2", "Production").stderr == ""


def test_transition_json(podium_cli, registry):
    payload = _json(podium_cli("models", "transition", "wine", "2", "Production", "--archive-existing", "--json"))
    assert payload["model_version"]["version"] == 2
    assert payload["model_version"]["current_stage"] == "Production"
    assert payload["previous_stage"] == "Staging"
    assert payload["archived_versions"] == [1]


def test_transition_bad_stage_exits_1_with_invalid_parameter_value(podium_cli, seed, registry):
    result = podium_cli("models", "transition", "wine", "3", "Prod")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "Prod" in result.stderr
    assert seed.get_model_version("wine", 3).current_stage == "None"
    assert "Did you mean 'Production'?" in podium_cli("models", "transition", "wine", "3", "Prodution").stderr


def test_transition_unknown_version_exits_3(podium_cli, registry):
    assert_one_line_error(podium_cli("models", "transition", "wine", "99", "Staging"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_transition_version_must_be_a_number(podium_cli, registry):
    result = podium_cli("models", "transition", "wine", "latest", "Staging")
    assert result.exit_code == 2 and "'latest' is not a valid integer" in result.stderr


@pytest.mark.parametrize("args", [("transition", "wine", "0", "Staging"), ("alias", "wine", "x", "0"),
                                  ("compare", "wine", "1", "0"), ("request", "wine", "0", "--stage", "Staging"),
                                  ("verify", "wine", "0")])
def test_version_zero_is_a_usage_error_like_abc(podium_cli, registry, args):
    result = podium_cli("models", *args)
    assert result.exit_code == 2 and "VERSION" in result.stderr and "0 is not in the range" in result.stderr


# ------------------------------------------------------------------------------------ alias
def test_alias_sets_the_alias(podium_cli, seed, registry):
    result = podium_cli("models", "alias", "wine", "challenger", "3")
    assert result.exit_code == 0
    assert result.stdout.strip() == "@challenger -> wine version 3"
    assert seed.get_model_version_by_alias("wine", "challenger").version == 3


def test_alias_moves_an_existing_alias_json(podium_cli, seed, registry):
    payload = _json(podium_cli("models", "alias", "wine", "champion", "2", "--json"))
    assert payload == {"name": "wine", "alias": "champion", "version": 2}
    assert seed.get_registered_model("wine").aliases == {"champion": 2}


def test_alias_delete(podium_cli, seed, registry):
    result = podium_cli("models", "alias", "wine", "champion", "--delete")
    assert result.exit_code == 0 and "Deleted alias @champion of wine." in result.stdout
    assert seed.get_registered_model("wine").aliases == {}
    seed.set_registered_model_alias("wine", "champion", 1)
    payload = _json(podium_cli("models", "alias", "wine", "champion", "--delete", "--json"))
    assert payload == {"name": "wine", "alias": "champion", "deleted": True}


def test_alias_delete_of_a_missing_alias_exits_3(podium_cli, registry):
    result = podium_cli("models", "alias", "wine", "nope", "--delete")
    assert_one_line_error(result, 3, "RESOURCE_DOES_NOT_EXIST")
    assert "wine has no alias @nope" in result.stderr


def test_alias_bad_name_is_invalid_parameter_value(podium_cli, registry):
    for bad in ("has space", "v7", "latest"):
        assert_one_line_error(podium_cli("models", "alias", "wine", bad, "1"), 1, "INVALID_PARAMETER_VALUE")


def test_alias_on_unknown_version_exits_3(podium_cli, registry):
    assert_one_line_error(podium_cli("models", "alias", "wine", "champion", "42"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_alias_needs_exactly_one_of_version_and_delete(podium_cli, registry):
    result = podium_cli("models", "alias", "wine", "champion", "1", "--delete")
    assert result.exit_code == 2
    assert "Give either VERSION (to set the alias) or --delete, not both." in result.stderr
    result = podium_cli("models", "alias", "wine", "champion")
    assert result.exit_code == 2
    assert "Give the VERSION @champion should point at, or --delete to delete it." in result.stderr
