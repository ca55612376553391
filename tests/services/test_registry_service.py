"""RegistryService: MLflow's validation messages, source rules, logged-model links and copies."""

from __future__ import annotations

import json

import pytest

from podium.domain.rules import MAX_NAME_LENGTH
from podium.errors import InvalidParameterValue, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist
from podium.uris import parse_models_uri

MISSING = "Missing value for required parameter '{}'. See the API docs for more information about request parameters."
INVALID_STAGE = "Invalid Model Version stage: {}. Value must be one of None, Staging, Production, Archived."
MODEL_ID_RULE = "The model_id request parameter must identify the resource that contains the source."
RUN_ID_RULE = "The run_id request parameter must identify the resource that contains the source."


def _error(call) -> PodiumError:
    with pytest.raises(PodiumError) as info:
        call()
    return info.value


@pytest.fixture
def wine(registry):
    """Registered model "wine" with versions 1..3 (plain sources)."""
    registry.create_registered_model("wine")
    for i in range(3):
        registry.create_model_version("wine", f"/models/wine/{i + 1}")
    return registry


@pytest.fixture
def run_and_model(tracking, artifact_root):
    """A run in a fresh experiment, and a READY logged model "model" produced by it."""
    experiment_id = tracking.create_experiment("exp")
    run = tracking.create_run(experiment_id, run_name="train")
    model = tracking.create_logged_model(experiment_id, name="model", source_run_id=run.info.run_id)
    tracking.finalize_logged_model(model.model_id, "READY")
    return run, model


# ============================================================================ names
@pytest.mark.parametrize("name", ["", None])
def test_create_registered_model_requires_a_name(registry, name):
    error = _error(lambda: registry.create_registered_model(name))
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert error.message == MISSING.format("name")


@pytest.mark.parametrize("name", ["bad/name", "bad:name", "a/b:c", "/", ":"])
def test_create_registered_model_rejects_slash_and_colon(registry, name):
    error = _error(lambda: registry.create_registered_model(name))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == f"Invalid model name '{name}'. Names cannot contain '/' or ':'."
    assert registry.search_registered_models() == []


@pytest.mark.parametrize(
    "name", ["wine quality", " padded ", "x" * 256, "x" * 300, "x" * MAX_NAME_LENGTH, "wine-quality_v2.1", "模型"]
)
def test_create_registered_model_accepts_spaces_and_long_names(registry, name):
    assert registry.create_registered_model(name).name == name
    assert registry.get_registered_model(name).name == name


def test_create_registered_model_rejects_names_over_the_limit(registry):
    error = _error(lambda: registry.create_registered_model("x" * (MAX_NAME_LENGTH + 1)))
    assert isinstance(error, InvalidParameterValue)
    assert registry.search_registered_models() == []


def test_create_registered_model_rejects_non_string_names(registry):
    error = _error(lambda: registry.create_registered_model(123))
    assert isinstance(error, InvalidParameterValue)
    assert "'int'" in error.message


def test_create_registered_model_with_tags_and_description(registry):
    model = registry.create_registered_model("wine", tags={"team": "ml"}, description="Predicts quality.")
    assert (model.tags, model.description) == ({"team": "ml"}, "Predicts quality.")


def test_create_registered_model_accepts_tag_objects(registry):
    from podium.domain.entities import RunTag

    model = registry.create_registered_model("wine", tags=[RunTag("team", "ml"), RunTag("n", "1")])
    assert model.tags == {"team": "ml", "n": "1"}


def test_create_registered_model_duplicate_is_resource_already_exists(registry):
    registry.create_registered_model("wine")
    error = _error(lambda: registry.create_registered_model("wine"))
    assert isinstance(error, ResourceAlreadyExists)
    assert error.message == "Registered Model (name=wine) already exists."
    assert error.http_status == 400


