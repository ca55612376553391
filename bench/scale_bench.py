#!/usr/bin/env python3
"""Scale: podium server vs mlflow server at 1k / 10k / 100k registered models on PostgreSQL.

One command, from the repository root::

    .venv/bin/python bench/scale_bench.py                       # sizes 1000,10000,100000
    .venv/bin/python bench/scale_bench.py --sizes 1000,10000 --requests 100
    .venv/bin/python bench/scale_bench.py --explain-only        # populate + EXPLAIN ANALYZE, no servers

What it does:

1. (Re)creates two databases on the PostgreSQL server given by ``--pg`` (default the CI one,
   ``postgresql://postgres@127.0.0.1:5433/postgres``): ``scale_podium`` and ``scale_mlflow``.
   Podium's schema comes from its Alembic migrations; MLflow's from ``mlflow server`` itself (its
   own migrations run when it starts on an empty database).
2. Starts ``podium server --workers 2`` and ``mlflow server`` (MLflow's default 4 workers) on them.
3. For each size N, grows the data set incrementally (never through REST: MLflow needed ~240 s for
   10k models that way) by ``COPY`` into each product's own tables:

   * N registered models ``scale-000000`` ... with model tags ``team`` (50 values) and ``tier``
     (3 values), 3 versions each (v1 Archived, v2 Production, v3 None; version tag ``validated``),
     alias ``champion`` -> v2;
   * ONE model ``scale-big`` with N versions (v1 Production, v2 Staging, the rest None; alias
     ``champion`` -> v1).

   then ``VACUUM ANALYZE`` on both databases, and checks over each server's REST API that the rows
   are visible (the model count through search, the big model's newest version, tags, aliases).
4. Captures ``EXPLAIN (ANALYZE, BUFFERS)`` of every SQL statement Podium's store runs for the
   measured operations (``plans/<N>/*.txt``; a summary of sequential scans and sorts in the JSON).
5. Measures each operation over REST on both servers, interleaved (for each operation and
   concurrency, Podium then MLflow, the order alternating), at c=1 and c=8, a new TCP connection per
   request by default (MLflow's 4-worker server leaves TCP_NODELAY off, so keep-alive clients would
   measure a ~40 ms delayed-ACK stall; ``--keepalive`` to keep connections):

   ============================  ==========================================================
   get-latest-versions           ``POST registered-models/get-latest-versions`` (random model)
   get-latest-versions big       the same on ``scale-big`` (N versions)
   alias                         ``GET registered-models/alias`` (random model, ``champion``)
   model-versions/get            ``GET model-versions/get`` (random model, version 2)
   mv-search p1 big              ``GET model-versions/search`` ``name = 'scale-big'``, max_results=100
   mv-search deep big            the same, page 50 (page token obtained by walking pages 1..49; at
                                 1k the big model has 10 pages: page 10)
   rm-search tags.team           ``GET registered-models/search`` ``tags.team = 'team-NN'`` + the
                                 ``mlflow.prompt.is_prompt`` clause the mlflow client appends
   ============================  ==========================================================

Output: ``bench/results/<date>-scale/`` with ``results.json`` (every sample summary, machine load
per measurement, plans summary), ``summary.md`` (the table) and ``plans/``. Needs the repo's venv
(podium, mlflow 3.17.2, psycopg 3, aiohttp, optionally rich).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5433/postgres"
T0 = 1_700_000_000_000  # ms: model i is created at T0 + i * 1000
BIG = "scale-big"
TEAMS = [f"team-{i:02d}" for i in range(50)]
TIERS = ("gold", "silver", "bronze")
PROMPT = "tag.`mlflow.prompt.is_prompt` != 'true'"
A2 = "/api/2.0/mlflow"
DEEP_PAGE = 50
PAGE = 100


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def model_name(i: int) -> str:
    return f"scale-{i:06d}"


# ------------------------------------------------------------------------------ databases
def db_url(base: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def psycopg_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def recreate_database(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _copy(cur, table: str, columns: tuple[str, ...], rows) -> int:
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def _run_id(i: int, v: int) -> str:
    return f"{(i * 7919 + v * 104729) & 0xFFFFFFFFFFFFFFFF:016x}{i:08x}{v:08x}"


def _model_rows(lo: int, hi: int):
    """(i, name, created, updated, team, tier) for models lo..hi-1."""
    for i in range(lo, hi):
        created = T0 + i * 1000
        yield i, model_name(i), created, created + 3, TEAMS[i % 50], TIERS[i % 3]


REGULAR_STAGES = {1: "Archived", 2: "Production", 3: "None"}


def _big_stage(v: int) -> str:
    return {1: "Production", 2: "Staging"}.get(v, "None")


BIG_T0 = T0 - 10**9  # the big model's versions: BIG_T0 + v (all distinct, all before the others)


def populate_podium(url: str, lo: int, hi: int, big_lo: int, big_hi: int) -> dict:
    """Grow Podium's data set: models lo..hi-1 (3 versions each) and big-model versions big_lo..big_hi-1."""
    import psycopg

    counts: dict[str, int] = {}
    with psycopg.connect(psycopg_url(url)) as conn, conn.cursor() as cur:
        if lo == 0:  # the big model first, id 1
            cur.execute(
                "INSERT INTO registered_models (id, name, creation_timestamp, last_updated_timestamp, last_version)"
                " VALUES (1, %s, %s, %s, 0)", (BIG, BIG_T0, BIG_T0))
            cur.execute("INSERT INTO registered_model_tags (model, key, value) VALUES (1, 'team', 'team-big')")
        models = list(_model_rows(lo, hi))
        counts["registered_models"] = _copy(
            cur, "registered_models",
            ("id", "name", "creation_timestamp", "last_updated_timestamp", "last_version"),
            ((i + 2, name, c, u, 3) for i, name, c, u, _, _ in models))
        counts["registered_model_tags"] = _copy(
            cur, "registered_model_tags", ("model", "key", "value"),
            (row for i, _, _, _, team, tier in models for row in ((i + 2, "team", team), (i + 2, "tier", tier))))
        versions = [(i + 2, v, REGULAR_STAGES[v], c + v, _run_id(i, v)) for i, _, c, _, _, _ in models for v in (1, 2, 3)]
        versions += [(1, v, _big_stage(v), BIG_T0 + v, _run_id(-1, v)) for v in range(big_lo, big_hi)]
        counts["model_versions"] = _copy(
            cur, "model_versions",
            ("model", "version", "current_stage", "source", "run_id", "status", "creation_timestamp",
             "last_updated_timestamp"),
            ((m, v, st, f"models:/m-{rid[:12]}", rid, "READY", ts, ts) for m, v, st, ts, rid in versions))
        counts["model_version_tags"] = _copy(
            cur, "model_version_tags", ("model", "version", "key", "value"),
            ((m, v, "validated", "true" if v % 2 else "false") for m, v, _, _, _ in versions))
        aliases = [(i + 2, "champion", 2) for i, *_ in models] + ([(1, "champion", 1)] if lo == 0 else [])
        counts["registered_model_aliases"] = _copy(cur, "registered_model_aliases", ("model", "alias", "version"), aliases)
        cur.execute("UPDATE registered_models SET last_version = %s, last_updated_timestamp = %s WHERE id = 1",
                    (big_hi - 1, BIG_T0 + big_hi - 1))
        cur.execute("SELECT setval(pg_get_serial_sequence('registered_models', 'id'), (SELECT max(id) FROM registered_models))")
        conn.commit()
    return counts


