#!/usr/bin/env python
"""Artifact upload and download: ``podium server`` vs ``mlflow server --serve-artifacts``, and ``cp``.

Issue 14's artifact target: upload and download ≥ 2× MLflow for 1 MB, 100 MB and 1 GB files,
memory flat, and within 2× of ``cp`` of the same file. One invocation, on this machine:

* ``podium server`` and ``mlflow server --serve-artifacts`` (MLflow 3.17.2 from the project venv),
  each on a fresh SQLite file and a fresh local artifact directory under ``--workdir``, on ephemeral
  ports, both started before anything is measured and both running for the whole invocation;
* a generated file per size (random bytes, MiB = 2**20), in ``--workdir`` (the same disk as both
  servers' artifact directories and as the download targets);
* for every size and round, for each **client path** and each server (the server order alternates
  per round), an upload to a new artifact path (as a new run writes; replacing a file costs both
  servers an early flush on ext4) then a download of the same file, each timed alone, the stored
  copy deleted afterwards (untimed):

  ``http``    the same plain client for both servers: one ``httpx.Client`` (keep-alive), a PUT whose
              body is the file read in 1 MiB blocks (Content-Length set), a streamed GET written to
              a file in 1 MiB blocks;
  ``mlflow``  mlflow's own client: ``MlflowClient().log_artifact(run_id, file, dir)`` and
              ``download_artifacts(run_id, path, dst)`` on a run of each server;
  ``podium``  Podium's own client: ``podium.MlflowClient`` with the same two calls;

* ``sync`` (not timed) before every timed transfer, so dirty pages of the previous one do not
  slow the next one down; the SHA-256 of every downloaded file is compared with the source's (a
  mismatch stops the run with exit code 2);
* the client's CPU seconds (this process) for each transfer;
* the server's peak RSS during each transfer (its whole process tree, sampled every 20 ms by a
  separate sampler process, so sampling costs the client nothing) minus its RSS just before, and
  the server's CPU seconds for the transfer;
* the floor, in every round beside the transfers: ``cp FILE NEW`` on the same disk (after ``sync``),
  and ``shutil.copyfile`` in process (``cp``'s own process start dominates at 1 MB).

Every figure is the median over rounds. Ratios: Podium/MLflow of MiB/s (≥ 2 is the target) and
Podium/cp (time of cp / time of the transfer; ≥ 0.5 means "within 2× of cp"). Not a test: nothing
asserts a timing. Usage::

    .venv/bin/python bench/artifacts_vs_mlflow.py                        # 1, 100, 1024 MiB
    .venv/bin/python bench/artifacts_vs_mlflow.py --sizes 1,100 --rounds 5 --json /tmp/art.json
    .venv/bin/python bench/artifacts_vs_mlflow.py --clients http --sizes 1024 --rounds-1g 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1 << 20
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other bench scripts' helpers
ART = "/api/2.0/mlflow-artifacts/artifacts"
CLIENTS = ("http", "mlflow", "podium")
SERVERS = ("podium", "mlflow")


# --------------------------------------------------------------------------- the RSS sampler process
SAMPLER = r"""
import sys, threading, time, psutil
pids, peak, lock = [], 0, threading.Lock()
def tree_rss():
    total = 0
    for p in pids:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total
def loop():
    global peak
    while True:
        with lock:
            rss = tree_rss()
            peak = max(peak, rss)
        time.sleep(0.02)
threading.Thread(target=loop, daemon=True).start()
for line in sys.stdin:
    cmd, *args = line.split()
    with lock:
        if cmd == "watch":  # the root pid: watch it and every process below it
            root = psutil.Process(int(args[0]))
            pids = [root, *root.children(recursive=True)]
            peak = tree_rss()
            print(peak, flush=True)
        elif cmd == "peak":
            print(max(peak, tree_rss()), flush=True)
"""


class Sampler:
    """Peak RSS of a server's process tree, sampled by its own process (no GIL shared with the client)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SAMPLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def _ask(self, line: str) -> float:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline()) / MiB

    def watch(self, pid: int) -> float:
        """Start a new window on ``pid``'s tree; returns its RSS now (MiB)."""
        return self._ask(f"watch {pid}")

    def peak(self) -> float:
        return self._ask("peak")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=5)


