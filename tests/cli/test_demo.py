"""``podium demo``: the whole registry workflow, twice in the same directory (it must be re-runnable)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium import PodiumClient
from podium.cli import main
from podium.cli.demo import _next_commands, _podium_off_path


def test_demo_runs_the_workflow_and_can_run_again(tmp_path):
    pytest.importorskip("sklearn")
    directory = tmp_path / "demo"
    runner = CliRunner()

    first = runner.invoke(main, ["demo", "--dir", str(directory)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    for step in range(1, 8):
        assert f"[{step}/7]" in first.stdout
    assert "podium models versions wine-quality-classifier" in first.stdout
    assert f"export PODIUM_TRACKING_URI=sqlite:///{directory.resolve().as_posix()}/podium.db" in first.stdout

    second = runner.invoke(main, ["demo", "--dir", str(directory)], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "registered as version 3" in second.stdout and "-> version 4" in second.stdout

    client = PodiumClient(f"sqlite:///{(directory / 'podium.db').as_posix()}")
    versions = {v.version: v for v in client.search_model_versions("name = 'wine-quality-classifier'")}
    assert sorted(versions) == [1, 2, 3, 4]
    assert [versions[v].current_stage for v in (1, 2, 3, 4)] == ["None", "Production", "None", "Production"]
    assert client.get_registered_model("wine-quality-classifier").aliases == {"champion": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert [v.version for v in client.get_latest_versions("wine-quality-classifier", ["Production"])] == [4]


def test_try_next_says_how_to_put_podium_on_the_path_when_it_is_not(monkeypatch):
    bin_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as after `make demo`: .venv/bin is not on the PATH
    assert _podium_off_path() == bin_dir
    lines = _next_commands("sqlite:///x.db", bin_dir)
    assert lines[0].startswith("source ") and lines[0].split()[1].endswith("bin/activate")
    assert "not on your PATH" in lines[0] and lines[1] == "export PODIUM_TRACKING_URI=sqlite:///x.db"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin")
    assert _podium_off_path() is None
    assert _next_commands("sqlite:///x.db", None)[0] == "export PODIUM_TRACKING_URI=sqlite:///x.db"
