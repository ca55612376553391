"""``podium whoami``: who the tracking URI's credentials say you are.

Against a server it asks ``GET /api/podium/v1/whoami`` with the credentials the client sends
(``PODIUM_TRACKING_TOKEN``, ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``, ...); on an embedded store
there is no authentication and Podium acts as the local OS user.
"""

from __future__ import annotations

import click

from podium.cli import CliState, pass_state
from podium.cli.output import json_option, print_json

__all__ = ["whoami"]


@click.command("whoami")
@json_option
@pass_state
def whoami(state: CliState, as_json: bool) -> None:
    """Show who the tracking URI's credentials say you are.

    \b
    Examples:
      podium whoami
      PODIUM_TRACKING_TOKEN=... podium --tracking-uri http://podium:5000 whoami
    """
    client = state.client()
    user = client.whoami()
    where = client.tracking_uri
    if as_json:
        print_json({"tracking_uri": where, "user": user})
    elif user is None:
        click.echo(f"anonymous: the server at {where} runs without authentication (--auth off)")
    elif user.get("via") == "local":
        click.echo(f"embedded store {where}, no authentication (acting as local user {user['name']})")
    else:
        extra = "".join((", admin" if user.get("is_admin") else "",
                         f", groups: {', '.join(user['groups'])}" if user.get("groups") else ""))
        click.echo(f"{user['name']} on {where} (authenticated by {user.get('via')}{extra})")