def test_get_missing_registered_model(registry):
    error = _error(lambda: registry.get_registered_model("no-such-model-xyz"))
    assert isinstance(error, ResourceDoesNotExist)
    assert error.message == "Registered Model with name=no-such-model-xyz not found"


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.get_registered_model(""),
        lambda r: r.update_registered_model("", "d"),
        lambda r: r.delete_registered_model(""),
        lambda r: r.get_latest_versions(""),
        lambda r: r.set_registered_model_tag("", "k", "v"),
        lambda r: r.get_model_version("", 1),
        lambda r: r.create_model_version("", "/x"),
    ],
)
def test_operations_without_a_model_name_are_missing_parameter(registry, call):
    assert _error(lambda: call(registry)).message == MISSING.format("name")


def test_rename_registered_model_to_empty_name_is_missing_new_name(wine):
    error = _error(lambda: wine.rename_registered_model("wine", ""))
    assert error.message == MISSING.format("new_name")
    assert wine.get_registered_model("wine").name == "wine"


def test_rename_registered_model_to_invalid_name_is_rejected(wine):
    error = _error(lambda: wine.rename_registered_model("wine", "a/b"))
    assert error.message == "Invalid model name 'a/b'. Names cannot contain '/' or ':'."


def test_rename_registered_model_keeps_versions_tags_and_aliases(wine):
    wine.set_registered_model_tag("wine", "team", "ml")
    wine.set_registered_model_alias("wine", "champion", 2)
    renamed = wine.rename_registered_model("wine", "wine-v2")
    assert (renamed.name, renamed.tags, renamed.aliases) == ("wine-v2", {"team": "ml"}, {"champion": 2})
    assert wine.get_model_version_by_alias("wine-v2", "champion").version == 2
    assert [v.version for v in wine.search_model_versions("name = 'wine-v2'", order_by=["version_number"])] == [1, 2, 3]


def test_rename_registered_model_onto_existing_name(wine):
    wine.create_registered_model("taken")
    error = _error(lambda: wine.rename_registered_model("wine", "taken"))
    assert isinstance(error, ResourceAlreadyExists)
    assert error.message == "Registered Model (name=taken) already exists."


def test_update_and_delete_registered_model(wine):
    assert wine.update_registered_model("wine", description="new").description == "new"
    wine.delete_registered_model("wine")
    assert isinstance(_error(lambda: wine.get_registered_model("wine")), ResourceDoesNotExist)
    wine.create_registered_model("wine")
    assert wine.create_model_version("wine", "/x").version == 1


# ============================================================================ tags
@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.set_registered_model_tag("wine", "", "v"),
        lambda r: r.set_model_version_tag("wine", 1, "", "v"),
        lambda r: r.delete_registered_model_tag("wine", ""),
        lambda r: r.delete_model_version_tag("wine", 1, ""),
    ],
)
def test_empty_tag_key_is_missing_key(wine, call):
    assert _error(lambda: call(wine)).message == MISSING.format("key")


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../../b", "a/./b"])
def test_path_like_tag_keys_are_rejected(wine, key):
    error = _error(lambda: wine.set_model_version_tag("wine", 1, key, "v"))
    assert isinstance(error, InvalidParameterValue)
    assert error.message.startswith(f'Invalid value "{key}" for parameter \'key\' supplied: Names may be treated as files')


@pytest.mark.parametrize("key", ["a!b", "semi;colon", "new\nline"])
def test_tag_keys_with_odd_characters_are_rejected(wine, key):
    assert isinstance(_error(lambda: wine.set_registered_model_tag("wine", key, "v")), InvalidParameterValue)


@pytest.mark.parametrize("key", ["mlflow.prompt.is_prompt", "with space", "a/b", "ns:key", "dash-and_under"])
def test_ordinary_tag_keys_are_accepted(wine, key):
    wine.set_registered_model_tag("wine", key, "v")
    assert wine.get_registered_model("wine").tags == {key: "v"}


def test_tag_values_are_stringified(wine):
    wine.set_registered_model_tag("wine", "n", 5)
    wine.set_model_version_tag("wine", 1, "none", None)
    assert wine.get_registered_model("wine").tags == {"n": "5"}
    assert wine.get_model_version("wine", 1).tags == {"none": ""}