# --------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind: str, workdir: Path, args) -> None:
        self.kind = kind
        self.dir = workdir / f"{kind}-server"
        self.art = self.dir / "artifacts"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir.mkdir(parents=True)
        if kind == "podium":
            self.cmd = [str(args.podium_bin), "server", "--backend-store-uri", f"sqlite:///{self.dir}/p.db",
                        "--artifacts-destination", str(self.art), "--host", "127.0.0.1", "--port", str(self.port),
                        "--no-access-log", "--workers", "1"]  # as recorded before decision 0028's default
        else:
            self.cmd = [str(args.mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{self.dir}/mlflow.db",
                        "--serve-artifacts", "--artifacts-destination", str(self.art), "--host", "127.0.0.1",
                        "--port", str(self.port)]
            if args.mlflow_workers:
                self.cmd += ["--workers", str(args.mlflow_workers)]
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "server.log"

    def start(self) -> None:
        import httpx

        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
        env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.kind} server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"{self.kind} server did not answer /health; see {self.log}")
        # MLflow keeps starting workers and job consumers after /health answers: wait until idle
        for _ in range(60):
            c0 = tree_cpu_s(self.proc.pid)
            time.sleep(1.0)
            if tree_cpu_s(self.proc.pid) - c0 < 0.05:
                break

    def stop(self) -> None:
        """SIGTERM to the server's own session (it was started in a new one), SIGKILL after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        time.sleep(0.5)
        try:  # stragglers of the same session (mlflow's workers, huey consumers)
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- files
from s3_big_file import _generate as generate, _sha256 as sha256  # noqa: E402  (random blocks; SHA-256)
from serve_vs_mlflow import cpu_seconds as tree_cpu_s  # noqa: E402  (a process tree's CPU seconds)


def sync() -> None:
    subprocess.run(["sync"], check=False)


# --------------------------------------------------------------------------- client paths
class HttpPath:
    """The same plain HTTP client for both servers (httpx, keep-alive, 1 MiB blocks)."""

    name = "http"

    def __init__(self, server: Server) -> None:
        import httpx

        self.client = httpx.Client(base_url=server.base, timeout=600)

    def upload(self, src: Path, remote_dir: str) -> None:
        size = src.stat().st_size
        with open(src, "rb") as fh:
            def blocks():
                while block := fh.read(MiB):
                    yield block

            r = self.client.put(f"{ART}/{remote_dir}/{src.name}", content=blocks(),
                                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        r.raise_for_status()

    def download(self, remote_dir: str, name: str, dst_dir: Path) -> Path:
        target = dst_dir / name
        with self.client.stream("GET", f"{ART}/{remote_dir}/{name}") as r, open(target, "wb") as out:
            r.raise_for_status()
            for block in r.iter_raw(MiB):
                out.write(block)
        return target

    def close(self) -> None:
        self.client.close()


class LibraryClientPath:
    """A project's own client (``mlflow.MlflowClient`` or ``podium.MlflowClient``) on a run of the server:
    ``log_artifact(run_id, file, dir)`` and ``download_artifacts(run_id, path, dst)``."""

    def __init__(self, server: Server, library: str) -> None:
        import importlib

        self.name, self.lib, self.uri = library, importlib.import_module(library), server.base
        self.lib.set_tracking_uri(self.uri)  # mlflow-artifacts:/ URIs resolve against the tracking URI
        self.client = self.lib.MlflowClient(tracking_uri=self.uri)
        exp = self.client.create_experiment(f"art-{library}-{time.time_ns()}")
        self.run_id = self.client.create_run(exp).info.run_id

    def upload(self, src: Path, remote_dir: str) -> None:
        self.lib.set_tracking_uri(self.uri)
        self.client.log_artifact(self.run_id, str(src), remote_dir)

    def download(self, remote_dir: str, name: str, dst_dir: Path) -> Path:
        self.lib.set_tracking_uri(self.uri)
        return Path(self.client.download_artifacts(self.run_id, f"{remote_dir}/{name}", str(dst_dir)))

    def close(self) -> None:
        pass


PATHS = {"http": HttpPath, "mlflow": lambda server: LibraryClientPath(server, "mlflow"),
         "podium": lambda server: LibraryClientPath(server, "podium")}


# --------------------------------------------------------------------------- measuring
def timed_transfer(server: Server, sampler: Sampler, fn) -> dict:
    """Run ``fn`` (one upload or download) after ``sync``: seconds, server RSS growth and CPU."""
    sync()
    idle = sampler.watch(server.proc.pid)
    cpu0, client0 = tree_cpu_s(server.proc.pid), _own_cpu_s()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    client_cpu = _own_cpu_s() - client0
    peak = sampler.peak()
    return {"s": seconds, "rss_idle_mib": round(idle, 1), "rss_peak_mib": round(peak, 1),
            "rss_growth_mib": round(peak - idle, 1), "server_cpu_s": round(tree_cpu_s(server.proc.pid) - cpu0, 3),
            "client_cpu_s": round(client_cpu, 3), "result": result}


def _own_cpu_s() -> float:
    """This process's CPU seconds (the client's), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor_cp(src: Path, workdir: Path) -> dict:
    """One ``cp`` of the file and one ``shutil.copyfile`` on the same disk, each after ``sync``: seconds."""
    dst, out = workdir / f"cp-{src.name}", {}
    for name, runner in (("cp_s", lambda: subprocess.run(["cp", str(src), str(dst)], check=True)),
                         ("copyfile_s", lambda: shutil.copyfile(src, dst))):
        dst.unlink(missing_ok=True)
        sync()
        t0 = time.perf_counter()
        runner()
        out[name] = time.perf_counter() - t0
        dst.unlink()
    return out


