"""Real scoring processes for the serving tests: ``podium serve`` and MLflow's ``mlflow models serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.server.helpers import free_port

BIN = Path(sys.executable).parent
#: what both servers are asked for a JSON body
JSON = "application/json"


@dataclass
class Scorer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, wait, SIGKILL if it hangs; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # mlflow starts `uvicorn` from PATH
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **extra}


def _start(cmd: list[str], root: Path, name: str, port: int, env: dict[str, str], timeout: float) -> Scorer:
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    scorer = Scorer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{scorer.log()}")
        try:
            if httpx.get(f"{scorer.url}/ping", timeout=1).status_code == 200:
                return scorer
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    scorer.stop()
    raise RuntimeError(f"{name} did not answer /ping in {timeout}s:\n{scorer.log()}")


def start_podium_scorer(root: Path, model_uri: str, tracking_uri: str, *extra: str, timeout: float = 60,
                        env: dict[str, str] | None = None) -> Scorer:
    """``podium serve MODEL_URI`` on a free port, reading the registry at ``tracking_uri`` (``env``:
    variables added to a clean environment)."""
    port = free_port()
    cmd = [str(BIN / "podium"), "--tracking-uri", tracking_uri, "serve", model_uri, "--port", str(port), *extra]
    return _start(cmd, root, "podium-serve", port, _clean_env(**(env or {})), timeout)


def start_mlflow_scorer(root: Path, model_dir: Path, timeout: float = 180) -> Scorer:
    """``mlflow models serve`` (the reference) on a model directory, in this environment."""
    port = free_port()
    cmd = [str(BIN / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port)]
    # MLflow 3.17 refuses to load sklearn models (skops included) without this
    return _start(cmd, root, "mlflow-serve", port, _clean_env(MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true"), timeout)