def populate_mlflow(url: str, lo: int, hi: int, big_lo: int, big_hi: int) -> dict:
    """The same rows in MLflow 3.17.2's own schema (workspace column left at its default)."""
    import psycopg

    counts: dict[str, int] = {}
    with psycopg.connect(psycopg_url(url)) as conn, conn.cursor() as cur:
        if lo == 0:
            cur.execute("INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES (%s, %s, %s)",
                        (BIG, BIG_T0, BIG_T0))
            cur.execute("INSERT INTO registered_model_tags (key, value, name) VALUES ('team', 'team-big', %s)", (BIG,))
        models = list(_model_rows(lo, hi))
        counts["registered_models"] = _copy(
            cur, "registered_models", ("name", "creation_time", "last_updated_time"),
            ((name, c, u) for _, name, c, u, _, _ in models))
        counts["registered_model_tags"] = _copy(
            cur, "registered_model_tags", ("key", "value", "name"),
            (row for _, name, _, _, team, tier in models for row in (("team", team, name), ("tier", tier, name))))
        versions = [(name, v, REGULAR_STAGES[v], c + v, _run_id(i, v)) for i, name, c, _, _, _ in models for v in (1, 2, 3)]
        versions += [(BIG, v, _big_stage(v), BIG_T0 + v, _run_id(-1, v)) for v in range(big_lo, big_hi)]
        counts["model_versions"] = _copy(
            cur, "model_versions",
            ("name", "version", "current_stage", "source", "run_id", "status", "creation_time", "last_updated_time"),
            ((n, v, st, f"models:/m-{rid[:12]}", rid, "READY", ts, ts) for n, v, st, ts, rid in versions))
        counts["model_version_tags"] = _copy(
            cur, "model_version_tags", ("key", "value", "name", "version"),
            (("validated", "true" if v % 2 else "false", n, v) for n, v, _, _, _ in versions))
        aliases = [("champion", 2, name) for _, name, *_ in models] + ([("champion", 1, BIG)] if lo == 0 else [])
        counts["registered_model_aliases"] = _copy(cur, "registered_model_aliases", ("alias", "version", "name"), aliases)
        cur.execute("UPDATE registered_models SET last_updated_time = %s WHERE name = %s", (BIG_T0 + big_hi - 1, BIG))
        conn.commit()
    return counts


