"""``podium server``: run the MLflow-compatible tracking and registry server.

Options come from the one settings table (:data:`podium.server.settings.SETTINGS`): each has a flag,
a ``PODIUM_*`` environment variable, a key in the optional TOML config file (``--config FILE``) and
a default, so ``podium server`` alone serves the embedded store (``./podium-data``) on
http://127.0.0.1:5000. A flag beats its variable, which beats the file, which beats the default
(``docs/configuration.md``). Point the mlflow client at it with
``MLFLOW_TRACKING_URI=http://127.0.0.1:5000``.
"""

from __future__ import annotations

import re

import click

from podium.errors import PodiumError
from podium.server.settings import SETTINGS

__all__ = ["server"]


def _options(command):
    for s in reversed(SETTINGS):
        where = f"env: {s.env}; config key: {s.key}" if s.key else f"env: {s.env}"
        default = str(s.default).lower() if s.type is bool else (s.default if s.default not in ("", ()) else "none")
        kwargs = {"default": None, "help": f"{s.help} [{where}; default: {default}]"}
        if s.field == "config":
            kwargs["type"] = click.Path(dir_okay=False)
            kwargs["metavar"] = "FILE"
        elif s.type is bool:
            kwargs["default"] = None
        elif s.type is tuple:
            kwargs.update(multiple=True, type=str)
        elif s.choices:
            kwargs["type"] = click.Choice(s.choices, case_sensitive=False)
        else:
            kwargs["type"] = s.type
        command = click.option(s.flag, s.field, **kwargs)(command)
    return command


@click.command("server")
@_options
def server(**options) -> None:
    """Run the Podium server (MLflow REST API: registry, tracking, artifact proxy).

    \b
    Examples:
      podium server
      podium server --host 0.0.0.0 --port 8080 --backend-store-uri postgresql://u:p@db/podium
      podium server --config /etc/podium/podium.toml
      podium server --auth --default-role edit
      MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
    """
    from podium.server.runner import serve
    from podium.server.settings import ServerSettings

    try:
        settings = ServerSettings.from_env(**options)
    except PodiumError as exc:
        raise click.UsageError(exc.message) from None
    click.echo(
        f"Podium server on http://{settings.host}:{settings.port} "
        f"(store {_without_password(settings.backend_store_uri)}, artifacts {settings.artifacts_destination}"
        f"{', auth on, default role ' + settings.default_role if settings.auth else ''})",
        err=True,
    )
    try:
        serve(settings)
    except PodiumError as exc:  # e.g. PODIUM_ADMIN_PASSWORD too short: one line, not a traceback
        raise click.ClickException(str(exc)) from None


def _without_password(url: str) -> str:
    """A database URL fit for a log line: ``user:secret@`` becomes ``user:***@``."""
    return re.sub(r"://([^:/@]+):[^@/]*@", r"://\1:***@", url)