def test_delete_missing_tags_are_no_ops(wine):
    wine.delete_registered_model_tag("wine", "never")
    wine.delete_model_version_tag("wine", 1, "never")


def test_registry_tag_values_up_to_100000_characters_are_accepted(wine):
    wine.set_registered_model_tag("wine", "k", "x" * 100000)
    wine.set_model_version_tag("wine", 1, "k", "y" * 100000)
    wine.create_registered_model("other", tags={"k": "z" * 100000})
    assert wine.get_registered_model("wine").tags == {"k": "x" * 100000}
    assert wine.get_model_version("wine", 1).tags == {"k": "y" * 100000}
    assert wine.get_registered_model("other").tags == {"k": "z" * 100000}


def test_too_long_tag_value_is_rejected(wine):
    assert isinstance(_error(lambda: wine.set_registered_model_tag("wine", "k", "x" * 100001)), InvalidParameterValue)
    assert isinstance(_error(lambda: wine.set_model_version_tag("wine", 1, "k", "x" * 100001)), InvalidParameterValue)
    assert wine.get_registered_model("wine").tags == {}


# ============================================================================ versions
@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.get_model_version("wine", "abc"),
        lambda r: r.update_model_version("wine", "abc", "d"),
        lambda r: r.delete_model_version("wine", "abc"),
        lambda r: r.transition_model_version_stage("wine", "abc", "Staging"),
        lambda r: r.set_model_version_tag("wine", "abc", "k", "v"),
        lambda r: r.delete_model_version_tag("wine", "abc", "k"),
        lambda r: r.set_registered_model_alias("wine", "champion", "abc"),
        lambda r: r.get_model_version_download_uri("wine", "abc"),
    ],
    ids=["get", "update", "delete", "transition", "set_tag", "delete_tag", "alias", "download_uri"],
)
def test_non_integer_version_is_invalid_parameter(wine, call):
    error = _error(lambda: call(wine))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == "Parameter 'version' must be an integer, got 'abc'."


@pytest.mark.parametrize("version", ["1.5", "", None, True, "0x1"])
def test_other_non_integer_versions_are_invalid_parameter(wine, version):
    assert isinstance(_error(lambda: wine.get_model_version("wine", version)), InvalidParameterValue)


@pytest.mark.parametrize("version", [0, -1, "0"])
def test_non_positive_versions_are_invalid_parameter(wine, version):
    assert isinstance(_error(lambda: wine.get_model_version("wine", version)), InvalidParameterValue)


@pytest.mark.parametrize("version", [2, "2", " 2 "])
def test_versions_may_be_int_or_numeric_string(wine, version):
    assert wine.get_model_version("wine", version).version == 2


def test_missing_version_message(wine):
    error = _error(lambda: wine.get_model_version("wine", "99"))
    assert isinstance(error, ResourceDoesNotExist)
    assert error.message == "Model Version (name=wine, version=99) not found"
    assert error.http_status == 404


def test_version_lifecycle_numbers_are_never_reused(wine):
    wine.delete_model_version("wine", "3")
    assert wine.create_model_version("wine", "/x").version == 4
    wine.delete_model_version("wine", 2)
    assert wine.create_model_version("wine", "/x").version == 5


def test_update_model_version_description(wine):
    assert wine.update_model_version("wine", "2", description="better").description == "better"
    assert wine.get_model_version("wine", 2).description == "better"


def test_create_model_version_requires_a_source(wine):
    assert _error(lambda: wine.create_model_version("wine", "")).message == MISSING.format("source")


def test_create_model_version_with_tags_and_description(wine):
    version = wine.create_model_version("wine", "/x", tags={"k": 1}, description="d", run_link="http://r")
    assert (version.tags, version.description, version.run_link) == ({"k": "1"}, "d", "http://r")


