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

    assert recipe("PORT=8081", "HOST=0.0.0.0", "STORE=").endswith("podium server --host 0.0.0.0 --port 8081")
    assert recipe("STORE=").split() == [".venv/bin/podium", "server"]
    # after `make demo`, `make server` serves the demo's store (its web UI shows the demo's model)
    assert recipe("STORE=sqlite:///podium-demo/podium.db").split() == [
        ".venv/bin/podium", "--tracking-uri", "sqlite:///podium-demo/podium.db", "server"]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make (CI installs it)")
def test_make_server_serves_the_demos_store_once_make_demo_made_it(tmp_path):
    def recipe() -> list[str]:
        done = subprocess.run(["make", "-n", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), "server"],
                              capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1].split()

    (tmp_path / "pyproject.toml").touch()  # what the install step depends on
    assert recipe() == [".venv/bin/podium", "server"]
    (tmp_path / "podium-demo").mkdir()
    (tmp_path / "podium-demo" / "podium.db").touch()
    assert recipe() == [".venv/bin/podium", "--tracking-uri", "sqlite:///podium-demo/podium.db", "server"]


def test_what_the_demo_and_the_quickstart_create_is_ignored_by_git():
    ignored = set((ROOT / ".gitignore").read_text().split())
    assert {"podium-demo/", "podium-data/", ".venv/"} <= ignored
