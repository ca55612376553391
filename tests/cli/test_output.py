"""Output helpers: JSON conversion, human formats, the exit-code table."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from podium.cli.output import (
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    entity_dict,
    exit_code_for,
    format_duration,
    format_time,
    format_value,
)
from podium.domain.entities import Metric, RunData
from podium.errors import InvalidParameterValue, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ResourceDoesNotExist("x"), EXIT_NOT_FOUND),
        (PodiumError("x", error_code="NOT_FOUND"), EXIT_NOT_FOUND),
        (InvalidParameterValue("x"), EXIT_ERROR),
        (ResourceAlreadyExists("x"), EXIT_ERROR),
        (PodiumError("x"), EXIT_ERROR),
    ],
)
def test_exit_code_for_error_codes(error, code):
    assert exit_code_for(error) == code
    assert (EXIT_ERROR, EXIT_NOT_FOUND) == (1, 3)


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [(0, 850, "850ms"), (0, 12_340, "12.3s"), (0, 245_000, "4m 05s"), (0, 7_380_000, "2h 03m"), (5, None, "-")],
)
def test_format_duration(start, end, shown):
    assert format_duration(start, end) == shown


def test_format_time_is_local_time_to_the_second():
    ms = 1_700_000_000_123
    assert format_time(ms) == datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
    assert format_time(None) == "-"


def test_format_value_shortens_floats_only():
    assert format_value(0.933333333) == "0.9333"
    assert format_value("1.0") == "1.0"


def test_entity_dict_drops_podium_only_fields_and_spells_non_finite_floats():
    data = RunData(metrics={"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1.5},
                   metric_objects=(Metric("a", 1.0, 0),))
    assert entity_dict(data) == {"metrics": {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 1.5},
                                 "params": {}, "tags": {}}
