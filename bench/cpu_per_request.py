#!/usr/bin/env python3
"""Server CPU per request, against the calibration endpoint, before and after a change (issue 14).

Wall-clock throughput on a shared 2-core machine moves with every other job; the CPU time the
server process spends per request moves much less. For each side (``--before REF``: a git ref
extracted to a temp dir and imported through PYTHONPATH with this venv's dependencies; ``after``:
this checkout) and each scenario, the script starts ``podium server`` (defaults, 1 worker) on a
fresh SQLite file, runs the shared harness's scenario at c=1 with ``--server-pid`` and divides the
server's CPU seconds in the measured window by the requests served. ``calibrate.py`` (a bare ASGI
app doing one indexed SQLite SELECT: the floor for a registry read on this machine) runs before
and after; every row is reported as a ratio to it. Sides alternate per scenario. The 1-minute load
average is printed with every row.

    .venv/bin/python bench/cpu_per_request.py --before main --json /tmp/cpu.json
    .venv/bin/python bench/cpu_per_request.py --scenarios "read-hot transition" --duration 10

Targets (issue 14): reads <= 1.5x the calibration's CPU per request, writes <= 3x.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HARNESS = Path(os.environ.get("PODIUM_BENCH_HARNESS", "/work/shared/bench"))
LIMITS = {"read-hot": 1.5, "create-version": 3.0, "transition": 3.0, "create-model": 3.0, "search": None,
          "seed-flow": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def calibrate(duration: float) -> tuple[float, float]:
    """The calibration endpoint's server CPU per request and p50 (ms), at c=1."""
    out = Path(tempfile.mktemp(suffix=".json"))
    subprocess.run([sys.executable, str(HARNESS / "calibrate.py"), "--duration", str(duration), "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    c1 = json.loads(out.read_text())["calibration"]["c1"]
    return c1["server_cpu_ms_per_request"], c1["p50_ms"]


def extract(ref: str) -> Path:
    """``ref``'s podium/ package in a temp dir (to import through PYTHONPATH)."""
    dest = Path(tempfile.mkdtemp(prefix="podium-before-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "podium"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def measure(src: Path | None, scenario: str, duration: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="podium-cpu-"))
    port = free_port()
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from podium.cli import main; sys.argv[0] = 'podium'; main()", "server", "--backend-store-uri", f"sqlite:///{work}/p.db",
         "--artifacts-destination", str(work / "art"), "--port", str(port), "--workers", "1"],  # one process's CPU
        env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=(work / "server.log").open("wb"), start_new_session=True)
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        out = work / "result.json"
        subprocess.run([sys.executable, str(HARNESS / "registry_bench.py"), f"http://127.0.0.1:{port}",
                        "--scenario", scenario, "--concurrency", "1", "--duration", str(duration),
                        "--server-pid", str(server.pid), "--json", str(out)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = json.loads(out.read_text())["runs"][0]
        result, resources = run["result"], run["resources"]
        served = result.get("ok") or result.get("requests")
        return {"rps": result.get("ok_rps", result.get("rps")), "requests": served,
                "cpu_ms": 1000 * resources["server_cpu_s"] / max(served, 1),
                "p50_ms": (result.get("latency") or {}).get("p50_ms"), "load": load()}
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", help="git ref to compare with (e.g. main); omitted: this checkout only")
    ap.add_argument("--scenarios", default="read-hot create-version transition")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    sides = [("after", None)]
    if a.before:
        sides.insert(0, (f"before ({a.before})", extract(a.before)))
    cal = [calibrate(4)]
    rows = []
    for i, scenario in enumerate(a.scenarios.split()):
        for label, src in (sides if i % 2 == 0 else sides[::-1]):
            rows.append({"scenario": scenario, "side": label, **measure(src, scenario, a.duration)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    cal.append(calibrate(4))
    floor = sum(c for c, _ in cal) / len(cal)
    p50_floor = sum(p for _, p in cal) / len(cal)
    print(f"calibration CPU per request: {' / '.join(f'{c:.3f}' for c, _ in cal)} ms (mean {floor:.3f}); "
          f"p50 {' / '.join(f'{p:.3f}' for _, p in cal)} ms (mean {p50_floor:.3f}); load now {load()}")
    print("| scenario (c=1) | side | req/s | server CPU / request | × calibration | limit | p50 | × calibration "
          "| load (1/5/15 min) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        limit = LIMITS.get(r["scenario"])
        p50 = r.get("p50_ms")
        print(f"| {r['scenario']} | {r['side']} | {r['rps']:.0f} | {r['cpu_ms']:.3f} ms | "
              f"{r['cpu_ms'] / floor:.1f}× | {f'{limit}×' if limit else ''} | "
              f"{f'{p50:.3f} ms' if p50 else ''} | {f'{p50 / p50_floor:.1f}×' if p50 else ''} | {r['load']} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"calibration_ms": [c for c, _ in cal],
                                            "calibration_p50_ms": [p for _, p in cal], "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
