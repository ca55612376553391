"""``podium models``: list and inspect registered models, move stages, set and delete aliases, and
manage who may do what with a model (grants, protected stages and aliases).

Each command parses its arguments, makes a few :class:`~podium.client.PodiumClient` calls and
hands the result to a renderer below (a rich table, or JSON with ``--json``). Nothing here touches
a store, so the same commands work against a server URL.
"""

from __future__ import annotations

import warnings

import click

from podium.cli import VERSION, CliState, collect, pass_state
from podium.cli.output import console, format_time, json_option, print_json, print_renderable, table, text
from podium.errors import ArchivedAliasWarning, ResourceDoesNotExist

__all__ = ["WIDE_CONSOLE", "all_versions", "models", "versions_table"]

#: how stages are listed in tables: what serves first
_STAGE_ORDER = {"Production": 0, "Staging": 1, "None": 2, "Archived": 3}

#: console width from which version tables also show tags and source / storage
WIDE_CONSOLE = 150


@click.group()
def models() -> None:
    """List and inspect registered models; move stages and aliases; grants and policies."""


@models.command("list")
@click.option("--filter", "filter_string", metavar="FILTER",
              help="MLflow search filter, e.g. \"name LIKE 'wine%'\" or \"tags.team = 'fraud'\".")
@click.option("--max-results", type=click.IntRange(min=1), default=100, show_default=True,
              help="Stop after this many models.")
@json_option
@pass_state
def list_models(state: CliState, filter_string: str | None, max_results: int, as_json: bool) -> None:
    """List registered models with their latest version per stage and their aliases."""
    client = state.client()
    found = collect(lambda token, n: client.search_registered_models(filter_string, n, None, token), max_results)
    if as_json:
        print_json({"registered_models": found})
        return
    result = table(f"Registered models ({len(found)})", ("Name", {"min_width": 12}),
                   ("Latest versions", {"no_wrap": True}), ("Aliases", {"min_width": 7}), "Description",
                   ("Last updated", {"no_wrap": True}))
    for model in found:
        result.add_row(text(model.name, "bold"), text(_latest_by_stage(model.latest_versions)),
                       text(_aliases_of(model.aliases)), text(model.description),
                       format_time(model.last_updated_timestamp))
    print_renderable(result)


@models.command("show")
@click.argument("name")
@json_option
@pass_state
def show_model(state: CliState, name: str, as_json: bool) -> None:
    """Show one registered model: details, tags, aliases and latest versions."""
    model = state.client().get_registered_model(name)
    if as_json:
        print_json({"registered_model": model})
        return
    details = table(f"Registered model {model.name}", "Field", "Value")
    details.show_header = False
    for field, value in (("Name", model.name), ("Description", model.description),
                         ("Created", format_time(model.creation_timestamp)),
                         ("Last updated", format_time(model.last_updated_timestamp))):
        details.add_row(field, text(value))
    tags = table("Tags", "Key", "Value")
    for key, value in sorted(model.tags.items()):
        tags.add_row(text(key), text(value))
    aliases = table("Aliases", "Alias", "Version")
    for alias, version in sorted(model.aliases.items()):
        aliases.add_row(text(f"@{alias}", "cyan"), str(version))
    latest = sorted(model.latest_versions, key=lambda v: _STAGE_ORDER.get(v.current_stage, 9))
    print_renderable(details, tags if model.tags else text("No tags."),
                     aliases if model.aliases else text("No aliases."),
                     versions_table(latest, "Latest version per stage"))


@models.command("versions")
@click.argument("name")
@click.option("--stage", metavar="STAGE", help="Only versions in this stage (None, Staging, Production, Archived; "
              "any case).")
@json_option
@pass_state
def list_versions(state: CliState, name: str, stage: str | None, as_json: bool) -> None:
    """List every version of a model, newest first."""
    from podium.domain.rules import canonical_stage

    client = state.client()
    client.get_registered_model(name)  # an unknown model is an error, not an empty list
    wanted = canonical_stage(stage) if stage is not None else None
    found = [v for v in all_versions(client, name) if wanted is None or v.current_stage == wanted]
    if as_json:
        print_json({"model_versions": found})
        return
    title = f"Versions of {name}" + (f" in stage {wanted}" if wanted else "") + f" ({len(found)})"
    print_renderable(versions_table(found, title))


