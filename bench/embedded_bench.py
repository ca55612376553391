#!/usr/bin/env python
"""Embedded (no server) registry: Podium vs MLflow's own SQLite store, same machine, same run.

For each library, in its OWN fresh subprocess and on a fresh SQLite file in its own temp dir:

* setup (NOT timed): import the library, build ``MlflowClient(tracking_uri=sqlite:///..)``,
  create an experiment and a run, create the registered model. MLflow creates and migrates its
  database tables on first use (about a second); that cost, and imports, are excluded from the
  comparison for both sides (they are reported separately as "setup", for information);
* ``create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)`` N times on the
  one registered model, each call timed with ``time.perf_counter_ns``;
* ``set_registered_model_alias(name, "champion", 1)`` (not timed), then
  ``get_model_version_by_alias(name, "champion")`` N times, each call timed.

With ``--real-model`` the versions are registered from a real logged model instead of an empty
``runs:/`` source: setup (not timed) also fits a small scikit-learn model and logs it once with the
library's own ``sklearn.log_model(model, name="model")`` inside the run; each timed
``create_model_version(name, source=<the logged model's artifact location>, run_id=run_id)`` then
points at its 5 files (MLmodel, model.skops, conda.yaml, python_env.yaml, requirements.txt), which
Podium hashes into the version's SHA-256 manifest (part of the measured call; MLflow reads none of
them). ``get_latest_versions(name)`` is timed too in that mode.

The parent process only orchestrates: it runs ``--rounds`` rounds, alternating which library goes
first, and reports per operation the median over rounds of each round's per-call median, p90,
p99 and total, plus the ratio mlflow/podium (> 1 means Podium is faster), and each library's CPU
per call (the process CPU time of each timed loop over n; read outside the timed calls).

Usage::

    .venv/bin/python bench/embedded_bench.py                 # n=1000, rounds=3
    .venv/bin/python bench/embedded_bench.py --n 200 --rounds 5 --json /tmp/embedded.json
    .venv/bin/python bench/embedded_bench.py --real-model             # register a logged sklearn model
    .venv/bin/python bench/embedded_bench.py --real-model --mlflow-wal
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

LIBS = ("podium", "mlflow")
OPS = ("create_model_version", "get_model_version_by_alias")
#: --real-model also times get_latest_versions
REAL_MODEL_OPS = OPS + ("get_latest_versions",)
MODEL_NAME = "bench-model"
ALIAS = "champion"

# Same quiet, offline environment for both children.
_CHILD_ENV = {
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PYTHONWARNINGS": "ignore",
}
# Anything that would redirect either library away from the temp database.
_SCRUB_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "PODIUM_TRACKING_URI",
    "PODIUM_REGISTRY_URI",
    "PODIUM_ARTIFACT_ROOT",
)


# --------------------------------------------------------------------------- worker (child)
def _silence() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "sqlalchemy", "podium", "huey"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _tune_mlflow_sqlite() -> None:
    """Give MLflow's SQLite connections Podium's pragmas (WAL journal, synchronous=NORMAL).

    Benchmark-side only (a SQLAlchemy connect hook; MLflow itself is not modified). MLflow ships with
    SQLite's defaults (rollback journal, synchronous=FULL: an fsync per commit), Podium with WAL +
    NORMAL, so this option separates "less code per call" from "cheaper commits".
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    event.listen(Engine, "connect", on_connect)


def _log_real_model(lib: str, client, uri: str, experiment_id: str) -> tuple[str, str]:
    """Fit a small scikit-learn model and log it with the library's own ``sklearn.log_model`` in a
    new run of ``experiment_id``; returns ``(run_id, the logged model's artifact location)``."""
    import importlib

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    library = importlib.import_module(lib)
    flavor = importlib.import_module(f"{lib}.sklearn")
    rng = np.random.default_rng(0)
    features = rng.random((200, 4))
    model = LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))
    library.set_tracking_uri(uri)
    if lib == "mlflow":
        library.set_registry_uri(uri)
    with library.start_run(experiment_id=experiment_id) as run:
        info = flavor.log_model(model, name="model")
    location = client.get_logged_model(info.model_id).artifact_location
    return run.info.run_id, location