# ---------------------------------------------------------------------------- stages
@pytest.mark.parametrize(
    ("given", "canonical"),
    [("staging", "Staging"), ("STAGING", "Staging"), ("Production", "Production"), ("production", "Production"),
     ("aRcHiVeD", "Archived"), ("none", "None"), ("None", "None")],
)
def test_transition_stage_is_case_insensitive(wine, given, canonical):
    assert wine.transition_model_version_stage("wine", 1, given).current_stage == canonical
    assert wine.get_model_version("wine", 1).current_stage == canonical


@pytest.mark.parametrize("stage", ["Foo", "prod", "Stage", " Staging"])
def test_transition_to_invalid_stage_uses_mlflow_message(wine, stage):
    error = _error(lambda: wine.transition_model_version_stage("wine", 1, stage))
    assert isinstance(error, InvalidParameterValue)
    assert error.message.startswith(INVALID_STAGE.format(stage))  # MLflow's text, then maybe a hint


def test_invalid_stage_suggests_the_closest_stage(wine):
    assert _error(lambda: wine.transition_model_version_stage("wine", 1, "Prodution")).message.endswith(
        "Did you mean 'Production'?")
    assert "Did you mean" not in _error(lambda: wine.transition_model_version_stage("wine", 1, "Foo")).message


def test_transition_without_stage_is_missing_parameter(wine):
    assert _error(lambda: wine.transition_model_version_stage("wine", 1, "")).message == MISSING.format("stage")


def test_archive_existing_versions_archives_only_the_target_stage(wine):
    wine.transition_model_version_stage("wine", 1, "Production")
    wine.transition_model_version_stage("wine", 2, "Staging")
    wine.transition_model_version_stage("wine", 3, "production", archive_existing_versions=True)
    assert {v.version: v.current_stage for v in wine.search_model_versions("name='wine'")} == {
        1: "Archived",
        2: "Staging",
        3: "Production",
    }


def test_archiving_a_version_an_alias_points_at_warns(wine):
    wine.set_registered_model_alias("wine", "champion", 1)
    wine.set_registered_model_alias("wine", "old", 2)
    wine.transition_model_version_stage("wine", 1, "Production")
    wine.transition_model_version_stage("wine", 2, "Archived")  # "old" already on an archived version below
    updated, warnings = wine.transition_model_version_stage_with_warnings("wine", 3, "Production", True)
    assert updated.current_stage == "Production"
    assert warnings == ["alias 'champion' points at version 1, now Archived"]
    _, warnings = wine.transition_model_version_stage_with_warnings("wine", 1, "Archived")  # already archived
    assert warnings == []
    wine.set_registered_model_alias("wine", "challenger", 3)
    _, warnings = wine.transition_model_version_stage_with_warnings("wine", 3, "archived")
    assert warnings == ["alias 'challenger' points at version 3, now Archived"]
    _, warnings = wine.transition_model_version_stage_with_warnings("wine", 1, "Staging")  # archives nothing
    assert warnings == []


@pytest.mark.parametrize("stage", ["Archived", "archived", "None", "none"])
def test_archive_existing_versions_into_inactive_stage_is_a_400_not_a_500(wine, stage):
    error = _error(lambda: wine.transition_model_version_stage("wine", 1, stage, archive_existing_versions=True))
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert error.http_status == 400
    assert wine.get_model_version("wine", 1).current_stage == "None"


@pytest.mark.parametrize("flag", ["true", 1, None])
def test_archive_existing_versions_must_be_a_boolean(wine, flag):
    error = _error(lambda: wine.transition_model_version_stage("wine", 1, "Staging", archive_existing_versions=flag))
    assert isinstance(error, InvalidParameterValue)


def test_get_latest_versions_with_and_without_stages(wine):
    wine.transition_model_version_stage("wine", 1, "Production")
    wine.transition_model_version_stage("wine", 2, "Production")
    assert [(v.current_stage, v.version) for v in wine.get_latest_versions("wine")] == [
        ("None", 3),
        ("Production", 2),
    ]
    assert [v.version for v in wine.get_latest_versions("wine", ["production"])] == [2]
    assert [v.version for v in wine.get_latest_versions("wine", ["STAGING"])] == []
    assert [(v.current_stage, v.version) for v in wine.get_latest_versions("wine", [])] == [
        ("None", 3),
        ("Production", 2),
    ]