# ------------------------------------------------------------------------------ servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process started in its own session; stopped by signalling that process group."""

    def __init__(self, kind: str, db: str, workdir: Path, workers: int | None):
        self.kind, self.port = kind, free_port()
        self.workdir = workdir / kind
        self.workdir.mkdir(parents=True, exist_ok=True)
        art = str(self.workdir / "artifacts")
        common = ["--artifacts-destination", art, "--host", "127.0.0.1", "--port", str(self.port)]
        if kind == "podium":
            self.cmd = [str(VENV_BIN / "podium"), "server", "--backend-store-uri", db, *common, "--no-access-log",
                        "--workers", "1"]  # as recorded before decision 0028's default
        else:
            self.cmd = [str(VENV_BIN / "mlflow"), "server", "--backend-store-uri",
                        db.replace("postgresql://", "postgresql+psycopg://", 1), *common]
        if workers:
            self.cmd += ["--workers", str(workers)]
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cmdline(self) -> str:
        return " ".join(self.cmd).replace(str(self.workdir), f"<tmp>/{self.kind}")

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        logf = open(self.workdir / "server.log", "ab")
        self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        logf.close()
        deadline = time.time() + 240
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited; see {self.workdir / 'server.log'}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"{self.kind} did not answer /health")
        log(f"started {self.kind} pid {self.proc.pid} on :{self.port}: {self.cmdline()}")

    def settle(self, seconds: float = 60) -> None:
        """Wait until the process tree is (nearly) idle: MLflow keeps booting workers and consumers."""
        end = time.time() + seconds
        while time.time() < end:
            c0 = _tree_cpu(self.proc.pid)
            time.sleep(1.0)
            if _tree_cpu(self.proc.pid) - c0 < 0.05:
                return

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group this script created
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        time.sleep(1)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log(f"stopped {self.kind}")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of the process group ``pid`` leads (Linux /proc)."""
    total, tck = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:  # pgrp
            total += (int(fields[11]) + int(fields[12])) / tck
    return total


def _cpu_times() -> tuple[float, float]:
    with open("/proc/stat") as f:
        vals = [float(x) for x in f.readline().split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals), idle


def wait_quiet(max_s: float, busy_pct: float = 50.0) -> dict:
    """Wait (at most ``max_s``) for a 2 s window in which the machine is less than ``busy_pct`` busy."""
    t0 = time.time()
    while True:
        a = _cpu_times()
        time.sleep(2.0)
        b = _cpu_times()
        busy = 100.0 * (1 - (b[1] - a[1]) / max(b[0] - a[0], 1e-9))
        if busy < busy_pct or time.time() - t0 >= max_s:
            return {"waited_s": round(time.time() - t0, 1), "window_busy_pct": round(busy, 1),
                    "quiet": busy < busy_pct, "loadavg": os.getloadavg()}


def api(base: str, method: str, path: str, params: dict | None = None, body: dict | None = None):
    url = base + A2 + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def verify(server: Server, size: int) -> dict:
    """Through the server's REST API: the loaded rows are visible."""
    b = server.base
    last = model_name(size - 1)
    model = api(b, "GET", "/registered-models/get", {"name": last})["registered_model"]
    tags = {t["key"]: t["value"] for t in model.get("tags", [])}
    assert tags == {"team": TEAMS[(size - 1) % 50], "tier": TIERS[(size - 1) % 3]}, tags
    assert {a["alias"]: a["version"] for a in model.get("aliases", [])} == {"champion": "2"}, model
    latest = api(b, "POST", "/registered-models/get-latest-versions", body={"name": BIG})["model_versions"]
    by_stage = {v["current_stage"]: int(v["version"]) for v in latest}
    assert by_stage == {"Production": 1, "Staging": 2, "None": size}, by_stage
    team = TEAMS[7]
    found, token = 0, None
    while True:
        params = {"filter": f"tags.team = '{team}' AND {PROMPT}", "max_results": 1000}
        if token:
            params["page_token"] = token
        page = api(b, "GET", "/registered-models/search", params)
        found += len(page.get("registered_models", []))
        token = page.get("next_page_token")
        if not token:
            break
    expected = sum(1 for i in range(size) if i % 50 == 7)
    assert found == expected, (found, expected)
    return {"last_model": last, "big_latest": by_stage, f"models with team {team}": found}


