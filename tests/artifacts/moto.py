"""``moto_server`` as a separate process on a free port: S3 for the artifact tests (no network, no Docker).

moto keeps everything in memory (big objects in spooled temp files) and does not check credentials
or signatures; ``reset(url)`` (``POST /moto-api/reset``) forgets every bucket. Used by
``tests/artifacts/conftest.py`` and ``tests/server/test_s3_proxy.py`` (imported as
``tests.artifacts.moto``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

#: what the S3 client in the test process (and a server started by a test) is told
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def env(self) -> dict[str, str]:
        """The variables that point Podium's S3 store at this server."""
        return {**S3_ENV, "PODIUM_S3_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(log_dir: Path, timeout: float = 30.0) -> MotoServer:
    port = _free_port()
    log_path = log_dir / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PODIUM_", "MLFLOW_"))}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/moto-api/", timeout=1).status_code == 200:
                return MotoServer(url, process, log_path)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"moto_server did not start in {timeout}s:\n{log_path.read_text()}")


def stop_moto(server: MotoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
