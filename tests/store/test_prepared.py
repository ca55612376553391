"""``Prepared``: Core statements compiled once and run on the driver's cursor (decision 0021), with
expanding ``IN`` lists of integer keys written into the SQL per call."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite

from podium.compose import build
from podium.store.sql.prepared import Prepared, shared
from podium.store.sql.tables import metadata, registered_models as rm


@pytest.fixture
def conn():
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[rm])
    with engine.begin() as c:
        c.execute(rm.insert(), [{"id": i, "name": f"m{i}", "creation_timestamp": 0, "last_updated_timestamp": 0,
                                 "last_version": 0} for i in range(1, 6)])
        yield c


def test_an_in_list_of_keys_is_written_per_call(conn):
    q = Prepared(select(rm.c.name).where(rm.c.id.in_(bindparam("ids", expanding=True)))
                 .order_by(rm.c.id), conn.dialect)
    assert [r.name for r in q.rows(conn, ids=[4, 2])] == ["m2", "m4"]
    assert [r.name for r in q.rows(conn, ids=[1, 2, 3, 5, 99])] == ["m1", "m2", "m3", "m5"]


@pytest.mark.parametrize("ids", [[], ["1) OR (1=1"], [1.5], [True], "12", [1, "ab"], ["ab'", "cd"], ["AB"], [""]])
def test_an_in_list_takes_integers_or_hex_digests_only(conn, ids):
    """The list is written into the SQL: anything but a non-empty list of ints or of lowercase hex
    digests (nothing that could close a quoted literal) is refused."""
    q = Prepared(select(rm.c.name).where(rm.c.id.in_(bindparam("ids", expanding=True))), conn.dialect)
    with pytest.raises(ValueError, match="non-empty list of int or of hex digests"):
        q.rows(conn, ids=ids)


def test_an_in_list_of_hex_digests_is_written_quoted(conn):
    conn.execute(rm.update().where(rm.c.id == 3).values(description="beef01"))
    q = Prepared(select(rm.c.name).where(rm.c.description.in_(bindparam("digests", expanding=True))), conn.dialect)
    assert [r.name for r in q.rows(conn, digests=["00ff", "beef01"])] == ["m3"]


def test_a_bound_statement_carries_its_values(conn):
    """``bound=True``: the statement's own values (a search's filter, its IN lists and limit) are the
    defaults, and its IN lists are expanded once."""
    q = Prepared(select(rm.c.name).where(rm.c.id.in_([1, 3]), rm.c.name.like("m%")).limit(5), conn.dialect,
                 bound=True)
    assert [r.name for r in q.rows(conn)] == ["m1", "m3"]
    assert [r.name for r in q.rows(conn)] == ["m1", "m3"]


def test_shared_builds_once_per_dialect_and_key():
    built = []

    def build_for(dialect):
        built.append(dialect.name)
        return object()

    first = shared(sqlite.dialect(), "test.shared", build_for)
    assert shared(sqlite.dialect(), "test.shared", build_for) is first
    assert shared(postgresql.dialect(), "test.shared", build_for) is not first
    assert shared(sqlite.dialect(), "test.shared-other", build_for) is not first
    assert built == ["sqlite", "postgresql", "sqlite"]


def test_stores_on_one_database_share_their_compiled_statements(db_url, registry_store, tracking_store, tmp_path):
    """A second store on the same kind of database compiles nothing (the suite opens one per test)."""
    other = build(db_url, artifact_root=str(tmp_path / "other"))
    try:
        assert other.registry.registry._q is registry_store._q
        assert other.tracking.store._q_run is tracking_store._q_run
        mv = registry_store.create_registered_model("shared")
        assert other.registry.registry.get_registered_model("shared").name == mv.name
    finally:
        other.close()


def test_on_sqlite_a_list_is_bound_and_its_text_depends_only_on_its_padded_size(conn):
    """SQLite binds the list as ``?`` placeholders padded to a power of two, so lists of 3 and 4 keys
    run the same text (the driver's statement cache serves it), with the same answers as literals."""
    seen = []

    def record(c, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(conn.engine, "before_cursor_execute", record)
    try:
        q = Prepared(select(rm.c.name).where(rm.c.id.in_(bindparam("ids", expanding=True)), rm.c.name != bindparam("x"))
                     .order_by(rm.c.id), conn.dialect)
        assert [r.name for r in q.rows(conn, ids=[5, 1, 3], x="m3")] == ["m1", "m5"]
        assert [r.name for r in q.rows(conn, ids=[2, 4, 1, 99], x="none")] == ["m1", "m2", "m4"]
        assert [r.name for r in q.rows(conn, ids=[2], x="none")] == ["m2"]
    finally:
        event.remove(conn.engine, "before_cursor_execute", record)
    (first, first_args), (second, second_args), (third, _) = seen
    assert first == second and first.count("?") == 5 and third.count("?") == 2
    assert first_args == (5, 1, 3, 3, "m3") and second_args == (2, 4, 1, 99, "none")


def test_a_list_used_twice_is_bound_at_each_place(conn):
    both = bindparam("ids", expanding=True)
    q = Prepared(select(rm.c.name).where(rm.c.id.in_(both), rm.c.id.in_(both), rm.c.name != bindparam("x"))
                 .order_by(rm.c.id), conn.dialect)
    assert [r.name for r in q.rows(conn, ids=[1, 2, 3], x="m2")] == ["m1", "m3"]


def test_a_list_too_long_to_bind_on_an_old_sqlite_is_written_out(conn):
    """SQLite before 3.32 takes at most 999 parameters: a longer list goes into the SQL as literals."""
    seen = []
    event.listen(conn.engine, "before_cursor_execute", lambda c, cur, statement, *rest: seen.append(statement))
    q = Prepared(select(rm.c.name).where(rm.c.id.in_(bindparam("ids", expanding=True))).order_by(rm.c.id),
                 conn.dialect)
    assert [r.name for r in q.rows(conn, ids=list(range(1000)))] == ["m1", "m2", "m3", "m4", "m5"]
    assert [r.name for r in q.rows(conn, ids=list(range(500)))] == ["m1", "m2", "m3", "m4", "m5"]
    assert "?" not in seen[0] and "999" in seen[0] and seen[1].count("?") == 512
