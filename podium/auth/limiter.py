"""``FailureLimiter``: at most N failed attempts per key (a username, a client address) in a sliding window.

Keys are ``(kind, value)`` pairs, each kind with its own limit: ``("user", "alice")`` gets ``N``
failures per window, ``("client", "10.0.0.7")`` gets :data:`CLIENT_FACTOR` x ``N`` (many people may
share one address behind a NAT or a proxy, and one address should still not try every username).

The authenticator counts a password check as a failure from the moment it starts until it succeeds
(so a burst of concurrent guesses is counted before the first of them is hashed): ``attempt(keys)``
checks and counts in one step before hashing, and past the limit raises
:class:`~podium.errors.RequestLimitExceeded` (429 with ``Retry-After``) without spending a hash.
Two implementations of one interface (``attempt`` returning a token, ``forgive``):

* :class:`SharedFailureLimiter`, what ``podium server --auth`` uses: the failures are rows of the
  database (:meth:`~podium.store.base.AuthStore.add_login_failure`), so the limit holds for the
  whole server, whichever worker a guess reaches, and across every server on the database. Cost per
  password check that is not cached: two indexed reads and one insert (plus one delete on success),
  beside an scrypt hash of tens of ms; past the limit, one read. Keys are SHA-256 digests, so user
  names and addresses of any length fit and none is stored as such. Wall-clock time (Unix ms), as
  processes share it (servers on several hosts need synchronised clocks, as for everything else).
* :class:`FailureLimiter`, in one process's memory (a library user's own authenticator, the unit
  tests): bounded to at most :data:`MAX_KEYS` keys (the oldest are dropped first).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque

from podium.errors import RequestLimitExceeded

__all__ = ["CLIENT_FACTOR", "MAX_KEYS", "FailureLimiter", "SharedFailureLimiter"]

MAX_KEYS = 100_000
CLIENT_FACTOR = 5

Key = tuple[str, str]


class FailureLimiter:
    def __init__(self, limit: int, window: float = 60.0, *, clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._limits = {"user": limit, "client": limit * CLIENT_FACTOR}
        self._clock = clock
        self._failures: OrderedDict[Key, deque[float]] = OrderedDict()
        self._lock = threading.RLock()

    def check(self, keys: tuple[Key, ...]) -> None:
        """Raise ``RequestLimitExceeded`` if any of ``keys`` has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        _refuse(max(waits, default=0.0))

    def attempt(self, keys: tuple[Key, ...]) -> float:
        """:meth:`check`, then count the attempt as a failure (one step, so concurrent attempts cannot
        all pass the check first); returns the token for :meth:`forgive`."""
        with self._lock:
            self.check(keys)
            return self.failed(keys)

    def failed(self, keys: tuple[Key, ...]) -> float:
        """Count one failure for each of ``keys``; returns its timestamp (for :meth:`forgive`)."""
        now = self._clock()
        with self._lock:
            for key in keys:
                stamps = self._failures.pop(key, None) or deque(maxlen=self._limits[key[0]])
                stamps.append(now)
                self._failures[key] = stamps  # most recently failed last
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)
        return now

    def forgive(self, keys: tuple[Key, ...], stamp: float) -> None:
        """Take back the failure counted at ``stamp`` (the attempt succeeded after all)."""
        with self._lock:
            for key in keys:
                stamps = self._failures.get(key)
                if stamps is not None and stamp in stamps:
                    stamps.remove(stamp)

    def _wait(self, key: Key, now: float) -> float:
        stamps = self._failures.get(key)
        if stamps is None:
            return 0.0
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return 0.0
        return stamps[0] + self.window - now if len(stamps) >= self._limits[key[0]] else 0.0


def _refuse(wait: float) -> None:
    if wait > 0:
        raise RequestLimitExceeded(
            f"Too many failed sign-in attempts; try again in {math.ceil(wait)} s.", retry_after=math.ceil(wait))


def _digest(key: Key) -> str:
    return hashlib.sha256(f"{key[0]}\0{key[1]}".encode("utf-8", "surrogatepass")).hexdigest()


class SharedFailureLimiter:
    """The same limits as :class:`FailureLimiter`, counted in the database (``store``: an
    :class:`~podium.store.base.AuthStore`) for every process that shares it."""

    def __init__(self, store, limit: int, window: float = 60.0, *, clock=time.time) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self._limits = {"user": limit, "client": limit * CLIENT_FACTOR}
        self._clock = clock

    def attempt(self, keys: tuple[Key, ...]) -> list[int]:
        """Refuse (``RequestLimitExceeded``) if any of ``keys`` has used up its failures in the window,
        else count this attempt as a failure of each; returns the rows' ids (for :meth:`forgive`).

        Read, insert, read again: past the limit a guess costs one read (no write), and two attempts
        racing for the last place both see both rows and both are refused, so the limit is never
        exceeded (a race errs on refusing, and the refused attempt's rows are taken back)."""
        limits = {_digest(key): self._limits[key[0]] for key in keys}
        now_ms = int(self._clock() * 1000)
        since = now_ms - int(self.window * 1000)
        _refuse(self._wait(self.store.login_failures(list(limits), since), limits, now_ms, 0))
        ids = self.store.add_login_failure(list(limits), now_ms, since)
        wait = self._wait(self.store.login_failures(list(limits), since), limits, now_ms, 1)
        if wait > 0:
            self.store.remove_login_failures(ids)
            _refuse(wait)
        return ids

    def _wait(self, found: dict[str, list[int]], limits: dict[str, int], now_ms: int, own: int) -> float:
        """Seconds until every key is below its limit (``own``: rows of this attempt among ``found``)."""
        wait = 0.0
        for digest, limit in limits.items():
            stamps = found.get(digest, [])
            if len(stamps) - own >= limit:  # free again when the oldest of the last ``limit`` leaves the window
                others = stamps[:-own] if own else stamps
                wait = max(wait, (others[-limit] + self.window * 1000 - now_ms) / 1000, 1.0)
        return wait

    def forgive(self, keys: tuple[Key, ...], stamp: list[int]) -> None:
        """Take back the failures :meth:`failed` counted (the attempt succeeded after all)."""
        self.store.remove_login_failures(stamp)
