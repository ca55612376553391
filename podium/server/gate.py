"""Admission with ``--auth``: authenticate, authorize, and restrict searches, for every request.

:class:`Gate` is built by :func:`podium.server.app.build_services`, over the authorizer of the
composition root (:func:`podium.compose.build`), only when ``--auth`` is on; without it the app
admits everything as the anonymous actor and nothing changes.
Per request (on the database thread pool, before the handler):

1. :class:`~podium.auth.authenticator.Authenticator`: the ``Authorization`` header -> the actor
   (401 ``UNAUTHENTICATED`` otherwise; the app adds ``WWW-Authenticate: Basic realm="podium"``);
2. the parameters are parsed (so a caller without credentials gets 401, not a 400 about them);
3. :func:`podium.server.permissions.need_for` says what the call needs and the
   :class:`~podium.auth.authorizer.Authorizer` decides (403 ``PERMISSION_DENIED``);
4. a registry search gets ``AND name IN (<readable models>)`` added to its filter when the actor
   may not read every model, so pages and page tokens stay correct.

:func:`first_start` runs once in the parent process: on a database without users it creates the
first admin from ``PODIUM_ADMIN_PASSWORD``, or logs how to create one.
"""

from __future__ import annotations

import logging
import re

from podium.auth.actor import Actor
from podium.auth.authenticator import Authenticator
from podium.auth.authorizer import Authorizer
from podium.auth.limiter import FailureLimiter
from podium.auth.identity import IdentityService
from podium.errors import ResourceAlreadyExists
from podium.server.permissions import PUBLIC, need_for
from podium.server.settings import ADMIN_PASSWORD_ENV, admin_password
from podium.store.base import AuthStore

__all__ = ["ADMIN_PASSWORD_ENV", "Gate", "first_start", "restricted_filter"]

logger = logging.getLogger("podium.server")


class Gate:
    def __init__(self, store: AuthStore, registry, authorizer: Authorizer, *,
                 limiter: FailureLimiter | None = None) -> None:
        self.registry = registry
        self.authenticator = Authenticator(store, limiter=limiter)
        self.authorizer = authorizer

    @staticmethod
    def is_public(route) -> bool:
        return route.operation_id in PUBLIC

    def admit(self, route, authorization: str | None, parse, actor: Actor | None = None) -> tuple[Actor, dict]:
        """``(actor, params)`` for a request, or ``Unauthenticated`` / ``PermissionDenied``.
        ``parse()`` returns the request's parameters (called once the caller is authenticated);
        ``actor``: already authenticated (the server does it before reading a body)."""
        actor = actor if actor is not None else self.authenticator.authenticate(authorization)
        params = parse()
        need = need_for(route.operation_id, params, self.registry)
        self.authorizer.check(actor, need)
        if need.kind == "search_models":
            readable = self.authorizer.readable_models(actor)
            if readable is not None:
                params = {**params, "filter": restricted_filter(params.get("filter"), readable)}
        return actor, params


def _quoted(name: str) -> str | None:
    """``name`` as a filter string literal; ``None`` if the grammar cannot express it (a backslash
    right before a quote or at the end, which the filter reads as an escaped quote)."""
    if "\\'" in name or name.endswith("\\"):
        return None
    return "'" + name.replace("'", "''") + "'"


def restricted_filter(filter_string: str | None, names: list[str]) -> str:
    """``filter_string`` narrowed to models named in ``names`` (names the grammar cannot quote are
    left out: such a model is missing from the caller's searches, never shown to the wrong one)."""
    quoted = [q for q in map(_quoted, names) if q is not None] or ["''"]  # '' matches no model
    scope = f"name IN ({', '.join(quoted)})"
    return f"({filter_string}) AND {scope}" if filter_string and filter_string.strip() else scope


def _masked(uri: str) -> str:
    return re.sub(r"://([^:/@]+):[^@/]*@", r"://\1:***@", uri)


def first_start(store, backend_store_uri: str, environ=None) -> None:
    """``--auth`` on a database without users: create ``admin`` from ``PODIUM_ADMIN_PASSWORD``, or log
    how to create the first admin. A database that has users is left alone."""
    if store.count_users():
        return
    password = admin_password(environ)
    if password:
        try:
            if IdentityService(store).bootstrap_admin(password) is None:
                return
        except ResourceAlreadyExists:  # another server process (pod) got there first
            return
        logger.warning("Created the first admin user 'admin' from %s (unset it now; change the password with "
                       "`podium users set-password admin`).", ADMIN_PASSWORD_ENV)
        return
    logger.warning(
        "Authentication is on (--auth) and there are no users yet: every request but /health, /version and "
        "/metrics is refused with 401. Create the first admin with:  podium users create admin --admin "
        "--backend-store-uri '%s'  (or start the server once with %s set).",
        _masked(backend_store_uri), ADMIN_PASSWORD_ENV)