@models.command("transition")
@click.argument("name")
@click.argument("version", type=VERSION)
@click.argument("stage")
@click.option("--archive-existing", is_flag=True,
              help="Archive the versions currently in STAGE (Staging or Production only).")
@json_option
@pass_state
def transition(state: CliState, name: str, version: int, stage: str, archive_existing: bool, as_json: bool) -> None:
    """Move VERSION of model NAME to STAGE (None, Staging, Production, Archived; any case)."""
    client = state.client()
    before = client.get_model_version(name, version)
    others_before = all_versions(client, name) if archive_existing else []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ArchivedAliasWarning)
        updated = client.transition_model_version_stage(name, version, stage, archive_existing_versions=archive_existing)
    notes = [str(w.message) for w in caught if issubclass(w.category, ArchivedAliasWarning)]
    for note in notes:  # @champion now loads an Archived version: say so
        click.echo(f"Warning: {note} (move it with: podium models alias {name} ALIAS VERSION)", err=True)
    archived = _newly_archived(others_before, all_versions(client, name)) if archive_existing else []
    if as_json:
        print_json({"model_version": updated, "previous_stage": before.current_stage, "archived_versions": archived,
                    "warnings": notes})
        return
    from rich.text import Text

    print_renderable(Text.assemble(
        (f"{name} version {updated.version}: ", "bold"), before.current_stage, " -> ",
        (updated.current_stage, "bold green"),
    ))
    if archived:
        print_renderable(text(f"Archived version{'s' if len(archived) > 1 else ''} "
                              f"{', '.join(map(str, archived))} (previously in {updated.current_stage})."))


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=VERSION, required=False)
@click.option("--delete", is_flag=True, help="Delete the alias instead of setting it.")
@json_option
@pass_state
def set_alias(state: CliState, name: str, alias: str, version: int | None, delete: bool, as_json: bool) -> None:
    """Point ALIAS of model NAME at VERSION, or delete it with --delete.

    \b
    Examples:
      podium models alias wine-quality-classifier champion 2
      podium models alias wine-quality-classifier champion --delete
    """
    if delete and version is not None:
        raise click.UsageError("Give either VERSION (to set the alias) or --delete, not both.")
    if not delete and version is None:
        raise click.UsageError(f"Give the VERSION @{alias} should point at, or --delete to delete it.")
    client = state.client()
    if delete:
        if alias not in client.get_registered_model(name).aliases:  # MLflow's delete is silent about it
            raise ResourceDoesNotExist(f"Registered model {name} has no alias @{alias}.")
        client.delete_registered_model_alias(name, alias)
        payload, message = {"name": name, "alias": alias, "deleted": True}, f"Deleted alias @{alias} of {name}."
    else:
        client.set_registered_model_alias(name, alias, version)
        payload, message = {"name": name, "alias": alias, "version": version}, f"@{alias} -> {name} version {version}"
    if as_json:
        print_json(payload)
    else:
        print_renderable(text(message, "bold"))


def _principal(user: str | None, group: str | None) -> dict:
    if bool(user) == bool(group):
        raise click.UsageError("Give exactly one of --user and --group.")
    return {"user": user, "group": group}


_user_option = click.option("--user", metavar="U", help="A user name.")
_group_option = click.option("--group", metavar="G", help="A group name.")


@models.command("grant")
@click.argument("name")
@_user_option
@_group_option
@click.option("--permission", required=True, type=click.Choice(["read", "edit", "manage"], case_sensitive=False),
              help="read: see and download; edit: new versions, descriptions, tags, stages and aliases; "
              "manage: also rename, delete, grants and policy.")