def test_get_latest_versions_with_a_repeated_stage_returns_each_version_once(wine):
    wine.transition_model_version_stage("wine", 1, "Production")
    assert [v.version for v in wine.get_latest_versions("wine", ["Production", "production"])] == [1]


def test_get_latest_versions_with_invalid_stage_uses_mlflow_message(wine):
    error = _error(lambda: wine.get_latest_versions("wine", ["Foo"]))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == INVALID_STAGE.format("Foo")


def test_get_latest_versions_of_missing_model(registry):
    error = _error(lambda: registry.get_latest_versions("ghost", ["Production"]))
    assert error.message == "Registered Model with name=ghost not found"


# ============================================================================ aliases
@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest", "lAtEsT"])
def test_latest_alias_is_reserved_in_any_case(wine, alias):
    error = _error(lambda: wine.set_registered_model_alias("wine", alias, 1))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == "'latest' alias name (case insensitive) is reserved."


@pytest.mark.parametrize("alias", ["v1", "v42", "V3"])
def test_version_aliases_are_reserved(wine, alias):
    error = _error(lambda: wine.set_registered_model_alias("wine", alias, 1))
    assert error.message == f"Version alias name '{alias}' is reserved."


@pytest.mark.parametrize("alias", ["bad alias!", "a.b", "a/b", "tab\t", "ünï"])
def test_alias_with_invalid_characters_uses_mlflow_message(wine, alias):
    error = _error(lambda: wine.set_registered_model_alias("wine", alias, 1))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == (
        f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
    )


@pytest.mark.parametrize("alias", ["champion", "v1a", "version1", "v", "latest-1", "A_b-9"])
def test_ordinary_aliases_are_accepted(wine, alias):
    wine.set_registered_model_alias("wine", alias, "1")
    assert wine.get_model_version_by_alias("wine", alias).version == 1


def test_empty_alias_is_missing_parameter(wine):
    assert _error(lambda: wine.set_registered_model_alias("wine", "", 1)).message == MISSING.format("alias")
    assert _error(lambda: wine.get_model_version_by_alias("wine", "")).message == MISSING.format("alias")


def test_set_move_and_delete_alias(wine):
    wine.set_registered_model_alias("wine", "champion", 1)
    wine.set_registered_model_alias("wine", "champion", "3")
    found = wine.get_model_version_by_alias("wine", "champion")
    assert (found.version, found.aliases) == (3, ["champion"])
    assert wine.get_registered_model("wine").aliases == {"champion": 3}
    wine.delete_registered_model_alias("wine", "champion")
    error = _error(lambda: wine.get_model_version_by_alias("wine", "champion"))
    assert (error.error_code, error.message) == ("INVALID_PARAMETER_VALUE", "Registered model alias champion not found.")


def test_get_missing_alias_is_invalid_parameter_value(wine):
    error = _error(lambda: wine.get_model_version_by_alias("wine", "nope"))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == "Registered model alias nope not found."


def test_alias_to_missing_version_is_not_found(wine):
    error = _error(lambda: wine.set_registered_model_alias("wine", "champion", 99))
    assert isinstance(error, ResourceDoesNotExist)
    assert error.message == "Model Version (name=wine, version=99) not found"


def test_deleting_a_version_removes_its_aliases(wine):
    wine.set_registered_model_alias("wine", "champion", 2)
    wine.delete_model_version("wine", 2)
    assert wine.get_registered_model("wine").aliases == {}
    assert isinstance(_error(lambda: wine.get_model_version_by_alias("wine", "champion")), InvalidParameterValue)


# ============================================================================ sources
def test_models_source_without_model_id_is_rejected(registry, run_and_model):
    _, model = run_and_model
    registry.create_registered_model("wine")
    error = _error(lambda: registry.create_model_version("wine", f"models:/{model.model_id}"))
    assert isinstance(error, InvalidParameterValue)
    assert MODEL_ID_RULE in error.message
    assert registry.search_model_versions() == []


