"""``FailureLimiter``: at most N failed attempts per key (a username, a client address) in a sliding window.

Keys are ``(kind, value)`` pairs, each kind with its own limit: ``("user", "alice")`` gets ``N``
failures per window, ``("client", "10.0.0.7")`` gets :data:`CLIENT_FACTOR` x ``N`` (many people may
share one address behind a NAT or a proxy, and one address should still not try every username).

The authenticator counts a password check as a failure from the moment it starts until it succeeds
(so a burst of concurrent guesses is counted before the first of them is hashed), and asks
:meth:`FailureLimiter.check` before hashing: past the limit it raises
:class:`~podium.errors.RequestLimitExceeded` (429 with ``Retry-After``) without spending a hash.
State lives in memory, per worker process: with W workers a key gets at most W x N attempts per
window. Memory is bounded: at most :data:`MAX_KEYS` keys are tracked (the oldest are dropped first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from podium.errors import RequestLimitExceeded

__all__ = ["CLIENT_FACTOR", "MAX_KEYS", "FailureLimiter"]

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
        self._lock = threading.Lock()

    def check(self, keys: tuple[Key, ...]) -> None:
        """Raise ``RequestLimitExceeded`` if any of ``keys`` has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        wait = max(waits, default=0.0)
        if wait > 0:
            raise RequestLimitExceeded(
                f"Too many failed sign-in attempts; try again in {math.ceil(wait)} s.", retry_after=math.ceil(wait))

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
