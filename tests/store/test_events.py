"""The audit history as the SQL stores write it: one event per change, in the change's transaction.

Every registry change through the real services on SQLite, PostgreSQL and MySQL/MariaDB, read back
from ``registry_events``: the action, target, version, before/after, actor and context; no event for
a no-op; no event (and no change) when the change fails, including when the event insert itself is
refused by the database; model keys reused by SQLite never mix two models' histories; the table is
only ever inserted into.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, text

from podium.auth.actor import Actor, acting_as
from podium.domain.events import ACTIONS, event_context
from podium.errors import InvalidParameterValue, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.event_tables import registry_events as ev
from podium.store.sql.events import event_entity, events_of_model
from podium.store.sql.tables import registered_models

SRC = "/data/models/m"


@pytest.fixture
def db(backend):
    return backend.registry.registry.db


def all_events(db):
    with db.read() as conn:
        return [event_entity(r) for r in conn.execute(select(ev).order_by(ev.c.id))]


def actions(db):
    return [e.action for e in all_events(db)]


def test_every_registry_change_records_its_event(backend, db):
    r = backend.registry
    r.create_registered_model("m", tags={"team": "ml"}, description="first")
    r.update_registered_model("m", "second")
    r.set_registered_model_tag("m", "team", "platform")
    r.delete_registered_model_tag("m", "team")
    r.create_model_version("m", SRC)
    r.create_model_version("m", SRC)
    r.update_model_version("m", 1, "v1 notes")
    r.set_model_version_tag("m", 1, "k", "v")
    r.delete_model_version_tag("m", 1, "k")
    r.transition_model_version_stage("m", 1, "production")
    r.set_registered_model_alias("m", "champion", 1)
    r.set_registered_model_alias("m", "champion", 2)
    r.delete_registered_model_alias("m", "champion")
    r.rename_registered_model("m", "m2")
    r.delete_model_version("m2", 2)
    r.delete_registered_model("m2")
    events = all_events(db)
    assert [e.action for e in events] == [
        "model_created", "model_description_changed", "model_tag_set", "model_tag_deleted", "version_created",
        "version_created", "version_description_changed", "version_tag_set", "version_tag_deleted",
        "stage_transitioned", "alias_set", "alias_set", "alias_deleted", "model_renamed", "version_deleted",
        "model_deleted"]
    assert all(e.action in ACTIONS for e in events)
    assert len({e.id for e in events}) == len(events) and [e.id for e in events] == sorted(e.id for e in events)
    assert len({_key(db, e.id) for e in events}) == 1  # one model, across the rename
    by = {(e.action, e.version, e.target): e for e in events}
    created = events[0]
    assert (created.model_name, created.after) == ("m", {"description": "first", "tags": {"team": "ml"}})
    assert events[1].before == {"description": "first"} and events[1].after == {"description": "second"}
    assert events[2].target == "team"
    assert events[2].before == {"value": "ml"} and events[2].after == {"value": "platform"}
    assert events[3].before == {"value": "platform"} and events[3].after is None
    assert events[4].version == 1 and events[4].after == {"source": SRC, "stage": "None"}
    assert by[("version_description_changed", 1, None)].after == {"description": "v1 notes"}
    assert by[("version_tag_set", 1, "k")].after == {"value": "v"}
    moved = by[("stage_transitioned", 1, "Production")]
    assert moved.before == {"stage": "None"} and moved.after == {"stage": "Production"}
    first, second = events[10], events[11]
    assert (first.version, first.target, first.before, first.after) == (1, "champion", None, {"version": 1})
    assert (second.version, second.before, second.after) == (2, {"version": 1}, {"version": 2})
    assert events[12].before == {"version": 2} and events[12].target == "champion"
    renamed = events[13]
    assert renamed.model_name == "m2" and renamed.before == {"name": "m"} and renamed.after == {"name": "m2"}
    assert events[14].version == 2 and events[14].before == {"stage": "None"} and events[14].model_name == "m2"
    assert events[15].model_name == "m2" and events[15].before == {"versions": 1}
    assert all(e.timestamp > 0 for e in events)


def _key(db, event_id):
    with db.read() as conn:
        return conn.execute(select(ev.c.model_key).where(ev.c.id == event_id)).scalar()


def test_no_op_changes_record_nothing(backend, db):
    r = backend.registry
    r.create_registered_model("m", description="d")
    r.create_model_version("m", SRC)
    r.transition_model_version_stage("m", 1, "Staging")
    r.set_registered_model_tag("m", "k", "v")
    r.set_model_version_tag("m", 1, "k", "v")
    r.set_registered_model_alias("m", "a", 1)
    before = len(all_events(db))
    r.update_registered_model("m", "d")
    r.update_model_version("m", 1, None)
    r.transition_model_version_stage("m", 1, "staging")
    r.set_registered_model_tag("m", "k", "v")
    r.set_model_version_tag("m", 1, "k", "v")
    r.delete_registered_model_tag("m", "missing")
    r.delete_model_version_tag("m", 1, "missing")
    r.set_registered_model_alias("m", "a", 1)
    r.rename_registered_model("m", "m")
    assert len(all_events(db)) == before


def test_archive_existing_versions_records_each_archived_version(backend, db):
    r = backend.registry
    r.create_registered_model("m")
    for _ in range(3):
        r.create_model_version("m", SRC)
    r.transition_model_version_stage("m", 1, "Production")
    r.transition_model_version_stage("m", 2, "Production")
    r.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    last = all_events(db)[-3:]
    assert [(e.action, e.version, e.target) for e in last] == [
        ("stage_transitioned", 3, "Production"), ("stage_transitioned", 1, "Archived"),
        ("stage_transitioned", 2, "Archived")]
    for archived in last[1:]:
        assert archived.cause == "archive_existing_versions"
        assert archived.before == {"stage": "Production"}
        assert archived.after == {"stage": "Archived", "replaced_by": 3}
    assert len({e.timestamp for e in last}) == 1


def test_deleting_a_version_records_the_aliases_it_held(backend, db):
    r = backend.registry
    r.create_registered_model("m")
    r.create_model_version("m", SRC)
    r.transition_model_version_stage("m", 1, "Production")
    r.set_registered_model_alias("m", "champion", 1)
    r.set_registered_model_alias("m", "blue", 1)
    r.delete_model_version("m", 1)
    last = all_events(db)[-3:]
    assert [(e.action, e.target) for e in last] == [("version_deleted", None), ("alias_deleted", "blue"),
                                                    ("alias_deleted", "champion")]
    assert last[0].before == {"stage": "Production", "aliases": ["blue", "champion"]}
    assert all(e.cause == "version_deleted" and e.before == {"version": 1} for e in last[1:])


def test_actor_and_event_context_are_recorded(backend, db):
    r = backend.registry
    with acting_as(Actor("alice", authenticated=True, via="token", user_id=7)):
        r.create_registered_model("m")
        with event_context(comment="why not", cause="request", request_id=12):
            r.create_model_version("m", SRC)
    with acting_as(Actor(None)):  # an anonymous server request
        r.set_registered_model_tag("m", "k", "v")
    r.set_registered_model_tag("m", "k", "w")  # embedded: the OS user
    created, version, anonymous, local = all_events(db)
    assert (created.actor, created.actor_via, created.comment, created.cause) == ("alice", "token", None, None)
    assert (version.actor, version.comment, version.cause, version.request_id) == ("alice", "why not", "request", 12)
    assert (anonymous.actor, anonymous.actor_via) == (None, "anonymous")
    assert local.actor_via == "local" and local.actor


def test_failed_changes_record_nothing(backend, db):
    r = backend.registry
    r.create_registered_model("m")
    r.create_model_version("m", SRC)
    before = all_events(db)
    with pytest.raises(ResourceAlreadyExists):
        r.create_registered_model("m")
    with pytest.raises(ResourceDoesNotExist):
        r.transition_model_version_stage("m", 9, "Production")
    with pytest.raises(ResourceDoesNotExist):
        r.set_registered_model_alias("m", "champion", 9)
    with pytest.raises(ResourceDoesNotExist):
        r.create_model_version("missing", SRC)
    with pytest.raises(ResourceDoesNotExist):
        r.delete_model_version("m", 9)
    with pytest.raises(InvalidParameterValue):
        backend.history.rollback_model("m", stage="Production", reason="nothing there")
    assert all_events(db) == before


_REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_event BEFORE INSERT ON registry_events WHEN NEW.comment = 'explode' "
               "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse_event() RETURNS trigger AS $$ BEGIN IF NEW.comment = 'explode' THEN "
                   "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_event BEFORE INSERT ON registry_events FOR EACH ROW "
                   "EXECUTE FUNCTION refuse_event()"],
    "mysql": ["CREATE TRIGGER refuse_event BEFORE INSERT ON registry_events FOR EACH ROW BEGIN "
              "IF NEW.comment = 'explode' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END"],
}


def test_a_change_whose_event_cannot_be_written_does_not_happen(backend, db, db_kind):
    """The event and the change are one transaction: when the database refuses the event (a trigger
    here), the stage transition, the archived version and the alias stay as they were."""
    r = backend.registry
    r.create_registered_model("m")
    r.create_model_version("m", SRC)
    r.create_model_version("m", SRC)
    r.transition_model_version_stage("m", 1, "Production")
    r.set_registered_model_alias("m", "champion", 2)
    r.set_registered_model_alias("m", "champion", 1)
    with db.engine.begin() as conn:
        for statement in _REFUSE[db_kind]:
            conn.execute(text(statement))
    before = all_events(db)
    with event_context(comment="explode"):
        with pytest.raises(Exception, match="refused"):
            r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
        with pytest.raises(Exception, match="refused"):
            r.set_registered_model_alias("m", "champion", 2)
        with pytest.raises(Exception, match="refused"):
            r.delete_model_version("m", 1)
        with pytest.raises(Exception, match="refused"):
            backend.history.rollback_model("m", alias="champion", reason="explode")
    assert all_events(db) == before
    assert r.get_model_version("m", 1).current_stage == "Production"
    assert r.get_model_version("m", 2).current_stage == "None"
    assert r.get_model_version_by_alias("m", "champion").version == 1


def test_a_reused_model_key_starts_a_new_history(backend, db):
    """SQLite gives a deleted model's key to the next model: the histories stay apart."""
    r, h = backend.registry, backend.history
    r.create_registered_model("old")
    r.create_model_version("old", SRC)
    r.delete_registered_model("old")
    r.create_registered_model("new")
    assert [e.action for e in h.get_model_history("new")] == ["model_created"]
    assert [e.action for e in h.get_model_history("old")] == ["model_created", "version_created", "model_deleted"]
    assert h.get_model_state_at("new", 1)["exists"] is False
    with db.read() as conn:
        key = conn.execute(select(ev.c.model_key).where(ev.c.model_name == "new")).scalar()
        assert [(e.action, e.model_name) for e in events_of_model(conn, key)] == [("model_created", "new")]


