"""``podium db``: the database schema. ``upgrade`` applies Alembic migrations, ``current`` shows the
revision a database is at, ``check`` compares the live schema with the code (CI's drift check).

The database is ``--backend-store-uri``, else ``PODIUM_BACKEND_STORE_URI``, else the tracking URI
(``--tracking-uri``, ``PODIUM_TRACKING_URI``, ``MLFLOW_TRACKING_URI``, the embedded default). Run
``podium db upgrade`` once before starting several servers on a new database (the Helm chart does
it in a pre-install/pre-upgrade Job); servers also upgrade an empty database on start.
"""

from __future__ import annotations

import contextlib

import click

from podium.cli import CliState, pass_state
from podium.cli.output import fail, json_option, print_json

__all__ = ["db"]

_uri_option = click.option(
    "--backend-store-uri", envvar="PODIUM_BACKEND_STORE_URI", metavar="URI",
    help="Database URL (sqlite:///…, postgresql://…, mysql://…). Default: the tracking URI.",
)


@contextlib.contextmanager
def _reporting_database_errors():
    """A database that cannot be reached or read is a one-line error, not a traceback."""
    from podium.errors import PodiumError, TemporarilyUnavailable

    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors vary by backend
        fail(TemporarilyUnavailable(f"Cannot use the database: {type(exc).__name__}: {str(exc).splitlines()[0]}"))


def _database(state: CliState, uri: str | None, *, upgrade: bool = False):
    from podium import settings
    from podium.compose import open_database
    from podium.errors import InvalidParameterValue

    url = uri or settings.tracking_uri(state.tracking_uri)
    if url.startswith(("http://", "https://")):
        fail(InvalidParameterValue(f"'{url}' is a server, not a database; give --backend-store-uri."))
    return open_database(url, upgrade=upgrade)


@click.group()
def db() -> None:
    """Upgrade the database schema and show its revision."""


@db.command("upgrade")
@_uri_option
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@pass_state
def upgrade(state: CliState, backend_store_uri: str | None, revision: str) -> None:
    """Apply the migrations the database does not have yet (safe to run again)."""
    from podium.compose import schema_revision

    with _reporting_database_errors():
        database = _database(state, backend_store_uri)
        before = database.current_revision()
        database.upgrade(revision)
        after = database.current_revision()
        database.dispose()
    click.echo(f"schema: {before or '(empty)'} -> {after} (head {schema_revision()})")


@db.command("current")
@_uri_option
@json_option
@pass_state
def current(state: CliState, backend_store_uri: str | None, as_json: bool) -> None:
    """Show the database's schema revision and whether it is the one this Podium expects."""
    from podium.compose import schema_revision

    head = schema_revision()
    with _reporting_database_errors():
        database = _database(state, backend_store_uri)
        revision = database.current_revision()
        database.dispose()
    if as_json:
        print_json({"revision": revision, "head": head, "up_to_date": revision == head})
    else:
        state_text = "up to date" if revision == head else "needs `podium db upgrade`"
        click.echo(f"{revision or '(empty)'} (head {head}): {state_text}")


@db.command("check")
@_uri_option
@pass_state
def check(state: CliState, backend_store_uri: str | None) -> None:
    """Exit 1 when the live schema differs from the code's tables (a missing or wrong migration)."""
    with _reporting_database_errors():
        database = _database(state, backend_store_uri)
        diff = database.drift()
        database.dispose()
    if diff:
        for item in diff:
            click.echo(f"drift: {item}", err=True)
        raise SystemExit(1)
    click.echo("schema matches the code")
