"""``podium gc`` on a real database (SQLite, PostgreSQL, MariaDB) and real files: what goes, what stays.

Purges run children first in one transaction per object, so no foreign key fails on any backend;
files go after the rows commit, through tombstones, so an interruption is finished by the next run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from podium.compose import artifact_store_for
from podium.domain.entities import LoggedModelOutput, Metric, Param, RunTag
from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.store.sql import tables
from podium.store.sql.event_tables import registry_events
from podium.store.sql.gc_tables import gc_pending_artifacts

DAY = 86_400_000


@pytest.fixture
def gc(backend):
    return backend.gc


def _count(backend, table, **where) -> int:
    with backend.database.read() as conn:
        query = select(func.count()).select_from(table)
        for key, value in where.items():
            query = query.where(getattr(table.c, key) == value)
        return conn.execute(query).scalar_one()


def _files(uri: str, **files: str) -> Path:
    """Write ``files`` into the artifact location ``uri`` (a local directory here)."""
    path = Path(uri)
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (path / name).write_text(content)
    return path


def _full_run(backend, experiment_id="0"):
    """A run with a row in every table that hangs off it, and a file."""
    tracking = backend.tracking
    run = tracking.create_run(experiment_id, user_id="tester", start_time=1000)
    run_id = run.info.run_id
    tracking.log_batch(run_id, metrics=[Metric("loss", 0.5, 1, 0), Metric("loss", 0.25, 2, 1)],
                       params=[Param("lr", "0.1")], tags=[RunTag("team", "a")])
    model = tracking.create_logged_model(experiment_id, name="clf", source_run_id=run_id)
    tracking.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    tracking.log_inputs(run_id, datasets=[{"dataset": {"name": "d", "digest": "x", "source_type": "local",
                                                        "source": "/d"}, "tags": []}])
    _files(run.info.artifact_uri, **{"weights.bin": "w" * 1000})
    return run, model


def test_gc_purges_a_deleted_run_its_rows_and_files(backend, gc):
    run, _model = _full_run(backend)
    run_id = run.info.run_id
    backend.tracking.delete_run(run_id)

    report = gc.collect(0)

    assert [(p["kind"], p["id"]) for p in report.purged] == [("run", run_id)]
    for table in (tables.params, tables.run_tags, tables.metrics, tables.latest_metrics, tables.run_inputs,
                  tables.run_outputs, tables.runs):
        assert _count(backend, table, run_id=run_id) == 0, table.name
    assert report.purged[0]["rows"]["metrics"] == 2
    with pytest.raises(ResourceDoesNotExist):
        backend.tracking.get_run(run_id)
    assert not Path(run.info.artifact_uri).parent.exists()  # <run_id>/artifacts, with <run_id>
    assert [a["action"] for a in report.artifacts] == ["deleted"]
    assert report.bytes == 1000
    # recorded, and nothing left to do
    assert [r.action for r in gc.history(object_id=run_id)] == ["artifacts_deleted", "rows_purged"]
    again = gc.collect(0)
    assert (again.purged, again.artifacts, again.warnings) == ([], [], [])


def test_gc_purges_a_deleted_experiment_with_runs_and_logged_models_without_foreign_key_errors(backend, gc):
    tracking = backend.tracking
    experiment_id = tracking.create_experiment("doomed", tags={"k": "v"})
    runs = [_full_run(backend, experiment_id)[0] for _ in range(3)]
    tracking.delete_experiment(experiment_id)
    location = tracking.get_experiment(experiment_id).artifact_location

    report = gc.collect(0)

    assert [(p["kind"], p["id"]) for p in report.purged] == [("experiment", experiment_id)]
    rows = report.purged[0]["rows"]
    assert (rows["runs"], rows["logged_models"], rows["experiments"], rows["experiment_tags"]) == (3, 3, 1, 1)
    with pytest.raises(ResourceDoesNotExist):
        tracking.get_experiment(experiment_id)
    assert _count(backend, tables.logged_models, experiment_id=int(experiment_id)) == 0
    assert not Path(location).exists()
    # the runs' and models' directories first (deepest first), then what is left of the experiment's
    assert sorted((a["kind"], a["action"]) for a in report.artifacts) == [("experiment", "deleted")] + [
        ("logged_model", "missing")] * 3 + [("run", "deleted")] * 3
    assert report.artifacts[-1]["kind"] == "experiment"
    assert _count(backend, gc_pending_artifacts) == 0
    assert all(not Path(r.info.artifact_uri).exists() for r in runs)
    assert tracking.get_experiment("0").lifecycle_stage == "active"


def test_gc_never_deletes_files_a_live_version_uses_and_collects_them_once_it_is_deleted(backend, gc):
    run, _ = _full_run(backend)
    live = backend.tracking.create_run("0")
    _files(live.info.artifact_uri, keep="me")
    registry = backend.registry
    registry.create_registered_model("m")
    # one location shared by a deleted run and a live version
    registry.create_model_version("m", run.info.artifact_uri, run_id=run.info.run_id)
    backend.tracking.delete_run(run.info.run_id)

    first = gc.collect(0)

    assert [p["id"] for p in first.purged] == [run.info.run_id]  # the rows go (like MLflow, versions keep run ids)
    assert Path(run.info.artifact_uri, "weights.bin").exists()
    assert [(a["action"], a["reason"]) for a in first.artifacts] == [("kept", "still used by model_version m/1")]
    assert registry.get_model_version("m", 1).run_id == run.info.run_id
    assert gc.collect(0).artifacts[0]["action"] == "kept"  # retried every time, kept while used

    registry.delete_model_version("m", 1)
    last = gc.collect(0)

    assert not Path(run.info.artifact_uri).exists()
    assert sorted(a["action"] for a in last.artifacts) == ["deleted", "deleted"]
    assert Path(live.info.artifact_uri, "keep").exists()  # the neighbour is untouched
    events = [e.action for e in backend.stores.history.list_events("m")]
    assert events[-2:] == ["version_deleted", "version_purged"]
    assert _count(backend, gc_pending_artifacts) == 0


def test_a_kept_location_protects_the_experiment_around_it(backend, gc):
    tracking = backend.tracking
    experiment_id = tracking.create_experiment("e")
    run, _ = _full_run(backend, experiment_id)
    other, _ = _full_run(backend, experiment_id)
    backend.stores.registry.create_registered_model("m")  # names the run by id only
    backend.stores.registry.create_model_version("m", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    tracking.delete_experiment(experiment_id)

    report = gc.collect(0, experiment_ids=[experiment_id])

    actions = {(a["kind"], a["object_id"]): a["action"] for a in report.artifacts}
    assert actions[("run", run.info.run_id)] == "kept" and actions[("experiment", experiment_id)] == "kept"
    assert actions[("run", other.info.run_id)] == "deleted"
    assert Path(run.info.artifact_uri, "weights.bin").exists() and not Path(other.info.artifact_uri).exists()

    backend.stores.registry.delete_registered_model("m")
    gc.collect(0)
    assert not Path(run.info.artifact_uri).parent.parent.exists()
    assert _count(backend, gc_pending_artifacts) == 0


def test_gc_keeps_a_deleted_logged_models_files_a_live_version_was_registered_from(backend, gc):
    _run, model = _full_run(backend)
    _files(model.artifact_location, MLmodel="flavors: {}")
    backend.registry.create_registered_model("m")
    backend.registry.create_model_version("m", f"models:/{model.model_id}", model_id=model.model_id)
    backend.tracking.delete_logged_model(model.model_id)

    report = gc.collect(0)

    assert [(p["kind"], p["id"]) for p in report.purged] == [("logged_model", model.model_id)]
    assert _count(backend, tables.run_outputs, model_id=model.model_id) == 0
    assert Path(model.artifact_location, "MLmodel").exists()
    assert report.artifacts[0]["action"] == "kept"


def test_a_deleted_versions_files_in_a_live_run_stay_with_the_run(backend, gc):
    run, _ = _full_run(backend)
    backend.registry.create_registered_model("m")
    backend.registry.create_model_version("m", run.info.artifact_uri, run_id=run.info.run_id)
    backend.registry.delete_registered_model("m")

    report = gc.collect(0)

    assert [(a["kind"], a["action"]) for a in report.artifacts] == [("model_version", "kept")]
    assert Path(run.info.artifact_uri, "weights.bin").exists()
    assert _count(backend, gc_pending_artifacts) == 0  # forgotten: the run owns those files
    assert gc.collect(0).artifacts == []


def test_a_deleted_versions_files_outside_the_artifact_store_are_left_alone(backend, gc, tmp_path):
    outside = _files(str(tmp_path / "my-model"), MLmodel="flavors: {}")
    backend.registry.create_registered_model("m")
    backend.registry.create_model_version("m", str(outside))
    backend.registry.delete_model_version("m", 1)

    report = gc.collect(0)

    assert [a["action"] for a in report.artifacts] == ["left"]
    assert (outside / "MLmodel").exists()
    purged = [e for e in backend.stores.history.list_events("m") if e.action == "version_purged"]
    assert purged[0].after == {"files": "left"}


def test_gc_only_takes_what_was_deleted_longer_ago_than_older_than(backend, gc, clock):
    old = backend.tracking.create_run("0")
    recent = backend.tracking.create_run("0")
    backend.tracking.delete_run(old.info.run_id)
    clock.last += 3 * DAY
    backend.tracking.delete_run(recent.info.run_id)

    report = gc.collect(2 * DAY)

    assert [p["id"] for p in report.purged] == [old.info.run_id]
    assert backend.tracking.get_run(recent.info.run_id).info.lifecycle_stage == "deleted"


def test_dry_run_reports_rows_and_bytes_and_changes_nothing(backend, gc):
    run, model = _full_run(backend)
    backend.tracking.delete_run(run.info.run_id)
    experiment_id = backend.tracking.create_experiment("e")
    other, _ = _full_run(backend, experiment_id)
    backend.tracking.delete_experiment(experiment_id)

    report = gc.collect(0, dry_run=True)

    assert report.dry_run
    by_id = {p["id"]: p["rows"] for p in report.purged}
    assert by_id[run.info.run_id]["metrics"] == 2 and by_id[experiment_id]["runs"] == 1
    assert sorted(a["action"] for a in report.artifacts) == ["would_delete", "would_delete"]
    assert report.bytes == 2000
    assert backend.tracking.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert Path(run.info.artifact_uri, "weights.bin").exists() and Path(other.info.artifact_uri).exists()
    assert gc.history() == []
    assert json.loads(json.dumps(report.to_dict()))["rows"] == report.rows


def test_missing_artifacts_are_a_warning_not_an_error(backend, gc):
    run = backend.tracking.create_run("0")  # never wrote a file
    backend.tracking.delete_run(run.info.run_id)

    report = gc.collect(0)

    assert [a["action"] for a in report.artifacts] == ["missing"]
    assert "no files at" in report.warnings[0]
    assert gc.history()[0].action == "artifacts_missing"
    assert gc.collect(0).warnings == []


def test_an_interrupted_collection_is_finished_by_the_next(backend, gc, monkeypatch):
    run, _ = _full_run(backend)
    second, _ = _full_run(backend)
    backend.tracking.delete_run(run.info.run_id)
    backend.tracking.delete_run(second.info.run_id)
    # killed after the first purge committed, before any file was deleted
    assert backend.stores.gc.purge_run(run.info.run_id)["runs"] == 1
    assert Path(run.info.artifact_uri).exists()

    # and this time the file store fails half-way
    from podium.store.artifacts.local import LocalArtifactStore

    real = LocalArtifactStore.delete_artifacts
    calls = []

    def failing_once(self, path=None):
        calls.append(path)
        if len(calls) == 1:
            raise OSError("disk went away")
        return real(self, path)

    monkeypatch.setattr(LocalArtifactStore, "delete_artifacts", failing_once)
    report = gc.collect(0)
    assert sorted(a["action"] for a in report.artifacts) == ["deleted", "unreachable"]
    assert "disk went away" in report.warnings[0]

    finished = gc.collect(0)
    assert [a["action"] for a in finished.artifacts] == ["deleted"]
    assert not Path(run.info.artifact_uri).exists() and not Path(second.info.artifact_uri).exists()
    assert gc.collect(0).artifacts == []


def test_run_ids_and_experiment_ids_must_name_deleted_objects(backend, gc, clock):
    live = backend.tracking.create_run("0")
    gone = backend.tracking.create_run("0")
    backend.tracking.delete_run(gone.info.run_id)
    with pytest.raises(InvalidParameterValue, match="is not deleted"):
        gc.collect(0, run_ids=[live.info.run_id])
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        gc.collect(0, run_ids=["nope"])
    with pytest.raises(InvalidParameterValue, match="less than --older-than"):
        gc.collect(DAY, run_ids=[gone.info.run_id])
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        gc.collect(0, experiment_ids=["12345"])
    other = backend.tracking.create_run("0")
    backend.tracking.delete_run(other.info.run_id)

    report = gc.collect(0, run_ids=[gone.info.run_id])

    assert [p["id"] for p in report.purged] == [gone.info.run_id]
    assert backend.tracking.get_run(other.info.run_id).info.lifecycle_stage == "deleted"


def test_a_restored_run_is_not_purged(backend, gc):
    run = backend.tracking.create_run("0")
    backend.tracking.delete_run(run.info.run_id)
    backend.tracking.restore_run(run.info.run_id)
    assert backend.stores.gc.purge_run(run.info.run_id) is None
    assert gc.collect(0).purged == []


def test_deleting_versions_records_their_files_for_gc(backend):
    backend.registry.create_registered_model("m")
    for source in ("/data/a", "/data/b"):
        backend.registry.create_model_version("m", source)
    backend.registry.delete_model_version("m", 1)
    backend.registry.delete_registered_model("m")
    pending = backend.stores.gc.pending_artifacts()
    assert sorted((p.object_id, p.location, p.version) for p in pending) == [("m/1", "/data/a", 1),
                                                                              ("m/2", "/data/b", 2)]
    with backend.database.read() as conn:
        actions = conn.execute(select(registry_events.c.action).order_by(registry_events.c.id)).scalars().all()
    assert "version_deleted" in actions


def test_one_collector_claims_the_job_per_interval(backend, clock):
    store = backend.stores.gc
    assert store.claim_collection("gc", "a", interval_ms=DAY, ttl_ms=60_000)
    assert not store.claim_collection("gc", "b", interval_ms=DAY, ttl_ms=60_000)  # held
    store.release_collection("gc", "a")
    assert not store.claim_collection("gc", "b", interval_ms=DAY, ttl_ms=60_000)  # not due yet
    clock.last += DAY
    assert store.claim_collection("gc", "b", interval_ms=DAY, ttl_ms=60_000)
    # a holder that died: its lease expires, and the job is taken over once due
    clock.last += 2 * DAY
    assert store.renew_collection("gc", "b", ttl_ms=60_000)
    assert not store.claim_collection("gc", "a", interval_ms=DAY, ttl_ms=60_000)
    clock.last += 120_000
    assert store.claim_collection("gc", "a", interval_ms=DAY, ttl_ms=60_000)
    assert not store.renew_collection("gc", "b", ttl_ms=60_000)


def test_of_many_simultaneous_claimers_exactly_one_collects(backend, db_url):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from podium.compose import open_gc

    opened = [open_gc(db_url) for _ in range(6)]  # a connection pool per claimer, as separate processes have
    barrier = Barrier(len(opened))

    def claim(i: int) -> bool:
        barrier.wait()
        return opened[i][0].store.claim_collection("gc", f"p{i}", interval_ms=DAY, ttl_ms=60_000)

    try:
        with ThreadPoolExecutor(len(opened)) as pool:
            won = list(pool.map(claim, range(len(opened))))
    finally:
        for _service, database in opened:
            database.dispose()
    assert won.count(True) == 1, won


def test_files_reached_through_a_store_are_deleted(backend, gc, artifact_root):
    # the same as the local case, through the artifact store API (what S3 uses)
    run = backend.tracking.create_run("0")
    store = artifact_store_for(run.info.artifact_uri)
    store.write_stream("model/MLmodel", iter([b"x" * 10]))
    backend.tracking.delete_run(run.info.run_id)
    assert gc.collect(0).bytes == 10
    assert not store.exists("model/MLmodel")


def test_logged_model_ids_name_deleted_logged_models(backend, gc):
    _run, model = _full_run(backend)
    _other_run, other = _full_run(backend)
    with pytest.raises(InvalidParameterValue, match="Logged model .* is not deleted"):
        gc.collect(0, logged_model_ids=[model.model_id])
    backend.tracking.delete_logged_model(model.model_id)
    backend.tracking.delete_logged_model(other.model_id)

    report = gc.collect(0, logged_model_ids=[model.model_id])

    assert [(p["kind"], p["id"]) for p in report.purged] == [("logged_model", model.model_id)]
    assert report.purged[0]["rows"]["run_outputs"] == 1


def test_a_version_naming_its_run_by_id_keeps_the_runs_files(backend, gc):
    # a version without a resolved storage location (imported from an older MLflow, say)
    run, _ = _full_run(backend)
    backend.stores.registry.create_registered_model("m")
    backend.stores.registry.create_model_version("m", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    backend.tracking.delete_run(run.info.run_id)

    report = gc.collect(0)

    assert [a["action"] for a in report.artifacts] == ["kept"]
    assert Path(run.info.artifact_uri, "weights.bin").exists()
    backend.stores.registry.delete_model_version("m", 1)
    last = gc.collect(0)
    assert sorted((a["kind"], a["action"]) for a in last.artifacts) == [("model_version", "kept"), ("run", "deleted")]
    assert not Path(run.info.artifact_uri).exists()
