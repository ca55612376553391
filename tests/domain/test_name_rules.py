"""Rules for new model names and for descriptions (podium.domain.rules); over HTTP in
tests/server/test_hostile_input.py."""

from __future__ import annotations

import pytest

from podium.domain import rules
from podium.errors import InvalidParameterValue


@pytest.mark.parametrize("name", ["a\u202eb", "a\u200bb", "a\u200db", "a\nb", "a\rb", "a\x7fb", "a\u2028b", "\ufeffa"])
def test_new_model_names_refuse_invisible_and_control_characters(name):
    with pytest.raises(InvalidParameterValue, match="U\\+"):
        rules.validate_new_model_name(name)
    assert rules.validate_model_name(name) == name  # lookups still accept it: older models stay reachable


def test_descriptions_up_to_the_cap():
    assert rules.validate_description(None) is None
    assert rules.validate_description("x" * rules.MAX_DESCRIPTION_LENGTH)
    with pytest.raises(InvalidParameterValue, match="100000"):
        rules.validate_description("x" * (rules.MAX_DESCRIPTION_LENGTH + 1))
