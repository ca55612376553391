"""What a newcomer does first in a fresh clone: `make server PORT=...`, and `git status` after the demo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make (CI installs it)")
def test_make_server_passes_port_and_host_to_podium_server():
    def recipe(*args: str) -> str:  # what `make server` would run (-n: print it, run nothing)
        done = subprocess.run(["make", "-n", "-s", "-C", str(ROOT), "server", *args], capture_output=True,
                              text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert recipe("PORT=8081", "HOST=0.0.0.0").endswith("podium server --host 0.0.0.0 --port 8081")
    assert recipe().split() == [".venv/bin/podium", "server"]


def test_what_the_demo_and_the_quickstart_create_is_ignored_by_git():
    ignored = set((ROOT / ".gitignore").read_text().split())
    assert {"podium-demo/", "podium-data/", ".venv/"} <= ignored
