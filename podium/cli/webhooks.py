"""``podium webhooks``: manage webhooks and read their delivery log.

Everything goes through :class:`~podium.client.PodiumClient` (MLflow's ``create_webhook`` ...
plus ``list_webhook_deliveries`` and ``redeliver_webhook_delivery``), so the commands work against
a ``podium server`` (admins only with ``--auth``) and on the embedded store (deliveries made there
are sent by a server running on the same database). See docs/webhooks.md.
"""

from __future__ import annotations

import click

from podium.cli import CliState, collect, pass_state
from podium.cli.output import format_time, json_option, print_json, print_renderable, table, text

__all__ = ["webhooks"]

_STYLE = {"ACTIVE": "bold green", "DISABLED": "dim", "succeeded": "green", "pending": "yellow",
          "failed": "bold red", "cancelled": "dim"}


@click.group("webhooks")
def webhooks() -> None:
    """Manage webhooks and read their delivery log (docs/webhooks.md).

    \b
    Examples:
      podium webhooks create deploy https://hooks.example.com/podium -e model_version_alias.created --secret-stdin
      podium webhooks list
      podium webhooks deliveries WEBHOOK_ID --status failed
      podium webhooks redeliver DELIVERY_ID
    """


def _webhook_dict(w) -> dict:
    return w.to_dict()


def _show(w, as_json: bool, headline: str) -> None:
    if as_json:
        print_json({"webhook": _webhook_dict(w)})
        return
    details = table(headline, "Field", "Value")
    details.show_header = False
    for field, value in [("ID", w.webhook_id), ("Name", w.name), ("URL", w.url), ("Status", w.status),
                         ("Events", ", ".join(w.events)), ("Description", w.description),
                         ("Secret", "set (encrypted, never shown)" if w.has_secret else "none: deliveries are unsigned"),
                         ("Standard Webhooks", "yes" if w.standard_webhooks else "no"),
                         ("Created", format_time(w.creation_timestamp)),
                         ("Updated", format_time(w.last_updated_timestamp))]:
        details.add_row(field, text(value, _STYLE.get(value) if field == "Status" else None))
    print_renderable(details)


def _secret(secret: str | None, from_stdin: bool) -> str | None:
    if from_stdin:
        import sys

        return sys.stdin.readline().rstrip("\n")
    return secret


_EVENTS = click.option("--event", "-e", "events", multiple=True, metavar="EVENT",
                       help="An event to deliver, e.g. model_version.created (repeat; see docs/webhooks.md).")
_SECRET = click.option("--secret", metavar="TEXT", help="Signing secret (prefer --secret-stdin: a flag is visible in ps).")
_SECRET_STDIN = click.option("--secret-stdin", is_flag=True, help="Read the signing secret from the first line of stdin.")


@webhooks.command("create")
@click.argument("name")
@click.argument("url")
@_EVENTS
@click.option("--description", metavar="TEXT")
@_SECRET
@_SECRET_STDIN
@click.option("--disabled", is_flag=True, help="Create it disabled (nothing is queued until enabled).")
@click.option("--standard-webhooks", is_flag=True, help="Also send the Standard Webhooks headers (webhook-id, ...).")
@json_option
@pass_state
def create(state: CliState, name: str, url: str, events: tuple[str, ...], description: str | None,
           secret: str | None, secret_stdin: bool, disabled: bool, standard_webhooks: bool, as_json: bool) -> None:
    """Create webhook NAME that POSTs the chosen events to URL.

    \b
    Examples:
      podium webhooks create deploy https://hooks.example.com/podium -e model_version_alias.created \\
          -e model_version_stage.transitioned --secret-stdin < secret.txt
    """
    if not events:
        raise click.UsageError("Give at least one --event, e.g. --event model_version.created.")
    created = state.client().create_webhook(name, url, list(events), description, _secret(secret, secret_stdin),
                                            "DISABLED" if disabled else None, standard_webhooks=standard_webhooks)
    _show(created, as_json, f"Webhook {created.name} created.")


