#!/usr/bin/env python3
"""``podium serve`` vs ``mlflow models serve``: same sklearn model, same machine, one invocation.

A LogisticRegression on sklearn's wine data set (13 features, shipped with sklearn) is logged and
registered by Podium in an embedded store (versions 1 and 2, ``@champion`` on 1). Then, one
server at a time (the other is stopped):

* ``podium serve models:/wine@champion`` (1 worker, default threads);
* ``mlflow models serve`` on the same model directory (``--env-manager local``, its default 1 worker).

Each is driven by an asyncio + aiohttp client on keep-alive connections, at concurrency 1 and 16,
for ``--duration`` seconds after a warm-up: one ``POST /invocations`` of 5 rows as
``dataframe_split``. Reported: requests/s, p50 and p99 latency, failed requests, the CPU time the
server's process tree spent per request (user + system, from psutil: the figure least moved by
other load on the machine), and the ratio Podium/MLflow. Finally Podium at c=16 again while ``@champion`` moves between versions 1 and 2
every ``--swap-every`` seconds (the p99 during swaps, failed requests, versions seen), and the
swap time: from an alias move to the first answer from the new version (``--poll-interval 0.5``).

The client runs on the same machine and competes for the same cores: read the ratio, not the
absolute figures. Usage (from the repository root)::

    .venv/bin/python bench/serve_vs_mlflow.py                       # 10 s per measurement
    .venv/bin/python bench/serve_vs_mlflow.py --duration 20 --json /tmp/serve.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(root: Path) -> tuple[str, Path, list]:
    """Register two versions of the wine model; ``(tracking URI, model dir of v1, request rows)``."""
    import pandas as pd
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    import podium
    import podium.sklearn
    from podium import PodiumClient
    from podium.artifacts import download_artifacts

    uri = f"sqlite:///{(root / 'podium.db').as_posix()}"
    podium.set_tracking_uri(uri)
    podium.set_experiment("serve-bench")
    data = load_wine(as_frame=True)
    x, y = data.data.astype("float64"), data.target
    for c in (1.0, 0.01):
        with podium.start_run():
            podium.sklearn.log_model(LogisticRegression(C=c, max_iter=5000).fit(x, y), name="model",
                                     input_example=x[:3], registered_model_name="wine")
    PodiumClient(uri).set_registered_model_alias("wine", "champion", "1")
    model_dir = Path(download_artifacts("models:/wine/1", dst_path=str(root / "mlflow-model")))
    body = {"dataframe_split": json.loads(x[:5].to_json(orient="split", index=False))}
    return uri, model_dir, body


def start(cmd: list[str], env: dict, log: Path, port: int, timeout: float = 180) -> subprocess.Popen:
    import urllib.request

    proc = subprocess.Popen(cmd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"{cmd} did not answer /ping:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, 9)


async def load(url: str, body: dict, concurrency: int, duration: float, counted: list | None = None,
               warmup: float = 2.0) -> dict:
    import aiohttp

    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    failed = 0
    versions: dict[str, int] = {}
    t_warm = time.monotonic() + warmup
    t_end = t_warm + duration

    sent = 0

    async def worker(session) -> None:
        nonlocal failed, sent
        while (now := time.monotonic()) < t_end:
            sent += 1
            try:
                async with session.post(f"{url}/invocations", data=data, headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
                    version = r.headers.get("X-Podium-Model-Version")
            except aiohttp.ClientError:
                ok, version = False, None
            if now >= t_warm:
                if ok:
                    latencies.append(time.monotonic() - now)
                    if version:
                        versions[version] = versions.get(version, 0) + 1
                else:
                    failed += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    if counted is not None:
        counted.append(sent)  # every request, warm-up included (what the CPU time was spent on)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"concurrency": concurrency, "requests": len(latencies), "failed": failed,
            "rps": len(latencies) / duration, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "versions": versions}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the server's workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def measured(pid: int, url: str, body: dict, concurrency: int, duration: float) -> dict:
    """:func:`load`, with the server's CPU milliseconds per request (warm-up included in both counts)."""
    before = cpu_seconds(pid)
    result = asyncio.run(load(url, body, concurrency, duration, counted := []))
    result["cpu_ms_per_request"] = (cpu_seconds(pid) - before) * 1000 / max(1, counted[0])
    return result


