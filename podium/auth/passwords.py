"""Password hashes: scrypt (``hashlib.scrypt``, standard library), per-user salt, tuned cost.

Stored form: ``scrypt$<log2 N>$<r>$<p>$<salt, base64>$<key, base64>``. The cost travels with the
hash, so raising :data:`LOG2_N` later leaves old hashes verifiable (:func:`needs_rehash` tells
which to upgrade at the next password change). N=2^15, r=8, p=1 uses 32 MiB and ~50-100 ms of one
core per verification: cheap for a login, costly for an offline guesser. The server caches a
successful verification briefly (:mod:`podium.auth.authenticator`), because HTTP Basic sends the
password with every request. Decision record: ``docs/development/decisions/0006-identity.md``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

__all__ = ["LOG2_N", "MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash", "verify_password"]

LOG2_N = 15
R = 8
P = 1
KEY_BYTES = 32
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 8
_MAXMEM = 256 * 1024 * 1024  # bounds what a stored hash string can make us allocate


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=1 << log2_n, r=r, p=p, maxmem=_MAXMEM,
                          dklen=length)


def hash_password(password: str, *, log2_n: int = LOG2_N) -> str:
    """A new salted scrypt hash of ``password`` (the string to store)."""
    salt = os.urandom(SALT_BYTES)
    key = _scrypt(password, salt, log2_n, R, P, KEY_BYTES)
    return f"scrypt${log2_n}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Does ``password`` match ``stored``? ``False`` for a missing or malformed hash (never raises)."""
    if not stored:
        return False
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt" or not (10 <= int(log2_n) <= 20):
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(log2_n), int(r), int(p), len(expected))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


#: verified against when the user does not exist, so "no such user" costs as long as "wrong password"
DUMMY_HASH = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def needs_rehash(stored: str) -> bool:
    """Was ``stored`` made with a lower cost than today's?"""
    try:
        scheme, log2_n, r, p, *_ = stored.split("$")
        return scheme != "scrypt" or int(log2_n) < LOG2_N or int(r) < R
    except ValueError:
        return True