def test_the_events_table_is_only_ever_inserted_into(backend, db):
    """Across every kind of change (rollback and deletes included), no statement updates or deletes
    an event; and no module of the package names the table in an UPDATE or DELETE."""
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", capture)
    try:
        r = backend.registry
        r.create_registered_model("m")
        for _ in range(3):
            r.create_model_version("m", SRC)
        r.transition_model_version_stage("m", 1, "Production")
        r.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
        r.set_registered_model_alias("m", "champion", 2)
        backend.history.rollback_model("m", stage="Production", reason="r")
        r.delete_model_version("m", 3)
        r.rename_registered_model("m", "n")
        r.delete_registered_model("n")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", capture)
    touching = [s for s in statements if "registry_events" in s]
    assert any(s.lstrip().upper().startswith("INSERT") for s in touching)
    assert all(s.lstrip().upper().startswith(("INSERT", "SELECT")) for s in touching), touching
    package = Path(__file__).resolve().parents[2] / "podium"
    for path in package.rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"(update|delete)\(\s*(ev|registry_events)\b", source), path
        if "migrations" not in path.parts:
            assert not re.search(r"(UPDATE|DELETE FROM)\s+registry_events", source, re.I), path


def test_history_pages_by_event_id(backend):
    r, h = backend.registry, backend.history
    r.create_registered_model("m")
    for _ in range(4):
        r.create_model_version("m", SRC)
    r.create_registered_model("other")
    r.create_model_version("other", SRC)
    seen, token = [], None
    while True:
        page = h.get_model_history("m", max_results=2, page_token=token)
        assert len(page) <= 2
        seen.extend(page)
        token = page.token
        if not token:
            break
    assert [e.action for e in seen] == ["model_created"] + ["version_created"] * 4
    assert [e.version for e in seen[1:]] == [1, 2, 3, 4]
    newest = h.get_model_history("m", max_results=3, newest_first=True)
    assert [e.version for e in newest] == [4, 3, 2] and newest.token
    rest = h.get_model_history("m", max_results=3, newest_first=True, page_token=newest.token)
    assert [e.action for e in rest] == ["version_created", "model_created"] and rest.token is None
    assert [e.version for e in h.get_model_history("m", version=3)] == [3]
    with pytest.raises(InvalidParameterValue):
        h.get_model_history("m", max_results=2, page_token=newest.token)  # made for another order
    with pytest.raises(PodiumError):
        h.get_model_history("m", page_token="not a token")
    with pytest.raises(ResourceDoesNotExist):
        h.get_model_history("never-existed")


