"""The failed-attempt limiter: a sliding window per key, a limit per kind of key, a bounded table."""

from __future__ import annotations

import pytest

from podium.auth import limiter as limiter_module
from podium.auth.limiter import CLIENT_FACTOR, FailureLimiter
from podium.errors import RequestLimitExceeded


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_refused_after_its_limit_until_its_oldest_failure_leaves_the_window():
    clock = Clock()
    limiter = FailureLimiter(3, 60.0, clock=clock)
    keys = (("user", "bob"),)
    for _ in range(3):
        limiter.check(keys)
        limiter.failed(keys)
        clock.now += 10
    with pytest.raises(RequestLimitExceeded) as refused:
        limiter.check(keys)
    assert refused.value.retry_after == 30  # the first failure (at 1000) leaves the window at 1060
    clock.now = 1060.5
    limiter.check(keys)


def test_a_forgiven_attempt_does_not_count_and_client_addresses_get_more():
    clock = Clock()
    limiter = FailureLimiter(2, clock=clock)
    stamp = limiter.failed((("user", "alice"),))
    limiter.forgive((("user", "alice"),), stamp)
    limiter.failed((("user", "alice"),))
    limiter.check((("user", "alice"),))
    client = (("client", "10.0.0.1"),)
    for _ in range(2 * CLIENT_FACTOR - 1):
        limiter.failed(client)
    limiter.check(client)
    limiter.failed(client)
    with pytest.raises(RequestLimitExceeded):
        limiter.check(client)


def test_the_table_of_keys_is_bounded(monkeypatch):
    monkeypatch.setattr(limiter_module, "MAX_KEYS", 10)
    limiter = FailureLimiter(1, clock=Clock())
    for i in range(50):
        limiter.failed((("user", f"u{i}"),))
    assert len(limiter._failures) == 10


def test_attempt_checks_and_counts_in_one_step():
    limiter = FailureLimiter(2, clock=Clock())
    keys = (("user", "bob"),)
    first = limiter.attempt(keys)
    limiter.attempt(keys)
    with pytest.raises(RequestLimitExceeded):
        limiter.attempt(keys)  # refused: not counted again
    limiter.forgive(keys, first)
    limiter.attempt(keys)
