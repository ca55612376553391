"""``HistoryService`` over SQL stores: state at a time and rollback (on SQLite; the events store it reads
runs on every backend in tests/store/test_events.py).

Times between changes come from the ``clock`` fixture (events carry millisecond timestamps; it
never hands out the same millisecond twice). A model "created before history was recorded" is simulated by deleting its events
(the upgrade to migration 0005 leaves existing models without any).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete

from podium.domain.history import previous_holder
from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.services.history import parse_time
from podium.store.sql.event_tables import registry_events as ev

SRC = "/data/models/m"


@pytest.fixture
def r(backend):
    return backend.registry


@pytest.fixture
def h(backend):
    return backend.history


def model(r, name="m", versions=3):
    r.create_registered_model(name)
    for _ in range(versions):
        r.create_model_version(name, SRC)


def stages(r, name="m"):
    return {v.version: v.current_stage for v in r.search_model_versions(f"name='{name}'")}


def serving(state, stage="Production"):
    return state["stages"].get(stage, {}).get("version")


# ------------------------------------------------------------------------------ state at a time
def test_state_at_replays_stages_and_aliases(r, h, clock):
    t0 = clock.mark()
    model(r)
    t1 = clock.mark()
    r.transition_model_version_stage("m", 1, "Production")
    r.set_registered_model_alias("m", "champion", 1)
    t2 = clock.mark()
    r.transition_model_version_stage("m", 2, "Staging")
    r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    r.set_registered_model_alias("m", "champion", 2)
    t3 = clock.mark()
    r.transition_model_version_stage("m", 3, "Production")  # without archiving: 2 and 3 in Production
    r.delete_registered_model_alias("m", "champion")
    t4 = clock.mark()

    before = h.get_model_state_at("m", t0)
    assert before["exists"] is False and before["complete"] is True and before["stages"] == {}
    assert "did not exist" in before["note"]
    assert h.get_model_state_at("m", t1) | {"event_id": None} == {
        "name": "m", "time": t1, "exists": True, "complete": True, "event_id": None, "stages": {}, "aliases": {}}
    at2 = h.get_model_state_at("m", t2)
    assert at2["stages"] == {"Production": {"version": 1, "versions": [1]}} and at2["aliases"] == {"champion": 1}
    at3 = h.get_model_state_at("m", t3)
    assert at3["stages"] == {"Production": {"version": 2, "versions": [2]}, "Archived": {"version": 1, "versions": [1]}}
    assert at3["aliases"] == {"champion": 2}
    at4 = h.get_model_state_at("m", t4)
    assert at4["stages"]["Production"] == {"version": 3, "versions": [2, 3]} and at4["aliases"] == {}
    assert at4["event_id"] > at3["event_id"] > at2["event_id"]
    # ISO 8601 in, the same answer out
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t4 // 1000)) + f".{t4 % 1000:03d}Z"
    assert h.get_model_state_at("m", iso) == at4
    assert h.get_model_state_at("m", str(t4)) == at4


def test_state_at_follows_renames_and_finds_deleted_models(r, h, clock):
    model(r, "a", 1)
    r.transition_model_version_stage("a", 1, "Production")
    t1 = clock.mark()
    r.rename_registered_model("a", "b")
    t2 = clock.mark()
    r.delete_registered_model("b")
    t3 = clock.mark()
    with pytest.raises(ResourceDoesNotExist):
        h.get_model_state_at("a", t1)  # a deleted model is found by its last name
    old = h.get_model_state_at("b", t1)
    assert old["name"] == "a" and serving(old) == 1 and old["exists"] is True
    assert h.get_model_state_at("b", t2)["name"] == "b"
    gone = h.get_model_state_at("b", t3)
    assert gone["exists"] is False and gone["stages"] == {} and "deleted" in gone["note"]
    # a new model with the deleted one's name has its own history
    model(r, "b", 1)
    assert h.get_model_state_at("b", t1)["exists"] is False
    assert [e.action for e in h.get_model_history("b")] == ["model_created", "version_created"]


def test_state_of_a_model_older_than_its_history_is_inferred_and_marked_incomplete(r, h, backend, clock):
    model(r)
    r.transition_model_version_stage("m", 1, "Production")
    r.transition_model_version_stage("m", 2, "Staging")
    r.set_registered_model_alias("m", "champion", 1)
    r.set_registered_model_alias("m", "blue", 3)
    db = backend.registry.registry.db
    with db.engine.begin() as conn:  # as after upgrading to migration 0005: no events yet
        conn.execute(delete(ev))
    t1 = clock.mark()
    assert h.get_model_state_at("m", t1)["complete"] is False
    r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    r.set_registered_model_alias("m", "champion", 2)
    t2 = clock.mark()
    early = h.get_model_state_at("m", t1)
    assert early["exists"] is True and early["complete"] is False and "inferred" in early["note"]
    assert early["stages"] == {"Production": {"version": 1, "versions": [1]},
                               "Staging": {"version": 2, "versions": [2]}}
    assert early["aliases"] == {"blue": 3, "champion": 1}
    late = h.get_model_state_at("m", t2)
    assert late["complete"] is True and "note" not in late
    assert late["stages"] == {"Production": {"version": 2, "versions": [2]},
                              "Archived": {"version": 1, "versions": [1]}}
    assert late["aliases"] == {"blue": 3, "champion": 2}
    # the pre-history holder is what a rollback restores
    assert h.rollback_model("m", stage="Production", reason="r")["to_version"] == 1


def test_parse_time():
    assert parse_time("2026-11-27T09:30:00Z") == 1795771800000
    assert parse_time("2026-11-27T09:30:00") == 1795771800000  # no offset: UTC
    assert parse_time("2026-11-27T10:30:00+01:00") == 1795771800000
    assert parse_time("1795771800000") == parse_time(1795771800000) == 1795771800000
    before = int(time.time() * 1000)
    assert before <= parse_time(" Now ") <= int(time.time() * 1000)
    for bad in ("yesterday", "", None, True):
        with pytest.raises(InvalidParameterValue):
            parse_time(bad)


# ------------------------------------------------------------------------------ rollback
def test_rollback_restores_the_previous_production_version(r, h):
    model(r)
    r.transition_model_version_stage("m", 1, "Production")
    r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    done = h.rollback_model("m", stage="production", reason="v2 is slow")
    assert done == {"name": "m", "stage": "Production", "from_version": 2, "to_version": 1,
                    "event_id": done["event_id"], "timestamp": done["timestamp"]}
    assert stages(r) == {1: "Production", 2: "Archived", 3: "None"}
    events = list(h.get_model_history("m"))[-3:]
    assert [(e.action, e.version, e.target) for e in events] == [
        ("rollback", 1, "Production"), ("stage_transitioned", 1, "Production"), ("stage_transitioned", 2, "Archived")]
    rollback, restored, archived = events
    assert rollback.id == done["event_id"] and rollback.comment == "v2 is slow"
    assert rollback.before == {"version": 2} and rollback.after == {"version": 1, "kind": "stage"}
    assert restored.cause == "rollback" and restored.comment == "v2 is slow"
    assert archived.after == {"stage": "Archived", "replaced_by": 1} and archived.comment == "v2 is slow"
    assert len({e.timestamp for e in events}) == 1


def test_rolling_back_again_walks_further_back(r, h):
    model(r, versions=4)
    for v in (1, 2, 3):
        r.transition_model_version_stage("m", v, "Production", archive_existing_versions=True)
    assert h.rollback_model("m", stage="Production", reason="3 bad")["to_version"] == 2
    assert h.rollback_model("m", stage="Production", reason="2 bad too")["to_version"] == 1
    with pytest.raises(InvalidParameterValue, match="Nothing to roll back"):
        h.rollback_model("m", stage="Production", reason="and 1?")
    # a normal promotion after rollbacks starts from there
    r.transition_model_version_stage("m", 4, "Production", archive_existing_versions=True)
    assert h.rollback_model("m", stage="Production", reason="4 bad")["to_version"] == 1
    assert stages(r) == {1: "Production", 2: "Archived", 3: "Archived", 4: "Archived"}


def test_rollback_skips_deleted_versions_and_keeps_what_it_cannot_see(r, h):
    model(r)
    for v in (1, 2, 3):
        r.transition_model_version_stage("m", v, "Production", archive_existing_versions=True)
    r.delete_model_version("m", 2)
    done = h.rollback_model("m", stage="Production", reason="3 bad")
    assert (done["from_version"], done["to_version"]) == (3, 1)
    # the holder deleted: the previous one serves; a rollback goes further back
    model(r, "n")
    for v in (1, 2, 3):
        r.transition_model_version_stage("n", v, "Production", archive_existing_versions=True)
    r.delete_model_version("n", 3)
    assert r.get_latest_versions("n", ["Production"]) == []
    assert h.rollback_model("n", stage="Production", reason="restore")["to_version"] == 2


def test_rollback_with_two_versions_in_the_stage_archives_the_newer(r, h):
    model(r)
    r.transition_model_version_stage("m", 1, "Production")
    r.transition_model_version_stage("m", 2, "Production")  # no archiving: 1 and 2 in Production, 2 serves
    done = h.rollback_model("m", stage="Production", reason="r")
    assert (done["from_version"], done["to_version"]) == (2, 1)
    assert stages(r) == {1: "Production", 2: "Archived", 3: "None"}


def test_rollback_of_staging_and_of_an_emptied_stage(r, h):
    model(r)
    r.transition_model_version_stage("m", 1, "Staging")
    r.transition_model_version_stage("m", 2, "Staging", archive_existing_versions=True)
    assert h.rollback_model("m", stage="Staging", reason="r")["to_version"] == 1
    r.transition_model_version_stage("m", 3, "Production")
    r.transition_model_version_stage("m", 3, "Archived")  # Production emptied: rollback restores it
    done = h.rollback_model("m", stage="Production", reason="oops")
    assert (done["from_version"], done["to_version"]) == (None, 3)
    assert stages(r)[3] == "Production"


def test_rollback_of_an_alias(r, h):
    model(r)
    r.set_registered_model_alias("m", "champion", 1)
    r.set_registered_model_alias("m", "champion", 2)
    r.set_registered_model_alias("m", "champion", 3)
    done = h.rollback_model("m", alias="champion", reason="canary failed")
    assert (done["alias"], done["from_version"], done["to_version"]) == ("champion", 3, 2)
    assert r.get_model_version_by_alias("m", "champion").version == 2
    rollback, moved = list(h.get_model_history("m"))[-2:]
    assert rollback.after == {"version": 2, "kind": "alias"} and moved.action == "alias_set"
    assert moved.cause == "rollback" and moved.comment == "canary failed"
    assert h.rollback_model("m", alias="champion", reason="again")["to_version"] == 1
    r.delete_registered_model_alias("m", "champion")
    assert h.rollback_model("m", alias="champion", reason="deleted by mistake")["to_version"] == 1
    with pytest.raises(InvalidParameterValue, match="Nothing to roll back"):
        h.rollback_model("m", alias="never-set", reason="r")


def test_rollback_follows_renames(r, h):
    model(r)
    r.transition_model_version_stage("m", 1, "Production")
    r.rename_registered_model("m", "renamed")
    r.transition_model_version_stage("renamed", 2, "Production", archive_existing_versions=True)
    assert h.rollback_model("renamed", stage="Production", reason="r")["to_version"] == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": "r"}, "exactly one"),
    ({"stage": "Production", "alias": "champion", "reason": "r"}, "exactly one"),
    ({"stage": "Archived", "reason": "r"}, "Only the stages"),
    ({"stage": "Bogus", "reason": "r"}, "Invalid Model Version stage"),
    ({"alias": "latest", "reason": "r"}, "reserved"),
    ({"stage": "Production"}, "reason"),
    ({"stage": "Production", "reason": "   "}, "reason"),
])
def test_rollback_rejects_bad_parameters(r, h, kwargs, message):
    model(r)
    with pytest.raises(InvalidParameterValue, match=message):
        h.rollback_model("m", **kwargs)


def test_rollback_of_a_missing_model(h):
    with pytest.raises(ResourceDoesNotExist):
        h.rollback_model("missing", stage="Production", reason="r")


def test_rollback_under_an_approval_policy_is_marked_break_glass(r, h, backend):
    model(r)
    backend.access.set_model_policy("m", ["Production"], [], "manage", True)
    r.transition_model_version_stage("m", 1, "Production")
    r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    h.rollback_model("m", stage="Production", reason="incident 42")
    rollback = [e for e in h.get_model_history("m") if e.action == "rollback"][0]
    assert rollback.after == {"version": 1, "kind": "stage", "break_glass": True}
    r.set_registered_model_alias("m", "champion", 1)
    r.set_registered_model_alias("m", "champion", 2)
    h.rollback_model("m", alias="champion", reason="alias is not protected")
    assert [e for e in h.get_model_history("m") if e.action == "rollback"][1].after == {"version": 1, "kind": "alias"}


def test_changes_under_the_model_lock_are_undone_when_the_block_raises(r, h):
    """The store primitive rollback runs in (``HistoryStore.locked_model``): all or nothing."""
    model(r, versions=2)
    r.transition_model_version_stage("m", 1, "Production")
    with pytest.raises(RuntimeError), h.store.locked_model("m") as locked:
        locked.record_event("rollback", version=2, target="Production", after={"version": 2, "kind": "stage"})
        locked.transition(2, "Production", archive_existing_versions=True)
        locked.set_alias("champion", 2)
        assert locked.timeline()[1].stages == {1: "Archived", 2: "Production"}  # seen inside the transaction
        raise RuntimeError("refused after the changes")
    assert stages(r) == {1: "Production", 2: "None"}
    assert r.get_registered_model("m").aliases == {}
    assert [e.action for e in h.get_model_history("m") if e.action == "rollback"] == []


def test_concurrent_rollbacks_take_turns(r, h):
    """Two rollbacks at once run one after the other under the model lock: each walks one step."""
    model(r, versions=3)
    for v in (1, 2, 3):
        r.transition_model_version_stage("m", v, "Production", archive_existing_versions=True)
    results, errors = [], []

    def roll():
        try:
            results.append(h.rollback_model("m", stage="Production", reason="race"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted((d["from_version"], d["to_version"]) for d in results) == [(2, 1), (3, 2)]
    assert [v for v, s in stages(r).items() if s == "Production"] == [1]


def test_previous_holder():
    assert previous_holder([1, 2, 3], 3) == 2
    assert previous_holder([1, 2, 3], None) == 3
    assert previous_holder([3], 3) is None
    assert previous_holder([], None) is None


# ------------------------------------------------------------------------------ serving events
def test_serving_events_are_recorded_on_the_version_and_change_nothing(r, h):
    model(r, versions=2)
    r.set_registered_model_alias("m", "champion", 1)
    before = r.get_registered_model("m").last_updated_timestamp
    swapped = h.record_serving_event("m", "2", "serving.swapped", "host:5000", "models:/m@champion", 1)
    failed = h.record_serving_event("m", 2, "serving.swap_failed", "host:5000", "models:/m@champion", "1",
                                    "its files do not match the manifest")
    assert (swapped.action, swapped.version, swapped.target) == ("serving.swapped", 2, "champion")
    assert swapped.before == {"serving": 1} and swapped.after == {
        "scorer": "host:5000", "model_uri": "models:/m@champion", "serving": 2}
    assert failed.after["serving"] == 1 and failed.comment == "its files do not match the manifest"
    assert [e.action for e in h.get_model_history("m", version=2, newest_first=True)][:2] == [
        "serving.swap_failed", "serving.swapped"]
    assert r.get_registered_model("m").last_updated_timestamp == before  # not a change of the model
    assert r.get_registered_model("m").aliases == {"champion": 1}
    assert h.get_model_state_at("m", "now")["aliases"] == {"champion": 1}  # replay ignores them


@pytest.mark.parametrize(("args", "message"), [
    (("m", "9", "serving.swapped", "s"), "version=9"),
    (("nope", "1", "serving.swapped", "s"), "nope"),
    (("m", "1", "stage_transitioned", "s"), "must be one of"),
    (("m", "1", "serving.swapped", ""), "scorer"),
    (("m", "1", "serving.swapped", "s" * 501), "at most 500"),
    (("m", "1", "serving.swap_failed", "s"), "reason"),
    (("m", "x", "serving.swapped", "s"), "version"),
    (("m", "1", "serving.swapped", "s\x00"), "NUL"),
])
def test_serving_events_refuse_bad_input(r, h, args, message):
    model(r, versions=1)
    with pytest.raises((InvalidParameterValue, ResourceDoesNotExist), match=message):
        h.record_serving_event(*args)
    assert "serving" not in str([e.action for e in h.get_model_history("m")])
