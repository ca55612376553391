"""API tokens: ``podium_<prefix>_<secret>``, random, shown once, stored as a hash.

* ``prefix``: 8 hex characters, not secret, unique; how the server finds the token's row (and how
  ``podium tokens list`` shows it) without storing the token.
* ``secret``: 32 random bytes (256 bits, URL-safe base64).
* Stored: the prefix and SHA-256 of the whole token. A token has full entropy, so a fast hash is
  enough (nothing to guess); passwords get scrypt instead (:mod:`podium.auth.passwords`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["PREFIX", "digest", "looks_like_token", "new_token", "prefix_of", "matches"]

PREFIX = "podium_"
_PREFIX_CHARS = 8


def new_token() -> tuple[str, str, str]:
    """``(token, prefix, digest)``: the secret to show once, its lookup prefix, the hash to store."""
    prefix = secrets.token_hex(_PREFIX_CHARS // 2)
    token = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    return prefix_of(text) is not None


def prefix_of(token: str) -> str | None:
    """The lookup prefix of a well-formed token, else ``None``."""
    if not token.startswith(PREFIX):
        return None
    prefix, sep, secret = token[len(PREFIX):].partition("_")
    if not sep or len(prefix) != _PREFIX_CHARS or not secret or any(c not in "0123456789abcdef" for c in prefix):
        return None
    return prefix


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)
