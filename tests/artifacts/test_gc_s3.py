"""``podium gc`` with artifacts on S3 (moto's server): a purged run's objects go, a live run's stay."""

from __future__ import annotations

from podium.compose import artifact_store_for, build


def _keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", ()))


def test_gc_deletes_a_purged_runs_objects_and_keeps_the_rest(s3, bucket, db_url):
    backend = build(db_url, artifact_root=f"s3://{bucket}/root")
    try:
        tracking = backend.tracking
        gone, live, used = (tracking.create_run("0") for _ in range(3))
        for run in (gone, live, used):
            store = artifact_store_for(run.info.artifact_uri)
            store.write_stream("model/MLmodel", iter([b"m" * 100]))
            store.write_stream("model/model.pkl", iter([b"p" * 900]))
        backend.registry.create_registered_model("m")
        backend.registry.create_model_version("m", f"{used.info.artifact_uri}/model", run_id=used.info.run_id)
        tracking.delete_run(gone.info.run_id)
        tracking.delete_run(used.info.run_id)

        dry = backend.gc.collect(0, dry_run=True)
        assert dry.bytes == 1000 and len(_keys(s3, bucket)) == 6

        report = backend.gc.collect(0)

        assert sorted(p["id"] for p in report.purged) == sorted([gone.info.run_id, used.info.run_id])
        assert report.bytes == 1000
        keys = _keys(s3, bucket)
        assert not any(gone.info.run_id in k for k in keys)
        assert sum(live.info.run_id in k for k in keys) == 2
        assert sum(used.info.run_id in k for k in keys) == 2  # a live version was registered from it
        missing = backend.gc.collect(0)
        assert [a["action"] for a in missing.artifacts] == ["kept"] and missing.warnings == []
    finally:
        backend.close()
