"""Where the SQL stores read the time: ``now_ms()``, milliseconds since the epoch.

One function, so a test can replace it (``tests/conftest.py``'s ``clock`` fixture makes each reading
strictly later than the one before, so no test sleeps to make two timestamps differ).
"""

from __future__ import annotations

import time

__all__ = ["now_ms"]


def now_ms() -> int:
    return int(time.time() * 1000)