@json_option
@pass_state
def grant(state: CliState, name: str, user: str | None, group: str | None, permission: str, as_json: bool) -> None:
    """Give a user or a group a permission on model NAME (replaces their previous grant).

    \b
    Examples:
      podium models grant wine --user alice --permission edit
      podium models grant wine --group ml-platform --permission manage
    """
    granted = state.client().set_model_grant(name, permission.lower(), **_principal(user, group))
    if as_json:
        print_json({"grant": granted.to_dict()})
    else:
        print_renderable(text(f"{granted.principal_type} {granted.principal}: {granted.permission.label} on {name}", "bold"))


@models.command("revoke")
@click.argument("name")
@_user_option
@_group_option
@pass_state
def revoke(state: CliState, name: str, user: str | None, group: str | None) -> None:
    """Remove a user's or group's grant on model NAME (the default role applies again)."""
    state.client().delete_model_grant(name, **_principal(user, group))
    print_renderable(text(f"Removed the grant of {user or group} on {name}.", "bold"))


@models.command("grants")
@click.argument("name")
@json_option
@pass_state
def list_grants(state: CliState, name: str, as_json: bool) -> None:
    """List who has read, edit or manage on model NAME."""
    found = state.client().get_model_grants(name)
    if as_json:
        print_json({"grants": [g.to_dict() for g in found]})
        return
    result = table(f"Grants on {name} ({len(found)})", "Type", "Name", "Permission")
    for g in found:
        result.add_row(g.principal_type, text(g.principal, "bold"), g.permission.label)
    print_renderable(result)


@models.command("policy")
@click.argument("name")
@click.option("--protect-stage", "stages", multiple=True, metavar="S",
              help="A stage only --require-role may move (repeat for several), e.g. Production.")
@click.option("--protect-alias", "aliases", multiple=True, metavar="A",
              help="An alias only --require-role may move (repeat for several), e.g. champion.")
@click.option("--require-role", type=click.Choice(["manage", "admin"], case_sensitive=False),
              help="Who may move protected targets: manage on the model (default) or admin.")
@click.option("--requires-approval", is_flag=True,
              help="Protected targets move only through an approved request (podium models request).")
@click.option("--required-approvals", type=click.IntRange(1, 100), metavar="N",
              help="With --requires-approval: approvals a request needs (default 1).")
@click.option("--approver", "approvers", multiple=True, metavar="WHO",
              help="With --requires-approval: who may approve, user:NAME, group:NAME, role:manage or role:admin "
                   "(repeat for several; default role:manage; admins always may).")
@click.option("--gate", "gates", multiple=True, metavar="GATE",
              help="With --requires-approval: a check every request must pass, e.g. \"metrics.accuracy >= 0.9\", "
                   "\"metrics.rmse <= current\" (not worse than the current holder) or \"signature\".")
@click.option("--show", is_flag=True, help="Show the policy instead of setting it.")
@json_option
@pass_state
def policy(state: CliState, name: str, stages: tuple[str, ...], aliases: tuple[str, ...], require_role: str | None,
           requires_approval: bool, required_approvals: int | None, approvers: tuple[str, ...],
           gates: tuple[str, ...], show: bool, as_json: bool) -> None:
    """Set (replace) or --show the protected stages and aliases of model NAME.

    \b
    Examples:
      podium models policy wine --protect-stage Production --protect-alias champion
      podium models policy wine --protect-stage Production --require-role admin --requires-approval
      podium models policy wine --protect-stage Production --requires-approval --required-approvals 2 \
          --approver group:ml-leads --gate "metrics.accuracy >= 0.9" --gate "metrics.accuracy >= current"
      podium models policy wine --show
    """
    client = state.client()
    if (required_approvals or approvers or gates) and not requires_approval:
        raise click.UsageError("--required-approvals, --approver and --gate need --requires-approval.")
    changing = bool(stages or aliases or require_role or requires_approval)
    if show and changing:
        raise click.UsageError("--show takes no other policy option.")
    if show:
        result = client.get_model_policy(name)
    elif not changing:
        raise click.UsageError("Give --protect-stage/--protect-alias (and --require-role, --requires-approval) "
                               "to set the policy, or --show.")
    else:
        approval = {"required_approvals": required_approvals, "approvers": list(approvers), "gates": list(gates)} \
            if (required_approvals or approvers or gates) else {}
        result = client.set_model_policy(name, list(stages), list(aliases), (require_role or "manage").lower(),
                                         requires_approval, **approval)
    if as_json:
        print_json({"policy": result.to_dict()})
        return
    details = table(f"Policy of {name}", "Field", "Value")
    details.show_header = False
    for field, value in (("Protected stages", ", ".join(result.protected_stages)),
                         ("Protected aliases", ", ".join("@" + a for a in result.protected_aliases)),
                         ("Who may move them", "admin" if result.require_role == "admin" else "manage or admin"),
                         ("Requires approval", "yes" if result.requires_approval else "no"),
                         *((("Required approvals", str(result.required_approvals)),
                            ("Approvers", ", ".join(result.approvers) or "role:manage (manage on the model) or admin"),
                            ("Gates", "\n".join(result.gates) or "none")) if result.requires_approval else ())):
        details.add_row(field, text(value))
    print_renderable(details)


