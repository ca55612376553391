#!/usr/bin/env python
"""One big file through ``podium server`` with an S3 artifacts destination: time, throughput, server memory.

Everything runs on this machine, each in its own process:

* ``moto_server`` on a free port (S3 stand-in; ``pip install "moto[s3]" flask flask-cors boto3``);
* ``podium server --artifacts-destination s3://podium-bench/artifacts`` on a fresh SQLite file;
* this script, the client: it writes a generated file (``--size-mb``, 1024 by default; its SHA-256
  computed while writing), then with Podium's own client (``PodiumClient``, i.e. the artifact proxy,
  no presigned URLs) creates a run, ``log_artifact``\\ s the file (one streamed PUT; the server
  streams it into an S3 multipart upload) and ``download_artifacts`` it back (one streamed GET; the
  server streams the S3 object through), then compares SHA-256s.

A sampler thread reads the server's RSS (psutil, its whole process tree) every 50 ms: idle before,
peak during each transfer, after. A flat-memory server keeps the peaks at a few tens of MB above
idle whatever the file size. Not a test: nothing asserts a timing; it exits non-zero only if the
file comes back different. Usage::

    .venv/bin/python bench/s3_big_file.py                  # 1 GiB
    .venv/bin/python bench/s3_big_file.py --size-mb 256 --json /tmp/s3_big_file.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MiB = 1 << 20
BUCKET = "podium-bench"
S3_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, log: Path, expect=None, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[:3]} exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url, timeout=1)
            if expect is None or expect(response):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {timeout}s:\n{log.read_text()}")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PODIUM_", "MLFLOW_"))}
    return {**env, **extra}


class RssSampler(threading.Thread):
    """Peak RSS (MB) of a process tree, per named phase."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.interval, self.phase, self.peaks = interval, "idle", {}
        self.stopped = threading.Event()

    def rss_mb(self) -> float:
        import psutil

        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / MiB

    def run(self) -> None:
        while not self.stopped.is_set():
            rss = self.rss_mb()
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)
            time.sleep(self.interval)

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.peaks[phase] = self.rss_mb()


def _generate(path: Path, size: int) -> str:
    """A file of ``size`` bytes (random blocks, each stamped with its index); returns its SHA-256."""
    digest, block = hashlib.sha256(), bytearray(os.urandom(8 * MiB))
    with open(path, "wb") as out:
        written, index = 0, 0
        while written < size:
            block[:8] = index.to_bytes(8, "little")
            piece = bytes(block[: min(len(block), size - written)])
            out.write(piece)
            digest.update(piece)
            written += len(piece)
            index += 1
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    size = args.size_mb * MiB
    work = Path(tempfile.mkdtemp(prefix="podium-s3-bench-"))
    processes: list[subprocess.Popen] = []
    try:
        # -- S3 (moto) and the server, each its own process
        moto_port, server_port = _free_port(), _free_port()
        moto_url, server_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{server_port}"
        moto_log = work / "moto.log"
        with open(moto_log, "wb") as log:
            moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                    env=_clean_env(), stdout=log, stderr=subprocess.STDOUT)
        processes.append(moto)
        _wait(f"{moto_url}/moto-api/", moto, moto_log)
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench", config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=BUCKET)

        server_log = work / "server.log"
        with open(server_log, "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "podium.server", "--host", "127.0.0.1", "--port", str(server_port),
                 "--backend-store-uri", f"sqlite:///{work / 'podium.db'}",
                 "--artifacts-destination", f"s3://{BUCKET}/artifacts", "--no-access-log"],
                cwd=work, env=_clean_env(**S3_ENV, PODIUM_S3_ENDPOINT_URL=moto_url), stdout=log,
                stderr=subprocess.STDOUT)
        processes.append(server)
        _wait(f"{server_url}/health", server, server_log, expect=lambda r: r.text == "OK")

        # -- the file
        source = work / "big.bin"
        t0 = time.perf_counter()
        expected = _generate(source, size)
        print(f"generated {args.size_mb} MiB in {time.perf_counter() - t0:.1f}s (sha256 {expected[:16]}…)")

        # -- transfers with Podium's client, server memory sampled
        os.environ["PODIUM_NO_PROGRESS"] = "1"
        from podium.client.client import PodiumClient

        client = PodiumClient(server_url)
        experiment_id = client.create_experiment("s3-big-file")
        run_id = client.create_run(experiment_id).info.run_id
        sampler = RssSampler(server.pid)
        sampler.start()
        time.sleep(0.5)
        rss_idle = sampler.rss_mb()

        sampler.enter("upload")
        t0 = time.perf_counter()
        client.log_artifact(run_id, str(source))
        upload_s = time.perf_counter() - t0
        sampler.enter("after upload")
        time.sleep(0.5)
        rss_after_upload = sampler.rss_mb()
        head = s3.head_object(Bucket=BUCKET, Key=f"artifacts/{experiment_id}/{run_id}/artifacts/big.bin")

        dst = work / "download"
        sampler.enter("download")
        t0 = time.perf_counter()
        local = Path(client.download_artifacts(run_id, "big.bin", str(dst)))
        download_s = time.perf_counter() - t0
        sampler.enter("after download")
        time.sleep(0.5)
        rss_after_download = sampler.rss_mb()
        sampler.stopped.set()
        got = _sha256(local)

        import psutil

        figures = {
            "size_mib": args.size_mb,
            "upload_s": round(upload_s, 2), "upload_mb_s": round(size / MiB / upload_s, 1),
            "download_s": round(download_s, 2), "download_mb_s": round(size / MiB / download_s, 1),
            "s3_etag": head["ETag"], "s3_size": head["ContentLength"],
            "server_rss_mb": {
                "idle_before": round(rss_idle, 1),
                "peak_upload": round(sampler.peaks["upload"], 1),
                "after_upload": round(rss_after_upload, 1),
                "peak_download": round(sampler.peaks["download"], 1),
                "after_download": round(rss_after_download, 1),
            },
            "moto_rss_mb": round(psutil.Process(moto.pid).memory_info().rss / MiB, 1),
            "sha256_match": got == expected,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        }
        rss = figures["server_rss_mb"]
        print(f"upload   {figures['upload_s']:7.2f} s  {figures['upload_mb_s']:7.1f} MiB/s   "
              f"(S3 object {head['ContentLength']} bytes, ETag {head['ETag']})")
        print(f"download {figures['download_s']:7.2f} s  {figures['download_mb_s']:7.1f} MiB/s")
        print(f"server RSS MiB: idle {rss['idle_before']}, peak upload {rss['peak_upload']}, after upload "
              f"{rss['after_upload']}, peak download {rss['peak_download']}, after download {rss['after_download']}")
        print(f"moto RSS MiB: {figures['moto_rss_mb']}")
        print(f"sha256 {'matches' if figures['sha256_match'] else 'DIFFERS'}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return 0 if figures["sha256_match"] else 1
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