@webhooks.command("list")
@json_option
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List webhooks, newest first."""
    client = state.client()
    found = collect(lambda token, n: client.list_webhooks(n, token), None)
    if as_json:
        print_json({"webhooks": [_webhook_dict(w) for w in found]})
        return
    listing = table("Webhooks", ("ID", {"no_wrap": True}), "Name", "Status", ("URL", {"ratio": 1}), "Events")
    for w in found:
        listing.add_row(w.webhook_id, text(w.name), text(w.status, _STYLE.get(w.status)), text(w.url),
                        text(", ".join(w.events)))
    print_renderable(listing)


@webhooks.command("show")
@click.argument("webhook_id")
@json_option
@pass_state
def show(state: CliState, webhook_id: str, as_json: bool) -> None:
    """Show webhook WEBHOOK_ID (never its secret)."""
    w = state.client().get_webhook(webhook_id)
    _show(w, as_json, f"Webhook {w.name}")


@webhooks.command("update")
@click.argument("webhook_id")
@click.option("--name", metavar="NAME")
@click.option("--url", metavar="URL")
@_EVENTS
@click.option("--description", metavar="TEXT")
@_SECRET
@_SECRET_STDIN
@click.option("--enable/--disable", "enabled", default=None, help="Disabling cancels its pending deliveries at once.")
@click.option("--standard-webhooks/--no-standard-webhooks", default=None)
@json_option
@pass_state
def update(state: CliState, webhook_id: str, name: str | None, url: str | None, events: tuple[str, ...],
           description: str | None, secret: str | None, secret_stdin: bool, enabled: bool | None,
           standard_webhooks: bool | None, as_json: bool) -> None:
    """Change what is given of webhook WEBHOOK_ID (--event replaces the whole list)."""
    status = None if enabled is None else ("ACTIVE" if enabled else "DISABLED")
    w = state.client().update_webhook(webhook_id, name, description, url, list(events) or None,
                                      _secret(secret, secret_stdin), status, standard_webhooks=standard_webhooks)
    _show(w, as_json, f"Webhook {w.name} updated.")


@webhooks.command("delete")
@click.argument("webhook_id")
@pass_state
def delete(state: CliState, webhook_id: str) -> None:
    """Delete webhook WEBHOOK_ID and its delivery log."""
    state.client().delete_webhook(webhook_id)
    click.echo(f"Webhook {webhook_id} deleted.")


@webhooks.command("test")
@click.argument("webhook_id")
@click.option("--event", "-e", metavar="EVENT", help="The example event to send (default: the webhook's first).")
@json_option
@pass_state
def test(state: CliState, webhook_id: str, event: str | None, as_json: bool) -> None:
    """Send an example event to WEBHOOK_ID now and show the answer (exit code 1 if it failed)."""
    result = state.client().test_webhook(webhook_id, event)
    if as_json:
        print_json({"result": result})
    elif result.get("success"):
        click.echo(f"Delivered: the endpoint answered {result.get('response_status')}.")
    else:
        click.echo(f"Not delivered: {result.get('error_message')}", err=True)
    if not result.get("success"):
        raise SystemExit(1)


@webhooks.command("deliveries")
@click.argument("webhook_id")
@click.option("--status", type=click.Choice(["pending", "succeeded", "failed", "cancelled"]),
              help="Only deliveries in this state.")
@click.option("--max-results", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@pass_state
def deliveries(state: CliState, webhook_id: str, status: str | None, max_results: int, as_json: bool) -> None:
    """The delivery log of WEBHOOK_ID, newest first: status, attempts, answer, latency, next retry."""
    found = state.client().list_webhook_deliveries(webhook_id, status, max_results)
    if as_json:
        print_json({"deliveries": [d.to_dict() for d in found]})
        return
    listing = table(f"Deliveries of webhook {webhook_id}", ("Delivery ID", {"no_wrap": True}), "Event", "Status",
                    ("Tries", {"justify": "right"}), "Answer", ("Latency", {"justify": "right"}),
                    ("Created", {"no_wrap": True}), ("Next try", {"no_wrap": True}), ("Error", {"ratio": 1}))
    for d in found:
        listing.add_row(d.delivery_id, text(d.event), text(d.status, _STYLE.get(d.status)), str(d.attempts),
                        text(d.response_status), text(None if d.latency_ms is None else f"{d.latency_ms} ms"),
                        format_time(d.created_at), format_time(d.next_attempt_at) if d.status == "pending" else "-",
                        text(d.last_error))
    print_renderable(listing)


@webhooks.command("redeliver")
@click.argument("delivery_id")
@pass_state
def redeliver(state: CliState, delivery_id: str) -> None:
    """Send delivery DELIVERY_ID again now, with the same delivery id and body."""
    d = state.client().redeliver_webhook_delivery(delivery_id)
    click.echo(f"Delivery {d.delivery_id} ({d.event}) queued to be sent again.")