# ------------------------------------------------------------------------------------ helpers
def all_versions(client, name: str) -> list:
    """Every version of model ``name``, newest first."""
    quoted = "'" + name.replace("'", "''") + "'"
    found = collect(lambda token, n: client.search_model_versions(f"name = {quoted}", n, None, token), None, 10000)
    return sorted(found, key=lambda v: int(v.version), reverse=True)


def _newly_archived(before: list, after: list) -> list[int]:
    was = {int(v.version): v.current_stage for v in before}
    return sorted(int(v.version) for v in after
                  if v.current_stage == "Archived" and was.get(int(v.version), "Archived") != "Archived")


def versions_table(versions: list, title: str, *, full: bool | None = None):
    """Model versions as a table: version, stage, aliases, created, run, description.

    ``full`` adds tags and source / storage; by default it does when the console is at least
    :data:`WIDE_CONSOLE` columns wide (a caption says where to find them otherwise).
    """
    auto = full is None
    if auto:
        full = console().width >= WIDE_CONSOLE
    columns = [("Version", {"justify": "right", "no_wrap": True}), ("Stage", {"no_wrap": True}), "Aliases",
               ("Created", {"no_wrap": True}), ("Run ID", {"no_wrap": True}), ("Description", {"ratio": 1})]
    if full:
        columns += [("Tags", {"ratio": 1}), ("Source / storage", {"ratio": 3})]
    result = table(title, *columns)
    if auto and not full:
        result.caption = f"Tags and source / storage: use a console {WIDE_CONSOLE} columns wide, or --json."
    for v in versions:
        row = [str(v.version), text(v.current_stage, _stage_style(v.current_stage)),
               text(" ".join(f"@{a}" for a in sorted(v.aliases)), "cyan"), format_time(v.creation_timestamp),
               text(v.run_id), text(v.description)]
        if full:
            row += [text("\n".join(f"{k}={val}" for k, val in sorted(v.tags.items()))), text(_source_of(v))]
        result.add_row(*row)
    return result


def _stage_style(stage: str) -> str:
    return {"Production": "bold green", "Staging": "yellow", "Archived": "dim"}.get(stage, "")


def _source_of(version) -> str | None:
    if version.storage_location and version.storage_location != version.source:
        return f"{version.source}\n{version.storage_location}"
    return version.source


def _latest_by_stage(latest: list) -> str:
    ordered = sorted(latest, key=lambda v: _STAGE_ORDER.get(v.current_stage, 9))
    return "\n".join(f"{v.current_stage}: v{v.version}" for v in ordered)


def _aliases_of(aliases: dict) -> str:
    return "\n".join(f"@{alias}: v{version}" for alias, version in sorted(aliases.items()))



# ``podium models verify`` and ``podium models compare`` live in their own module
from podium.cli import model_checks as _model_checks  # noqa: E402,F401
# ``podium models history``, ``at`` and ``rollback`` (audit history)
from podium.cli import model_history as _model_history  # noqa: E402,F401
# ``podium models request``, ``approve``, ``reject`` and ``requests`` (approvals)
from podium.cli import model_requests as _model_requests  # noqa: E402,F401