# ------------------------------------------------------------------------------ plans
def explain_podium(url: str, size: int, outdir: Path) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the store runs for each measured operation."""
    from sqlalchemy import event

    from podium.store.sql.engine import Database
    from podium.store.sql.registry import SqlRegistryStore

    db = Database(url, upgrade=False)
    store = SqlRegistryStore(db)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    token = None
    for _ in range(deep_page(size) - 1):
        token = store.search_model_versions(f"name = '{BIG}'", PAGE, None, token).token
    calls = {op: (lambda f=f: f(store)) for op, f in calls_for(size, token).items()}
    summary = {}
    outdir.mkdir(parents=True, exist_ok=True)
    for op, call in calls.items():
        captured.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        texts, seq, sorts, total_ms = [], [], 0, 0.0
        with db.engine.connect() as conn:
            for statement, params in captured:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
                plan = "\n".join(r[0] for r in rows)
                texts.append(f"-- {statement}\n-- params: {params!r}\n{plan}\n")
                for line in plan.splitlines():
                    if "Seq Scan on" in line:
                        seq.append(line.strip())
                    if line.strip().startswith("->  Sort") or line.strip().startswith("Sort "):
                        sorts += 1
                    if line.startswith("Execution Time:"):
                        total_ms += float(line.split(":")[1].split()[0])
        (outdir / f"podium-{op.replace('/', '_').replace(' ', '_')}.txt").write_text("\n".join(texts))
        summary[op] = {"statements": len(texts), "seq_scans": seq, "sorts": sorts,
                       "execution_ms": round(total_ms, 3)}
    db.dispose()
    for op, worst in generic_plan_times(url, calls_for(size, token)).items():
        summary[op]["generic_plan_worst_statement_ms"] = worst
    return summary


def generic_plan_times(url: str, calls: dict) -> dict:
    """A long-running server's view: psycopg prepares a statement after 5 executions and PostgreSQL
    may then switch to a generic plan (planned without the parameter values). Every statement is
    prepared at once and planned generically here; the slowest statement of the third call is
    reported (ms), so a plan that is only fast with the values in hand shows up."""
    import time as _time

    from sqlalchemy import event

    from podium.store.sql.engine import Database
    from podium.store.sql.registry import SqlRegistryStore

    db = Database(url, upgrade=False)

    def generic(dbapi_connection, _record):
        dbapi_connection.prepare_threshold = 0
        with dbapi_connection.cursor() as cur:
            cur.execute("SET plan_cache_mode = force_generic_plan")
        dbapi_connection.commit()

    event.listen(db.engine, "connect", generic)
    started: dict = {}
    spans: list[float] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda c, cur, st, p, ctx, em: started.__setitem__(id(ctx), _time.perf_counter()))
    event.listen(db.engine, "after_cursor_execute",
                 lambda c, cur, st, p, ctx, em: spans.append(_time.perf_counter() - started[id(ctx)]))
    store = SqlRegistryStore(db)
    out = {}
    for op, call in calls.items():
        for _ in range(3):
            spans.clear()
            call(store)
        out[op] = round(max(spans) * 1000, 2)
    db.dispose()
    return out


def calls_for(size: int, token: str | None) -> dict:
    return {
        "get-latest-versions": lambda s: s.get_latest_versions(model_name(size // 2)),
        "get-latest-versions big": lambda s: s.get_latest_versions(BIG),
        "alias": lambda s: s.get_model_version_by_alias(model_name(size // 2), "champion"),
        "model-versions/get": lambda s: s.get_model_version(model_name(size // 2), 2),
        "mv-search p1 big": lambda s: s.search_model_versions(f"name = '{BIG}'", PAGE),
        "mv-search deep big": lambda s: s.search_model_versions(f"name = '{BIG}'", PAGE, None, token),
        "rm-search tags.team": lambda s: s.search_registered_models(f"tags.team = 'team-07' AND {PROMPT}", PAGE),
    }


# ------------------------------------------------------------------------------ measuring
class Ops:
    """Request makers per operation; each returns (method, path, params, body, check)."""

    def __init__(self, size: int, deep_tokens: dict[str, str]):
        self.size = size
        self.deep_tokens = deep_tokens  # server kind -> page token of the deep page

    def names(self) -> list[str]:
        return ["get-latest-versions", "get-latest-versions big", "alias", "model-versions/get",
                "mv-search p1 big", "mv-search deep big", "rm-search tags.team"]

    def request(self, op: str, kind: str, rnd: random.Random):
        name = model_name(rnd.randrange(self.size))
        if op == "get-latest-versions":
            return "POST", "/registered-models/get-latest-versions", None, {"name": name}, _n_items("model_versions", 3)
        if op == "get-latest-versions big":
            return "POST", "/registered-models/get-latest-versions", None, {"name": BIG}, _n_items("model_versions", 3)
        if op == "alias":
            return "GET", "/registered-models/alias", {"name": name, "alias": "champion"}, None, _version_is("2")
        if op == "model-versions/get":
            return "GET", "/model-versions/get", {"name": name, "version": "2"}, None, _version_is("2")
        if op == "mv-search p1 big":
            return ("GET", "/model-versions/search", {"filter": f"name = '{BIG}'", "max_results": str(PAGE)},
                    None, _n_items("model_versions", min(PAGE, self.size)))
        if op == "mv-search deep big":
            params = {"filter": f"name = '{BIG}'", "max_results": str(PAGE), "page_token": self.deep_tokens[kind]}
            return "GET", "/model-versions/search", params, None, _n_items("model_versions", PAGE)
        if op == "rm-search tags.team":
            team = rnd.randrange(50)
            expect = min(PAGE, sum(1 for _ in range(team, self.size, 50)))
            params = {"filter": f"tags.team = '{TEAMS[team]}' AND {PROMPT}", "max_results": str(PAGE)}
            return "GET", "/registered-models/search", params, None, _n_items("registered_models", expect)
        raise ValueError(op)


def _n_items(field: str, n: int):
    return lambda doc: len(doc.get(field, [])) == n


def _version_is(v: str):
    return lambda doc: doc.get("model_version", {}).get("version") == v


def deep_page(size: int) -> int:
    """The page measured as "deep": 50, or the last page when the big model has fewer."""
    return min(DEEP_PAGE, size // PAGE)


def deep_page_token(base: str, pages: int) -> tuple[str, float]:
    """Walk pages 1..pages-1 of the big model's versions; the token for page ``pages`` and the walk time."""
    token, t0 = None, time.perf_counter()
    for _ in range(pages - 1):
        params = {"filter": f"name = '{BIG}'", "max_results": str(PAGE)}
        if token:
            params["page_token"] = token
        token = api(base, "GET", "/model-versions/search", params)["next_page_token"]
    return token, time.perf_counter() - t0


