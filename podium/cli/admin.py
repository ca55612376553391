"""What ``podium users``, ``podium groups`` and ``podium tokens`` share: they work on the database.

Like ``podium db``, these commands open the database directly (not a server URL): accounts are
created by whoever can reach the database, which is how the first admin comes to exist. The
database is ``--backend-store-uri``, else ``PODIUM_BACKEND_STORE_URI``, else the tracking URI
(``--tracking-uri``, ``PODIUM_TRACKING_URI``, ``MLFLOW_TRACKING_URI``, the embedded default); its
schema is upgraded first if needed.
"""

from __future__ import annotations

import contextlib
import sys

import click

from podium.cli import CliState, warn_if_new_store
from podium.cli.output import fail

__all__ = ["identity_service", "uri_option"]

uri_option = click.option(
    "--backend-store-uri", envvar="PODIUM_BACKEND_STORE_URI", metavar="URI",
    help="Database URL (sqlite:///…, postgresql://…, mysql://…). Default: the tracking URI.",
)


@contextlib.contextmanager
def identity_service(state: CliState, uri: str | None, *, read_only: bool = False):
    """An :class:`~podium.auth.identity.IdentityService` on the database; errors reaching it are one line.
    ``read_only`` (the ``list`` commands): warn on stderr when that starts a new SQLite store."""
    from podium import settings
    from podium.auth.identity import IdentityService
    from podium.compose import open_auth_store
    from podium.errors import InvalidParameterValue, PodiumError, TemporarilyUnavailable

    url = uri or settings.tracking_uri(state.tracking_uri)
    if url.startswith(("http://", "https://")):
        fail(InvalidParameterValue(f"'{url}' is a server, not a database; give --backend-store-uri "
                                   "(accounts are managed on the database)."))
    if read_only:
        warn_if_new_store(url)
    database = None
    try:
        store, database = open_auth_store(url)  # accounts only: no Default experiment created here
        yield IdentityService(store)
    except PodiumError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors vary by backend
        fail(TemporarilyUnavailable(f"Cannot use the database: {type(exc).__name__}: {str(exc).splitlines()[0]}"))
    finally:
        if database is not None:
            database.dispose()


def read_password(from_stdin: bool) -> str:
    """A new password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)
