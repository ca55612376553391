"""``podium serve`` refuses, in one line, a model it cannot serve (before listening)."""

from __future__ import annotations

from click.testing import CliRunner

from podium.cli import main


def test_serve_an_unknown_model_is_one_line_and_exit_code_1(tmp_path):
    uri = f"sqlite:///{(tmp_path / 'podium.db').as_posix()}"
    result = CliRunner().invoke(main, ["--tracking-uri", uri, "serve", "models:/nope@champion", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == \
        "Error: Cannot serve models:/nope@champion: Registered Model with name=nope not found"


def test_serve_a_missing_directory_is_one_line_and_exit_code_1(tmp_path):
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "missing"), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == \
        f"Error: Cannot serve {tmp_path / 'missing'}: No model found at '{tmp_path / 'missing'}'."

