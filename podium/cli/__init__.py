"""The ``podium`` command line: a click group whose subcommands load on first use.

``podium --help`` imports nothing but click: each subcommand lives in its own module, named in
:data:`COMMANDS` with its one-line help, and is imported only when it runs. So the CLI starts fast
and never imports SQLAlchemy or an ML library before a command needs it.

Every command talks to Podium through :class:`~podium.client.PodiumClient`, so it works the same
against the embedded store and against a server. The tracking URI is chosen by, in order:
``--tracking-uri``, ``PODIUM_TRACKING_URI``, ``MLFLOW_TRACKING_URI``, then the embedded default
``sqlite:///./podium-data/podium.db`` (see :mod:`podium.compose`).

A command reading the registry on a SQLite store that does not exist yet (a mistyped path, a
directory without ``podium-data``) warns on stderr that it starts a new, empty one
(:func:`warn_if_new_store`).

Errors: every :class:`~podium.errors.PodiumError` ends here, in :meth:`PodiumGroup.invoke`, and
becomes one line on stderr plus an exit code (table in :mod:`podium.cli.output`).
"""

from __future__ import annotations

import importlib
import logging
import warnings
from dataclasses import dataclass

import click

from podium.errors import PodiumError
from podium.version import __version__

__all__ = ["COMMANDS", "HTTP_DEFAULTS", "VERSION", "CliState", "LazyGroup", "PodiumGroup", "collect", "main", "pass_state",
           "warn_if_new_store"]

#: command name -> ("module:attribute", one-line help shown by ``podium --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("podium.cli.models:models", "List and inspect registered models; move stages and aliases; grants and policies."),
    "runs": ("podium.cli.runs:runs", "List tracked runs with their metrics and params."),
    "demo": ("podium.cli.demo:demo", "Run the model-registry workflow end to end in a scratch store."),
    "server": ("podium.cli.server:server", "Run the Podium tracking and registry server."),
    "serve": ("podium.cli.serve:serve", "Serve a model over HTTP (MLflow's scoring protocol); follow its alias or stage."),
    "db": ("podium.cli.db:db", "Upgrade the database schema and show its revision."),
    "gc": ("podium.cli.gc:gc", "Permanently remove deleted runs, experiments, logged models and their files."),
    "users": ("podium.cli.users:users", "Create, list and delete users (on the database, like `podium db`)."),
    "groups": ("podium.cli.groups:groups", "Create groups of users and change their members (on the database)."),
    "tokens": ("podium.cli.tokens:tokens", "Create, list and revoke API tokens (on the database)."),
    "whoami": ("podium.cli.whoami:whoami", "Show who the tracking URI's credentials say you are."),
    "webhooks": ("podium.cli.webhooks:webhooks", "Manage webhooks and read their delivery log (resend, test)."),
    "import-mlflow": ("podium.cli.moving:import_mlflow", "Import an MLflow store (its database or server) into this Podium store."),
    "export": ("podium.cli.moving:export", "Export models, runs and their files into a portable archive directory."),
    "import": ("podium.cli.moving:import_archive", "Import a Podium archive (podium export) into this store."),
}

#: the type of every VERSION argument: a version number (1 or more); 0 or abc is a usage error (exit 2)
VERSION = click.IntRange(1, 2**31 - 1)

#: the FutureWarning PodiumClient's stage methods emit (MLflow deprecated stages); noise in a CLI
_STAGE_WARNING = r"\w+ is deprecated in MLflow since 2\.9\.0"


@dataclass
class CliState:
    """What the root group hands to every command (``ctx.obj``)."""

    tracking_uri: str | None = None

    def client(self):
        """A :class:`~podium.client.PodiumClient` for the chosen tracking URI (built lazily).

        Over HTTP a person should not wait minutes for a dead server: the CLI connects within
        :data:`HTTP_DEFAULTS` (``PODIUM_HTTP_TIMEOUT`` / ``PODIUM_HTTP_MAX_RETRIES`` still win) and
        shows each retry on stderr. On a SQLite store that does not exist yet it warns first.
        """
        from podium.client import PodiumClient
        from podium.client.http import logger, session_for

        client = PodiumClient(tracking_uri=self.tracking_uri)
        if client.tracking_uri.startswith(("http://", "https://")):
            session_for(client.tracking_uri, **HTTP_DEFAULTS)  # the session the client will use
            if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
                logger.addHandler(_StderrHandler())
                logger.setLevel(logging.INFO)
        else:
            warn_if_new_store(client.tracking_uri)
        return client