def rounds_for(size_mib: int, args) -> int:
    if size_mib >= 1024:
        return args.rounds_1g
    if size_mib >= 100:
        return args.rounds_100m
    return args.rounds


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="podium-art-bench-", dir=args.workdir))
    sizes = [int(s) for s in args.sizes.split(",")]
    clients = [c for c in args.clients.split(",") if c]
    sampler = Sampler()
    servers = {kind: Server(kind, workdir, args) for kind in SERVERS}
    results: dict = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                     "sizes_mib": sizes, "clients": clients, "workdir_fs": fs_of(workdir), "rows": {}}
    try:
        for s in servers.values():
            s.start()
            print(f"started {s.kind} server pid {s.proc.pid} on {s.base}", file=sys.stderr)
        paths = {(c, k): PATHS[c](servers[k]) for c in clients for k in SERVERS}
        results["idle_rss_mib"] = {k: round(sampler.watch(s.proc.pid), 1) for k, s in servers.items()}
        for size_mib in sizes:
            src = workdir / f"file-{size_mib}MiB.bin"
            want = generate(src, size_mib * MiB)
            n = rounds_for(size_mib, args)
            results["rows"][f"{size_mib}"] = row = {"floor": [], "rounds": n, "transfers": {}}
            for rnd in range(n):
                floor = floor_cp(src, workdir)  # the floor in every round, beside the transfers it bounds
                row["floor"].append(floor)
                print(f"{size_mib} MiB round {rnd + 1}/{n}: cp {size_mib / floor['cp_s']:.0f} MiB/s, copyfile "
                      f"{size_mib / floor['copyfile_s']:.0f} MiB/s", file=sys.stderr)
                order = SERVERS if rnd % 2 == 0 else SERVERS[::-1]
                for client in clients:
                    for kind in order:
                        path, server = paths[(client, kind)], servers[kind]
                        remote = f"bench-{client}/{size_mib}/{rnd}"  # a new file each time, as a new run writes
                        up = timed_transfer(server, sampler, lambda: path.upload(src, remote))
                        dst_dir = workdir / f"dl-{client}-{kind}"
                        shutil.rmtree(dst_dir, ignore_errors=True)
                        dst_dir.mkdir()
                        down = timed_transfer(server, sampler, lambda: path.download(remote, src.name, dst_dir))
                        got = sha256(down.pop("result"))
                        up.pop("result")
                        if got != want:
                            raise SystemExit(f"{client} client via {kind}: downloaded {size_mib} MiB differs "
                                             f"(sha256 {got} != {want})")
                        shutil.rmtree(dst_dir)
                        for stored in server.art.rglob(f"{rnd}/{src.name}"):  # untimed; bounds the disk used
                            stored.unlink()
                        cell = row["transfers"].setdefault(f"{client}/{kind}", {"up": [], "down": []})
                        cell["up"].append(up)
                        cell["down"].append(down)
                        print(f"  round {rnd + 1}/{n} {client:6} {kind:6} up {size_mib / up['s']:7.0f} MiB/s "
                              f"(+{up['rss_growth_mib']:.0f} MiB)  down {size_mib / down['s']:7.0f} MiB/s "
                              f"(+{down['rss_growth_mib']:.0f} MiB)", file=sys.stderr)
            src.unlink()
        for p in paths.values():
            p.close()
    finally:
        for s in servers.values():
            s.stop()
        sampler.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    summarize(results)
    return results


