"""``podium models history``, ``podium models at`` and ``podium models rollback``.

Registered on the ``models`` group (imported at the end of :mod:`podium.cli.models`). All three go
through :class:`~podium.client.PodiumClient` (``get_model_history``, ``get_model_state_at``,
``rollback_model``), so they work against the embedded store and against a Podium server alike.
``history`` lists the newest event first, like ``git log`` (``--reverse``: oldest first); its
``--json`` has the events in the order shown.
"""

from __future__ import annotations

from typing import Any

import click

from podium.cli import VERSION, CliState, collect, pass_state
from podium.cli.models import models
from podium.cli.output import format_time, json_option, print_json, print_renderable, table, text

__all__ = ["history", "rollback", "state_at"]


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return str(value)


def describe_change(before: dict | None, after: dict | None) -> str:
    """``key: old → new`` per changed field of an event (``key: value`` when only one side has it)."""
    before, after = before or {}, after or {}
    lines = []
    for key in sorted(set(before) | set(after), key=lambda k: (k not in ("stage", "version", "name"), k)):
        if key in before and key in after:
            lines.append(f"{key}: {_value(before[key])} → {_value(after[key])}")
        elif key in after:
            lines.append(f"{key}: {_value(after[key])}")
        else:
            lines.append(f"{key}: {_value(before[key])} → (removed)")
    return "\n".join(lines)


@models.command("history")
@click.argument("name")
@click.option("--version", type=VERSION, help="Only events about this version.")
@click.option("--max-results", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many events.")
@click.option("--all", "show_all", is_flag=True, help="Show every event (overrides --max-results).")
@click.option("--reverse", is_flag=True, help="Oldest event first (default: newest first).")
@click.option("--action", "actions", multiple=True, metavar="ACTION",
              help="Only events with this action (stage_transitioned, alias_set, ...); repeatable.")
@click.option("--actor", help="Only events made by this user.")
@json_option
@pass_state
def history(state: CliState, name: str, version: int | None, max_results: int, show_all: bool, reverse: bool,
            actions: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Show the audit history of model NAME: every change, who made it and when.

    Model and version creation, renames, deletions, descriptions, tags, stage transitions, aliases,
    rollbacks, approval requests and what scorers did (`podium serve`: serving.swapped,
    serving.swap_failed), newest first. The history follows renames; a deleted model is
    found by the name it had when it was deleted.

    \b
    Examples:
      podium models history wine-quality-classifier
      podium models history wine-quality-classifier --version 3 --reverse
      podium models history wine-quality-classifier --all --json
      podium models history wine-quality-classifier --action stage_transitioned --action rollback
    """
    client = state.client()
    events = collect(lambda token, n: client.get_model_history(name, version, n, token, newest_first=not reverse,
                                                               actions=list(actions) or None, actor=actor),
                     None if show_all else max_results)
    if as_json:
        print_json({"events": [e.to_dict() for e in events]})
        return
    title = f"History of {name}" + (f" version {version}" if version is not None else "") + f" ({len(events)} events)"
    result = table(title, ("#", {"justify": "right"}), ("Time", {"no_wrap": True}), "Actor", "Action", "Version",
                   "Target", "Change", "Comment")
    for e in events:
        comment = e.comment or ""
        if e.cause and e.action != e.cause:  # a change made by a rollback, a request, archive_existing_versions
            comment = f"{comment}\n({e.cause})".strip()
        if e.request_id is not None:
            comment = f"{comment}\n(request #{e.request_id})".strip()
        result.add_row(str(e.id), format_time(e.timestamp), text(e.actor or "anonymous"), text(e.action, "bold"),
                       text(e.version), text(e.target), text(describe_change(e.before, e.after)), text(comment))
    print_renderable(result)


@models.command("at")
@click.argument("name")
@click.option("--time", "when", required=True, metavar="TIME",
              help="ISO 8601 (e.g. 2026-11-27T09:30:00Z; without an offset: UTC) or epoch milliseconds.")
@json_option
@pass_state
def state_at(state: CliState, name: str, when: str, as_json: bool) -> None:
    """Show where each stage and alias of model NAME pointed at a past TIME.

    Replayed from the audit history. "Serving" is the highest version in the stage (what
    models:/NAME/Production loads). For a model created before Podium recorded history, the state
    before its first recorded event is inferred and marked incomplete.

    \b
    Examples:
      podium models at wine-quality-classifier --time 2026-11-27T09:30:00Z
      podium models at wine-quality-classifier --time 1795768047416 --json
    """
    answer = state.client().get_model_state_at(name, when)
    if as_json:
        print_json({"state": answer})
        return
    from rich.text import Text

    moment = format_time(answer["time"])
    if not answer["exists"]:
        print_renderable(Text.assemble((f"{name} at {moment}: ", "bold"), (answer.get("note") or "did not exist",
                                                                           "yellow")))
        return
    rows = table(f"{answer['name']} at {moment}", "Stage / alias", ("Serving", {"no_wrap": True}), "Versions")
    for stage, held in answer["stages"].items():
        serving = f"v{held['version']}" if stage != "Archived" else "-"
        rows.add_row(text(stage, "bold"), serving, ", ".join(f"v{v}" for v in held["versions"]))
    for alias, version in answer["aliases"].items():
        rows.add_row(text(f"@{alias}", "bold"), f"v{version}", "")
    if not answer["stages"] and not answer["aliases"]:
        rows.add_row(text("(no stage or alias held)", "dim"), "", "")
    print_renderable(rows)
    if not answer["complete"]:
        print_renderable(Text(f"Incomplete: {answer.get('note') or 'history before the first event is unknown'}",
                              style="yellow"))


@models.command("rollback")
@click.argument("name")
@click.option("--stage", help="Roll back this stage (Staging or Production).")
@click.option("--alias", help="Roll back this alias (e.g. champion).")
@click.option("--reason", required=True, help="Why: recorded with the rollback in the audit history.")
@json_option
@pass_state
def rollback(state: CliState, name: str, stage: str | None, alias: str | None, reason: str, as_json: bool) -> None:
    """Give a stage or an alias of model NAME back to the version that held it before.

    One atomic step, recorded in the audit history with your reason: the previous holder moves
    back into the stage and the current one goes to Archived (or the alias points at its previous
    version). Rolling back again goes one more step back. A protected stage or alias needs what
    moving it needs; under a policy that requires approval only an admin may roll back directly.

    \b
    Examples:
      podium models rollback wine-quality-classifier --stage Production --reason "v7 fails on new data"
      podium models rollback wine-quality-classifier --alias champion --reason "revert canary"
    """
    if (stage is None) == (alias is None):
        raise click.UsageError("Give exactly one of --stage and --alias.")
    done = state.client().rollback_model(name, stage, alias, reason=reason)
    if as_json:
        print_json({"rollback": done})
        return
    from rich.text import Text

    what = done.get("stage") or f"@{done.get('alias')}"
    before = f"v{done['from_version']}" if done.get("from_version") is not None else "(none)"
    print_renderable(Text.assemble(("Rolled back ", ""), (f"{what}", "bold"), f" of {done['name']}: ",
                                   (before, "red"), " → ", (f"v{done['to_version']}", "bold green"),
                                   f" (event #{done['event_id']})"))
