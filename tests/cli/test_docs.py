"""``docs/cli.md`` keeps up with the CLI: every command, option and exit code is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from podium.cli import main
from podium.cli.output import EXIT_CODES, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        if name == "server":  # documented by the server's own page (another module)
            continue
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = list(_commands(main, "podium"))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_and_option_is_in_the_docs(path, command):
    assert f"## `{path}" in DOC, f"docs/cli.md has no section for {path}"
    for param in command.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in DOC, f"{path} {param.opts} is not documented"


def test_global_options_and_exit_codes_are_in_the_docs():
    for text in ("--tracking-uri", "PODIUM_TRACKING_URI", "MLFLOW_TRACKING_URI", "sqlite:///./podium-data/podium.db"):
        assert text in DOC
    for code in {EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, *EXIT_CODES.values()}:
        assert f"\n| {code} " in DOC
    for error_code in EXIT_CODES:
        if error_code != "NOT_FOUND":
            assert error_code in DOC
