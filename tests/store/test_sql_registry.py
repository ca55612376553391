"""SqlRegistryStore: registered models, versions, stages, tags and aliases on a real database.

Inputs here are what the services hand the store: validated names, canonical stages, int versions.
Validation messages are tested in tests/services/test_registry_service.py.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from podium.domain.entities import ModelVersion, RegisteredModel
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)


def _versions(store, name, count, **kwargs):
    return [store.create_model_version(name, f"/models/{name}/{i}", **kwargs) for i in range(count)]


def _rows(store, table) -> int:
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def store(registry_store):
    return registry_store


# ============================================================================ registered models
def test_create_registered_model_returns_the_stored_model(store):
    before = int(time.time() * 1000)
    model = store.create_registered_model("wine", tags={"team": "ml", "task": "clf"}, description="d")
    assert isinstance(model, RegisteredModel)
    assert model.name == "wine"
    assert model.description == "d"
    assert model.tags == {"team": "ml", "task": "clf"}
    assert model.latest_versions == []
    assert model.aliases == {}
    assert before <= model.creation_timestamp == model.last_updated_timestamp
    assert store.get_registered_model("wine") == model


def test_create_registered_model_without_tags_or_description(store):
    model = store.create_registered_model("plain")
    assert (model.tags, model.description, model.aliases) == ({}, None, {})


def test_create_registered_model_rejects_duplicate_name(store):
    store.create_registered_model("wine", tags={"a": "1"})
    with pytest.raises(ResourceAlreadyExists) as info:
        store.create_registered_model("wine", tags={"b": "2"})
    assert info.value.message == "Registered Model (name=wine) already exists."
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert store.get_registered_model("wine").tags == {"a": "1"}
    assert _rows(store, registered_models) == 1




def test_registered_model_names_are_case_sensitive(store):
    store.create_registered_model("Wine")
    store.create_registered_model("wine")
    assert store.get_registered_model("Wine").name == "Wine"
    assert store.get_registered_model("wine").name == "wine"


def test_get_registered_model_with_other_case_is_not_found(store):
    store.create_registered_model("Wine")
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model("wine")


def test_tag_keys_and_aliases_are_case_sensitive(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_registered_model_tag("wine", "Team", "a")
    store.set_registered_model_tag("wine", "team", "b")
    store.set_registered_model_alias("wine", "Champion", 1)
    store.set_registered_model_alias("wine", "champion", 2)
    model = store.get_registered_model("wine")
    assert model.tags == {"Team": "a", "team": "b"}
    assert model.aliases == {"Champion": 1, "champion": 2}


@pytest.mark.parametrize("name", ["wine quality", "x" * 256, "ünïcödé-模型", "a.b-c_d"])
def test_create_registered_model_stores_unusual_names_verbatim(store, name):
    store.create_registered_model(name)
    assert store.get_registered_model(name).name == name


def test_get_registered_model_missing_is_resource_does_not_exist(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_registered_model("nope")
    assert info.value.message == "Registered Model with name=nope not found"
    assert info.value.http_status == 404


def test_rename_registered_model_moves_versions_tags_and_aliases(store):
    store.create_registered_model("old", tags={"t": "v"}, description="desc")
    _versions(store, "old", 2)
    store.set_model_version_tag("old", 2, "k", "v2")
    store.set_registered_model_alias("old", "champion", 2)
    store.transition_model_version_stage("old", 1, "Production")

    renamed = store.rename_registered_model("old", "new")

    assert renamed.name == "new"
    assert renamed.tags == {"t": "v"}
    assert renamed.description == "desc"
    assert renamed.aliases == {"champion": 2}
    assert {(v.name, v.version, v.current_stage) for v in renamed.latest_versions} == {
        ("new", 2, "None"),
        ("new", 1, "Production"),
    }
    assert store.get_registered_model("new") == renamed
    v2 = store.get_model_version("new", 2)
    assert (v2.name, v2.tags, v2.aliases) == ("new", {"k": "v2"}, ["champion"])
    assert store.get_model_version_by_alias("new", "champion").version == 2
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model("old")
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version("old", 1)
    # numbering continues under the new name
    assert store.create_model_version("new", "/x").version == 3


def test_rename_registered_model_onto_existing_name_is_rejected_and_changes_nothing(store):
    store.create_registered_model("a")
    store.create_registered_model("b")
    _versions(store, "a", 1)
    with pytest.raises(ResourceAlreadyExists) as info:
        store.rename_registered_model("a", "b")
    assert info.value.message == "Registered Model (name=b) already exists."
    assert [v.version for v in store.get_registered_model("a").latest_versions] == [1]
    assert store.get_registered_model("b").latest_versions == []


def test_rename_missing_registered_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.rename_registered_model("ghost", "other")
    assert info.value.message == "Registered Model with name=ghost not found"


def test_rename_registered_model_frees_the_old_name(store):
    store.create_registered_model("a")
    store.rename_registered_model("a", "b")
    assert store.create_registered_model("a").name == "a"
    assert store.create_model_version("a", "/x").version == 1


def test_update_registered_model_sets_description_and_bumps_last_updated(store, clock):
    created = store.create_registered_model("wine", description="first")
    updated = store.update_registered_model("wine", "second")
    assert updated.description == "second"
    assert updated.creation_timestamp == created.creation_timestamp
    assert updated.last_updated_timestamp > created.last_updated_timestamp
    assert store.get_registered_model("wine").description == "second"


def test_update_registered_model_can_clear_description(store):
    store.create_registered_model("wine", description="first")
    assert store.update_registered_model("wine", None).description is None
    assert store.update_registered_model("wine", "").description == ""


def test_update_missing_registered_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.update_registered_model("ghost", "x")


def test_delete_registered_model_removes_versions_tags_and_aliases(store):
    store.create_registered_model("wine", tags={"t": "1"})
    _versions(store, "wine", 3)
    store.set_model_version_tag("wine", 1, "k", "v")
    store.set_registered_model_alias("wine", "champion", 1)
    store.create_registered_model("other", tags={"keep": "me"})
    _versions(store, "other", 1)
    store.set_model_version_tag("other", 1, "k", "v")
    store.set_registered_model_alias("other", "prod", 1)

    store.delete_registered_model("wine")

    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model("wine")
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version("wine", 1)
    assert store.search_model_versions("name = 'wine'", 100, None, None) == []
    # nothing of it is left in any table; the other model is untouched
    assert _rows(store, registered_models) == 1
    assert _rows(store, model_versions) == 1
    assert _rows(store, model_version_tags) == 1
    assert _rows(store, registered_model_aliases) == 1
    assert _rows(store, registered_model_tags) == 1
    other = store.get_registered_model("other")
    assert (other.tags, other.aliases) == ({"keep": "me"}, {"prod": 1})


def test_recreated_registered_model_starts_numbering_at_one_and_empty(store):
    store.create_registered_model("wine", tags={"t": "1"})
    _versions(store, "wine", 3)
    store.set_registered_model_alias("wine", "champion", 3)
    store.delete_registered_model("wine")

    again = store.create_registered_model("wine")
    assert (again.tags, again.aliases, again.latest_versions) == ({}, {}, [])
    version = store.create_model_version("wine", "/x")
    assert version.version == 1
    assert version.aliases == [] and version.tags == {}


def test_delete_missing_registered_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.delete_registered_model("ghost")
    assert info.value.message == "Registered Model with name=ghost not found"


def test_registered_model_tags_set_overwrite_and_delete(store):
    store.create_registered_model("wine")
    store.set_registered_model_tag("wine", "team", "ml")
    store.set_registered_model_tag("wine", "stage", "beta")
    store.set_registered_model_tag("wine", "team", "data")
    assert store.get_registered_model("wine").tags == {"team": "data", "stage": "beta"}
    store.delete_registered_model_tag("wine", "team")
    assert store.get_registered_model("wine").tags == {"stage": "beta"}


def test_delete_missing_registered_model_tag_is_a_no_op(store):
    store.create_registered_model("wine", tags={"a": "1"})
    store.delete_registered_model_tag("wine", "not-there")
    assert store.get_registered_model("wine").tags == {"a": "1"}


def test_registered_model_tag_on_missing_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.set_registered_model_tag("ghost", "k", "v")
    with pytest.raises(ResourceDoesNotExist):
        store.delete_registered_model_tag("ghost", "k")


def test_registered_model_tag_values_may_be_empty_and_long(store):
    store.create_registered_model("wine")
    store.set_registered_model_tag("wine", "empty", "")
    store.set_registered_model_tag("wine", "long", "x" * 5000)
    assert store.get_registered_model("wine").tags == {"empty": "", "long": "x" * 5000}


def test_registered_model_latest_versions_has_the_newest_version_per_stage(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 6)
    store.transition_model_version_stage("wine", 1, "Production")
    store.transition_model_version_stage("wine", 2, "Production")
    store.transition_model_version_stage("wine", 3, "Staging")
    store.transition_model_version_stage("wine", 4, "Archived")
    # 5 and 6 stay in None
    latest = store.get_registered_model("wine").latest_versions
    assert {v.current_stage: v.version for v in latest} == {
        "None": 6,
        "Staging": 3,
        "Production": 2,
        "Archived": 4,
    }
    assert len(latest) == 4
    assert all(isinstance(v, ModelVersion) and v.name == "wine" for v in latest)


def test_registered_model_latest_versions_omits_empty_stages(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    latest = store.get_registered_model("wine").latest_versions
    assert [(v.current_stage, v.version) for v in latest] == [("None", 2)]


# ============================================================================ versions
def test_create_model_version_numbers_versions_per_model_from_one(store):
    store.create_registered_model("a")
    store.create_registered_model("b")
    assert [v.version for v in _versions(store, "a", 3)] == [1, 2, 3]
    assert [v.version for v in _versions(store, "b", 2)] == [1, 2]
    assert store.create_model_version("a", "/x").version == 4


def test_create_model_version_returns_the_stored_version(store):
    store.create_registered_model("wine")
    version = store.create_model_version(
        "wine",
        "runs:/abc/model",
        run_id="abc",
        tags={"k": "v"},
        run_link="http://link",
        description="first",
        model_id="m-1",
        storage_location="/store/here",
        user_id="me",
    )
    assert version.name == "wine"
    assert version.version == 1
    assert version.current_stage == "None"
    assert version.status == "READY"
    assert (version.source, version.run_id, version.run_link) == ("runs:/abc/model", "abc", "http://link")
    assert (version.description, version.model_id, version.user_id) == ("first", "m-1", "me")
    assert version.storage_location == "/store/here"
    assert version.tags == {"k": "v"}
    assert version.aliases == []
    assert version.creation_timestamp == version.last_updated_timestamp
    assert store.get_model_version("wine", 1) == version


def test_create_model_version_bumps_the_model_last_updated_timestamp(store, clock):
    created = store.create_registered_model("wine")
    version = store.create_model_version("wine", "/x")
    model = store.get_registered_model("wine")
    assert model.last_updated_timestamp == version.creation_timestamp > created.creation_timestamp


def test_create_model_version_for_missing_model_is_not_found_and_writes_nothing(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.create_model_version("ghost", "/x")
    assert info.value.message == "Registered Model with name=ghost not found"
    assert _rows(store, model_versions) == 0


def test_model_version_numbers_are_never_reused_after_deleting_the_newest(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 3)
    store.delete_model_version("wine", 3)
    assert store.create_model_version("wine", "/x").version == 4


def test_model_version_numbers_are_never_reused_after_deleting_a_middle_one(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 3)
    store.delete_model_version("wine", 2)
    assert store.create_model_version("wine", "/x").version == 4
    assert sorted(v.version for v in store.search_model_versions("name='wine'", 10, None, None)) == [1, 3, 4]


def test_model_version_numbers_are_never_reused_after_deleting_all(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.delete_model_version("wine", 1)
    store.delete_model_version("wine", 2)
    assert store.create_model_version("wine", "/x").version == 3


def test_get_missing_model_version_is_not_found(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_model_version("wine", 99)
    assert info.value.message == "Model Version (name=wine, version=99) not found"


def test_get_version_of_missing_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_model_version("ghost", 1)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.update_model_version("wine", 99, "d"),
        lambda s: s.delete_model_version("wine", 99),
        lambda s: s.transition_model_version_stage("wine", 99, "Staging"),
        lambda s: s.set_model_version_tag("wine", 99, "k", "v"),
        lambda s: s.delete_model_version_tag("wine", 99, "k"),
        lambda s: s.set_registered_model_alias("wine", "champion", 99),
    ],
    ids=["update", "delete", "transition", "set_tag", "delete_tag", "set_alias"],
)
def test_operations_on_a_missing_version_are_not_found(store, operation):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    with pytest.raises(ResourceDoesNotExist) as info:
        operation(store)
    assert info.value.message == "Model Version (name=wine, version=99) not found"


def test_update_model_version_description(store, clock):
    store.create_registered_model("wine")
    created = store.create_model_version("wine", "/x", description="old")
    updated = store.update_model_version("wine", 1, "new")
    assert updated.description == "new"
    assert updated.last_updated_timestamp > created.last_updated_timestamp
    assert updated.creation_timestamp == created.creation_timestamp
    assert store.get_model_version("wine", 1).description == "new"


def test_delete_model_version_removes_it_with_its_tags(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_model_version_tag("wine", 1, "k", "v")
    store.set_model_version_tag("wine", 2, "k", "v")
    store.delete_model_version("wine", 1)
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version("wine", 1)
    assert store.get_model_version("wine", 2).tags == {"k": "v"}
    assert _rows(store, model_version_tags) == 1
    assert [v.version for v in store.get_registered_model("wine").latest_versions] == [2]


def test_delete_model_version_twice_is_not_found(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    store.delete_model_version("wine", 1)
    with pytest.raises(ResourceDoesNotExist):
        store.delete_model_version("wine", 1)


# ---------------------------------------------------------------------------- stages
@pytest.mark.parametrize("stage", ["Staging", "Production", "Archived", "None"])
def test_transition_model_version_stage_sets_the_stage(store, stage, clock):
    store.create_registered_model("wine")
    created = store.create_model_version("wine", "/x")
    moved = store.transition_model_version_stage("wine", 1, stage)
    assert moved.current_stage == stage
    assert moved.last_updated_timestamp > created.last_updated_timestamp
    assert store.get_model_version("wine", 1).current_stage == stage


def test_transition_without_archiving_allows_several_versions_in_a_stage(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.transition_model_version_stage("wine", 1, "Production")
    store.transition_model_version_stage("wine", 2, "Production")
    stages = {v.version: v.current_stage for v in store.search_model_versions("name='wine'", 10, None, None)}
    assert stages == {1: "Production", 2: "Production"}


def test_archive_existing_versions_archives_only_versions_in_the_target_stage(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 5)
    store.transition_model_version_stage("wine", 1, "Production")
    store.transition_model_version_stage("wine", 2, "Production")
    store.transition_model_version_stage("wine", 3, "Staging")
    # 4 stays None; 5 goes to Production and archives 1 and 2 only
    store.transition_model_version_stage("wine", 5, "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in store.search_model_versions("name='wine'", 10, None, None)}
    assert stages == {1: "Archived", 2: "Archived", 3: "Staging", 4: "None", 5: "Production"}


def test_archive_existing_versions_does_not_touch_other_models(store):
    for name in ("a", "b"):
        store.create_registered_model(name)
        _versions(store, name, 2)
        store.transition_model_version_stage(name, 1, "Staging")
    store.transition_model_version_stage("a", 2, "Staging", archive_existing_versions=True)
    assert store.get_model_version("a", 1).current_stage == "Archived"
    assert store.get_model_version("b", 1).current_stage == "Staging"


def test_archive_existing_versions_keeps_the_version_itself_when_already_in_stage(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.transition_model_version_stage("wine", 1, "Staging")
    store.transition_model_version_stage("wine", 2, "Staging")
    moved = store.transition_model_version_stage("wine", 1, "Staging", archive_existing_versions=True)
    assert moved.current_stage == "Staging"
    assert store.get_model_version("wine", 2).current_stage == "Archived"


@pytest.mark.parametrize("stage", ["Archived", "None"])
def test_archive_existing_versions_into_an_inactive_stage_is_invalid_parameter(store, stage):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.transition_model_version_stage("wine", 1, stage)
    with pytest.raises(InvalidParameterValue) as info:
        store.transition_model_version_stage("wine", 2, stage, archive_existing_versions=True)
    assert info.value.http_status == 400
    assert f"'{stage}' is not an Active stage" in info.value.message
    assert store.get_model_version("wine", 2).current_stage == "None"
    assert store.get_model_version("wine", 1).current_stage == stage


def test_get_latest_versions_without_stages_returns_latest_per_stage(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 4)
    store.transition_model_version_stage("wine", 1, "Production")
    store.transition_model_version_stage("wine", 2, "Staging")
    store.transition_model_version_stage("wine", 3, "Production")
    latest = store.get_latest_versions("wine")
    assert [(v.current_stage, v.version) for v in latest] == [("None", 4), ("Staging", 2), ("Production", 3)]


def test_get_latest_versions_with_stages_filters_and_keeps_requested_order(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 4)
    store.transition_model_version_stage("wine", 1, "Production")
    store.transition_model_version_stage("wine", 2, "Staging")
    assert [(v.current_stage, v.version) for v in store.get_latest_versions("wine", ["Production"])] == [
        ("Production", 1)
    ]
    assert [v.version for v in store.get_latest_versions("wine", ["Production", "Staging"])] == [1, 2]
    assert store.get_latest_versions("wine", ["Archived"]) == []


def test_get_latest_versions_of_model_without_versions_is_empty(store):
    store.create_registered_model("wine")
    assert store.get_latest_versions("wine") == []


def test_get_latest_versions_of_missing_model_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_latest_versions("ghost")
    assert info.value.message == "Registered Model with name=ghost not found"


def test_get_latest_versions_carries_tags_and_aliases(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    store.set_model_version_tag("wine", 1, "k", "v")
    store.set_registered_model_alias("wine", "champion", 1)
    [latest] = store.get_latest_versions("wine")
    assert (latest.tags, latest.aliases) == ({"k": "v"}, ["champion"])


# ---------------------------------------------------------------------------- version tags
def test_model_version_tags_set_overwrite_and_delete(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_model_version_tag("wine", 1, "approved_by", "luca")
    store.set_model_version_tag("wine", 1, "approved_by", "anna")
    store.set_model_version_tag("wine", 1, "risk", "low")
    assert store.get_model_version("wine", 1).tags == {"approved_by": "anna", "risk": "low"}
    assert store.get_model_version("wine", 2).tags == {}
    store.delete_model_version_tag("wine", 1, "approved_by")
    assert store.get_model_version("wine", 1).tags == {"risk": "low"}


def test_delete_missing_model_version_tag_is_a_no_op(store):
    store.create_registered_model("wine")
    store.create_model_version("wine", "/x", tags={"a": "1"})
    store.delete_model_version_tag("wine", 1, "nope")
    assert store.get_model_version("wine", 1).tags == {"a": "1"}


def test_model_version_tags_are_per_version(store):
    store.create_registered_model("a")
    store.create_registered_model("b")
    store.create_model_version("a", "/x", tags={"k": "a1"})
    store.create_model_version("a", "/x", tags={"k": "a2"})
    store.create_model_version("b", "/x", tags={"k": "b1"})
    assert store.get_model_version("a", 1).tags == {"k": "a1"}
    assert store.get_model_version("a", 2).tags == {"k": "a2"}
    assert store.get_model_version("b", 1).tags == {"k": "b1"}


def test_get_model_versions_reads_many_at_once_and_leaves_out_missing_ones(store):
    store.create_registered_model("a")
    store.create_registered_model("b")
    _versions(store, "a", 3)
    _versions(store, "b", 2)
    store.set_model_version_tag("a", 3, "k", "v")
    store.set_registered_model_alias("a", "champion", 3)
    found = store.get_model_versions([("a", 1), ("a", 3), ("b", 2), ("a", 1), ("a", 99), ("nope", 1), ("b", 3)])
    assert sorted(found) == [("a", 1), ("a", 3), ("b", 2)]  # pairs: ("a", 2) and ("b", 1) were not asked
    assert found[("a", 3)] == store.get_model_version("a", 3)
    assert found[("a", 3)].tags == {"k": "v"} and found[("a", 3)].aliases == ["champion"]
    assert found[("b", 2)].source == store.get_model_version("b", 2).source
    assert store.get_model_versions([]) == {}


# ============================================================================ aliases
def test_set_registered_model_alias_and_get_version_by_alias(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_registered_model_alias("wine", "champion", 2)
    found = store.get_model_version_by_alias("wine", "champion")
    assert (found.name, found.version, found.aliases) == ("wine", 2, ["champion"])
    assert store.get_registered_model("wine").aliases == {"champion": 2}


def test_set_registered_model_alias_moves_an_existing_alias(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_registered_model_alias("wine", "champion", 1)
    store.set_registered_model_alias("wine", "champion", 2)
    assert store.get_model_version_by_alias("wine", "champion").version == 2
    assert store.get_model_version("wine", 1).aliases == []
    assert store.get_model_version("wine", 2).aliases == ["champion"]
    assert store.get_registered_model("wine").aliases == {"champion": 2}


def test_several_aliases_on_one_version_are_listed_sorted(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    for alias in ("prod", "champion", "blue"):
        store.set_registered_model_alias("wine", alias, 1)
    store.set_registered_model_alias("wine", "canary", 2)
    assert store.get_model_version("wine", 1).aliases == ["blue", "champion", "prod"]
    assert store.get_registered_model("wine").aliases == {"blue": 1, "canary": 2, "champion": 1, "prod": 1}


def test_aliases_are_per_model(store):
    for name in ("a", "b"):
        store.create_registered_model(name)
        _versions(store, name, 2)
    store.set_registered_model_alias("a", "champion", 1)
    store.set_registered_model_alias("b", "champion", 2)
    assert store.get_model_version_by_alias("a", "champion").version == 1
    assert store.get_model_version_by_alias("b", "champion").version == 2


def test_delete_registered_model_alias(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    store.set_registered_model_alias("wine", "champion", 1)
    store.delete_registered_model_alias("wine", "champion")
    assert store.get_registered_model("wine").aliases == {}
    assert store.get_model_version("wine", 1).aliases == []
    with pytest.raises(InvalidParameterValue) as info:
        store.get_model_version_by_alias("wine", "champion")
    assert info.value.message == "Registered model alias champion not found."


def test_delete_missing_registered_model_alias_is_a_no_op(store):
    store.create_registered_model("wine")
    store.delete_registered_model_alias("wine", "nope")


def test_get_missing_alias_is_invalid_parameter_value(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    with pytest.raises(InvalidParameterValue) as info:
        store.get_model_version_by_alias("wine", "nope")
    assert info.value.message == "Registered model alias nope not found."
    assert info.value.http_status == 400


def test_alias_of_missing_model_is_model_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_model_version_by_alias("ghost", "champion")
    assert info.value.message == "Registered Model with name=ghost not found"
    with pytest.raises(ResourceDoesNotExist):
        store.set_registered_model_alias("ghost", "champion", 1)
    with pytest.raises(ResourceDoesNotExist):
        store.delete_registered_model_alias("ghost", "champion")


def test_set_alias_to_missing_version_is_not_found_and_keeps_the_old_target(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 1)
    store.set_registered_model_alias("wine", "champion", 1)
    with pytest.raises(ResourceDoesNotExist) as info:
        store.set_registered_model_alias("wine", "champion", 99)
    assert info.value.message == "Model Version (name=wine, version=99) not found"
    assert store.get_model_version_by_alias("wine", "champion").version == 1


def test_deleting_a_version_removes_the_aliases_pointing_to_it(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_registered_model_alias("wine", "champion", 1)
    store.set_registered_model_alias("wine", "old", 1)
    store.set_registered_model_alias("wine", "canary", 2)
    store.delete_model_version("wine", 1)
    assert store.get_registered_model("wine").aliases == {"canary": 2}
    with pytest.raises(InvalidParameterValue):
        store.get_model_version_by_alias("wine", "champion")
    # a new version does not inherit the old alias
    assert store.create_model_version("wine", "/x").aliases == []


def test_alias_is_visible_in_search_results(store):
    store.create_registered_model("wine")
    _versions(store, "wine", 2)
    store.set_registered_model_alias("wine", "champion", 2)
    by_version = {v.version: v.aliases for v in store.search_model_versions("name='wine'", 10, None, None)}
    assert by_version == {1: [], 2: ["champion"]}
    [model] = store.search_registered_models("name='wine'", 10, None, None)
    assert model.aliases == {"champion": 2}
