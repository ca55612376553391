#!/usr/bin/env python
"""Import cost of ``import podium`` vs ``import mlflow``, each in fresh interpreters.

Two measurements per library, ``--runs`` times each (default 7), alternating which library goes
first, reported as medians:

* ``-X importtime``: ``python -X importtime -c "import X"``; the *cumulative* column of the
  top-level ``X`` line (everything ``import X`` pulled in that the interpreter had not already
  loaded at startup). Includes -X importtime's own bookkeeping overhead.
* wall clock: ``python -c "t=perf_counter(); import X; print(perf_counter()-t)"`` - the time a
  user actually waits for the import statement, without the importtime overhead.

Also reported, for context: the whole interpreter process (start, import, exit) as seen by the
parent. Then Podium's most expensive modules (median *self* time under -X importtime, with their
cumulative time) and the packages that cost most (self time summed per top-level package),
so an import-time regression points at its cause. Target: ``import podium`` <= 0.3 s (wall).

Usage::

    .venv/bin/python bench/import_time.py
    .venv/bin/python bench/import_time.py --runs 11 --top 15 --json /tmp/import.json --check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict

LIBS = ("podium", "mlflow")
TARGET_S = 0.3

_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")
_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"}


def _env() -> dict:
    env = dict(os.environ)
    env.update(_ENV)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with warm .pyc caches, as users see it
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def parse_importtime(stderr: str, top: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """(cumulative us of the top-level ``top`` line, {module: (self us, cumulative us)}).

    -X importtime prints in post-order (a module after everything it imported), with one space
    of indent for top-level imports. The modules of ``import top`` are therefore the lines
    between the previous top-level line (interpreter startup: site, encodings, ...) and ``top``.
    """
    parsed = []
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m:
            parsed.append((m.group(4), len(m.group(3)), int(m.group(1)), int(m.group(2))))
    end = next((i for i, (name, depth, _, _) in enumerate(parsed) if name == top and depth == 1), None)
    if end is None:
        raise RuntimeError(f"no top-level '{top}' line in -X importtime output:\n{stderr[-2000:]}")
    start = end
    while start > 0 and parsed[start - 1][1] > 1:
        start -= 1
    modules = {name: (self_us, cum_us) for name, _, self_us, cum_us in parsed[start:end + 1]}
    return parsed[end][3], modules


def run_importtime(lib: str) -> tuple[int, dict[str, tuple[int, int]]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {lib}"],
                          env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"'import {lib}' failed:\n{proc.stderr[-3000:]}")
    return parse_importtime(proc.stderr, lib)


def run_wall(lib: str) -> tuple[float, float, bool]:
    """(seconds inside the interpreter around the import, seconds for the whole process, mlflow loaded?)."""
    code = (
        "import time, sys\n"
        "t = time.perf_counter()\n"
        f"import {lib}\n"
        "dt = time.perf_counter() - t\n"
        "print(repr(dt), 'mlflow' in sys.modules)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"'import {lib}' failed:\n{proc.stderr[-3000:]}")
    value, mlflow_loaded = proc.stdout.strip().splitlines()[-1].split()
    return float(value), process_s, mlflow_loaded == "True"


def measure(runs: int) -> dict:
    # One untimed import each, so .pyc files are compiled before anything is measured.
    for lib in LIBS:
        run_wall(lib)
    data = {lib: {"importtime_us": [], "wall_s": [], "process_s": [], "modules": defaultdict(list)}
            for lib in LIBS}
    podium_pulls_mlflow = False
    for i in range(runs):
        order = LIBS if i % 2 == 0 else LIBS[::-1]
        for lib in order:
            cumulative, modules = run_importtime(lib)
            data[lib]["importtime_us"].append(cumulative)
            for name, values in modules.items():
                data[lib]["modules"][name].append(values)
        for lib in order:
            wall, process, mlflow_loaded = run_wall(lib)
            data[lib]["wall_s"].append(wall)
            data[lib]["process_s"].append(process)
            if lib == "podium" and mlflow_loaded:
                podium_pulls_mlflow = True
    return {"data": data, "podium_imports_mlflow": podium_pulls_mlflow}


def top_modules(modules: dict[str, list[tuple[int, int]]], runs: int, top: int) -> tuple[list, list]:
    """Most expensive modules by median self time, and per-package self-time sums."""
    rows = []
    for name, values in modules.items():
        selfs = [v[0] for v in values] + [0] * (runs - len(values))
        cums = [v[1] for v in values] + [0] * (runs - len(values))
        rows.append((name, statistics.median(selfs), statistics.median(cums)))
    rows.sort(key=lambda r: r[1], reverse=True)
    per_package: dict[str, float] = defaultdict(float)
    for name, self_us, _ in rows:
        per_package[name.split(".", 1)[0]] += self_us
    packages = sorted(per_package.items(), key=lambda kv: kv[1], reverse=True)
    return rows[:top], packages[:top]


def summarize(raw: dict, runs: int, top: int) -> dict:
    data = raw["data"]
    out: dict = {"runs": runs, "libs": {}}
    for lib in LIBS:
        d = data[lib]
        out["libs"][lib] = {
            "importtime_cumulative_ms": statistics.median(d["importtime_us"]) / 1e3,
            "wall_ms": statistics.median(d["wall_s"]) * 1e3,
            "process_ms": statistics.median(d["process_s"]) * 1e3,
            "modules_loaded": statistics.median(
                sum(1 for v in d["modules"].values() if len(v) > i) for i in range(runs)),
            "samples": {
                "importtime_cumulative_ms": [v / 1e3 for v in d["importtime_us"]],
                "wall_ms": [v * 1e3 for v in d["wall_s"]],
                "process_ms": [v * 1e3 for v in d["process_s"]],
            },
        }
    modules, packages = top_modules(data["podium"]["modules"], runs, top)
    out["podium_top_modules"] = [
        {"module": n, "self_ms": s / 1e3, "cumulative_ms": c / 1e3} for n, s, c in modules]
    out["podium_top_packages"] = [{"package": n, "self_ms": s / 1e3} for n, s in packages]
    out["podium_imports_mlflow"] = raw["podium_imports_mlflow"]
    wall = out["libs"]["podium"]["wall_ms"] / 1e3
    out["target_s"] = TARGET_S
    out["podium_within_target"] = wall <= TARGET_S
    return out


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


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib in LIBS:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "?"
    return out


def print_report(result: dict) -> None:
    libs = result["libs"]
    p, m = libs["podium"], libs["mlflow"]
    main_rows = [
        ["-X importtime cumulative (ms)", p["importtime_cumulative_ms"], m["importtime_cumulative_ms"]],
        ["wall clock around import (ms)", p["wall_ms"], m["wall_ms"]],
        ["whole interpreter process (ms)", p["process_ms"], m["process_ms"]],
        ["modules loaded by the import", p["modules_loaded"], m["modules_loaded"]],
    ]
    verdict = (f"import podium: {p['wall_ms'] / 1e3:.3f} s wall (target <= {result['target_s']} s): "
               + ("OK" if result["podium_within_target"] else "OVER TARGET"))
    if result["podium_imports_mlflow"]:
        verdict += "  WARNING: 'import podium' loaded mlflow"
    g = result["git"]
    title = (f"import time, fresh interpreters, median of {result['runs']} runs each (alternating)\n"
             f"podium @ {g['commit']}{' + uncommitted changes' if g['podium_tree_dirty'] else ''}")
    v = result["versions"]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        print(f"{'':32}{'podium ' + v['podium']:>16}{'mlflow ' + v['mlflow']:>16}{'mlflow/podium':>15}")
        for label, a, b in main_rows:
            spec = ",.0f" if label.startswith("modules") else ",.1f"
            print(f"{label:32}{a:>16{spec}}{b:>16{spec}}{b / a:>14.1f}x")
        print(verdict)
        print(f"\npodium: {len(result['podium_top_modules'])} most expensive modules (median self time)")
        print(f"{'module':50}{'self (ms)':>12}{'cumulative (ms)':>18}")
        for r in result["podium_top_modules"]:
            print(f"{r['module']:50}{r['self_ms']:>12.2f}{r['cumulative_ms']:>18.2f}")
        print("\npodium: self time per top-level package (ms)")
        for r in result["podium_top_packages"]:
            print(f"{r['package']:50}{r['self_ms']:>12.2f}")
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=110)
    t = Table(title=title, caption="ratio > 1: import podium is faster")
    t.add_column("measure")
    t.add_column(f"podium {v['podium']}", justify="right")
    t.add_column(f"mlflow {v['mlflow']}", justify="right")
    t.add_column("mlflow/podium", justify="right")
    for label, a, b in main_rows:
        fmt = "{:,.0f}" if label.startswith("modules") else "{:,.1f}"
        t.add_row(label, fmt.format(a), fmt.format(b), f"{b / a:.1f}x")
    console.print(t)
    console.print(verdict, highlight=False)
    t2 = Table(title=f"podium: {len(result['podium_top_modules'])} most expensive modules "
                     "(-X importtime, median self time)")
    t2.add_column("module")
    t2.add_column("self (ms)", justify="right")
    t2.add_column("cumulative (ms)", justify="right")
    for r in result["podium_top_modules"]:
        t2.add_row(r["module"], f"{r['self_ms']:.2f}", f"{r['cumulative_ms']:.2f}")
    console.print(t2)
    t3 = Table(title="podium: self time summed per top-level package")
    t3.add_column("package")
    t3.add_column("self (ms)", justify="right")
    for r in result["podium_top_packages"]:
        t3.add_row(r["package"], f"{r['self_ms']:.2f}")
    console.print(t3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per library and measure (default 7)")
    parser.add_argument("--top", type=int, default=10, help="how many of podium's modules to list (default 10)")
    parser.add_argument("--json", metavar="OUT", help="also write the full result as JSON to OUT")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if import podium (wall, median) exceeds {TARGET_S} s")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    result = summarize(measure(args.runs), args.runs, args.top)
    result.update({
        "benchmark": "import_time",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join([os.path.relpath(sys.executable)] + sys.argv),
        "machine": {"platform": platform.platform(), "processor": _cpu_model(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": _versions(),
        "git": _git_state(),
    })
    print_report(result)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")
    if args.check and not result["podium_within_target"]:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
