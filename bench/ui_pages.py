"""Server time of every web UI page on a big registry, next to MLflow's UI API calls (not a test).

The registry: 10,000 models (two versions each: v1 in Production, ``@champion`` on v2, a tag, the
history events) and one model ``big`` with 100,000 versions and their 100,000 history events; an
experiment of 2,000 runs (metrics, params). Seeded fast: the database is migrated by Podium's
composition root, the registry rows are bulk-inserted into its tables (one statement per 5,000
rows), the runs go through the tracking service. Then ``podium server`` on that database answers
``--requests`` GETs per page after warm-up; server time p50/p99 comes from its access log, the
server's resident memory (RSS, peak) is read before and after.

``--mlflow`` also starts MLflow's own ``mlflow server`` (the test environment's mlflow, 3.17.x) on
SQLite with the same registry rows bulk-inserted into MLflow's tables (``--mlflow-versions`` for
``big``; default the same 100,000) and times the REST calls its UI makes for the same pages, from
the client (MLflow logs no server time), next to Podium's client time for its pages.

    .venv/bin/python bench/ui_pages.py                        # SQLite
    .venv/bin/python bench/ui_pages.py --db postgresql://postgres@127.0.0.1:5433/postgres --mlflow
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.harness import ServerProcess, free_port  # noqa: E402

A2 = "/api/2.0/mlflow"
CHUNK = 5000
#: pending approval requests seeded (the most /requests lists is 200)
REQUESTS = 200
NOW = 1_765_000_000_000


def _chunks(rows):
    for i in range(0, len(rows), CHUNK):
        yield rows[i:i + CHUNK]


def _insert(conn, table, rows) -> None:
    from sqlalchemy import insert

    for chunk in _chunks(rows):
        conn.execute(insert(table), chunk)


# ------------------------------------------------------------------------------------------ seeding
def seed_podium(db_url: str, root: Path, models: int, versions: int, runs: int) -> dict:
    """The registry rows in Podium's tables, the runs through the tracking service."""
    from podium.compose import build
    from podium.domain.entities import Metric, Param
    from podium.store.sql.event_tables import registry_events as ev
    from podium.store.sql.tables import (model_versions, registered_model_aliases, registered_model_tags,
                                         registered_models)

    backend = build(db_url, artifact_root=str(root / "artifacts"))
    try:
        t = backend.tracking
        experiment = t.create_experiment("bench-training")
        run_ids = []
        for i in range(runs):
            run = t.create_run(experiment, run_name=f"run-{i:05d}", start_time=NOW + i)
            t.log_batch(run.info.run_id, [Metric("rmse", 0.5 + (i % 97) / 1000, NOW, s) for s in range(3)]
                        + [Metric("r2", 0.8, NOW, 0)], [Param("max_depth", str(i % 12)), Param("lr", "0.1")])
            run_ids.append(run.info.run_id)
        run_id = run_ids[0]
        rm_rows, mv_rows, tag_rows, alias_rows, ev_rows = [], [], [], [], []

        def event(action, key, name, ts, version=None, target=None):
            ev_rows.append({"timestamp": ts, "action": action, "model_key": key, "model_name": name,
                            "version": version, "target": target, "actor": "bench", "actor_via": "basic",
                            "before": None, "after": None, "comment": None, "cause": None, "request_id": None})

        def version(key, number, stage, ts):
            source = run_ids[(key * 7 + number) % len(run_ids)]  # a run is the source of a few versions
            mv_rows.append({"model": key, "version": number, "current_stage": stage, "user_id": "bench",
                            "source": f"runs:/{source}/model", "run_id": source, "status": "READY",
                            "creation_timestamp": ts, "last_updated_timestamp": ts})

        for key in range(1, models + 1):
            name, ts = f"m{key:05d}", NOW + key
            rm_rows.append({"id": key, "name": name, "description": f"model {key}", "user_id": "bench",
                            "creation_timestamp": ts, "last_updated_timestamp": ts, "last_version": 2})
            tag_rows.append({"model": key, "key": "team", "value": f"team-{key % 20}"})
            version(key, 1, "Production", ts)
            version(key, 2, "None", ts)
            alias_rows.append({"model": key, "alias": "champion", "version": 2})
            event("model_created", key, name, ts)
            event("version_created", key, name, ts, 1)
            event("version_created", key, name, ts, 2)
            event("stage_transitioned", key, name, ts, 1, "Production")
            event("alias_set", key, name, ts, 2, "champion")
        big = models + 1
        rm_rows.append({"id": big, "name": "big", "description": "100k versions", "user_id": "bench",
                        "creation_timestamp": NOW, "last_updated_timestamp": NOW + versions, "last_version": versions})
        event("model_created", big, "big", NOW)
        for number in range(1, versions + 1):
            version(big, number, "Production" if number == 1 else "None", NOW + number)
            event("version_created", big, "big", NOW + number, number)
        alias_rows.append({"model": big, "alias": "champion", "version": versions})
        event("stage_transitioned", big, "big", NOW + versions, 1, "Production")
        event("alias_set", big, "big", NOW + versions, versions, "champion")
        with backend.database.write() as conn:
            for table, rows in ((registered_models, rm_rows), (registered_model_tags, tag_rows),
                                (model_versions, mv_rows), (registered_model_aliases, alias_rows), (ev, ev_rows)):
                _insert(conn, table, rows)
        from sqlalchemy import text

        if backend.database.engine.dialect.name == "postgresql":  # the serial after explicit ids, and fresh stats
            with backend.database.write() as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('registered_models', 'id'), "
                                  "(SELECT max(id) FROM registered_models))"))
            with backend.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        for key in range(1, min(models, REQUESTS) + 1):  # a full /requests page: pending promotions with a gate
            name = f"m{key:05d}"
            backend.access.set_model_policy(name, protected_stages=["Production"], requires_approval=True,
                                            required_approvals=2, gates=["metrics.rmse <= 0.9"])
            backend.approvals.request_model_version(name, 2, stage="Production", comment="v2 beats v1")
        return {"experiment": experiment, "run": run_id, "versions": versions}
    finally:
        backend.close()


