#!/usr/bin/env python
"""Podium's client downloading one big artifact: 1 MiB reads (decision 0029) against httpcore's 64 KiB.

One ``podium server --workers 1`` on an ephemeral port, one file uploaded once through
``podium.MlflowClient().log_artifact``, then ``--rounds`` rounds of, in alternating order:

``large``  ``download_artifacts`` as shipped (the connection receives up to 1 MiB per read);
``64k``    the same call with ``_large_reads`` switched off (httpcore's own 64 KiB reads);
``mlflow`` MLflow's client (``mlflow.MlflowClient().download_artifacts``, requests and urllib3) from
           the same server, when mlflow is installed (the test extra pins it);
``cp``     ``cp`` of the server's stored copy to a new file on the same disk (the floor);

each after ``sync``, each writing a new file that is deleted afterwards (so every path writes into
page cache the previous one just gave back). Reported: median seconds, MiB/s, the client's CPU
seconds (user + system), and the ratio to ``cp``. Every download's SHA-256 is checked.

Why alternate in one process, with one file: on the virtual machines here the first use of a page
of memory costs the host a fault (writing 1 GiB into never-used memory took 1.57 s, into memory used
before 0.19 s), so a download's time depends on what ran before it; alternating gives both read
sizes the same conditions. Not a test: nothing asserts a timing. Usage::

    .venv/bin/python bench/client_download.py                 # 1024 MiB, 5 rounds
    .venv/bin/python bench/client_download.py --size 256 --rounds 9 --json /tmp/dl.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (``cp``)."""
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def _start_server(work: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "podium"), "server", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1", "--no-access-log",
                             "--backend-store-uri", f"sqlite:///{work}/p.db",
                             "--artifacts-destination", str(work / "artifacts")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("podium server did not answer /health")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--size", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--workdir", default=None, help="parent of the temporary work dir (default $TMPDIR)")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args(argv)

    import podium
    from podium.client import artifacts_http

    work = Path(tempfile.mkdtemp(prefix="podium-dl-bench-", dir=args.workdir))
    proc, url = _start_server(work)
    try:
        source = work / "file.bin"
        with open(source, "wb") as fh:
            for _ in range(args.size):
                fh.write(os.urandom(MiB))
        want = _sha256(source)
        client = podium.MlflowClient(tracking_uri=url)
        run_id = client.create_run(client.create_experiment("downloads")).info.run_id
        client.log_artifact(run_id, str(source), "data")
        source.unlink()
        [stored] = (work / "artifacts").rglob("file.bin")
        large_reads = artifacts_http._large_reads

        def download(large: bool) -> Path:
            artifacts_http._large_reads = large_reads if large else (lambda response: contextlib.nullcontext())
            try:
                return Path(client.download_artifacts(run_id, "data/file.bin", str(work / "out")))
            finally:
                artifacts_http._large_reads = large_reads

        def copy() -> Path:
            target = work / "out" / "cp.bin"
            target.parent.mkdir(exist_ok=True)
            subprocess.run(["cp", str(stored), str(target)], check=True)
            return target

        paths = {"large": lambda: download(True), "64k": lambda: download(False), "cp": copy}
        try:
            import mlflow
        except ImportError:
            pass
        else:
            mlflow.set_tracking_uri(url)  # mlflow-artifacts:/ resolves against the tracking URI
            other = mlflow.MlflowClient(tracking_uri=url)
            paths["mlflow"] = lambda: Path(other.download_artifacts(run_id, "data/file.bin", str(work / "out")))
        figures: dict[str, list[dict]] = {name: [] for name in paths}
        for round_ in range(args.rounds):
            order = list(paths) if round_ % 2 == 0 else list(reversed(paths))
            for name in order:
                subprocess.run(["sync"], check=False)
                cpu, started = _cpu(), time.perf_counter()
                written = paths[name]()
                seconds, cpu = time.perf_counter() - started, _cpu() - cpu
                if name != "cp" and _sha256(written) != want:
                    raise SystemExit(f"{name}: the downloaded file differs from the uploaded one")
                written.unlink()
                figures[name].append({"s": seconds, "client_cpu_s": cpu})
                print(f"round {round_ + 1}/{args.rounds} {name:>5}: {args.size / seconds:,.0f} MiB/s, "
                      f"CPU {cpu:.3f} s", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    cp_s = statistics.median(f["s"] for f in figures["cp"])
    print(f"`client_download.py --size {args.size} --rounds {args.rounds}` (medians)\n")
    print("| path | s | MiB/s | client CPU s | × cp's speed |\n|---|---:|---:|---:|---:|")
    for name, runs in figures.items():
        s = statistics.median(f["s"] for f in runs)
        cpu = statistics.median(f["client_cpu_s"] for f in runs)
        print(f"| {name} | {s:.3f} | {args.size / s:,.0f} | {cpu:.3f} | {cp_s / s:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"size_mib": args.size, "rounds": figures}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
