"""``podium users``: create, list and delete accounts, set passwords and the admin role (on the database)."""

from __future__ import annotations

import click

from podium.cli import CliState, pass_state
from podium.cli.admin import identity_service, read_password, uri_option
from podium.cli.output import format_time, json_option, print_json, print_renderable, table, text

__all__ = ["users"]

_stdin_option = click.option("--password-stdin", is_flag=True,
                             help="Read the password from the first line of stdin instead of prompting.")


@click.group()
def users() -> None:
    """Create, list and delete users (on the database, like `podium db`)."""


@users.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an admin (may do everything).")
@_stdin_option
@click.option("--no-password", is_flag=True, help="No password: the user signs in with API tokens only.")
@uri_option
@pass_state
def create_user(state: CliState, name: str, admin: bool, password_stdin: bool, no_password: bool,
                backend_store_uri: str | None) -> None:
    """Create user NAME (prompts for the password unless --password-stdin or --no-password).

    \b
    Examples:
      podium users create admin --admin
      echo "$ALICE_PASSWORD" | podium users create alice --password-stdin
    """
    if no_password and password_stdin:
        raise click.UsageError("Give --password-stdin or --no-password, not both.")
    password = None if no_password else read_password(password_stdin)
    with identity_service(state, backend_store_uri) as identity:
        user = identity.create_user(name, password, is_admin=admin)
    click.echo(f"Created {'admin' if user.is_admin else 'user'} {user.name}.")


@users.command("list")
@json_option
@uri_option
@pass_state
def list_users(state: CliState, as_json: bool, backend_store_uri: str | None) -> None:
    """List users: name, admin, whether they have a password, when they were created."""
    with identity_service(state, backend_store_uri, read_only=True) as identity:
        found = identity.list_users()
    if as_json:
        print_json({"users": [u.to_dict() for u in found]})
        return
    result = table(f"Users ({len(found)})", "Name", "Admin", "Password", "Created")
    for user in found:
        result.add_row(text(user.name, "bold"), "yes" if user.is_admin else "no",
                       "yes" if user.password_hash else "no (tokens only)", format_time(user.created_at))
    print_renderable(result)


@users.command("delete")
@click.argument("name")
@uri_option
@pass_state
def delete_user(state: CliState, name: str, backend_store_uri: str | None) -> None:
    """Delete user NAME with their API tokens, group memberships and model grants."""
    with identity_service(state, backend_store_uri) as identity:
        identity.delete_user(name)
    click.echo(f"Deleted user {name} (and their tokens, group memberships and grants).")


@users.command("set-password")
@click.argument("name")
@_stdin_option
@uri_option
@pass_state
def set_password(state: CliState, name: str, password_stdin: bool, backend_store_uri: str | None) -> None:
    """Set (or reset) the password of user NAME."""
    password = read_password(password_stdin)
    with identity_service(state, backend_store_uri) as identity:
        identity.set_password(name, password)
    click.echo(f"Password of {name} changed.")


@users.command("set-admin")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead of giving it.")
@uri_option
@pass_state
def set_admin(state: CliState, name: str, revoke: bool, backend_store_uri: str | None) -> None:
    """Make user NAME an admin (or, with --revoke, no longer one)."""
    with identity_service(state, backend_store_uri) as identity:
        identity.set_admin(name, not revoke)
    click.echo(f"{name} is {'no longer' if revoke else 'now'} an admin.")
