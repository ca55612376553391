"""``podium models request / approve / reject / requests`` and the approval options of ``policy``,
on a SQLite file (CliRunner). Embedded mode: the caller is the OS user; ``acting_as`` plays another."""

from __future__ import annotations

import json

import pytest

from podium.auth.actor import Actor, acting_as

from .helpers import assert_one_line_error

BOB = Actor("bob", via="local")


@pytest.fixture
def wine(seed, tmp_path):
    """Model ``wine``: versions 1 (accuracy 0.95) and 2 (0.85) from runs; policy set by the test."""
    seed.create_registered_model("wine")
    for n, accuracy in ((1, 0.95), (2, 0.85)):
        run = seed.create_run("0")
        seed.log_metric(run.info.run_id, "accuracy", accuracy)
        src = tmp_path / f"src{n}"
        src.mkdir()
        (src / "MLmodel").write_text("flavors: {}\n")
        seed.create_model_version("wine", str(src), run.info.run_id)
    return seed


def test_policy_sets_and_shows_approval_settings(podium_cli, wine):
    result = podium_cli("models", "policy", "wine", "--protect-stage", "Production", "--protect-alias", "champion",
                        "--requires-approval", "--required-approvals", "2", "--approver", "group:ml-leads",
                        "--approver", "user:bob", "--gate", "metrics.accuracy >= 0.9", "--gate", "signature")
    assert result.exit_code == 0, result.output
    assert "Required approvals" in result.stdout and "group:ml-leads" in result.stdout
    policy = json.loads(podium_cli("models", "policy", "wine", "--show", "--json").stdout)["policy"]
    assert policy["required_approvals"] == 2 and policy["approvers"] == ["group:ml-leads", "user:bob"]
    assert policy["gates"] == ["metrics.accuracy >= 0.9", "signature"]


def test_policy_refuses_a_malformed_gate_and_approval_options_without_approval(podium_cli, wine):
    result = podium_cli("models", "policy", "wine", "--protect-stage", "Production", "--requires-approval",
                        "--gate", "accuracy > 0.9")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "Invalid gate" in result.stderr
    result = podium_cli("models", "policy", "wine", "--protect-stage", "Production", "--gate", "signature")
    assert result.exit_code == 2 and "need --requires-approval" in result.output


def test_request_approve_and_list(podium_cli, wine):
    assert podium_cli("models", "policy", "wine", "--protect-stage", "Production", "--requires-approval",
                      "--gate", "metrics.accuracy >= 0.9").exit_code == 0
    refused = podium_cli("models", "request", "wine", "2", "--stage", "Production")
    assert_one_line_error(refused, 1, "INVALID_STATE")
    assert "accuracy=0.85" in refused.stderr

    created = podium_cli("models", "request", "wine", "1", "--stage", "production", "-m", "best so far", "--json")
    assert created.exit_code == 0, created.output
    request = json.loads(created.stdout)["request"]
    assert (request["status"], request["target"], request["comment"]) == ("pending", "Production", "best so far")

    own = podium_cli("models", "approve", str(request["id"]))
    assert_one_line_error(own, 1, "PERMISSION_DENIED")
    assert "cannot approve their own request" in own.stderr

    with acting_as(BOB):
        approved = podium_cli("models", "approve", str(request["id"]), "-m", "ok")
    assert approved.exit_code == 0, approved.output
    assert f"Request {request['id']} applied" in approved.stdout
    assert wine.get_model_version("wine", 1).current_stage == "Production"

    listing = podium_cli("models", "requests", "wine")
    assert listing.exit_code == 0 and "applied" in listing.stdout and "Production" in listing.stdout
    as_json = json.loads(podium_cli("models", "requests", "wine", "--status", "applied", "--json").stdout)
    assert [r["id"] for r in as_json["requests"]] == [request["id"]]
    assert json.loads(podium_cli("models", "requests", "wine", "--status", "pending", "--json").stdout) == \
        {"requests": []}


def test_reject_and_cancel(podium_cli, wine):
    assert podium_cli("models", "policy", "wine", "--protect-alias", "champion", "--requires-approval").exit_code == 0
    first = json.loads(podium_cli("models", "request", "wine", "1", "--alias", "champion", "--json").stdout)["request"]
    second = json.loads(podium_cli("models", "request", "wine", "2", "--alias", "champion", "--json").stdout)["request"]
    with acting_as(BOB):
        rejected = podium_cli("models", "reject", str(first["id"]), "-m", "not yet")
    assert rejected.exit_code == 0 and f"Request {first['id']} rejected" in rejected.stdout
    cancelled = podium_cli("models", "reject", str(second["id"]))
    assert cancelled.exit_code == 0 and f"Request {second['id']} cancelled" in cancelled.stdout
    again = podium_cli("models", "approve", str(first["id"]))
    assert again.exit_code == 1 and "already rejected" in again.stderr


def test_request_needs_exactly_one_target(podium_cli, wine):
    result = podium_cli("models", "request", "wine", "1")
    assert result.exit_code == 2 and "exactly one of --stage and --alias" in result.output
