#!/usr/bin/env python3
"""sql_floor.py: what the SQL of one registry request costs on the driver alone (SQLite; issue 14).

A server's CPU per request cannot fall below the database work the request does. For each
operation (get model, create version from a runs:/ source, transition to Production archiving the
stage's other version) this script records the statements Podium sends for one call (the
``before_cursor_execute`` event on the store's engine, in process), then replays exactly those
statements with their recorded parameters N times on a plain ``sqlite3`` connection to the same
database, as Podium runs them: ``BEGIN`` ... ``ROLLBACK`` for a read, ``BEGIN IMMEDIATE`` ...
``COMMIT`` for a write (WAL, synchronous=NORMAL, as Podium sets them). A write's replay takes the
version number its ``UPDATE ... RETURNING`` returns and puts it where the recorded number was, so each
replayed create inserts a new version. The CPU per replayed operation (``time.process_time``) is the
floor: no HTTP, no Python around the driver but the loop. ``calibrate.py``'s endpoint (one indexed
SELECT behind uvicorn) is measured beside it, so the floor reads as a ratio the way issue 14's targets do.

    .venv/bin/python bench/sql_floor.py [--n 3000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HARNESS = Path(os.environ.get("PODIUM_BENCH_HARNESS", "/work/shared/bench"))


def record(workdir: Path) -> tuple[str, dict]:
    """A database with a model, a run and a few versions; the statements of one call of each operation."""
    from sqlalchemy import event

    from podium.compose import build

    db = workdir / "p.db"
    backend = build(f"sqlite:///{db}", artifact_root=str(workdir / "art"))
    registry, tracking = backend.registry, backend.tracking
    run_id = tracking.create_run("0", start_time=0).info.run_id
    registry.create_registered_model("m")
    for _ in range(20):  # version numbers well above the model's key, so replay can tell them apart
        registry.create_model_version("m", f"runs:/{run_id}/model", run_id=run_id)
    registry.transition_model_version_stage("m", 1, "Production")
    engine = registry.registry.db.engine
    log: list = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: log.append((sql, params, many)))
    operations = {
        "get-model": ("read", lambda: registry.get_registered_model("m")),
        "create-version": ("write", lambda: registry.create_model_version("m", f"runs:/{run_id}/model", run_id=run_id)),
        "transition": ("write", lambda: registry.transition_model_version_stage_with_warnings("m", 2, "Production", True)),
    }
    recorded = {}
    for name, (kind, call) in operations.items():
        log.clear()
        call()
        recorded[name] = {"kind": kind, "statements": list(log)}
    backend.close()
    return str(db), recorded


def replay(db: str, kind: str, statements: list, n: int) -> float:
    """CPU seconds per replay of ``statements`` (see the module's docstring)."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    bump = next((i for i, (sql, _, _) in enumerate(statements) if "last_version" in sql and "RETURNING" in sql), None)
    recorded_version = None
    if bump is not None:  # the create's recorded version number, to be replaced by each replay's own
        recorded_version = next(p for sql, p, _ in statements[bump + 1:] if sql.startswith("INSERT INTO model_versions"))[1]
    cpu = time.process_time()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE" if kind == "write" else "BEGIN")
        version = None
        for i, (sql, params, many) in enumerate(statements):
            if version is not None:
                params = [_swap(p, recorded_version, version) for p in params] if many else _swap(params, recorded_version, version)
            cursor = conn.executemany(sql, params) if many else conn.execute(sql, params)
            rows = cursor.fetchall()
            if i == bump:
                version = rows[0][1]
        conn.execute("COMMIT" if kind == "write" else "ROLLBACK")
    spent = time.process_time() - cpu
    conn.close()
    return spent / n


def _swap(params, old, new):
    return tuple(new if type(v) is int and v == old else v for v in params)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="replays per operation")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db, recorded = record(Path(tmp))
        floors = {name: 1000 * replay(db, op["kind"], op["statements"], a.n) for name, op in recorded.items()}
        cal_json = Path(tmp) / "cal.json"
        subprocess.run([sys.executable, str(HARNESS / "calibrate.py"), "--duration", "4", "--json", str(cal_json)],
                       check=True, stdout=subprocess.DEVNULL)
        calibration = json.loads(cal_json.read_text())["calibration"]["c1"]["server_cpu_ms_per_request"]
    print(f"calibration endpoint (one indexed SELECT behind uvicorn): {calibration:.3f} ms CPU per request")
    print("| operation | statements (+ BEGIN, COMMIT/ROLLBACK) | SQL alone, CPU per operation | × calibration |")
    print("|---|---:|---:|---:|")
    for name, op in recorded.items():
        print(f"| {name} | {len(op['statements'])} | {floors[name]:.3f} ms | {floors[name] / calibration:.1f}× |")
    if a.json:
        Path(a.json).write_text(json.dumps({
            "calibration_cpu_ms": calibration, "load": os.getloadavg(),
            "operations": {name: {"statements": [s for s, _, _ in op["statements"]], "floor_cpu_ms": floors[name]}
                           for name, op in recorded.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
