"""``podium server``: run the MLflow-compatible tracking and registry server.

Options come from the one settings table (:data:`podium.server.settings.SETTINGS`): each has a flag,
a ``PODIUM_*`` environment variable and a default, so ``podium server`` alone serves the embedded
store (``./podium-data``) on http://127.0.0.1:5000. Point the mlflow client at it with
``MLFLOW_TRACKING_URI=http://127.0.0.1:5000``.
"""

from __future__ import annotations

import click

from podium.server.settings import SETTINGS

__all__ = ["server"]


def _options(command):
    for s in reversed(SETTINGS):
        kwargs = {"default": None, "help": f"{s.help} [env: {s.env}; default: {s.default}]"}
        if s.type is bool:
            kwargs["default"] = None
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
      MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
    """
    from podium.server.runner import serve
    from podium.server.settings import ServerSettings

    settings = ServerSettings.from_env(**options)
    click.echo(
        f"Podium server on http://{settings.host}:{settings.port} "
        f"(store {settings.backend_store_uri}, artifacts {settings.artifacts_destination})",
        err=True,
    )
    serve(settings)
