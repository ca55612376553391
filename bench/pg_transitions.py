#!/usr/bin/env python3
"""Concurrent stage transitions on PostgreSQL: podium server vs mlflow server, one invocation.

Issue 4 asks for Podium's transition throughput on PostgreSQL next to MLflow's, with the
correctness MLflow lacks there (it deadlocks into 503s and leaves several versions in Production).
This script creates two fresh databases on one PostgreSQL server, starts ``podium server`` and
``mlflow server`` on them (MLflow through ``postgresql+psycopg://``: psycopg 3, no psycopg2 needed),
and runs the shared harness's ``transition`` scenario (50-version model, random version to Staging
then Production, both with ``archive_existing_versions=true``; an observer polls the stage counts
every 100 ms) at c=1 and c=16, interleaved, the server order alternating:

* podium: ``--workers 2`` (what a 2-core machine would run), keep-alive clients;
* mlflow: its default 4 workers, keep-alive and ``--no-keepalive`` (with 4 workers its uvicorn leaves
  TCP_NODELAY off, so keep-alive writes wait ~40 ms for a delayed ACK), and ``--workers 1``;
  its best figure per metric is the comparison.

Usage (repository root; ``.ci/pg-up.sh`` starts a PostgreSQL on 127.0.0.1:5433)::

    .venv/bin/python bench/pg_transitions.py --pg postgresql://postgres@127.0.0.1:5433/postgres
    .venv/bin/python bench/pg_transitions.py --duration 20 --out bench/results/<date>-pg-transitions

Writes one harness JSON per run and ``summary.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT.parent / "shared" / "bench" / "registry_bench.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


class Server:
    def __init__(self, cmd: list[str], log: Path):
        self.port = free_port()
        self.cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
        env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[0]} exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        time.sleep(15 if "mlflow" in self.cmd[0] else 2)  # mlflow keeps booting workers after /health

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_harness(python: str, base: str, conc: int, duration: int, out: Path, extra: list[str], pid: int) -> dict:
    cmd = [python, str(HARNESS), base, "--scenario", "transition", "--concurrency", str(conc),
           "--duration", str(duration), "--json", str(out), *extra]
    with open(out.with_suffix(".harness.log"), "wb") as log:
        subprocess.run(cmd, check=False, env={**os.environ, "SERVER_PID": str(pid)}, stdout=log,
                       stderr=subprocess.STDOUT)
    return json.loads(out.read_text()) if out.exists() else {}


def figures(doc: dict) -> dict:
    """The run's figures from a harness JSON: throughput, latency, errors, the stage-count check."""
    run = (doc.get("runs") or [{}])[0]
    r = run.get("result") or {}
    lat, check = r.get("latency") or {}, r.get("check") or {}
    observer = check.get("observer") or {}
    n5 = sum(n for kind, n in (r.get("error_breakdown") or {}).items() if str(kind).startswith("HTTP 5"))
    return {"rps": r.get("ok_rps"), "p50": lat.get("p50_ms"), "p99": lat.get("p99_ms"), "errors": r.get("errors", 0),
            "5xx": n5, "passed": check.get("passed"), "max_production_seen": observer.get("max_production", 1 if observer.get("snapshots") else None),
            "snapshots": observer.get("snapshots"), "final_production": len(check.get("production_versions") or [])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5433/postgres",
                    help="an admin URL of a PostgreSQL server on which databases may be created")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"{dt.date.today()}-pg-transitions")
    ap.add_argument("--harness-python", default=str(ROOT / "bench" / ".venv-harness" / "bin" / "python"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    tmp = Path(tempfile.mkdtemp(prefix="pg-transitions-"))
    variants = {
        "podium-w2": ([str(bin_dir / "podium"), "server", "--backend-store-uri", "{db}", "--artifacts-destination",
                       str(tmp / "podium-art"), "--host", "127.0.0.1", "--port", "{port}", "--workers", "2",
                       "--no-access-log"], []),
        "mlflow-keepalive": ([str(bin_dir / "mlflow"), "server", "--backend-store-uri", "{db}",
                              "--artifacts-destination", str(tmp / "mlflow-art"), "--host", "127.0.0.1",
                              "--port", "{port}"], []),
        "mlflow-nokeepalive": (None, ["--no-keepalive"]),  # the same 4-worker server, new connection per request
        "mlflow-workers1": ([str(bin_dir / "mlflow"), "server", "--backend-store-uri", "{db}",
                             "--artifacts-destination", str(tmp / "mlflow1-art"), "--host", "127.0.0.1",
                             "--port", "{port}", "--workers", "1"], []),
    }
    results: dict[str, dict[int, dict]] = {v: {} for v in variants}
    order = [["podium-w2", "mlflow-keepalive", "mlflow-nokeepalive", "mlflow-workers1"],
             ["mlflow-workers1", "mlflow-keepalive", "mlflow-nokeepalive", "podium-w2"]]
    for i, conc in enumerate((1, 16)):
        server = None
        for variant in order[i % 2]:
            cmd, extra = variants[variant]
            if cmd is not None:
                if server is not None:
                    server.stop()
                scheme = "postgresql+psycopg2" if "mlflow" in variant else "postgresql"
                db = recreate_database(args.pg, f"bench_{variant.replace('-', '_')}_{conc}")
                db = db.replace("postgresql", scheme, 1)
                server = Server([c.replace("{db}", db) for c in cmd], args.out / f"{variant}-c{conc}.log")
            print(f"{time.strftime('%H:%M:%S')} {variant} c={conc} (load {os.getloadavg()[0]:.1f})", flush=True)
            raw = run_harness(args.harness_python, server.base, conc, args.duration,
                              args.out / f"{variant}-c{conc}.json", extra, server.proc.pid)
            results[variant][conc] = {**figures(raw), "load1": os.getloadavg()[0]}
        if server is not None:
            server.stop()
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    lines = ["| server | c | req/s | p50 ms | p99 ms | errors (5xx) | max in Production seen | "
             "in Production at end | check | load1 |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for variant, by_c in results.items():
        for conc, f in sorted(by_c.items()):
            lines.append(f"| {variant} | {conc} | {f['rps'] or 0:.1f} | {f['p50'] or 0:.1f} | {f['p99'] or 0:.1f} | "
                         f"{f['errors']} ({f['5xx']}) | {f['max_production_seen'] if conc > 1 else '-'} | "
                         f"{f['final_production']} | {'pass' if f['passed'] else 'FAIL'} | {f['load1']:.1f} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