def warn_if_new_store(uri: str) -> None:
    """Say on stderr that a SQLite store is about to be created, so a command reading a mistyped path
    (or a directory without ``podium-data``) does not just show an empty registry."""
    import os.path

    from podium.uris import sqlite_path_of

    path = sqlite_path_of(uri)
    if path and not os.path.exists(os.path.expanduser(path)):
        click.echo(f"Warning: no store at {os.path.abspath(os.path.expanduser(path))}; starting a new, empty one there. "
                   "To read an existing store, give --tracking-uri sqlite:///<its path> or set "
                   "PODIUM_TRACKING_URI.", err=True)


#: the CLI's HTTP timeouts (seconds) and retries, shorter than the library's (120 s, 10 s, 5)
HTTP_DEFAULTS = {"timeout": 30.0, "connect_timeout": 5.0, "max_retries": 2}


class _StderrHandler(logging.Handler):
    """Log records as plain lines on the current stderr (``retrying (1/2)…``)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


#: a decorator passing the :class:`CliState` to a command (a default one outside the root group)
pass_state = click.make_pass_decorator(CliState, ensure=True)


def collect(fetch, max_results: int | None, page_size: int = 1000) -> list:
    """Follow page tokens: ``fetch(page_token, n)`` until ``max_results`` items (all when None)."""
    items: list = []
    token = None
    while True:
        want = page_size if max_results is None else min(page_size, max_results - len(items))
        if want <= 0:
            return items
        page = fetch(token, want)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


class LazyGroup(click.Group):
    """A group whose subcommands are imported from ``"module:attr"`` only when they are used."""

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        target, _help = self.lazy_commands[cmd_name]
        module_name, attr = target.split(":", 1)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            return _unavailable_command(cmd_name, module_name, exc)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from :data:`COMMANDS` without importing them (keeps ``--help`` fast)."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, self.lazy_commands[name][1]))
            else:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str()))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _unavailable_command(name: str, module_name: str, exc: ModuleNotFoundError) -> click.Command:
    """A stand-in for a subcommand whose module cannot be imported: fails with one clean line."""
    missing = exc.name or module_name
    if missing == module_name or missing.split(".")[0] == "podium":
        reason = f"'podium {name}' is not available in this installation (module {missing} is missing)."
    else:
        reason = f"'podium {name}' needs the Python package '{missing.split('.')[0]}', which is not installed."

    def fail() -> None:
        raise click.ClickException(reason)

    return click.Command(
        name,
        callback=fail,
        help=reason,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class PodiumGroup(LazyGroup):
    """The root group: turns any :class:`PodiumError` into one line on stderr and an exit code
    (with "Did you mean ...?" for a model name close to an existing one), and Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_STAGE_WARNING, category=FutureWarning)
            try:
                return super().invoke(ctx)
            except PodiumError as error:
                from podium.cli.output import fail
                from podium.cli.suggest import model_name_hint

                state = ctx.find_object(CliState) or CliState()
                fail(error, model_name_hint(state.client(), error))
            except KeyboardInterrupt:
                from podium.cli.output import EXIT_INTERRUPTED

                click.echo("\nInterrupted.", err=True)
                raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=PodiumGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="podium", message="%(prog)s %(version)s")
@click.option(
    "--tracking-uri",
    envvar="PODIUM_TRACKING_URI",
    metavar="URI",
    help="Where runs and models live: sqlite:///path.db, postgresql://..., http://host:port. "
    "[env: PODIUM_TRACKING_URI; default: sqlite:///./podium-data/podium.db]",
)
@click.pass_context
def main(ctx: click.Context, tracking_uri: str | None) -> None:
    """Podium: version control for ML models, a drop-in for MLflow's Model Registry.

    \b
    Examples:
      podium models list
      podium models versions wine-quality-classifier --stage Production
      podium --tracking-uri http://localhost:5000 runs list --json
    """
    ctx.obj = CliState(tracking_uri=tracking_uri or None)