def test_history_filters_by_action_and_actor_in_the_query(backend):
    r, h = backend.registry, backend.history
    r.create_registered_model("m")
    with acting_as(Actor("ann", True, via="password")):
        for i in range(5):
            r.set_registered_model_tag("m", f"k{i}", "v")
    with acting_as(Actor("bob", True, via="password")):
        r.create_model_version("m", SRC)
        r.set_registered_model_tag("m", "b", "v")
    tags = h.get_model_history("m", max_results=2, newest_first=True, actions=["model_tag_set"])
    assert [e.target for e in tags] == ["b", "k4"] and tags.token  # a full page: the filter is in the query
    rest = h.get_model_history("m", max_results=10, newest_first=True, actions=["model_tag_set"], page_token=tags.token)
    assert [e.target for e in rest] == ["k3", "k2", "k1", "k0"] and rest.token is None
    bobs = h.get_model_history("m", actor="bob")
    assert [e.action for e in bobs] == ["version_created", "model_tag_set"]
    both = h.get_model_history("m", actor="ann", actions=("model_tag_set", "version_created"))
    assert len(both) == 5 and {e.actor for e in both} == {"ann"}
    assert list(h.get_model_history("m", actor="nobody")) == []
    assert list(h.get_model_history("m", actor="' OR 1=1 --")) == []
    for hostile in ("a\x00b", "é" * 300):  # a NUL (PostgreSQL refuses it in text: once a 500), too long
        with pytest.raises(InvalidParameterValue, match="'actor'"):
            h.get_model_history("m", actor=hostile)
    with pytest.raises(InvalidParameterValue):  # a token is valid only for the filters it was made with
        h.get_model_history("m", max_results=2, newest_first=True, page_token=tags.token)
    with pytest.raises(InvalidParameterValue, match="Unknown history action"):
        h.get_model_history("m", actions=["bogus"])
    assert set(ACTIONS) >= {"model_tag_set", "version_created"}