async def _measure(base: str, kind: str, ops: Ops, op: str, c: int, n: int, budget_s: float,
                   keepalive: bool, warm: int) -> dict:
    import aiohttp

    rnd = random.Random(hash((op, c, kind)) & 0xFFFF)
    connector = aiohttp.TCPConnector(limit=0, force_close=not keepalive)
    timeout = aiohttp.ClientTimeout(total=120)
    lat: list[float] = []
    errors: dict[str, int] = {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(record: bool) -> None:
            method, path, params, body, check = ops.request(op, kind, rnd)
            t = time.perf_counter()
            try:
                async with session.request(method, base + A2 + path, params=params, json=body) as r:
                    payload = await r.read()
                    status = r.status
                ms = (time.perf_counter() - t) * 1000
                if status != 200:
                    errors[f"http {status}"] = errors.get(f"http {status}", 0) + 1
                    return
                if not check(json.loads(payload)):
                    errors["wrong answer"] = errors.get("wrong answer", 0) + 1
                    return
                if record:
                    lat.append(ms)
            except Exception as exc:  # noqa: BLE001 - counted, never fatal
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        for _ in range(warm):
            await one(False)
        started = time.perf_counter()
        deadline = started + budget_s  # then stop once 10 requests were issued
        hard_deadline = started + 10 * budget_s
        issued = 0

        async def worker() -> None:
            nonlocal issued
            while issued < n and (time.perf_counter() < deadline or issued < min(n, 10)) \
                    and time.perf_counter() < hard_deadline:
                issued += 1
                await one(True)

        cpu0 = _cpu_times()
        load0 = os.getloadavg()[0]
        await asyncio.gather(*(worker() for _ in range(c)))
        wall = time.perf_counter() - started
        cpu1 = _cpu_times()
    busy = 100.0 * (1 - (cpu1[1] - cpu0[1]) / max(cpu1[0] - cpu0[0], 1e-9))
    lat.sort()
    return {
        "op": op, "server": kind, "c": c, "n": len(lat), "errors": errors,
        "p50_ms": round(_pct(lat, 50), 2) if lat else None,
        "p99_ms": round(_pct(lat, 99), 2) if lat else None,
        "max_ms": round(lat[-1], 2) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
        "rps": round(len(lat) / wall, 1) if wall else None,
        "machine_busy_pct": round(busy, 1), "loadavg_1m_before": round(load0, 2),
    }


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    k = max(0, min(len(values) - 1, int(round(q / 100 * len(values) + 0.5)) - 1))
    return values[k]


# ------------------------------------------------------------------------------ report
def table(results: list[dict], sizes: list[int]) -> str:
    ops, cs = [], []
    for r in results:
        if r["op"] not in ops:
            ops.append(r["op"])
        if r["c"] not in cs:
            cs.append(r["c"])
    index = {(r["size"], r["op"], r["c"], r["server"]): r for r in results}

    def cell(r):
        if r is None or r["p50_ms"] is None:
            return "n/a"
        err = f" ({sum(r['errors'].values())} err)" if r["errors"] else ""
        return f"{_fmt(r['p50_ms'])} / {_fmt(r['p99_ms'])}{err}"

    head = "| operation | c | " + " | ".join(f"Podium {_k(s)} | MLflow {_k(s)}" for s in sizes) + " |"
    sep = "|---|---:|" + "---:|---:|" * len(sizes)
    lines = [head, sep]
    for op in ops:
        for c in cs:
            cells = []
            for s in sizes:
                cells += [cell(index.get((s, op, c, "podium"))), cell(index.get((s, op, c, "mlflow")))]
            lines.append(f"| {op} | {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def _k(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


# ------------------------------------------------------------------------------ main
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server (a URL to any database on it)")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--requests", type=int, default=200, help="measured requests per operation at c=1 (x2 at c=8)")
    p.add_argument("--budget", type=float, default=6.0, help="seconds per measurement (at least 10 requests, at most 10x this)")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--keepalive", action="store_true", help="keep-alive connections (default: one per request)")
    p.add_argument("--podium-workers", type=int, default=2)
    p.add_argument("--mlflow-workers", type=int, default=None, help="default: MLflow's own (4)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quiet-timeout", type=float, default=45.0,
                   help="before each size, wait at most this long for a quiet machine (<50%% busy)")
    p.add_argument("--explain-only", action="store_true", help="populate and EXPLAIN; start no server")
    p.add_argument("--no-mlflow", action="store_true", help="Podium only")
    p.add_argument("--keep-databases", action="store_true")
    args = p.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    concurrency = [int(c) for c in args.concurrency.split(",")]
    out = args.out or REPO / "bench" / "results" / f"{dt.date.today().isoformat()}-scale"
    out.mkdir(parents=True, exist_ok=True)
    podium_url, mlflow_url = db_url(args.pg, "scale_podium"), db_url(args.pg, "scale_mlflow")
    t_start = time.time()
    meta = {
        "started": dt.datetime.now().isoformat(timespec="seconds"), "sizes": sizes, "concurrency": concurrency,
        "keepalive": args.keepalive, "requests": args.requests, "budget_s": args.budget,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
        "page": PAGE, "deep_page": DEEP_PAGE,
    }
    log(f"machine: {os.cpu_count()} cpus, loadavg {os.getloadavg()}")
    for name in ("scale_podium", "scale_mlflow"):
        recreate_database(args.pg, name)
    from podium.store.sql.engine import Database

    Database(podium_url).dispose()  # Podium's schema: its Alembic migrations
    workdir = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    servers: dict[str, Server] = {}
    results: list[dict] = []
    report: dict = {"meta": meta, "sizes": {}, "results": results}
    try:
        if not args.no_mlflow:
            mlflow = Server("mlflow", mlflow_url, workdir, args.mlflow_workers)
            mlflow.start()  # creates MLflow's schema
            servers["mlflow"] = mlflow
            if args.explain_only:
                mlflow.stop()
        if not args.explain_only:
            podium = Server("podium", podium_url, workdir, args.podium_workers)
            podium.start()
            servers["podium"] = podium
        meta["servers"] = {k: s.cmdline() for k, s in servers.items()}
        done = 0
        for size in sizes:
            entry: dict = {}
            t = time.perf_counter()
            entry["podium_rows"] = populate_podium(podium_url, done, size, done + 1, size + 1)
            entry["podium_load_s"] = round(time.perf_counter() - t, 1)
            if not args.no_mlflow:
                t = time.perf_counter()
                entry["mlflow_rows"] = populate_mlflow(mlflow_url, done, size, done + 1, size + 1)
                entry["mlflow_load_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            vacuum_analyze(podium_url)
            if not args.no_mlflow:
                vacuum_analyze(mlflow_url)
            entry["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
            done = size
            log(f"size {size}: loaded podium in {entry['podium_load_s']} s, mlflow in {entry.get('mlflow_load_s')} s, "
                f"vacuum analyze {entry['vacuum_analyze_s']} s")
            entry["plans"] = explain_podium(podium_url, size, out / "plans" / str(size))
            for op, s in entry["plans"].items():
                log(f"  plan {op}: {s['statements']} statements, {s['execution_ms']} ms, "
                    f"{len(s['seq_scans'])} seq scans, {s['sorts']} sorts; generic plans: slowest statement "
                    f"{s['generic_plan_worst_statement_ms']} ms")
            report["sizes"][size] = entry
            if args.explain_only:
                continue
            entry["verified"] = {k: verify(s, size) for k, s in servers.items()}
            log(f"  verified over REST: {entry['verified']}")
            deep, walks = {}, {}
            for k, s in servers.items():
                deep[k], walks[k] = deep_page_token(s.base, deep_page(size))
            entry["deep_page"] = deep_page(size)
            entry["walk_to_deep_page_s"] = {k: round(v, 3) for k, v in walks.items()}
            log(f"  walking to page {deep_page(size)}: {entry['walk_to_deep_page_s']}")
            if size == sizes[0] and "mlflow" in servers:
                servers["mlflow"].settle(60)
            ops = Ops(size, deep)
            entry["quiet_wait"] = wait_quiet(args.quiet_timeout)
            log(f"  machine before measuring: {entry['quiet_wait']}")
            flip = False
            for op in ops.names():
                for c in concurrency:
                    order = ["podium", "mlflow"] if not flip else ["mlflow", "podium"]
                    flip = not flip
                    for kind in (k for k in order if k in servers):
                        n = args.requests * (2 if c > 1 else 1)
                        r = asyncio.run(_measure(servers[kind].base, kind, ops, op, c, n, args.budget,
                                                 args.keepalive, warm=10))
                        r["size"] = size
                        results.append(r)
                        log(f"  {size:>6} {op:<24} c={c} {kind:<6} p50 {r['p50_ms']} p99 {r['p99_ms']} ms "
                            f"n={r['n']} err={r['errors'] or 0} busy {r['machine_busy_pct']}%")
            (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    finally:
        for s in servers.values():
            s.stop()
        (out / "logs").mkdir(exist_ok=True)
        for kind in ("podium", "mlflow"):
            log_file = workdir / kind / "server.log"
            if log_file.exists():
                shutil.copyfile(log_file, out / "logs" / f"{kind}-server.log")
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_databases:
            for name in ("scale_podium", "scale_mlflow"):
                try:
                    drop_database(args.pg, name)
                except Exception:  # noqa: BLE001 - best effort
                    pass
    meta["wall_s"] = round(time.time() - t_start, 1)
    meta["loadavg_at_end"] = os.getloadavg()
    (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    if results:
        md = table(results, sizes)
        (out / "summary.md").write_text(
            f"# Scale: podium vs mlflow on PostgreSQL ({meta['started']})\n\n"
            f"p50 / p99 latency in ms, {'keep-alive' if args.keepalive else 'a new connection per request'}; "
            f"servers: {json.dumps(meta.get('servers'))}\n\n{md}\n")
        print(md)
    log(f"done in {meta['wall_s']} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
