"""The issue's workflow, verbatim (examples/quickstart.py), in a fresh process with no configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"

CHECKS = """
import json, numpy as np
assert result.version == 2, result.version
same = bool(np.array_equal(prod.predict(X_test), v2.predict(X_test)))
champ_same = bool(np.array_equal(np.asarray(champ.predict(X_test)).ravel(), model2.predict(X_test)))
mv = client.get_model_version("wine-quality-classifier", 2)
print("RESULT " + json.dumps({
    "same": same, "champ_same": champ_same, "stage": mv.current_stage, "description": mv.description,
    "tags": mv.tags, "aliases": mv.aliases,
    "by_alias": client.get_model_version_by_alias("wine-quality-classifier", "champion").version,
    "tracking_uri": mlflow.get_tracking_uri(),
}))
"""


def test_quickstart_runs_verbatim_with_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    script = QUICKSTART.read_text() + CHECKS
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["same"] and out["champ_same"]
    assert out["stage"] == "Production"
    assert out["description"] == "Tuned with RandomizedSearchCV, accuracy: 0.94"
    assert out["tags"] == {"approved_by": "luca"}
    assert out["aliases"] == ["champion"]
    assert out["by_alias"] == 2
    # the embedded default: a database and artifacts under ./podium-data, nothing else to set up
    assert out["tracking_uri"] == f"sqlite:///{(tmp_path / 'podium-data' / 'podium.db').as_posix()}"
    assert (tmp_path / "podium-data" / "podium.db").is_file()
    assert (tmp_path / "podium-data" / "artifacts").is_dir()
