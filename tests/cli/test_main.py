"""The root command: help, version, lazy subcommands, the tracking URI, the one error path."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import click
from click.testing import CliRunner

from podium.cli import LazyGroup, main
from podium.version import __version__

from .helpers import assert_one_line_error


def test_help_lists_every_command_including_server():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("models", "runs", "demo", "server"):
        assert f"\n  {name} " in result.stdout
    assert "--tracking-uri" in result.stdout and "PODIUM_TRACKING_URI" in result.stdout


def test_version_prints_podium_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"podium {__version__}"


def test_unknown_command_is_a_usage_error_with_exit_code_2():
    result = CliRunner().invoke(main, ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.stderr


def test_importing_the_cli_imports_no_sqlalchemy_rich_or_ml_library():
    code = (
        "import sys, podium.cli; "
        "print([m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'sklearn', 'numpy', 'pandas', 'rich', 'httpx')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_imports_no_subcommand_module():
    code = (
        "import sys; from click.testing import CliRunner; from podium.cli import main; "
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0; "
        "print(sorted(m for m in sys.modules if m.startswith('podium.cli.') or m.split('.')[0] == 'sqlalchemy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_server_fails_with_one_line_when_its_module_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "podium.cli.server", None)  # makes the import fail
    result = CliRunner().invoke(main, ["server", "--port", "5000"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 'podium server' is not available in this installation (module podium.cli.server is missing).\n"
    )
    assert "\n  server " in CliRunner().invoke(main, ["--help"]).stdout


def test_lazy_command_needing_a_missing_package_names_it():
    group = LazyGroup(name="tool", lazy_commands={"ghost": ("podium_no_such_package.cmd:ghost", "Ghost.")})
    result = CliRunner().invoke(group, ["ghost"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 'podium ghost' needs the Python package 'podium_no_such_package', which is not installed.\n"
    )


def test_lazy_group_loads_a_command_from_module_and_attribute():
    group = LazyGroup(name="tool", lazy_commands={"models": ("podium.cli.models:models", "Models.")})
    assert isinstance(group.get_command(click.Context(group), "models"), click.Group)
    assert group.list_commands(click.Context(group)) == ["models"]


def test_tracking_uri_option_wins_over_the_environment(podium_cli, registry, tmp_path):
    other = f"sqlite:///{(tmp_path / 'other.db').as_posix()}"
    result = podium_cli("models", "list", "--json", env={"PODIUM_TRACKING_URI": other})
    assert [m["name"] for m in json.loads(result.stdout)["registered_models"]] == ["fraud-detector", "wine"]


def test_tracking_uri_comes_from_podium_tracking_uri(db_uri, registry):
    result = CliRunner().invoke(main, ["models", "list", "--json"], env={"PODIUM_TRACKING_URI": db_uri})
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["registered_models"]) == 2


def test_default_tracking_uri_is_the_embedded_store_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["models", "list", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"registered_models": []}
    assert (tmp_path / "podium-data" / "podium.db").is_file()


def test_a_plain_path_as_tracking_uri_is_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["--tracking-uri", str(tmp_path), "models", "list"])
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")


def test_stage_future_warning_is_silenced_inside_the_cli_only(podium_cli, registry):
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = podium_cli("models", "transition", "wine", "3", "Staging")
    assert result.exit_code == 0
    assert not [w for w in caught if issubclass(w.category, FutureWarning)]
    assert "deprecated" not in result.stderr
    assert warnings.filters == before