def summarize(results: dict) -> None:
    """Medians, MiB/s and the ratios into each row's ``summary``."""
    for size, row in results["rows"].items():
        mib = int(size)
        floor = {key: statistics.median(f[key] for f in row["floor"]) for key in ("cp_s", "copyfile_s")}
        summary = row["summary"] = {"cp_MiBps": mib / floor["cp_s"], "copyfile_MiBps": mib / floor["copyfile_s"]}
        for key, cell in row["transfers"].items():
            for direction in ("up", "down"):
                runs = cell[direction]
                secs = statistics.median(r["s"] for r in runs)
                summary[f"{key}/{direction}"] = {
                    "s": secs, "MiBps": mib / secs, "vs_cp": floor["cp_s"] / secs,
                    "rss_growth_mib": max(r["rss_growth_mib"] for r in runs),
                    "rss_peak_mib": max(r["rss_peak_mib"] for r in runs),
                    "server_cpu_s": statistics.fmean(r["server_cpu_s"] for r in runs),  # mean: 10 ms ticks
                    "client_cpu_s": statistics.fmean(r.get("client_cpu_s", 0.0) for r in runs)}


def table(results: dict) -> str:
    lines = [f"`{results['command']}`", "",
             "| size | client | dir | Podium MiB/s | MLflow MiB/s | Podium/MLflow | cp MiB/s | Podium/cp "
             "| MLflow/cp | server RSS growth Podium / MLflow (MiB) | server CPU ms Podium / MLflow "
             "| client CPU ms with Podium / MLflow |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, row in results["rows"].items():
        s = row["summary"]
        label = f"{int(size) // 1024} GiB" if int(size) >= 1024 else f"{size} MiB"
        for client in results["clients"]:
            for direction in ("up", "down"):
                p, m = s.get(f"{client}/podium/{direction}"), s.get(f"{client}/mlflow/{direction}")
                if not p or not m:
                    continue
                lines.append(
                    f"| {label} | {client} | {direction} | {p['MiBps']:,.0f} | {m['MiBps']:,.0f} | "
                    f"{p['MiBps'] / m['MiBps']:.2f}× | {s['cp_MiBps']:,.0f} | {p['vs_cp']:.2f} | {m['vs_cp']:.2f} | "
                    f"{p['rss_growth_mib']:.0f} / {m['rss_growth_mib']:.0f} | "
                    f"{p['server_cpu_s'] * 1000:,.0f} / {m['server_cpu_s'] * 1000:,.0f} | "
                    f"{p['client_cpu_s'] * 1000:,.0f} / {m['client_cpu_s'] * 1000:,.0f} |")
    lines += ["", "cp floor (and shutil.copyfile in process), MiB/s: " + ", ".join(
        f"{size} MiB {row['summary']['cp_MiBps']:,.0f} ({row['summary']['copyfile_MiBps']:,.0f})"
        for size, row in results["rows"].items()),
        f"idle server RSS (MiB): {results.get('idle_rss_mib')}; load average after: {results.get('loadavg_after')}"]
    return "\n".join(lines)


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_before": os.getloadavg(), "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    try:
        import mlflow

        info["mlflow"] = mlflow.__version__
    except ImportError:
        pass
    try:
        info["git"] = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip()
    except OSError:
        pass
    return info


def fs_of(path: Path) -> str:
    out = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True).stdout.splitlines()
    return out[-1] if out else ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", default="1,100,1024", help="file sizes in MiB, comma-separated (default 1,100,1024)")
    ap.add_argument("--clients", default=",".join(CLIENTS), help="client paths: http,mlflow,podium (default all)")
    ap.add_argument("--rounds", type=int, default=9, help="rounds for files under 100 MiB (default 9)")
    ap.add_argument("--rounds-100m", type=int, default=5, help="rounds for 100 MiB up to 1 GiB (default 5)")
    ap.add_argument("--rounds-1g", type=int, default=3, help="rounds for 1 GiB and more (default 3)")
    ap.add_argument("--workdir", default=None, help="parent of the temporary work dir (default $TMPDIR)")
    ap.add_argument("--mlflow-workers", type=int, default=0, help="mlflow server --workers (default: its own, 4)")
    ap.add_argument("--podium-bin", type=Path, default=REPO / ".venv" / "bin" / "podium")
    ap.add_argument("--mlflow-bin", type=Path, default=REPO / ".venv" / "bin" / "mlflow")
    ap.add_argument("--json", help="also write every figure (per round) to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    results = run(args)
    results["loadavg_after"] = os.getloadavg()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
