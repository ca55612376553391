"""Migration 0004 on every backend: versions registered before it keep loading (no manifest) and
their locations become protected; the manifest store finds protecting versions by location."""

from __future__ import annotations

from sqlalchemy import insert, select

from podium.domain.manifests import Manifest, ManifestFile, location_key
from podium.store.sql.engine import Database
from podium.store.sql.manifest_tables import model_version_files, model_version_manifests
from podium.store.sql.manifests import SqlManifestStore
from podium.store.sql.tables import model_versions, registered_models


def test_upgrading_to_0004_protects_existing_versions_without_a_manifest(empty_db_url, tmp_path):
    db = Database(empty_db_url, upgrade=False)
    db.upgrade("0003")
    with db.engine.begin() as conn:
        conn.execute(insert(registered_models).values(id=1, name="wine", creation_timestamp=1,
                                                      last_updated_timestamp=1, last_version=3))
        conn.execute(insert(model_versions), [
            {"model": 1, "version": 1, "source": "runs:/abc/model", "current_stage": "None", "status": "READY",
             "storage_location": "mlflow-artifacts:/1/abc/artifacts/model/", "creation_timestamp": 1,
             "last_updated_timestamp": 1},
            {"model": 1, "version": 3, "source": str(tmp_path / "m3"), "current_stage": "None", "status": "READY",
             "storage_location": None, "creation_timestamp": 1, "last_updated_timestamp": 1},
        ])
    db.upgrade()
    assert db.drift() == []
    with db.engine.connect() as conn:
        rows = conn.execute(select(model_version_manifests).order_by(model_version_manifests.c.version)).all()
    assert [(r.version, r.location, r.digest) for r in rows] == [
        (1, "mlflow-artifacts:/1/abc/artifacts/model", None), (3, location_key(str(tmp_path / "m3")), None)]
    store = SqlManifestStore(db)
    assert store.get_manifest("wine", 1) is None
    assert store.protecting_version(["mlflow-artifacts:/1/abc/artifacts/model"]) == \
        ("wine", 1, "mlflow-artifacts:/1/abc/artifacts/model")
    assert store.protecting_version(["mlflow-artifacts:/1/abc/artifacts"]) is None
    assert store.protecting_version([], below=["mlflow-artifacts:/1/abc"])[1] == 1
    assert store.protecting_version([], below=["mlflow-artifacts:/1/ab"]) is None  # a prefix, not a directory
    db.dispose()


def test_manifest_rows_go_with_their_version(db_url):
    from podium.store.sql.registry import SqlRegistryStore

    db = Database(db_url)
    registry = SqlRegistryStore(db)
    registry.create_registered_model("wine")
    manifest = Manifest.of([ManifestFile("b", 2, "b" * 64), ManifestFile("a", 1, "a" * 64)], "s3://bucket/wine/1")
    registry.create_model_version("wine", "s3://bucket/wine/1", manifest=manifest)
    store = SqlManifestStore(db)
    assert store.get_manifest("wine", 1) == Manifest(manifest.files, manifest.digest, "s3://bucket/wine/1",
                                                     store.get_manifest("wine", 1).created_at)
    assert [f.path for f in store.get_manifest("wine", 1).files] == ["a", "b"]
    assert store.protecting_version(["s3://bucket/wine/1"]) == ("wine", 1, "s3://bucket/wine/1")
    registry.delete_model_version("wine", 1)
    assert store.protecting_version(["s3://bucket/wine/1"]) is None
    with db.engine.connect() as conn:
        assert conn.execute(select(model_version_files)).all() == []
    registry.create_model_version("wine", "s3://bucket/wine/2", manifest=None)
    registry.delete_registered_model("wine")
    with db.engine.connect() as conn:
        assert conn.execute(select(model_version_manifests)).all() == []
    db.dispose()
