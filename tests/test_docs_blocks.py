"""Every shell example in README.md and docs/*.md works as written.

Two checks:

* **Run**: each file's ```bash/```sh blocks run in document order (so later blocks see what earlier
  ones made), one ``bash -e -o pipefail`` process per block, in a fresh directory per file, with
  the venv's ``bin`` first on ``PATH``, ``.venv`` in that directory pointing at this venv (for
  ``.venv/bin/podium``), a private ``HOME``, no ``PODIUM_*``/``MLFLOW_*`` variables (so the
  tracking URI is the directory's own ``./podium-data``) and ``MODEL=no-such-model``.
  ``docs/quickstart.md``'s Python block is a complete program that its shell block reads, so it
  runs too. A block that cannot run in a test is in :data:`SKIP`, with the reason.
* **Parse**: every ``podium ...`` command in any ```bash/```sh/```console block, skipped or not
  (``$ podium ...`` lines of a transcript, ``podium`` after a pipe or inside ``$(...)``; not
  one with a shell variable in it, whose value is not known here), is
  parsed by the real CLI: the command, its options and its argument types must exist, so a
  renamed command or option fails here even where the block cannot run. Transcripts
  (```console) are not run: their output depends on a registry built up across the page.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from podium.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: (file, how the block's first line starts) -> why the block is not run (its podium lines are still parsed)
SKIP: dict[tuple[str, str], str] = {
    ("README.md", "make test"): "runs the whole suite (this test is part of it)",
    ("README.md", "make server"): "starts a long-lived server; `make server PORT=` is tests/test_first_run.py",
    ("README.md", "podium models history fraud-detector"): "needs the governance scenario's server and its "
                                                           "request 7; that scenario is run by "
                                                           "tests/e2e/test_governance_scenario.py",
    ("docs/quickstart.md", "make demo"): "creates .venv and installs podium; the demo is tests/cli/test_demo.py",
    ("docs/quickstart.md", "python3 -m venv .venv"): "creates a venv and installs podium from the network",
    ("docs/configuration.md", "podium server --config"): "starts a long-lived server from /etc/podium",
    ("docs/governance.md", "set -euo pipefail"): "the scenario: run and checked by "
                                                  "tests/e2e/test_governance_scenario.py",
    ("docs/rest-api.md", "podium server"): "starts long-lived servers (on PostgreSQL) and runs train.py",
    ("docs/security.md", "podium users create admin"): "needs PostgreSQL at db/ and starts a server",
    ("docs/security.md", "export MLFLOW_TRACKING_URI=https://podium.example.com"): "a remote server and "
                                                                                  "the reader's train.py",
    **{("docs/deploy.md", start): "Docker, Kubernetes and Helm against a registry and a cluster (the chart is "
                                  "checked offline by tests/deploy)"
       for start in ("docker ", "kubectl ", "helm ", "# demo: embedded SQLite")},
    ("docs/deploy.md", "# pipeline"): "the CI pipeline's jobs: run in order, against a registry with --auth and "
                                      "two scorers, by tests/e2e/test_pipeline.py",
    ("docs/benchmarks.md", ""): "benchmarks: minutes each, some against PostgreSQL; never timed in tests",
}

#: (file, how the block's first line starts) -> (what runs instead, why)
INSTEAD: dict[tuple[str, str], tuple[str, str]] = {
    ("README.md", "make demo"): (".venv/bin/podium demo", "`make demo` is: create .venv (done), then this"),
}

#: what a block that continues an example assumes, made first (Python, run by the venv's python)
WINE = ("from podium import PodiumClient; c = PodiumClient(); c.create_registered_model('wine'); "
        "c.create_model_version('wine', '/tmp/model')")
GIVEN: dict[tuple[str, str], str] = {
    ("docs/governance.md", "podium models policy wine"): WINE,
    ("docs/security.md", "podium models policy wine"): WINE,
}

#: files whose Python blocks are complete programs that the shell blocks after them read
RUN_PYTHON = {"docs/quickstart.md"}


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    lang: str
    text: str

    @property
    def first(self) -> str:
        return next((line.strip() for line in self.text.splitlines() if line.strip()), "")

    def matches(self, table: dict) -> tuple[str, str] | None:
        return next((key for key in table if key[0] == self.file and self.first.startswith(key[1])), None)


def blocks_of(file: str, langs: tuple[str, ...]) -> list[Block]:
    text = (ROOT / file).read_text(encoding="utf-8")
    return [Block(file, text[:m.start()].count("\n") + 1, m.group(1), m.group(2))
            for m in re.finditer(r"^```(\w+)\n(.*?)^```", text, re.S | re.M) if m.group(1) in langs]


# ------------------------------------------------------------------------------------ run
def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(home), MODEL="no-such-model",
               COLUMNS="160")
    return env


@pytest.mark.parametrize("file", FILES)
def test_shell_blocks_run_as_written(file, tmp_path):
    langs = ("bash", "sh", "python") if file in RUN_PYTHON else ("bash", "sh")
    (tmp_path / "home").mkdir()
    (tmp_path / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    env = _env(tmp_path / "home")
    for block in blocks_of(file, langs):
        if block.matches(SKIP):
            continue
        where = f"{file}:{block.line}"
        if block.matches(GIVEN):
            given = subprocess.run([sys.executable, "-c", GIVEN[block.matches(GIVEN)]], cwd=tmp_path, env=env,
                                   capture_output=True, text=True, timeout=120)
            assert given.returncode == 0, f"{where} (setup): {given.stderr[-2000:]}"
        if block.lang == "python":
            command = [sys.executable, "-c", block.text]
        else:
            script = INSTEAD[block.matches(INSTEAD)][0] if block.matches(INSTEAD) else block.text
            command = ["bash", "-e", "-o", "pipefail", "-c", script]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{where} failed ({done.returncode}):\n{block.text}\n" \
                                     f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"


def test_the_skip_lists_name_blocks_that_exist():
    every = [b for f in FILES for b in blocks_of(f, ("bash", "sh"))]
    for table in (SKIP, INSTEAD, GIVEN):
        for key in table:
            assert any(b.matches({key: None}) for b in every), f"no block starts with {key}"


# ------------------------------------------------------------------------------------ parse
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_KEYWORDS = {"if", "then", "elif", "else", "while", "do", "!", "export", "time", "exec"}


def podium_commands(text: str, transcript: bool) -> list[list[str]]:
    """The argument lists of every ``podium`` command in a block (a transcript: ``$ `` lines only)."""
    lines = text.replace("\\\n", " ").splitlines()
    if transcript:
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    found = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote: not a command line
            continue
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set("();<>|&"):
                if token[0] in "<>" and segment and segment[-1].isdigit():
                    segment.pop()  # 2>&1: a file descriptor, not an argument
                found.extend(_podium_args(segment))
                segment = [] if token[0] not in "<>" else ["<redirect>"]
            else:
                segment.append(token)
    return found


def _podium_args(segment: list[str]) -> list[list[str]]:
    while segment and (segment[0] in _KEYWORDS or _ASSIGNMENT.match(segment[0])):
        segment = segment[1:]
    if segment and (segment[0] == "podium" or segment[0].endswith("/podium")) and len(segment) > 1:
        # a shell variable ($PORT, "$MODEL") has no value here: such a command is run, not parsed
        return [] if any("$" in arg for arg in segment) else [segment[1:]]
    return []


def parse(args: list[str]) -> None:
    """Parse ``podium args`` as the CLI would, down to the leaf command, without running it."""
    command: click.Command = main
    ctx = command.make_context("podium", list(args))
    while isinstance(command, click.Group):
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        ctx = command.make_context(name, rest, parent=ctx)


COMMAND_LINES = [(f"{b.file}:{b.line}", args) for f in FILES for b in blocks_of(f, ("bash", "sh", "console"))
                 for args in podium_commands(b.text, transcript=b.lang == "console")]


@pytest.mark.parametrize(("where", "args"), COMMAND_LINES, ids=[f"{w} {' '.join(a)[:60]}" for w, a in COMMAND_LINES])
def test_every_documented_podium_command_parses(where, args):
    try:
        parse(args)
    except click.exceptions.Exit:  # --help, --version
        pass
    except click.UsageError as error:
        pytest.fail(f"{where}: podium {shlex.join(args)}: {error.format_message()}")


def test_the_parser_finds_commands_in_pipes_substitutions_and_transcripts():
    text = 'X=1 podium models list --json | jq .\nexport T=$(podium tokens create --user ci --json | jq -r .t)\n' \
           'echo "$P" | podium users create alice --password-stdin 2>&1\nnot podium\npodium models show "$M"\n'
    assert podium_commands(text, transcript=False) == [
        ["models", "list", "--json"], ["tokens", "create", "--user", "ci", "--json"],
        ["users", "create", "alice", "--password-stdin"]]
    assert podium_commands("$ podium whoami\nalice\n", transcript=True) == [["whoami"]]
    with pytest.raises(click.UsageError):
        parse(["models", "transition", "wine", "abc", "Staging"])
