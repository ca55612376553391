"""``podium tokens``: API tokens for scripts and the mlflow client (``MLFLOW_TRACKING_TOKEN``), on the database.

A token is printed once, when it is created, and stored only as a hash; ``tokens list`` shows its
non-secret prefix, expiry, last use and state (active, expired, revoked).
"""

from __future__ import annotations

import time

import click

from podium.cli import CliState, pass_state
from podium.cli.admin import identity_service, uri_option
from podium.cli.output import format_time, json_option, print_json, print_renderable, table, text

__all__ = ["tokens"]


def _now_ms() -> int:
    return int(time.time() * 1000)


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens (on the database)."""


@tokens.command("create")
@click.option("--user", "user", required=True, metavar="NAME", help="The user the token acts as.")
@click.option("--name", "token_name", metavar="N", help="A label for the token, e.g. ci-deploy.")
@click.option("--expires-in", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="Expire the token after DAYS days (default: never).")
@json_option
@uri_option
@pass_state
def create_token(state: CliState, user: str, token_name: str | None, expires_in: float | None, as_json: bool,
                 backend_store_uri: str | None) -> None:
    """Create an API token for a user and print it (once: only its hash is stored).

    \b
    Examples:
      podium tokens create --user ci --name deploy --expires-in 90
      export MLFLOW_TRACKING_TOKEN=$(podium tokens create --user alice --json | jq -r .token)
    """
    with identity_service(state, backend_store_uri) as identity:
        secret, record = identity.create_token(user, token_name, expires_in)
    if as_json:
        print_json({"token": secret, **record.to_dict(_now_ms())})
        return
    click.echo(secret)
    expiry = f"expires {format_time(record.expires_at)}" if record.expires_at else "never expires"
    click.echo(f"Token {record.id} for {user} ({expiry}). Copy it now: it is not shown again.", err=True)


@tokens.command("list")
@click.option("--user", "user", required=True, metavar="NAME", help="Whose tokens to list.")
@json_option
@uri_option
@pass_state
def list_tokens(state: CliState, user: str, as_json: bool, backend_store_uri: str | None) -> None:
    """List a user's tokens: id, name, prefix, created, expires, last used, state."""
    with identity_service(state, backend_store_uri, read_only=True) as identity:
        found = identity.list_tokens(user)
    now = _now_ms()
    if as_json:
        print_json({"tokens": [t.to_dict(now) for t in found]})
        return
    result = table(f"Tokens of {user} ({len(found)})", ("ID", {"justify": "right"}), "Name", "Prefix", "Created",
                   "Expires", "Last used", "State")
    for t in found:
        result.add_row(str(t.id), text(t.name), f"podium_{t.prefix}_…", format_time(t.created_at),
                       format_time(t.expires_at), format_time(t.last_used_at), t.state(now))
    print_renderable(result)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@uri_option
@pass_state
def revoke_token(state: CliState, token_id: int, backend_store_uri: str | None) -> None:
    """Revoke token ID (it stops working at once; revoking twice is not an error)."""
    with identity_service(state, backend_store_uri) as identity:
        record = identity.revoke_token(token_id)
    click.echo(f"Revoked token {record.id} ({record.name or 'unnamed'}) of {record.user}.")
