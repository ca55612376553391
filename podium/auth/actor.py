"""Who is acting: the request-scoped :class:`Actor` that services read.

The server sets it for every request (:func:`acting_as` around the handler, and the database and
file thread pools run handlers inside a copy of the request's context, so it survives the hop):

* ``--auth`` on: the authenticated user (``authenticated=True``). Its name is the ``user_id`` of
  every run and model version created, whatever the request body says (:func:`recorded_user_id`).
* ``--auth`` off: an anonymous actor (``name=None``); ``user_id`` is what the client sent, as before.

Embedded mode (no server) never sets it: :func:`current_actor` is then the local OS user.

For audit records, call ``current_actor()`` in a service and record ``actor.name`` (``None`` =
anonymous server request) and ``actor.via`` (``password``, ``token``, ``session``, ``local``, ``anonymous``).
Standard library only.
"""

from __future__ import annotations

import contextvars
import functools
import getpass
from dataclasses import dataclass

__all__ = ["ANONYMOUS", "Actor", "acting_as", "current_actor", "local_actor", "recorded_user_id"]


@dataclass(frozen=True)
class Actor:
    """The identity behind a call. ``user_id`` is the account's database id (authenticated only)."""

    name: str | None
    authenticated: bool = False
    is_admin: bool = False
    via: str = "anonymous"  # "password" | "token" | "session" (web UI) | "local" | "anonymous"
    user_id: int | None = None

    @property
    def display(self) -> str:
        return self.name or "anonymous"


#: an unauthenticated server request (the server runs without --auth, or a public route)
ANONYMOUS = Actor(None)

_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("podium_actor", default=None)


@functools.cache
def local_actor() -> Actor:
    """The OS user running this process: the actor in embedded mode. Looked up once per process:
    without ``LOGNAME``/``USER`` (containers) ``getpass`` reads the password database on every call,
    which was ~10% of an embedded ``create_model_version``."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        name = "unknown"
    return Actor(name, authenticated=False, via="local")


def current_actor() -> Actor:
    """The actor of the current request; the local OS user outside a server request."""
    return _current.get() or local_actor()


class acting_as:  # noqa: N801 - used as a function: ``with acting_as(actor):``
    """Run the block as ``actor`` (the server wraps each request in it). A class, not a generator:
    ~2 us less on every request."""

    __slots__ = ("actor", "token")

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.token = None

    def __enter__(self) -> Actor:
        self.token = _current.set(self.actor)
        return self.actor

    def __exit__(self, *exc) -> None:
        _current.reset(self.token)


def recorded_user_id(claimed: str | None) -> str | None:
    """The ``user_id`` to store on a new run or model version: the authenticated actor's name when
    there is one (a ``user_id`` in the request is ignored), otherwise what the caller claimed."""
    actor = _current.get()
    if actor is not None and actor.authenticated:
        return actor.name
    return claimed
