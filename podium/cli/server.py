"""``podium server``: run the MLflow-compatible tracking and registry server.

Options come from the one settings table (:data:`podium.server.settings.SETTINGS`): each has a flag,
a ``PODIUM_*`` environment variable, a key in the optional TOML config file (``--config FILE``) and
a default, so ``podium server`` alone serves the embedded store (``./podium-data``) on
http://127.0.0.1:5000. Without ``--backend-store-uri`` (or its variable or config key) the server
serves the tracking URI's database (``podium --tracking-uri URI server``, ``PODIUM_TRACKING_URI``),
and refuses a tracking URI that is a server. A flag beats its variable, which beats the file, which beats the default
(``docs/configuration.md``). Point the mlflow client at it with
``MLFLOW_TRACKING_URI=http://127.0.0.1:5000``.
"""

from __future__ import annotations

import errno
import socket

import click

from podium.cli import CliState, pass_state
from podium.errors import PodiumError
from podium.server.settings import SETTINGS
from podium.uris import without_password

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
@pass_state
def server(state: CliState, **options) -> None:
    """Run the Podium server (MLflow REST API: registry, tracking, artifact proxy).

    \b
    Examples:
      podium server
      podium --tracking-uri sqlite:///podium-data/podium.db server
      podium server --host 0.0.0.0 --port 8080 --backend-store-uri postgresql://u:p@db/podium
      podium server --config /etc/podium/podium.toml
      podium server --auth --default-role edit
      MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
    """
    from podium.server.runner import serve
    from podium.server.settings import ServerSettings

    try:
        settings = ServerSettings.from_env(tracking_uri=state.tracking_uri, **options)
    except PodiumError as exc:
        raise click.UsageError(exc.message) from None
    _check_can_listen(settings.host, settings.port)
    click.echo(
        f"Podium server on http://{settings.host}:{settings.port} "
        f"(store {without_password(settings.backend_store_uri)}, artifacts {settings.artifacts_destination}, "
        f"{settings.workers} worker{'s' if settings.workers > 1 else ''}"
        f"{', auth on, default role ' + settings.default_role if settings.auth else ''})",
        err=True,
    )
    try:
        serve(settings)
    except PodiumError as exc:  # e.g. PODIUM_ADMIN_PASSWORD too short: one line, not a traceback
        raise click.ClickException(str(exc)) from None


def _check_can_listen(host: str, port: int) -> None:
    """Fail with one line (exit 1) before the banner when ``host:port`` cannot be bound, e.g. in use.

    The server binds the same way (``SO_REUSEADDR``) a moment later; another process taking the
    port in between still fails there, with uvicorn's message.
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                 flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = " (another server is listening there: stop it, or choose another --port)" \
            if exc.errno == errno.EADDRINUSE else ""
        raise click.ClickException(f"Cannot listen on {host}:{port}: {reason.lower()}{hint}.") from None

