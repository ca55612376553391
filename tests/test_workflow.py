"""The quick-start workflow (examples/quickstart.py), run as a user runs it: a fresh process with no
configuration, twice in the same directory, with MLflow's deprecation warnings turned into errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"

STATE = """
import json
from podium import MlflowClient
client = MlflowClient()
versions = {v.version: v for v in client.search_model_versions("name = 'wine-quality-classifier'")}
print(json.dumps({
    "versions": sorted(versions),
    "aliases": client.get_registered_model("wine-quality-classifier").aliases,
    "description": versions[max(versions)].description, "tags": versions[max(versions)].tags,
}))
"""


def _run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_quickstart_runs_twice_without_deprecation_warnings_and_says_what_it_did(tmp_path):
    first = _run(["-W", "error::FutureWarning", str(QUICKSTART)], tmp_path)
    assert "Registered wine-quality-classifier version 1 " in first
    assert "Registered wine-quality-classifier version 2 " in first
    assert "@champion -> version 2; its first predictions: [" in first

    # a second run registers 3 and 4 and moves the aliases to the version it registered
    second = _run(["-W", "error::FutureWarning", str(QUICKSTART)], tmp_path)
    assert "version 3 " in second and "@champion -> version 4;" in second
    state = json.loads(_run(["-c", STATE], tmp_path))
    assert state["versions"] == [1, 2, 3, 4]
    assert state["aliases"] == {"challenger": 4, "champion": 4}
    assert state["description"].startswith("C=0.01, accuracy: ") and state["tags"] == {"approved_by": "luca"}
    # the embedded default: a database and artifacts under ./podium-data, nothing else to set up
    assert (tmp_path / "podium-data" / "podium.db").is_file()
    assert (tmp_path / "podium-data" / "artifacts").is_dir()