def mover(uri: str, every: float, stop_event: threading.Event, moves: list) -> None:
    from podium import PodiumClient

    client = PodiumClient(uri)
    target = "2"
    while not stop_event.wait(every):
        client.set_registered_model_alias("wine", "champion", target)
        moves.append(target)
        target = "1" if target == "2" else "2"


def swap_times(url: str, uri: str, moves: int = 6) -> list[float]:
    """Seconds from each alias move (committed) to the first answer from the new version."""
    import urllib.request

    from podium import PodiumClient

    client = PodiumClient(uri)
    times = []
    for i in range(moves):
        target = "2" if i % 2 == 0 else "1"
        client.set_registered_model_alias("wine", "champion", target)
        start = time.monotonic()
        while True:
            with urllib.request.urlopen(f"{url}/ping", timeout=10) as r:  # every answer carries the header
                if r.headers.get("X-Podium-Model-Version") == target:
                    break
            time.sleep(0.005)
        times.append(time.monotonic() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (after 2 s warm-up)")
    parser.add_argument("--swap-every", type=float, default=1.0, help="seconds between alias moves in the swap run")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    uri, model_dir, body = prepare(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}}
    servers = {
        "podium": lambda port: [str(BIN / "podium"), "--tracking-uri", uri, "serve", "models:/wine@champion",
                                "--port", str(port), "--poll-interval", "0.5"],
        "mlflow": lambda port: [str(BIN / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
                                "-h", "127.0.0.1", "-p", str(port)],
    }
    for name, command in servers.items():
        port = free_port()
        proc = start(command(port), {**env, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}, root / f"{name}.log", port)
        try:
            for c in (1, 16):
                results[f"{name} c={c}"] = measured(proc.pid, f"http://127.0.0.1:{port}", body, c, args.duration)
                print(name, results[f"{name} c={c}"], flush=True)
            if name == "podium":
                stop_event, moves = threading.Event(), []
                thread = threading.Thread(target=mover, args=(uri, args.swap_every, stop_event, moves), daemon=True)
                thread.start()
                results["podium c=16 swapping"] = asyncio.run(load(f"http://127.0.0.1:{port}", body, 16, args.duration))
                stop_event.set()
                thread.join()
                results["podium c=16 swapping"]["alias_moves"] = len(moves)
                print("podium swapping", results["podium c=16 swapping"], flush=True)
                results["swap_seconds"] = swap_times(f"http://127.0.0.1:{port}", uri)
                print("move -> first answer from the new version (s):", results["swap_seconds"], flush=True)
        finally:
            stop(proc)
    results["machine"]["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def print_table(r: dict) -> None:
    print("\n| concurrency | server | req/s | p50 ms | p99 ms | server CPU ms/request | failed |")
    print("|---|---|---|---|---|---|---|")
    for c in (1, 16):
        for name in ("podium", "mlflow"):
            x = r[f"{name} c={c}"]
            print(f"| {c} | {name} | {x['rps']:.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                  f"{x['cpu_ms_per_request']:.2f} | {x['failed']} |")
        p, m = r[f"podium c={c}"], r[f"mlflow c={c}"]
        print(f"| {c} | **podium/mlflow** | **{p['rps'] / m['rps']:.2f}x** | **{p['p50_ms'] / m['p50_ms']:.2f}x** | "
              f"**{p['p99_ms'] / m['p99_ms']:.2f}x** | **{p['cpu_ms_per_request'] / m['cpu_ms_per_request']:.2f}x** | |")
    s = r["podium c=16 swapping"]
    print(f"| 16, swapping | podium ({s['alias_moves']} alias moves, versions {s['versions']}) | {s['rps']:.0f} | "
          f"{s['p50_ms']:.2f} | {s['p99_ms']:.2f} | | {s['failed']} |")
    t = sorted(r["swap_seconds"])
    print(f"\nalias move -> first answer from the new version (--poll-interval 0.5, {len(t)} moves): "
          f"median {statistics.median(t):.2f} s, max {t[-1]:.2f} s")
    print(f"\nbefore: {r['machine']['uptime_before']}\nafter:  {r['machine']['uptime_after']}")


if __name__ == "__main__":
    main()
