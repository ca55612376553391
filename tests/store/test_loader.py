"""The loader (``SqlImportStore``, decision 0019) on SQLite, PostgreSQL and MariaDB: ids, numbers and
timestamps kept, one ``imported`` event per version, idempotent, conflicts refused, and the store's
own id and version counters continuing after what was imported."""

from __future__ import annotations

import math

import pytest

import podium.store.base as base
from podium.domain.manifests import Manifest, ManifestFile
from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    digest,
    record_from_dict,
)
from podium.errors import ResourceConflict
from podium.store.archive import ArchiveWriter
from podium.store.sql.dump import SqlRecordSource
from podium.store.sql.loader import SqlImportStore
from tests.store.test_protocols import _mismatches

EXPERIMENT = ExperimentRecord("7", "imported-exp", "/old/7", "active", 1000, 2000, {"team": "a"})
RUN = RunRecord("a" * 32, "7", "r1", "ana", "FINISHED", 1100, 1200, "/old/7/r/artifacts", "deleted", 1300,
                params={"lr": "0.1"}, tags={"t": "v"},
                metrics=(MetricPoint("loss", 0.5, 1101, 0), MetricPoint("loss", 0.25, 1102, 1),
                         MetricPoint("loss", float("nan"), 1103, 2)),
                datasets=({"dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "{}"},
                           "tags": [{"key": "mlflow.data.context", "value": "training"}]},),
                model_outputs=(("m-1", 0),))
LOGGED = LoggedModelRecord("m-1", "7", "model", "/old/7/models/m-1/artifacts", 1150, 1160, "LOGGED_MODEL_READY",
                           source_run_id="a" * 32, tags={"k": "v"}, params={"p": "1"},
                           metrics=(MetricPoint("acc", 0.9, 1151, 0, run_id="a" * 32),))
MODEL = RegisteredModelRecord("clf", 1500, 1900, "the model", None, last_version=4, tags={"owner": "ana"},
                              aliases={"champion": 3})
V1 = ModelVersionRecord("clf", 1, 1510, 1520, "Production", "v1", "bob", "models:/m-1", "a" * 32, "m-1",
                        storage_location="/new/7/models/m-1/artifacts", tags={"n": "1"})
V3 = ModelVersionRecord("clf", 3, 1530, 1540, "None", None, None, "models:/m-1", "a" * 32, "m-1")
MANIFEST = Manifest.of([ManifestFile("MLmodel", 3, "0" * 64)], "/new/7/models/m-1/artifacts", 1600)


@pytest.fixture
def loader(backend) -> SqlImportStore:
    return SqlImportStore(backend.database)


def _load_all(loader: SqlImportStore) -> dict:
    return {
        "experiment": loader.load_experiment(EXPERIMENT, digest(EXPERIMENT)),
        "run": loader.load_run(RUN, digest(RUN)),
        "logged_model": loader.load_logged_model(LOGGED, digest(LOGGED)),
        "model": loader.load_registered_model(MODEL, digest(MODEL),
                                              [(V1, digest(V1), MANIFEST), (V3, digest(V3), None)]),
    }


def test_the_loader_and_the_archive_writer_implement_the_protocol(loader, tmp_path):
    assert _mismatches(base.ImportStore, loader) == []
    assert _mismatches(base.ImportStore, ArchiveWriter(tmp_path / "archive")) == []


def test_records_are_loaded_as_they_are_and_the_store_continues_after_them(loader, backend):
    outcome = _load_all(loader)
    assert outcome["experiment"] == outcome["run"] == outcome["logged_model"] == "created"
    assert outcome["model"] == {"model": "created", "created": 2, "updated": 0, "unchanged": 0}

    exp = backend.tracking.get_experiment("7")
    assert (exp.name, exp.creation_time, exp.last_update_time, exp.tags) == ("imported-exp", 1000, 2000, {"team": "a"})
    run = backend.tracking.get_run("a" * 32)
    assert (run.info.lifecycle_stage, run.info.start_time, run.info.user_id) == ("deleted", 1100, "ana")
    assert run.data.params == {"lr": "0.1"} and math.isnan(run.data.metrics["loss"])  # step 2 is the latest
    history = backend.tracking.get_metric_history("a" * 32, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(0, 1101), (1, 1102), (2, 1103)]
    assert run.inputs.dataset_inputs[0]["dataset"]["name"] == "d"
    assert backend.tracking.get_logged_model("m-1").params == {"p": "1"}

    v1 = backend.registry.get_model_version("clf", 1)
    assert (v1.current_stage, v1.user_id, v1.creation_timestamp, v1.last_updated_timestamp) == ("Production", "bob",
                                                                                                  1510, 1520)
    assert backend.registry.get_model_version_by_alias("clf", "champion").version == 3
    model = backend.registry.get_registered_model("clf")
    assert (model.creation_timestamp, model.last_updated_timestamp) == (1500, 1900)
    assert backend.integrity.get_model_version_manifest("clf", 1).digest == MANIFEST.digest
    events = backend.stores.history.list_events("clf")
    assert [(e.action, e.version) for e in events] == [("imported", None), ("imported", 1), ("imported", 3)]

    # the store's own counters go on after the imported ids and numbers (4 was deleted in the source)
    assert int(backend.tracking.create_experiment("native")) == 8
    assert backend.registry.create_model_version("clf", "/tmp/x").version == 5


def test_loading_again_changes_nothing_and_a_changed_record_updates(loader, backend):
    _load_all(loader)
    again = _load_all(loader)
    assert again["experiment"] == again["run"] == again["logged_model"] == "unchanged"
    assert again["model"] == {"model": "unchanged", "created": 0, "updated": 0, "unchanged": 2}
    moved = ModelVersionRecord(**{**V3.__dict__, "current_stage": "Staging", "last_updated_timestamp": 1700})
    counts = loader.load_registered_model(MODEL, digest(MODEL), [(moved, digest(moved), None)])
    assert counts["updated"] == 1
    assert backend.registry.get_model_version("clf", 3).current_stage == "Staging"
    assert len(backend.stores.history.list_events("clf")) == 4  # the update carries the source's new values


def test_an_object_made_here_is_not_overwritten(loader, backend):
    backend.registry.create_registered_model("clf")
    with pytest.raises(ResourceConflict, match="already exists here"):
        loader.load_registered_model(MODEL, digest(MODEL), [(V1, digest(V1), None)])
    assert backend.registry.search_model_versions("name='clf'", 10, None, None) == []
    backend.tracking.create_experiment("imported-exp")
    with pytest.raises(ResourceConflict, match="already exists here"):
        loader.load_experiment(EXPERIMENT, digest(EXPERIMENT))


def test_the_store_reads_back_what_was_loaded(loader, backend):
    _load_all(loader)
    source = SqlRecordSource(backend.database, "here")
    assert [r.to_dict() for r in source.runs("7")] == [RUN.to_dict()]  # (NaN != NaN: compared as JSON)
    assert list(source.logged_models("7")) == [LOGGED]
    assert source.registered_models(["clf"]) == [MODEL]
    assert source.model_versions("clf") == [V1, V3]
    assert record_from_dict(RUN.to_dict()).to_dict() == RUN.to_dict()  # what an archive line holds