def test_models_source_with_another_model_id_is_rejected(registry, tracking, run_and_model):
    _, model = run_and_model
    other = tracking.create_logged_model("0", name="other")
    registry.create_registered_model("wine")
    error = _error(
        lambda: registry.create_model_version("wine", f"models:/{model.model_id}", model_id=other.model_id)
    )
    assert MODEL_ID_RULE in error.message


def test_models_source_derives_run_id_and_storage_from_the_logged_model(registry, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version("wine", f"models:/{model.model_id}", model_id=model.model_id)
    assert version.run_id == run.info.run_id
    assert version.model_id == model.model_id
    assert version.source == f"models:/{model.model_id}"
    assert version.storage_location == model.artifact_location
    assert registry.get_model_version_download_uri("wine", 1) == model.artifact_location


def test_models_source_with_matching_run_id_is_accepted(registry, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version(
        "wine", f"models:/{model.model_id}", run_id=run.info.run_id, model_id=model.model_id
    )
    assert version.run_id == run.info.run_id


def test_models_source_with_mismatching_run_id_is_rejected(registry, tracking, run_and_model):
    _, model = run_and_model
    other_run = tracking.create_run("0")
    registry.create_registered_model("wine")
    error = _error(
        lambda: registry.create_model_version(
            "wine", f"models:/{model.model_id}", run_id=other_run.info.run_id, model_id=model.model_id
        )
    )
    assert isinstance(error, InvalidParameterValue)


def test_models_source_of_missing_logged_model_is_not_found(registry):
    registry.create_registered_model("wine")
    missing = "m-" + "0" * 32
    error = _error(lambda: registry.create_model_version("wine", f"models:/{missing}", model_id=missing))
    assert isinstance(error, ResourceDoesNotExist)


def test_registering_links_the_version_on_the_logged_model(registry, tracking, run_and_model):
    _, model = run_and_model
    registry.create_registered_model("wine")
    registry.create_registered_model("wine-copy")
    registry.create_model_version("wine", f"models:/{model.model_id}", model_id=model.model_id)
    entries = json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert entries == [{"name": "wine", "version": 1}]
    registry.create_model_version("wine-copy", f"models:/{model.model_id}", model_id=model.model_id)
    entries = json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert entries == [{"name": "wine", "version": 1}, {"name": "wine-copy", "version": 1}]


def test_registering_appends_to_a_client_written_model_versions_tag(registry, tracking, run_and_model):
    _, model = run_and_model
    tracking.set_logged_model_tags(model.model_id, {"mlflow.modelVersions": '[{"name": "x", "version": "1"}]'})
    registry.create_registered_model("wine")
    registry.create_model_version("wine", f"models:/{model.model_id}", model_id=model.model_id)
    entries = json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert entries == [{"name": "x", "version": "1"}, {"name": "wine", "version": 1}]


def test_registering_one_logged_model_many_times_succeeds_every_time(registry, tracking, run_and_model):
    _, model = run_and_model
    name = "n" * 200
    registry.create_registered_model(name)
    errors = []
    for _ in range(25):
        try:
            registry.create_model_version(name, f"models:/{model.model_id}", model_id=model.model_id)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    stored = registry.search_model_versions(f"name = '{name}'")
    assert errors == []
    assert len(stored) == 25
    assert len(json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"])) == 25


def test_failed_registration_does_not_link_the_logged_model(registry, tracking, run_and_model):
    _, model = run_and_model
    error = _error(lambda: registry.create_model_version("ghost", f"models:/{model.model_id}", model_id=model.model_id))
    assert isinstance(error, ResourceDoesNotExist)
    assert "mlflow.modelVersions" not in tracking.get_logged_model(model.model_id).tags


def test_runs_source_with_mismatching_run_id_is_rejected(registry, tracking, run_and_model):
    run, _ = run_and_model
    other = tracking.create_run("0")
    registry.create_registered_model("wine")
    error = _error(
        lambda: registry.create_model_version("wine", f"runs:/{run.info.run_id}/model", run_id=other.info.run_id)
    )
    assert isinstance(error, InvalidParameterValue)
    assert RUN_ID_RULE in error.message


def test_runs_source_resolves_to_the_logged_model_of_that_name(registry, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version("wine", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert version.source == f"runs:/{run.info.run_id}/model"
    assert version.run_id == run.info.run_id
    assert version.storage_location == model.artifact_location
    assert registry.get_model_version_download_uri("wine", 1) == model.artifact_location


def test_runs_source_without_run_id_takes_it_from_the_uri(registry, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version("wine", f"runs:/{run.info.run_id}/model")
    assert (version.run_id, version.storage_location) == (run.info.run_id, model.artifact_location)


def test_runs_source_ignores_logged_models_of_other_runs(registry, tracking, run_and_model):
    _, model = run_and_model
    other = tracking.create_run(model.experiment_id)
    registry.create_registered_model("wine")
    version = registry.create_model_version("wine", f"runs:/{other.info.run_id}/model")
    assert version.storage_location == f"{other.info.artifact_uri}/model"


def test_runs_source_without_logged_model_points_into_the_run_artifacts(registry, run_and_model):
    run, _ = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version("wine", f"runs:/{run.info.run_id}/sklearn/model")
    assert version.storage_location == f"{run.info.artifact_uri}/sklearn/model"
    root = registry.create_model_version("wine", f"runs:/{run.info.run_id}")
    assert root.storage_location == run.info.artifact_uri


def test_runs_source_with_model_id_uses_the_logged_model(registry, tracking, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("wine")
    version = registry.create_model_version(
        "wine", f"runs:/{run.info.run_id}/anything", run_id=run.info.run_id, model_id=model.model_id
    )
    assert version.storage_location == model.artifact_location
    assert json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"]) == [
        {"name": "wine", "version": 1}
    ]


def test_runs_source_of_missing_run_is_not_found(registry):
    registry.create_registered_model("wine")
    error = _error(lambda: registry.create_model_version("wine", "runs:/" + "0" * 32 + "/model"))
    assert isinstance(error, ResourceDoesNotExist)


def test_plain_source_with_run_id_of_missing_run_is_not_found(registry):
    registry.create_registered_model("wine")
    assert isinstance(_error(lambda: registry.create_model_version("wine", "/x", run_id="nope")), ResourceDoesNotExist)


def test_plain_source_is_its_own_download_uri(registry):
    registry.create_registered_model("wine")
    registry.create_model_version("wine", "s3://bucket/model")
    assert registry.get_model_version_download_uri("wine", "1") == "s3://bucket/model"


@pytest.mark.parametrize(
    "source",
    ["../x", "../../etc/passwd", "runs:/abc/../../etc", "a\x00b", "/tmp/model\x00"],
)
def test_sources_with_relative_references_or_nul_are_rejected(registry, source):
    registry.create_registered_model("wine")
    error = _error(lambda: registry.create_model_version("wine", source))
    assert isinstance(error, InvalidParameterValue)
    assert registry.search_model_versions() == []


@pytest.mark.parametrize(
    "source",
    ["mlflow-artifacts:/0/../../etc/passwd", "/tmp/model/../../etc", "s3://bucket/a/../b", "file:///tmp/../etc",
     "C:\\models\\..\\secret"],
)
def test_sources_with_inner_relative_references_are_rejected(registry, source):
    registry.create_registered_model("wine")
    error = _error(lambda: registry.create_model_version("wine", source))
    assert isinstance(error, InvalidParameterValue)
    assert "relative path references" in error.message


# ============================================================================ copy
def test_copy_model_version_to_a_new_model(registry, run_and_model):
    run, model = run_and_model
    registry.create_registered_model("src")
    src = registry.create_model_version(
        "src", f"models:/{model.model_id}", model_id=model.model_id, tags={"k": "v"}, description="d"
    )
    copy = registry.copy_model_version("models:/src/1", "dst")
    assert (copy.name, copy.version) == ("dst", 1)
    assert copy.source == "models:/src/1"
    assert (copy.tags, copy.description, copy.run_id, copy.model_id) == ({"k": "v"}, "d", run.info.run_id, model.model_id)
    assert copy.storage_location == src.storage_location == model.artifact_location
    assert registry.get_model_version_download_uri("dst", 1) == registry.get_model_version_download_uri("src", 1)
    assert registry.get_registered_model("dst").name == "dst"


def test_copy_model_version_to_an_existing_model_takes_the_next_number(registry):
    registry.create_registered_model("src")
    registry.create_model_version("src", "/models/src")
    registry.create_registered_model("dst", tags={"keep": "me"})
    for _ in range(2):
        registry.create_model_version("dst", "/models/dst")
    copy = registry.copy_model_version("models:/src/1", "dst")
    assert copy.version == 3
    assert copy.storage_location == "/models/src"
    assert registry.get_registered_model("dst").tags == {"keep": "me"}


@pytest.mark.parametrize("uri", ["models:/src@champion", "models:/src/Staging", "models:/src/latest", "models:/src/2"])
def test_copy_model_version_resolves_every_models_uri_form(registry, uri):
    registry.create_registered_model("src")
    registry.create_model_version("src", "/models/one")
    registry.create_model_version("src", "/models/two")
    registry.set_registered_model_alias("src", "champion", 2)
    registry.transition_model_version_stage("src", 2, "Staging")
    assert registry.copy_model_version(uri, "dst").storage_location == "/models/two"


def test_copy_of_missing_version_is_not_found_and_creates_nothing(registry):
    registry.create_registered_model("src")
    assert isinstance(_error(lambda: registry.copy_model_version("models:/src/9", "dst")), ResourceDoesNotExist)
    assert isinstance(_error(lambda: registry.get_registered_model("dst")), ResourceDoesNotExist)


def test_copy_to_invalid_name_is_rejected(registry):
    registry.create_registered_model("src")
    registry.create_model_version("src", "/x")
    assert isinstance(_error(lambda: registry.copy_model_version("models:/src/1", "a/b")), InvalidParameterValue)


def test_models_source_naming_a_registry_version_uses_its_storage(registry, run_and_model):
    _, model = run_and_model
    registry.create_registered_model("src")
    registry.create_model_version("src", f"models:/{model.model_id}", model_id=model.model_id)
    registry.create_registered_model("dst")
    version = registry.create_model_version("dst", "models:/src/1")
    assert version.storage_location == model.artifact_location


# ============================================================================ URI resolution
def test_resolve_model_version_for_every_uri_form(wine):
    wine.set_registered_model_alias("wine", "champion", 1)
    wine.transition_model_version_stage("wine", 2, "Production")
    resolve = lambda uri: wine.resolve_model_version(parse_models_uri(uri)).version  # noqa: E731
    assert resolve("models:/wine/3") == 3
    assert resolve("models:/wine@champion") == 1
    assert resolve("models:/wine/production") == 2
    assert resolve("models:/wine/latest") == 3


def test_resolve_model_version_of_empty_stage_is_not_found(wine):
    error = _error(lambda: wine.resolve_model_version(parse_models_uri("models:/wine/Staging")))
    assert isinstance(error, ResourceDoesNotExist)
    assert error.message == "No versions of model with name 'wine' and stage 'Staging' found"


def test_resolve_latest_of_model_without_versions_is_not_found(registry):
    registry.create_registered_model("empty")
    assert isinstance(_error(lambda: registry.resolve_model_version(parse_models_uri("models:/empty/latest"))),
                      ResourceDoesNotExist)


def test_resolve_model_version_refuses_a_logged_model_uri(registry):
    assert isinstance(_error(lambda: registry.resolve_model_version(parse_models_uri("models:/m-abc"))),
                      InvalidParameterValue)
