"""Issue 12 benchmark: ``podium import-mlflow`` on a large MLflow store (a benchmark, not a test).

1. Seed (not timed): an MLflow SQLite database with MLflow 3.17's own schema (created by mlflow's
   SQL store), then rows written directly into it with executemany: ``--runs`` runs with
   ``--points`` points of one metric each, a param and a tag; ``--models`` registered models with
   ``--versions`` versions each, every version with a small model directory (MLmodel + 2 files) and
   MLflow's bookkeeping (``latest_metrics``). Writing through the mlflow client would take hours on
   a shared 2-core box; the rows are exactly what the client writes.
2. ``podium import-mlflow`` into a fresh Podium SQLite store (in this process: wall time and CPU
   time of the process), then a second run (everything unchanged) for the idempotence cost.
3. With ``--mei VENV`` (a venv where ``pip install mlflow-export-import`` worked):
   ``export-all`` then ``import-all`` of mlflow-export-import on the same store, its wall time.

    .venv/bin/python bench/import_mlflow.py --runs 10000 --points 100 --models 1000 --versions 10
    .venv/bin/python bench/import_mlflow.py --runs 1000 --points 100 --models 100 --versions 10 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def seed(root: Path, runs: int, points: int, models: int, versions: int) -> str:
    import sqlalchemy as sa
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri = f"sqlite:///{root / 'mlflow.db'}"
    store = SqlAlchemyStore(uri, str(root / "mlruns"))  # creates MLflow's schema and the Default experiment
    exp_id = store.create_experiment("bench")
    store.engine.dispose()
    engine = sa.create_engine(uri)
    now = int(time.time() * 1000)
    base = f"{root}/mlruns/{exp_id}"
    run_ids = [uuid.uuid4().hex for _ in range(runs)]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
            "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES "
            "(:id, :name, 'LOCAL', '', '', 'bench', 'FINISHED', :t, :t, '', 'active', :uri, :exp)"),
            [{"id": r, "name": f"run-{i}", "t": now + i, "uri": f"{base}/{r}/artifacts", "exp": exp_id}
             for i, r in enumerate(run_ids)])
        conn.execute(sa.text("INSERT INTO params (key, value, run_uuid) VALUES ('lr', '0.1', :id)"),
                     [{"id": r} for r in run_ids])
        conn.execute(sa.text("INSERT INTO tags (key, value, run_uuid) VALUES ('team', 'bench', :id)"),
                     [{"id": r} for r in run_ids])
        for start in range(0, runs, 500):
            conn.execute(sa.text(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES ('loss', :v, :t, :id, :s, 0)"),
                [{"v": 1.0 / (s + 1), "t": now + s, "id": r, "s": s}
                 for r in run_ids[start:start + 500] for s in range(points)])
        conn.execute(sa.text(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES ('loss', :v, :t, :s, 0, :id)"),
            [{"v": 1.0 / points, "t": now + points - 1, "s": points - 1, "id": r} for r in run_ids])
        conn.execute(sa.text(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, description) "
            "VALUES (:n, :t, :t, 'bench')"), [{"n": f"model-{m}", "t": now} for m in range(models)])
        rows = []
        for m in range(models):
            for v in range(1, versions + 1):
                run = run_ids[(m * versions + v) % runs]
                location = f"{base}/{run}/artifacts/model-{m}-{v}"
                model_dir = Path(location)
                model_dir.mkdir(parents=True, exist_ok=True)
                (model_dir / "MLmodel").write_text(f"artifact_path: model\nflavors: {{}}\nrun_id: {run}\n")
                (model_dir / "model.pkl").write_bytes(os.urandom(2048))
                (model_dir / "requirements.txt").write_text("scikit-learn\n")
                rows.append({"n": f"model-{m}", "v": v, "t": now + v, "src": location, "run": run,
                             "stage": "Production" if v == versions else "None"})
        conn.execute(sa.text(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, "
            "current_stage, source, storage_location, run_id, run_link, status, status_message) VALUES "
            "(:n, :v, :t, :t, NULL, 'bench', :stage, :src, :src, :run, '', 'READY', NULL)"), rows)
    engine.dispose()
    return uri


def podium_import(source: str, root: Path) -> dict:
    from podium import compose

    target = f"sqlite:///{root / 'podium' / 'podium.db'}"
    out = {}
    for attempt in ("first", "again"):
        backend = compose.build(target)
        try:
            service = compose.importer_for(backend)
            src, locate = compose.mlflow_database_source(source)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            summary = service.run(src, locate)
            out[attempt] = {"wall_s": round(time.perf_counter() - wall0, 2),
                            "cpu_s": round(time.process_time() - cpu0, 2),
                            "files": summary.files_copied, "bytes": summary.bytes_copied,
                            "errors": len(summary.errors),
                            "created": {k: v["created"] for k, v in summary.counts.items()},
                            "unchanged": sum(v["unchanged"] for v in summary.counts.values())}
            src.close()
        finally:
            backend.close()
    return out


def mei(venv: Path, source: str, root: Path) -> dict:
    """mlflow-export-import's export-all + import-all (its own CLI, in its own venv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PODIUM_"))}
    out: dict = {}
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    env["MLFLOW_TRACKING_URI"] = source
    done = subprocess.run([str(venv / "bin" / "export-all"), "--output-dir", str(root / "mei-out")], env=env,
                          capture_output=True, text=True)
    out["export_s"] = round(time.perf_counter() - wall0, 2)
    out["export_rc"] = done.returncode
    if done.returncode:
        out["export_error"] = done.stderr[-1500:]
        return out
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mei-dst.db'}"
    wall1 = time.perf_counter()
    done = subprocess.run([str(venv / "bin" / "import-all"), "--input-dir", str(root / "mei-out")], env=env,
                          capture_output=True, text=True)
    out["import_s"] = round(time.perf_counter() - wall1, 2)
    out["import_rc"] = done.returncode
    if done.returncode:
        out["import_error"] = done.stderr[-1500:]
    import sqlite3

    with sqlite3.connect(root / "mei-dst.db") as conn:  # what it imported, and the version numbers it gave
        out["imported"] = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                           for t in ("runs", "metrics", "registered_models", "model_versions")}
        out["max_version"] = conn.execute("SELECT MAX(version) FROM model_versions").fetchone()[0]
        out["version_creation_min_max"] = conn.execute(
            "SELECT MIN(creation_time), MAX(creation_time) FROM model_versions").fetchone()
    with sqlite3.connect(root / "mlflow.db") as conn:
        out["source_version_creation_min_max"] = conn.execute(
            "SELECT MIN(creation_time), MAX(creation_time) FROM model_versions").fetchone()
    out["total_s"] = round(time.perf_counter() - wall0, 2)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_s"] = round(children.ru_utime + children.ru_stime - children0.ru_utime - children0.ru_stime, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--mei", type=Path, help="a venv with mlflow-export-import installed")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--workdir", type=Path, help="work in this (new) directory instead of a temporary one")
    args = parser.parse_args()
    if args.workdir:
        args.workdir.mkdir(parents=True)
    with (contextlib.nullcontext(str(args.workdir)) if args.workdir
          else tempfile.TemporaryDirectory(prefix="import-bench-")) as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        source = seed(root, args.runs, args.points, args.models, args.versions)
        result = {"machine": platform.platform(), "python": sys.version.split()[0], "load_before": os.getloadavg(),
                  "shape": {"runs": args.runs, "points": args.points, "models": args.models,
                            "versions": args.versions},
                  "seed_s": round(time.perf_counter() - t0, 2)}
        result["podium"] = podium_import(source, root)
        result["podium_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if args.mei:
            result["mlflow_export_import"] = mei(args.mei, source, root)
        result["load_after"] = os.getloadavg()
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