def _model_files(location: str) -> list[str]:
    path = location[len("file://"):] if location.startswith("file://") else location
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, _, files in os.walk(path) for f in files)


def worker(lib: str, n: int, tmp: str, mlflow_wal: bool = False, real_model: bool = False) -> dict:
    """Run one library's benchmark in this process, in the empty dir ``tmp``; return raw timings (ns)."""
    _silence()
    os.chdir(tmp)  # any stray default-location files land in the temp dir, not the checkout
    uri = f"sqlite:///{os.path.join(tmp, 'registry.db')}"

    t0 = time.perf_counter_ns()
    if lib == "mlflow":
        from mlflow import MlflowClient
    else:
        from podium import MlflowClient
    t_import = time.perf_counter_ns() - t0
    _silence()  # MLflow (re)configures its loggers on import
    if lib == "mlflow" and mlflow_wal:
        _tune_mlflow_sqlite()

    t0 = time.perf_counter_ns()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("bench", artifact_location=os.path.join(tmp, "artifacts"))
    if real_model:
        run_id, source = _log_real_model(lib, client, uri, experiment_id)
        files = _model_files(source)
    else:
        run_id = client.create_run(experiment_id).info.run_id
        source = f"runs:/{run_id}/model"
    client.create_registered_model(MODEL_NAME)
    t_setup = time.perf_counter_ns() - t0

    create = client.create_model_version
    clock = time.perf_counter_ns
    cpu = time.process_time_ns  # CPU of the whole loop (all threads), read outside the timed calls
    cpu_ns: dict[str, int] = {}
    create_ns = [0] * n
    mv = None
    c0 = cpu()
    for i in range(n):
        t = clock()
        mv = create(MODEL_NAME, source, run_id=run_id)
        create_ns[i] = clock() - t
    cpu_ns["create_model_version"] = cpu() - c0
    assert mv is not None and int(mv.version) == n, f"{lib}: last version is {mv and mv.version}, expected {n}"
    assert mv.run_id == run_id, f"{lib}: version run_id {mv.run_id!r} != {run_id!r}"

    client.set_registered_model_alias(MODEL_NAME, ALIAS, "1")
    by_alias = client.get_model_version_by_alias
    alias_ns = [0] * n
    c0 = cpu()
    for i in range(n):
        t = clock()
        mv = by_alias(MODEL_NAME, ALIAS)
        alias_ns[i] = clock() - t
    cpu_ns["get_model_version_by_alias"] = cpu() - c0
    assert str(mv.version) == "1" and ALIAS in mv.aliases, f"{lib}: alias resolved to {mv.version} {mv.aliases}"

    extra: dict = {}
    if real_model:
        latest = client.get_latest_versions
        latest_ns = [0] * n
        found = None
        c0 = cpu()
        for i in range(n):
            t = clock()
            found = latest(MODEL_NAME)
            latest_ns[i] = clock() - t
        cpu_ns["get_latest_versions"] = cpu() - c0
        assert found and int(found[0].version) == n, f"{lib}: latest versions {found}"
        extra = {"get_latest_versions": latest_ns, "source": source, "model_files": files}
        if lib == "podium":
            # every version got the files' manifest: the last one and one in the middle, checked
            # against a fresh hash of the files on disk
            for v in (n, (n + 1) // 2):
                manifest = client.get_model_version_manifest(MODEL_NAME, v)
                assert manifest is not None and sorted(f.path for f in manifest.files) == files, \
                    f"podium: version {v} manifest {manifest}"
                report = client.verify_model_version(MODEL_NAME, v)
                assert report["status"] == "intact", report

    if lib == "podium":
        assert "mlflow" not in sys.modules, "podium imported mlflow"
    version = __import__(lib).__version__
    return {
        "lib": lib,
        "version": version,
        "n": n,
        "mlflow_wal": mlflow_wal,
        "real_model": real_model,
        "import_ns": t_import,
        "setup_ns": t_setup,
        "create_model_version": create_ns,
        "get_model_version_by_alias": alias_ns,
        "cpu_ns": cpu_ns,
        **extra,
    }


# --------------------------------------------------------------------------- statistics
def percentile(sorted_values: list[int], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[k - 1]


def summarize(samples_ns: list[int]) -> dict:
    s = sorted(samples_ns)
    return {
        "median_us": statistics.median(s) / 1e3,
        "p90_us": percentile(s, 90) / 1e3,
        "p99_us": percentile(s, 99) / 1e3,
        "max_us": s[-1] / 1e3,
        "total_ms": sum(s) / 1e6,
    }


METRICS = (("median_us", "median / call", "µs"), ("p90_us", "p90 / call", "µs"),
           ("p99_us", "p99 / call", "µs"), ("total_ms", "total", "ms"))


# --------------------------------------------------------------------------- orchestration
def run_child(lib: str, n: int, mlflow_wal: bool = False, real_model: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
    env.update(_CHILD_ENV)
    with tempfile.TemporaryDirectory(prefix=f"bench-{lib}-", ignore_cleanup_errors=True) as tmp:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--n", str(n), "--workdir", tmp]
        if mlflow_wal:
            cmd.append("--mlflow-wal")
        if real_model:
            cmd.append("--real-model")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{lib} worker failed (exit {proc.returncode})")
    # The result is the last line of stdout; anything else the library printed is ignored.
    return json.loads(proc.stdout.strip().splitlines()[-1])


def orchestrate(n: int, rounds: int, quiet: bool = False, mlflow_wal: bool = False,
                keep_raw: bool = False, real_model: bool = False) -> dict:
    ops = REAL_MODEL_OPS if real_model else OPS
    model_files: list[str] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    per_round: list[dict] = []
    versions: dict[str, str] = {}
    for r in range(rounds):
        order = LIBS if r % 2 == 0 else LIBS[::-1]
        entry = {"round": r + 1, "order": list(order)}
        for lib in order:
            if not quiet:
                print(f"round {r + 1}/{rounds}: {lib} ...", file=sys.stderr, flush=True)
            raw = run_child(lib, n, mlflow_wal, real_model)
            versions[lib] = raw["version"]
            model_files = raw.get("model_files") or model_files
            entry[lib] = {
                "import_ms": raw["import_ns"] / 1e6,
                "setup_ms": raw["setup_ns"] / 1e6,
                **{op: {**summarize(raw[op]), "cpu_mean_us": raw["cpu_ns"][op] / n / 1e3} for op in ops},
            }
            if keep_raw:
                entry[lib]["raw_ns"] = {op: raw[op] for op in ops}
        per_round.append(entry)

    summary: dict = {}
    for lib in LIBS:
        summary[lib] = {
            "import_ms": statistics.median(e[lib]["import_ms"] for e in per_round),
            "setup_ms": statistics.median(e[lib]["setup_ms"] for e in per_round),
        }
        for op in ops:
            summary[lib][op] = {
                key: statistics.median(e[lib][op][key] for e in per_round)
                for key in ("median_us", "p90_us", "p99_us", "max_us", "total_ms", "cpu_mean_us")
            }
    ratios = {
        op: {key: summary["mlflow"][op][key] / summary["podium"][op][key] for key, _, _ in METRICS}
        for op in ops
    }
    return {
        "benchmark": "embedded_registry",
        "source": ("a logged sklearn model's artifact location (its files hashed by Podium)"
                   if real_model else "runs:/<run_id>/model (no files)"),
        "real_model": real_model,
        "model_files": model_files,
        "ops": list(ops),
        "date": started,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join([os.path.relpath(sys.executable)] + sys.argv),
        "machine": {
            "platform": platform.platform(),
            "processor": _cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": versions,
        "git": _git_state(),
        "n": n,
        "rounds": rounds,
        "mlflow_sqlite": "WAL + synchronous=NORMAL (--mlflow-wal)" if mlflow_wal else "as shipped (rollback journal, synchronous=FULL)",
        "podium_sqlite": "as shipped (WAL + synchronous=NORMAL)",
        "statistic": "median over rounds of each round's per-call median / p90 / p99 / total",
        "summary": summary,
        "ratio_mlflow_over_podium": ratios,
        "rounds_detail": per_round,
    }


def _git_state() -> dict:
    """Commit and whether podium/ has uncommitted edits (read-only git calls, no index refresh)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "--no-optional-locks", *args], cwd=root, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", "podium"))
    return {"commit": commit or "unknown", "podium_tree_dirty": dirty}

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------- output
def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def table_rows(result: dict) -> list[list[str]]:
    rows = []
    for op in result.get("ops", OPS):
        for key, label, unit in METRICS:
            p = result["summary"]["podium"][op][key]
            m = result["summary"]["mlflow"][op][key]
            rows.append([op if key == METRICS[0][0] else "", f"{label} ({unit})", _fmt(p), _fmt(m),
                         f"{m / p:.2f}x"])
    return rows


def cpu_line(result: dict) -> str:
    """Process CPU per call (the timed loop's CPU time / n), beside the wall-clock table: where the
    two differ, the call waited (an fsync, the disk, other processes holding the cores)."""
    s = result["summary"]
    parts = [f"{op} podium {_fmt(s['podium'][op]['cpu_mean_us'])} µs, mlflow {_fmt(s['mlflow'][op]['cpu_mean_us'])} µs"
             for op in result.get("ops", OPS)]
    return "CPU per call (process time of the loop / n, median over rounds): " + "; ".join(parts)


def print_report(result: dict) -> None:
    header = ["operation", "metric", f"podium {result['versions'].get('podium', '')}",
              f"mlflow {result['versions'].get('mlflow', '')}", "mlflow/podium"]
    rows = table_rows(result)
    title = (f"Embedded registry, SQLite, n={result['n']} calls/op, rounds={result['rounds']} "
             f"(median over rounds)")
    if result.get("real_model"):
        title += f"\nsource: a logged sklearn model ({len(result['model_files'])} files, hashed by Podium)"
    g = result["git"]
    title += f"\npodium @ {g['commit']}{' + uncommitted changes' if g['podium_tree_dirty'] else ''}"
    sqlite_note = f"MLflow SQLite: {result['mlflow_sqlite']}; Podium SQLite: {result['podium_sqlite']}"
    s = result["summary"]
    setup = (f"excluded from timing (median): import podium {s['podium']['import_ms']:.0f} ms, "
             f"mlflow {s['mlflow']['import_ms']:.0f} ms; setup (client + DB init + experiment + run "
             f"{'+ logging the sklearn model ' if result.get('real_model') else ''}+ registered model) podium {s['podium']['setup_ms']:.0f} ms, mlflow {s['mlflow']['setup_ms']:.0f} ms")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        print(title)
        for row in [header] + rows:
            print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        print(setup)
        print(sqlite_note)
        print(cpu_line(result))
        print("ratio > 1: Podium is faster")
        return
    table = Table(title=title, caption="ratio > 1: Podium is faster")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < 2 else "right")
    for i, row in enumerate(rows):
        table.add_row(*row, end_section=(i % len(METRICS) == len(METRICS) - 1))
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)
    console.print(table)
    console.print(setup, highlight=False)
    console.print(sqlite_note, highlight=False)
    console.print(cpu_line(result), highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="timed calls per operation (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; median of medians (default 3)")
    parser.add_argument("--json", metavar="OUT", help="also write the full result as JSON to OUT")
    parser.add_argument("--mlflow-wal", action="store_true",
                        help="run MLflow's SQLite with Podium's pragmas (WAL, synchronous=NORMAL) "
                             "instead of its defaults, to compare code paths at equal durability")
    parser.add_argument("--real-model", action="store_true",
                        help="register a real logged sklearn model (its artifact location, files hashed "
                             "into Podium's manifest) instead of an empty runs:/ source; also times "
                             "get_latest_versions")
    parser.add_argument("--raw", action="store_true", help="keep every per-call timing (ns) in the --json output")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--worker", choices=LIBS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        parser.error("--n and --rounds must be >= 1")

    if args.worker:
        if not args.workdir:
            parser.error("--worker needs --workdir")
        result = worker(args.worker, args.n, args.workdir, args.mlflow_wal, args.real_model)
        sys.stdout.write("\n" + json.dumps(result) + "\n")
        return 0

    result = orchestrate(args.n, args.rounds, args.quiet, args.mlflow_wal, args.raw, args.real_model)
    print_report(result)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
