"""Every route has an access rule (a new route cannot slip through --auth unprotected)."""

from __future__ import annotations

from podium.server.api import all_routes
from podium.server.permissions import PUBLIC, RULES, need_for


def test_every_route_has_exactly_one_access_rule_and_no_rule_is_stale():
    operations = {route.operation_id for route in all_routes()}
    missing = sorted(op for op in operations if op not in RULES and op not in PUBLIC)
    assert missing == [], f"add these to podium.server.permissions.RULES: {missing}"
    assert sorted((set(RULES) | PUBLIC) - operations) == []
    assert not set(RULES) & PUBLIC


def test_an_unmapped_operation_is_for_admins_only():
    assert need_for("some_new_route", {}, None).kind == "admin_only"
