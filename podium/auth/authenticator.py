"""Credentials -> :class:`~podium.auth.actor.Actor`: what the ``Authorization`` header proves.

=======================================  ===================================================
header                                   checked as
=======================================  ===================================================
``Basic base64(user:password)``          the user's scrypt password hash
``Basic base64(user:podium_…token)``     an API token that belongs to ``user``
``Bearer podium_…token``                 an API token (its user is the actor)
=======================================  ===================================================

The web UI's sign-in form checks a name and password the same way (:meth:`Authenticator.begin_sign_in`);
its signed session cookie names the user and a fingerprint of the password hash, checked on every
request by :meth:`Authenticator.session_actor` (one indexed query; ``via="session"``).

So the mlflow client works unchanged: ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` send
Basic, ``MLFLOW_TRACKING_TOKEN`` sends Bearer. Anything else (no header, another scheme, a wrong
password, an unknown, expired or revoked token) raises :class:`~podium.errors.Unauthenticated`
(401); an unknown user and a wrong password get the same message and take as long.

Costs per request: a token is one indexed query (token + user). A password is one query plus an
scrypt verification, which is cached for :data:`PASSWORD_CACHE_SECONDS` under an HMAC of the
credentials with a per-process random key (no reusable secret is kept); the cache entry also
holds the stored hash, so a password change or a deleted user takes effect at once. A token's
``last_used_at`` is written at most once per :data:`TOUCH_INTERVAL_MS`.

Guessing is limited: a password check that is not a cache hit first asks a
:class:`~podium.auth.limiter.FailureLimiter` whether the username or the client address has used up
its failed attempts (429 ``REQUEST_LIMIT_EXCEEDED`` otherwise, without hashing). A user whose
credentials are cached is never limited, so a burst of wrong passwords for ``alice`` does not lock
out an ``alice`` who is already working. The server runs the two halves apart
(:meth:`Authenticator.begin` on the database pool, :meth:`Authenticator.finish`, the scrypt hash,
on a small pool of its own), so guesses never hold a database thread or the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass

from podium.auth import passwords, tokens
from podium.auth.actor import Actor
from podium.auth.limiter import FailureLimiter
from podium.errors import Unauthenticated
from podium.store.base import AuthStore

__all__ = ["Authenticator", "LOGIN_ATTEMPTS_PER_MINUTE", "MISSING_CREDENTIALS", "PASSWORD_CACHE_SECONDS",
           "PendingPassword", "SESSION_ENDED", "password_fingerprint"]

PASSWORD_CACHE_SECONDS = 300.0
LOGIN_ATTEMPTS_PER_MINUTE = 10
TOUCH_INTERVAL_MS = 60_000
_CACHE_LIMIT = 10_000

MISSING_CREDENTIALS = (
    "Authentication required: this server runs with --auth. Send HTTP Basic credentials (mlflow client: "
    "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) or an API token (MLFLOW_TRACKING_TOKEN)."
)
_BAD_PASSWORD = "Invalid username or password."
SESSION_ENDED = "Your session has ended (the password changed or the user was deleted): sign in again."
_BAD_TOKEN = "Invalid, expired or revoked API token."


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class PendingPassword:
    """A password that still has to be hashed (what :meth:`Authenticator.begin` leaves to ``finish``)."""

    user: object  # the stored user, or None (then the dummy hash is checked, so it takes as long)
    password: str
    key: bytes  # the cache key
    limit_keys: tuple[tuple[str, str], ...]
    counted_at: object  # the limiter's token for the failure counted (taken back on success)


class Authenticator:
    """Checks credentials against an :class:`~podium.store.base.AuthStore`."""

    def __init__(self, store: AuthStore, *, clock=time.monotonic, now_ms=_now_ms,
                 limiter: FailureLimiter | None = None) -> None:
        self.store = store
        self.limiter = limiter or FailureLimiter(LOGIN_ATTEMPTS_PER_MINUTE, clock=clock)
        self._clock = clock
        self._now_ms = now_ms
        self._key = os.urandom(32)
        self._verified: dict[bytes, tuple[str, float]] = {}  # hmac(user, password) -> (stored hash, until)
        self._touched: dict[int, int] = {}  # token id -> when last_used_at was last written
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, client: str | None = None) -> Actor:
        """The actor the header proves, or :class:`~podium.errors.Unauthenticated`."""
        step = self.begin(authorization, client)
        return self.finish(step) if isinstance(step, PendingPassword) else step

    def begin(self, authorization: str | None, client: str | None = None) -> Actor | PendingPassword:
        """Everything but hashing a password: the actor, or the password check still to do (``finish``).
        ``client`` is the caller's address, for the failed-attempt limit."""
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
            return self._password(user, secret, client)
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

    # -- sign-in form and browser sessions (podium.server.ui.session)
    def begin_sign_in(self, name: str, password: str, client: str | None = None) -> Actor | PendingPassword:
        """A sign-in form's user name and password, checked as Basic credentials are (the same cache,
        failed-attempt limit and message); ``finish`` does the hash."""
        if not name or not password:
            raise Unauthenticated(_BAD_PASSWORD)
        return self._password(name, password, client)

    def session_actor(self, name: str, fingerprint: str) -> Actor:
        """The user a signed session cookie names, if the account still exists and its password is the
        one the session was opened with (``fingerprint``: :func:`password_fingerprint` at sign-in)."""
        user = self.store.get_user(name)
        if user is None or not user.password_hash or not hmac.compare_digest(
                password_fingerprint(user.password_hash), str(fingerprint)):
            raise Unauthenticated(SESSION_ENDED)
        return Actor(user.name, authenticated=True, is_admin=user.is_admin, via="session", user_id=user.id)

    def fingerprint_of(self, name: str) -> str:
        """:func:`password_fingerprint` of ``name``'s current password (a session opened now carries it)."""
        user = self.store.get_user(name)
        if user is None or not user.password_hash:
            raise Unauthenticated(_BAD_PASSWORD)
        return password_fingerprint(user.password_hash)

    # -- passwords
    def _password(self, name: str, password: str, client: str | None) -> Actor | PendingPassword:
        user = self.store.get_user(name)
        stored = user.password_hash if user is not None else None
        key = hmac.new(self._key, f"{name}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        if stored is not None and self._cached(key, stored):
            return self._actor(user)
        limit_keys = (("user", name),) + ((("client", client),) if client else ())
        counted = self.limiter.attempt(limit_keys)  # 429 before spending a hash, else counted as failed
        return PendingPassword(user, password, key, limit_keys, counted)

    def finish(self, pending: PendingPassword) -> Actor:
        """Hash the password of ``pending`` (the slow half): the actor, or ``Unauthenticated``."""
        user = pending.user
        stored = user.password_hash if user is not None else None
        if not passwords.verify_password(pending.password, stored or passwords.DUMMY_HASH) or stored is None:
            raise Unauthenticated(_BAD_PASSWORD)  # the failure stays counted
        self.limiter.forgive(pending.limit_keys, pending.counted_at)
        with self._lock:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[pending.key] = (stored, self._clock() + PASSWORD_CACHE_SECONDS)
        return self._actor(user)

    def _cached(self, key: bytes, stored: str) -> bool:
        with self._lock:
            entry = self._verified.get(key)
        return entry is not None and entry[0] == stored and entry[1] > self._clock()

    @staticmethod
    def _actor(user) -> Actor:
        return Actor(user.name, authenticated=True, is_admin=user.is_admin, via="password", user_id=user.id)


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a stored password hash: a browser session carries it, so changing the
    password (or deleting the user) ends every session opened before."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Unauthenticated("Malformed Basic credentials: expected base64 of 'username:password'.") from None
    user, sep, secret = decoded.partition(":")
    if not sep or not user:
        raise Unauthenticated("Malformed Basic credentials: expected base64 of 'username:password'.")
    return user, secret
