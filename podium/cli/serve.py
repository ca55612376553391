"""``podium serve MODEL_URI``: score a model over HTTP with MLflow's protocol, following the registry.

MODEL_URI is any URI ``podium.pyfunc.load_model`` accepts. ``models:/name@alias``,
``models:/name/<stage>`` and ``models:/name/latest`` are followed: when the alias or stage moves, the
new version is loaded, verified and warmed up in the background and swapped in (docs/serving.md).
The registry is the tracking URI's (``podium --tracking-uri``, or ``--tracking-uri`` here,
``PODIUM_TRACKING_URI``, ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import click

from podium.cli import CliState, pass_state
from podium.errors import PodiumError

__all__ = ["serve"]


@click.command("serve")
@click.argument("model_uri")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each loads the model and follows the registry on its own.")
@click.option("--poll-interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              metavar="SECONDS", help="How often to check where the alias or stage points.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Prediction threads per worker.")
@click.option("--tracking-uri", metavar="URI", default=None,
              help="The registry (overrides `podium --tracking-uri` and PODIUM_TRACKING_URI).")
@click.option("--webhook-secret", metavar="SECRET", default=None,
              help="Accept the registry's signed webhook deliveries at POST /podium/webhook and re-resolve at once "
                   "(default: PODIUM_SERVE_WEBHOOK_SECRET; unset: no webhook route, polling only).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False))
@pass_state
def serve(state: CliState, model_uri: str, host: str, port: int, workers: int, poll_interval: float, threads: int,
          tracking_uri: str | None, webhook_secret: str | None, log_level: str) -> None:
    """Serve MODEL_URI with MLflow's scoring protocol; hot-swap when its alias or stage moves.

    \b
    Examples:
      podium serve models:/wine-quality@champion
      podium serve models:/wine-quality/Production --port 8080 --workers 2
      podium --tracking-uri http://registry:5000 serve models:/wine-quality@champion
      podium serve models:/wine-quality@champion --webhook-secret "$WEBHOOK_SECRET"
      curl -H 'Content-Type: application/json' -d '{"inputs": [[7.4, 0.7]]}' localhost:5000/invocations
    """
    from podium.cli.server import _check_can_listen
    from podium.serving.app import ServeSettings, run
    from podium.settings import serve_webhook_secret
    from podium.settings import tracking_uri as resolve_tracking_uri

    settings = ServeSettings(model_uri=model_uri, tracking_uri=resolve_tracking_uri(tracking_uri or state.tracking_uri),
                             host=host, port=port, workers=workers, poll_interval=poll_interval, threads=threads,
                             log_level=log_level.lower(), webhook_secret=webhook_secret or serve_webhook_secret())
    _check_can_listen(host, port)
    click.echo(f"Podium scoring server for {model_uri} on http://{host}:{port}", err=True)
    try:
        run(settings)
    except PodiumError as exc:  # the model cannot be resolved, loaded or verified: one line
        raise click.ClickException(f"Cannot serve {model_uri}: {exc.message}") from None