def seed_mlflow(db_path: Path, models: int, versions: int, run_ids: list[str]) -> None:
    """The same registry rows in MLflow's own tables (reflected from the database its server migrated)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(f"sqlite:///{db_path}")
    meta = MetaData()
    meta.reflect(engine, only=["registered_models", "model_versions", "registered_model_tags",
                               "registered_model_aliases"])
    rm, mv, tags, aliases = (meta.tables[n] for n in ("registered_models", "model_versions", "registered_model_tags",
                                                       "registered_model_aliases"))
    rm_rows, mv_rows, tag_rows, alias_rows = [], [], [], []

    def version(name, number, stage, ts):
        run_id = run_ids[(number * 7 + len(name)) % len(run_ids)]
        mv_rows.append({"name": name, "version": number, "creation_time": ts, "last_updated_time": ts,
                        "user_id": "bench", "current_stage": stage, "source": f"runs:/{run_id}/model",
                        "run_id": run_id, "status": "READY", "storage_location": f"runs:/{run_id}/model"})

    for key in range(1, models + 1):
        name, ts = f"m{key:05d}", NOW + key
        rm_rows.append({"name": name, "creation_time": ts, "last_updated_time": ts, "description": f"model {key}"})
        tag_rows.append({"name": name, "key": "team", "value": f"team-{key % 20}"})
        version(name, 1, "Production", ts)
        version(name, 2, "None", ts)
        alias_rows.append({"name": name, "alias": "champion", "version": 2})
    rm_rows.append({"name": "big", "creation_time": NOW, "last_updated_time": NOW + versions, "description": "big"})
    for number in range(1, versions + 1):
        version("big", number, "Production" if number == 1 else "None", NOW + number)
    alias_rows.append({"name": "big", "alias": "champion", "version": versions})
    with engine.begin() as conn:
        for table, rows in ((rm, rm_rows), (tags, tag_rows), (mv, mv_rows), (aliases, alias_rows)):
            _insert(conn, table, rows)
    engine.dispose()


# ------------------------------------------------------------------------------------------ measuring
def _memory(pid: int) -> dict:
    """Resident memory (MB) of ``pid`` and its children: now and peak."""
    out = {"rss": 0.0, "hwm": 0.0}
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                    .stdout.split()]
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for field, key in (("VmRSS", "rss"), ("VmHWM", "hwm")):
            found = re.search(rf"{field}:\s+(\d+) kB", status)
            if found:
                out[key] += int(found.group(1)) / 1024
    return out


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system, ms) used so far by ``pid`` and its children."""
    total = 0.0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                    .stdout.split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def _time(client: httpx.Client, method: str, path: str, n: int, budget: float, body=None) -> tuple[list[float], int]:
    """Client wall time (ms) of up to ``n`` requests (stops after ``budget`` seconds), and the size."""
    times, size, end = [], 0, time.monotonic() + budget
    for _ in range(n):
        start = time.perf_counter()
        response = client.request(method, path, json=body)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, f"{path}: {response.status_code} {response.text[:300]}"
        size = len(response.content)
        if time.monotonic() > end:
            break
    return times, size


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * q)) - 1))]


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def podium_pages(client: httpx.Client, seeded: dict) -> dict[str, str]:
    first = client.get("/models").text
    token = re.search(r'rel="next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    big = client.get("/models/big").text
    big_token = re.search(r'rel="next" href="\?([^"]+)"', big).group(1).replace("&amp;", "&")
    return {
        "/models (50 of 10,001)": "/models",
        "/models page 2": f"/models?{token}",
        "/models filtered": "/models?filter=tags.team+%3D+%27team-3%27+AND+name+LIKE+%27m0%25%27",
        "/models/big (100,000 versions)": "/models/big",
        "/models/big page 2": f"/models/big?{big_token}",
        "/models/m00042": "/models/m00042",
        "/models/big/versions/1": "/models/big/versions/1",
        "/models/big/versions/<newest>": f"/models/big/versions/{seeded['versions']}",
        "/models/big/compare (1, 2, newest)": f"/models/big/compare?versions=1,2,{seeded['versions']}",
        "/models/big/history": "/models/big/history",
        "/models/big/history?action=stage_transitioned": "/models/big/history?action=stage_transitioned",
        "/models/big/history?at=<middle>": f"/models/big/history?at={_iso(NOW + seeded['versions'] // 2)}",
        "/models/big/history?at=<now>": f"/models/big/history?at={_iso(NOW + seeded['versions'] + 1000)}",
        f"/requests (50 of {REQUESTS} pending)": "/requests",
        "/experiments": "/experiments",
        "/experiments/<id> (2,000 runs)": f"/experiments/{seeded['experiment']}",
        "/experiments/<id> by metric": f"/experiments/{seeded['experiment']}?order=metrics.rmse+ASC",
        "/runs/<id>": f"/runs/{seeded['run']}",
        "static CSS": re.search(r'href="(/static/[^"]+css)"', first).group(1),
    }


def mlflow_calls(seeded: dict, versions: int) -> dict[str, list[tuple]]:
    """The REST calls MLflow's UI makes for each page (its ajax-api paths answer the same as these)."""
    exp, run = seeded["experiment_mlflow"], seeded["run_mlflow"]
    return {
        "/models (50 of 10,001)": [("GET", f"{A2}/registered-models/search?max_results=50", None)],
        "/models/big (100,000 versions)": [
            ("GET", f"{A2}/registered-models/get?name=big", None),
            ("GET", f"{A2}/model-versions/search?filter=name%3D%27big%27&max_results=50", None)],
        f"/models/big, all {versions:,} versions (MLflow's default max_results)": [
            ("GET", f"{A2}/model-versions/search?filter=name%3D%27big%27", None)],
        "/models/big/versions/1": [("GET", f"{A2}/model-versions/get?name=big&version=1", None),
                                   ("GET", f"{A2}/runs/get?run_id={run}", None)],
        "/models/big/compare (1, 2, newest)": [
            *[("GET", f"{A2}/model-versions/get?name=big&version={v}", None) for v in (1, 2, versions)],
            *[("GET", f"{A2}/runs/get?run_id={run}", None)] * 3],
        "/experiments": [("GET", f"{A2}/experiments/search?max_results=50", None)],
        "/experiments/<id> (2,000 runs)": [("POST", f"{A2}/runs/search", {"experiment_ids": [exp], "max_results": 50})],
        "/experiments/<id> by metric": [("POST", f"{A2}/runs/search", {"experiment_ids": [exp], "max_results": 50,
                                                                         "order_by": ["metrics.rmse ASC"]})],
        "/runs/<id>": [("GET", f"{A2}/runs/get?run_id={run}", None),
                       ("GET", f"{A2}/metrics/get-history?run_id={run}&metric_key=rmse", None),
                       ("GET", f"{A2}/artifacts/list?run_id={run}", None)],
    }


def measure_podium(args, db_url: str, root: Path) -> list[dict]:
    t0 = time.monotonic()
    seeded = seed_podium(db_url, root, args.models, args.versions, args.runs)
    print(f"seeded Podium in {time.monotonic() - t0:.0f} s", flush=True)
    server = ServerProcess(root, backend_store_uri=db_url).start(120)
    try:
        client = httpx.Client(base_url=server.url, timeout=120)
        paths = podium_pages(client, seeded)
        for path in paths.values():
            for _ in range(args.warmup):
                client.get(path)
        before = _memory(server.process.pid)
        results = []
        for label, path in paths.items():
            mark = len(server.log_path.read_text().splitlines())
            cpu = _cpu_ms(server.process.pid)
            wall, size = _time(client, "GET", path, args.requests, args.budget)
            cpu = (_cpu_ms(server.process.pid) - cpu) / len(wall)
            time.sleep(0.2)  # the access log line of the last request
            lines = server.log_path.read_text().splitlines()[mark:]
            found = [re.search(r"GET (\S+) \d+ ([\d.]+)ms", line) for line in lines]
            results.append({"page": label, "path": path, "client": wall, "bytes": size, "cpu": cpu,
                            "server": [float(m.group(2)) for m in found if m]})
        after = _memory(server.process.pid)
        print(f"Podium server memory: RSS {before['rss']:.0f} MB before the measured requests, "
              f"{after['rss']:.0f} MB after; peak {after['hwm']:.0f} MB", flush=True)
        seeded["memory"] = (before, after)
        return results, seeded
    finally:
        server.stop()


def measure_mlflow(args, root: Path, run_id_source: dict) -> list[dict]:
    mlflow = Path(sys.executable).parent / "mlflow"
    db = root / "mlflow.db"
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

    def start():
        log = open(root / "mlflow.log", "ab")
        process = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", f"sqlite:///{db}",
                                    "--artifacts-destination", str(root / "mlflow-art"), "--host", "127.0.0.1",
                                    "--port", str(port)], stdout=log, stderr=log, env=env, start_new_session=True)
        for _ in range(180):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError("mlflow server did not start: " + (root / "mlflow.log").read_text()[-2000:])

    def stop(process):
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)

    process = start()  # migrates the database
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
    exp = client.post(f"{A2}/experiments/create", json={"name": "bench-training"}).json()["experiment_id"]
    run_ids = []
    for i in range(args.runs):
        run = client.post(f"{A2}/runs/create", json={"experiment_id": exp, "run_name": f"run-{i:05d}",
                                                    "start_time": NOW + i}).json()["run"]["info"]["run_id"]
        client.post(f"{A2}/runs/log-batch", json={
            "run_id": run, "params": [{"key": "max_depth", "value": str(i % 12)}, {"key": "lr", "value": "0.1"}],
            "metrics": [{"key": "rmse", "value": 0.5 + (i % 97) / 1000, "timestamp": NOW, "step": s} for s in range(3)]
            + [{"key": "r2", "value": 0.8, "timestamp": NOW, "step": 0}]})
        run_ids.append(run)
    stop(process)
    t0 = time.monotonic()
    seed_mlflow(db, args.models, args.mlflow_versions, run_ids)
    print(f"seeded MLflow's registry in {time.monotonic() - t0:.0f} s", flush=True)
    process = start()
    try:
        seeded = {"experiment_mlflow": exp, "run_mlflow": run_ids[0]}
        results = []
        for label, calls in mlflow_calls(seeded, args.mlflow_versions).items():
            for method, path, body in calls:
                for _ in range(min(args.warmup, 3)):
                    client.request(method, path, json=body)
            walls, size = None, 0
            for method, path, body in calls:
                wall, n = _time(client, method, path, args.requests, args.budget, body)
                walls = wall if walls is None else [a + b for a, b in zip(walls, wall)]
                size += n
            results.append({"page": label, "client": walls, "bytes": size})
        return results
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="a PostgreSQL server URL (a database is made and dropped); "
                                                   "default: SQLite in a temporary directory")
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per page at most")
    parser.add_argument("--mlflow", action="store_true", help="also time MLflow's UI calls on the same data")
    parser.add_argument("--mlflow-versions", type=int, default=None)
    args = parser.parse_args()
    args.mlflow_versions = args.mlflow_versions or args.versions
    root = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    database = None
    try:
        if args.db:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from tests.databases import ServerDatabase

            database = ServerDatabase(args.db, "postgresql", label="uibench")
            db_url = database.url
        else:
            db_url = f"sqlite:///{root / 'podium.db'}"
        with open("/proc/loadavg") as f:
            print(f"load average at start: {' '.join(f.read().split()[:3])}", flush=True)
        results, seeded = measure_podium(args, db_url, root)
        print(f"\nPodium ({'PostgreSQL' if args.db else 'SQLite'}; {args.models:,} models + big with "
              f"{args.versions:,} versions; {args.requests} requests/page at most {args.budget:.0f} s)")
        print(f"{'page':48s} {'srv p50':>8s} {'srv p99':>8s} {'cpu/req':>8s} {'cli p50':>8s} {'cli p99':>8s} {'bytes':>8s}")
        for r in results:
            print(f"{r['page']:48s} {_p(r['server'], .5):8.1f} {_p(r['server'], .99):8.1f} {r['cpu']:8.1f} "
                  f"{_p(r['client'], .5):8.1f} {_p(r['client'], .99):8.1f} {r['bytes']:8d}")
        if args.mlflow:
            mlflow = measure_mlflow(args, root, seeded)
            print(f"\nMLflow {__import__('mlflow').__version__} (SQLite; big with {args.mlflow_versions:,} versions): "
                  "client time of the UI's REST calls per page (summed when a page makes several)")
            print(f"{'page':64s} {'cli p50':>8s} {'cli p99':>8s} {'n':>5s} {'bytes':>9s}")
            for r in mlflow:
                print(f"{r['page']:64s} {_p(r['client'], .5):8.1f} {_p(r['client'], .99):8.1f} "
                      f"{len(r['client']):5d} {r['bytes']:9d}")
        with open("/proc/loadavg") as f:
            print(f"\nload average at end: {' '.join(f.read().split()[:3])}", flush=True)
    finally:
        if database is not None:
            database.drop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