def test_latest_events_reads_the_newest_event_of_many_models_in_one_statement(backend, db, count_statements):
    r, h = backend.registry, backend.history
    r.create_registered_model("a")
    r.create_model_version("a", SRC)
    with acting_as(Actor("ana")):
        r.set_registered_model_alias("a", "champion", 1)
    r.create_registered_model("b")
    r.rename_registered_model("b", "b2")  # history follows renames: the newest event is the rename
    r.create_registered_model("gone")
    r.delete_registered_model("gone")
    with count_statements() as counter:
        latest = h.latest_changes(["a", "b2", "gone", "no-such-model", "a"])
    assert [s for s in counter.statements if "registry_events" in s] == counter.statements[-1:], counter.statements
    assert {name: (e.action, e.actor) for name, e in latest.items()} == {
        "a": ("alias_set", "ana"), "b2": ("model_renamed", latest["b2"].actor)}
    assert latest["a"] == h.get_model_history("a", max_results=1, newest_first=True)[0]
    assert h.latest_changes([]) == {}
    with pytest.raises(InvalidParameterValue):
        h.latest_changes([""])


def test_latest_events_ignores_the_events_of_an_earlier_holder_of_the_key(backend, db):
    """A model created before history was recorded has no event; on SQLite it may hold the key of a
    deleted model, whose last event (model_deleted) is not this model's."""
    r, h = backend.registry, backend.history
    r.create_registered_model("old")
    r.delete_registered_model("old")
    with db.write() as conn:  # a row written without an event, as before history existed
        key = conn.execute(select(ev.c.model_key).where(ev.c.model_name == "old")).scalar()
        conn.execute(insert(registered_models).values(id=key, name="untracked", creation_timestamp=1,
                                                      last_updated_timestamp=1, last_version=0))
    assert h.latest_changes(["untracked"]) == {}
