"""Identity and permissions: who is calling, and what they may do.

Off by default: ``podium server --auth`` turns it on (``docs/security.md``). The pieces, one job each:

====================  ===========================================================================
module                job
====================  ===========================================================================
``entities``          :class:`Permission` (none < read < edit < manage), users, tokens, groups,
                      model grants and model policies (frozen dataclasses, wire dicts)
``actor``             the request-scoped :class:`Actor` (who is acting): set by the server per
                      request, the local OS user in embedded mode; services read it
``passwords``         scrypt password hashes (per-user salt, cost in the hash string)
``tokens``            API tokens: ``podium_<prefix>_<secret>``, stored as SHA-256 + prefix
``authenticator``     an ``Authorization`` header (Basic password, Basic token, Bearer token)
                      -> :class:`Actor`, or :class:`~podium.errors.Unauthenticated`
``authorizer``        THE decisions: registry-wide roles, per-model grants, protected stages and
                      aliases -> allowed, or :class:`~podium.errors.PermissionDenied` with a message
                      saying what is needed
``identity``          use cases for users, groups and tokens (the ``podium users|groups|tokens`` CLI)
``access``            use cases for model grants and policies (REST API, client, ``podium models``)
====================  ===========================================================================

Everything here but the ``passwords``/``tokens`` hashing is storage-agnostic: the SQL side is
:mod:`podium.store.sql.auth` behind the :class:`~podium.store.base.AuthStore` Protocol. Standard
library only.
"""

from __future__ import annotations

from podium.auth.actor import Actor, acting_as, current_actor
from podium.auth.entities import ApiToken, Group, ModelGrant, ModelPolicy, Permission, User

__all__ = ["Actor", "ApiToken", "Group", "ModelGrant", "ModelPolicy", "Permission", "User", "acting_as",
           "current_actor"]
