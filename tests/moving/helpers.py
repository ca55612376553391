"""Writing and reading MLflow stores with the real mlflow client, in child processes (mlflow_store.py)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.harness import server_env

SCRIPT = Path(__file__).with_name("mlflow_store.py")


class Source:
    def __init__(self, root: Path, uri: str) -> None:
        self.root, self.uri = root, uri
        self.mlruns = root / "mlruns"
        self.observed: dict = {}


def run_mlflow_script(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=server_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def observe(uri: str, where: Path) -> dict:
    out = where / f"observed-{hashlib.sha1(uri.encode()).hexdigest()[:8]}.json"
    run_mlflow_script("observe", uri, str(out), cwd=where)
    return json.loads(out.read_text())


def seed(root: Path, uri: str) -> Source:
    root.mkdir(parents=True, exist_ok=True)
    run_mlflow_script("seed", uri, cwd=root)
    return Source(root, uri)
