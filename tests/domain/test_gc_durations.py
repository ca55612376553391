"""Durations of ``podium gc --older-than`` and ``--gc-interval``: MLflow's spellings, plus weeks."""

from __future__ import annotations

import pytest

from podium.domain.gc import format_duration, parse_duration

H = 3_600_000


@pytest.mark.parametrize(("text", "ms"), [
    ("30d", 30 * 24 * H), ("12h", 12 * H), ("2d8h5m20s", (56 * 3600 + 5 * 60 + 20) * 1000), ("1.5h", 90 * 60_000),
    ("90", 90_000), ("0", 0), ("0s", 0), ("2w", 14 * 24 * H), (" 15m ", 15 * 60_000), (45, 45_000),
])
def test_durations(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["soon", "-1d", "d", "1x", "", "1h2d", "1d 2x"])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="30d, 12h"):
        parse_duration(text)


def test_format_is_the_shortest_exact_spelling():
    assert [format_duration(parse_duration(t)) for t in ("30d", "14d", "36h", "0", "1501")] == [
        "30d", "2w", "36h", "0", "1501s"]
