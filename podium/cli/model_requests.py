"""``podium models request``, ``approve``, ``reject`` and ``requests``: governed promotion.

Registered on the ``models`` group (imported at the end of :mod:`podium.cli.models`). All go
through :class:`~podium.client.PodiumClient` (``request_model_version``, ``approve_request``,
``reject_request``, ``list_requests``), so they work against a Podium server (where the caller is
the authenticated user) and against the embedded store (where the caller is the OS user).
"""

from __future__ import annotations

import click

from podium.cli import VERSION, CliState, pass_state
from podium.cli.models import models
from podium.cli.output import format_time, json_option, print_json, print_renderable, table, text

__all__ = ["approve", "reject", "request", "requests"]

_STATUS_STYLE = {"pending": "bold yellow", "applied": "bold green", "rejected": "bold red", "cancelled": "dim"}


@models.command("request")
@click.argument("name")
@click.argument("version", type=VERSION)
@click.option("--stage", metavar="STAGE", help="Move the version into this protected stage, e.g. Production.")
@click.option("--alias", metavar="ALIAS", help="Point this protected alias at the version, e.g. champion.")
@click.option("--comment", "-m", metavar="TEXT", help="Why (shown to approvers and kept in the audit history).")
@json_option
@pass_state
def request(state: CliState, name: str, version: int, stage: str | None, alias: str | None, comment: str | None,
            as_json: bool) -> None:
    """Request that VERSION of model NAME move into a protected --stage or onto a protected --alias.

    The model's policy must protect the target with --requires-approval (podium models policy). Its
    gates are checked now: a failing gate refuses the request (exit code 1, INVALID_STATE). The move
    happens when the last required approval lands (podium models approve).

    \b
    Examples:
      podium models request wine 4 --stage Production -m "better on the 2026 holdout"
      podium models request wine 4 --alias champion
    """
    if bool(stage) == bool(alias):
        raise click.UsageError("Give exactly one of --stage and --alias.")
    result = state.client().request_model_version(name, version, stage=stage, alias=alias, comment=comment)
    _show(result, as_json, f"Request {result.id} created: waiting for approval.")


@models.command("approve")
@click.argument("request_id", type=int)
@click.option("--comment", "-m", metavar="TEXT", help="Kept with the approval in the audit history.")
@json_option
@pass_state
def approve(state: CliState, request_id: int, comment: str | None, as_json: bool) -> None:
    """Approve pending request REQUEST_ID (see podium models requests NAME).

    The last required approval checks the policy's gates again and applies the move atomically.
    You cannot approve your own request, nor approve one twice.

    \b
    Examples:
      podium models approve 7
      podium models approve 7 -m "checked the holdout report"
    """
    result = state.client().approve_request(request_id, comment)
    done = "applied" if result.status == "applied" else \
        f"approved ({len(result.approvals)} of {result.required_approvals or '?'} approvals)"
    _show(result, as_json, f"Request {result.id} {done}.")


@models.command("reject")
@click.argument("request_id", type=int)
@click.option("--comment", "-m", metavar="TEXT", help="Why (kept in the audit history).")
@json_option
@pass_state
def reject(state: CliState, request_id: int, comment: str | None, as_json: bool) -> None:
    """Reject pending request REQUEST_ID (an approver), or withdraw your own (it is cancelled).

    \b
    Examples:
      podium models reject 7 -m "accuracy dropped on the 2025 vintages"
    """
    result = state.client().reject_request(request_id, comment)
    _show(result, as_json, f"Request {result.id} {result.status}.")


@models.command("requests")
@click.argument("name")
@click.option("--status", type=click.Choice(["pending", "applied", "rejected", "cancelled"], case_sensitive=False),
              help="Only requests in this state.")
@json_option
@pass_state
def requests(state: CliState, name: str, status: str | None, as_json: bool) -> None:
    """List the approval requests of model NAME, newest first.

    \b
    Examples:
      podium models requests wine
      podium models requests wine --status pending --json
    """
    found = state.client().list_requests(name, status.lower() if status else None)
    if as_json:
        print_json({"requests": [r.to_dict() for r in found]})
        return
    listing = table(f"Requests of {name}", ("ID", {"justify": "right", "no_wrap": True}),
                    ("Version", {"justify": "right"}), "Target", "Status", "Requester", "Approvals",
                    ("Created", {"no_wrap": True}), ("Comment", {"ratio": 1}))
    for r in found:
        needed = f"/{r.required_approvals}" if r.status == "pending" and r.required_approvals else ""
        listing.add_row(str(r.id), str(r.version), text(r.target_label, "cyan"),
                        text(r.status, _STATUS_STYLE.get(r.status)), text(r.requester or "anonymous"),
                        text(f"{len(r.approvals)}{needed} " + ", ".join(a.approver for a in r.approvals)),
                        format_time(r.created_at), text(r.comment))
    print_renderable(listing)


def _show(result, as_json: bool, headline: str) -> None:
    if as_json:
        print_json({"request": result.to_dict()})
        return
    from rich.text import Text

    details = table(headline, "Field", "Value")
    details.show_header = False
    rows = [("Model", f"{result.name} version {result.version}"), ("Target", result.target_label),
            ("Status", result.status), ("Requested by", result.requester or "anonymous"),
            ("Comment", result.comment),
            ("Approvals", ", ".join(a.approver for a in result.approvals) or "none yet")]
    if result.required_approvals:
        rows.append(("Required approvals", str(result.required_approvals)))
    if result.decided_by:
        rows.append(("Decided by", f"{result.decided_by} ({format_time(result.decided_at)})"))
    for field, value in rows:
        details.add_row(field, text(value, _STATUS_STYLE.get(value) if field == "Status" else None))
    for gate in result.gate_results:
        mark = Text("pass", "green") if gate.passed else Text("FAIL", "bold red")
        details.add_row(f"Gate {gate.gate}", Text.assemble(mark, f"  {gate.detail}"))
    print_renderable(details)
