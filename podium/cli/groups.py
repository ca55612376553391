"""``podium groups``: groups of users, to grant model permissions to many people at once (on the database)."""

from __future__ import annotations

import click

from podium.cli import CliState, pass_state
from podium.cli.admin import identity_service, uri_option
from podium.cli.output import json_option, print_json, print_renderable, table, text

__all__ = ["groups"]


@click.group()
def groups() -> None:
    """Create groups of users and change their members (on the database)."""


@groups.command("create")
@click.argument("name")
@uri_option
@pass_state
def create_group(state: CliState, name: str, backend_store_uri: str | None) -> None:
    """Create group NAME."""
    with identity_service(state, backend_store_uri) as identity:
        identity.create_group(name)
    click.echo(f"Created group {name}.")


@groups.command("delete")
@click.argument("name")
@uri_option
@pass_state
def delete_group(state: CliState, name: str, backend_store_uri: str | None) -> None:
    """Delete group NAME with its memberships and model grants (its users stay)."""
    with identity_service(state, backend_store_uri) as identity:
        identity.delete_group(name)
    click.echo(f"Deleted group {name}.")


@groups.command("add")
@click.argument("group")
@click.argument("users", nargs=-1, required=True)
@uri_option
@pass_state
def add_members(state: CliState, group: str, users: tuple[str, ...], backend_store_uri: str | None) -> None:
    """Add USERS to GROUP (adding a member twice is not an error)."""
    with identity_service(state, backend_store_uri) as identity:
        for user in users:
            identity.add_group_member(group, user)
    click.echo(f"{group}: added {', '.join(users)}.")


@groups.command("remove")
@click.argument("group")
@click.argument("users", nargs=-1, required=True)
@uri_option
@pass_state
def remove_members(state: CliState, group: str, users: tuple[str, ...], backend_store_uri: str | None) -> None:
    """Remove USERS from GROUP."""
    with identity_service(state, backend_store_uri) as identity:
        for user in users:
            identity.remove_group_member(group, user)
    click.echo(f"{group}: removed {', '.join(users)}.")


@groups.command("list")
@json_option
@uri_option
@pass_state
def list_groups(state: CliState, as_json: bool, backend_store_uri: str | None) -> None:
    """List groups and their members."""
    with identity_service(state, backend_store_uri, read_only=True) as identity:
        found = identity.list_groups()
    if as_json:
        print_json({"groups": [g.to_dict() for g in found]})
        return
    result = table(f"Groups ({len(found)})", "Group", "Members")
    for group in found:
        result.add_row(text(group.name, "bold"), text(", ".join(group.members)))
    print_renderable(result)
