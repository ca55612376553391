"""Credentials -> :class:`~podium.auth.actor.Actor`: what the ``Authorization`` header proves.

=======================================  ===================================================
header                                   checked as
=======================================  ===================================================
``Basic base64(user:password)``          the user's scrypt password hash
``Basic base64(user:podium_…token)``     an API token that belongs to ``user``
``Bearer podium_…token``                 an API token (its user is the actor)
=======================================  ===================================================

So the mlflow client works unchanged: ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` send
Basic, ``MLFLOW_TRACKING_TOKEN`` sends Bearer. Anything else (no header, another scheme, a wrong
password, an unknown, expired or revoked token) raises :class:`~podium.errors.Unauthenticated`
(401); an unknown user and a wrong password get the same message and take as long.

Costs per request: a token is one indexed query (token + user). A password is one query plus an
scrypt verification, which is cached for :data:`PASSWORD_CACHE_SECONDS` under an HMAC of the
credentials with a per-process random key (no reusable secret is kept); the cache entry also
holds the stored hash, so a password change or a deleted user takes effect at once. A token's
``last_used_at`` is written at most once per :data:`TOUCH_INTERVAL_MS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time

from podium.auth import passwords, tokens
from podium.auth.actor import Actor
from podium.errors import Unauthenticated
from podium.store.base import AuthStore

__all__ = ["Authenticator", "MISSING_CREDENTIALS", "PASSWORD_CACHE_SECONDS"]

PASSWORD_CACHE_SECONDS = 300.0
TOUCH_INTERVAL_MS = 60_000
_CACHE_LIMIT = 10_000

MISSING_CREDENTIALS = (
    "Authentication required: this server runs with --auth. Send HTTP Basic credentials (mlflow client: "
    "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) or an API token (MLFLOW_TRACKING_TOKEN)."
)
_BAD_PASSWORD = "Invalid username or password."
_BAD_TOKEN = "Invalid, expired or revoked API token."


def _now_ms() -> int:
    return int(time.time() * 1000)


class Authenticator:
    """Checks credentials against an :class:`~podium.store.base.AuthStore`."""

    def __init__(self, store: AuthStore, *, clock=time.monotonic, now_ms=_now_ms) -> None:
        self.store = store
        self._clock = clock
        self._now_ms = now_ms
        self._key = os.urandom(32)
        self._verified: dict[bytes, tuple[str, float]] = {}  # hmac(user, password) -> (stored hash, until)
        self._touched: dict[int, int] = {}  # token id -> when last_used_at was last written
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Actor:
        """The actor the header proves, or :class:`~podium.errors.Unauthenticated`."""
        if not authorization or not authorization.strip():
            raise Unauthenticated(MISSING_CREDENTIALS)
        scheme, _, value = authorization.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            return self._token(value, None)
        if scheme == "basic":
            user, secret = _basic(value)
            if tokens.looks_like_token(secret):
                return self._token(secret, user)
            return self._password(user, secret)
        raise Unauthenticated(f"Unsupported authorization scheme '{scheme}': use Basic or Bearer.")

    # -- tokens
    def _token(self, token: str, claimed_user: str | None) -> Actor:
        prefix = tokens.prefix_of(token)
        found = self.store.find_token(prefix) if prefix else None
        if found is None:
            raise Unauthenticated(_BAD_TOKEN)
        record, user = found
        now = self._now_ms()
        if (not tokens.matches(token, record.token_hash) or record.state(now) != "active"
                or (claimed_user is not None and claimed_user != user.name)):
            raise Unauthenticated(_BAD_TOKEN)
        self._touch(record.id, record.last_used_at, now)
        return Actor(user.name, authenticated=True, is_admin=user.is_admin, via="token", user_id=user.id)

    def _touch(self, token_id: int, last_used: int | None, now: int) -> None:
        with self._lock:
            latest = max(last_used or 0, self._touched.get(token_id, 0))
            if now - latest < TOUCH_INTERVAL_MS:
                return
            self._touched[token_id] = now
        self.store.touch_token(token_id, now)

    # -- passwords
    def _password(self, name: str, password: str) -> Actor:
        user = self.store.get_user(name)
        stored = user.password_hash if user is not None else None
        key = hmac.new(self._key, f"{name}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        if stored is not None and self._cached(key, stored):
            return self._actor(user)
        if not passwords.verify_password(password, stored or passwords.DUMMY_HASH) or stored is None:
            raise Unauthenticated(_BAD_PASSWORD)
        with self._lock:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[key] = (stored, self._clock() + PASSWORD_CACHE_SECONDS)
        return self._actor(user)

    def _cached(self, key: bytes, stored: str) -> bool:
        with self._lock:
            entry = self._verified.get(key)
        return entry is not None and entry[0] == stored and entry[1] > self._clock()

    @staticmethod
    def _actor(user) -> Actor:
        return Actor(user.name, authenticated=True, is_admin=user.is_admin, via="password", user_id=user.id)


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Unauthenticated("Malformed Basic credentials: expected base64 of 'username:password'.") from None
    user, sep, secret = decoded.partition(":")
    if not sep or not user:
        raise Unauthenticated("Malformed Basic credentials: expected base64 of 'username:password'.")
    return user, secret
