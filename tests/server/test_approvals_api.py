"""Approvals and policy gates over HTTP, against a real ``podium server --auth --default-role read``.

alice (edit on every model) requests; bob and carol (manage) approve; erin approves through the
group ``leads`` when a policy names it; dave only reads; admin is an admin. Run on PostgreSQL with
``PODIUM_TEST_SERVER_DB=postgresql`` (and ``PODIUM_TEST_POSTGRES_URL``), as CI does.
"""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from tests.auth_server import AuthServer, password_of, start_auth_server

from .helpers import A2, ART, error, ok

PODIUM = "/api/podium/v1"
USERS = {"admin": True, "alice": False, "bob": False, "carol": False, "dave": False, "erin": False}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_auth_server(tmp_path_factory.mktemp("approvals"), USERS, {"leads": ["erin"]}, {}, "read",
                                "--allowed-source-prefix", "s3://bucket")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def as_(server):
    clients = {user: httpx.Client(base_url=server.url, timeout=60, auth=AuthServer.basic(user)) for user in USERS}
    yield clients
    for c in clients.values():
        c.close()


def _model(as_, *, versions=(0.95,), required=1, approvers=(), gates=(), aliases=("champion",)) -> str:
    """A model (created by admin) whose versions come from runs with these accuracies; alice has
    edit, bob and carol manage; its policy protects Production and @champion with approval."""
    admin = as_["admin"]
    name = f"m-{uuid.uuid4().hex[:8]}"
    ok(admin.post(f"{A2}/registered-models/create", json={"name": name}))
    for accuracy in versions:
        run = ok(admin.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
        ok(admin.post(f"{A2}/runs/log-metric", json={"run_id": run, "key": "accuracy", "value": accuracy,
                                                       "timestamp": 0, "step": 0}))
        ok(admin.post(f"{A2}/model-versions/create", json={"name": name, "source": f"s3://bucket/{name}/{run}",
                                                           "run_id": run}))
    for user, permission in (("alice", "edit"), ("bob", "manage"), ("carol", "manage")):
        ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": name, "user": user,
                                                                  "permission": permission}))
    ok(admin.post(f"{PODIUM}/registered-models/policy", json={
        "name": name, "protected_stages": ["Production"], "protected_aliases": list(aliases),
        "requires_approval": True, "required_approvals": required, "approvers": list(approvers),
        "gates": list(gates)}))
    return name


def _request(client, name, version, **target) -> dict:
    return client.post(f"{PODIUM}/requests", json={"name": name, "version": str(version), **target})


def _stage(as_, name, version) -> str:
    return ok(as_["dave"].get(f"{A2}/model-versions/get", params={"name": name, "version": str(version)})
              )["model_version"]["current_stage"]


def _race(calls) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    responses: list = [None] * len(calls)

    def work(i, fn):
        barrier.wait()
        responses[i] = fn()

    threads = [threading.Thread(target=work, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return responses


def test_request_by_alice_approved_by_bob_promotes_atomically(as_):
    name = _model(as_, versions=(0.91, 0.95), gates=["metrics.accuracy >= 0.9", "metrics.accuracy >= current"])
    ok(as_["admin"].post(f"{PODIUM}/registered-models/policy", json={"name": name}))  # unprotect to seed v1
    ok(as_["bob"].post(f"{A2}/model-versions/transition-stage",
                       json={"name": name, "version": "1", "stage": "Production", "archive_existing_versions": False}))
    ok(as_["admin"].post(f"{PODIUM}/registered-models/policy", json={
        "name": name, "protected_stages": ["Production"], "requires_approval": True,
        "gates": ["metrics.accuracy >= 0.9", "metrics.accuracy >= current"]}))

    # a plain transition to the protected stage is refused, naming the request command
    refused = error(as_["alice"].post(f"{A2}/model-versions/transition-stage", json={
        "name": name, "version": "2", "stage": "Production", "archive_existing_versions": True}),
        403, "PERMISSION_DENIED")
    assert f"podium models request {name} 2 --stage Production" in refused["message"]

    request = ok(_request(as_["alice"], name, 2, stage="Production", comment="better on holdout"))["request"]
    assert (request["status"], request["requester"], request["required_approvals"]) == ("pending", "alice", 1)
    assert [g["passed"] for g in request["gate_results"]] == [True, True]
    assert _stage(as_, name, 2) == "None"

    own = error(as_["alice"].post(f"{PODIUM}/requests/{request['id']}/approve", json={}), 403, "PERMISSION_DENIED")
    assert "cannot approve their own request" in own["message"]
    error(as_["dave"].post(f"{PODIUM}/requests/{request['id']}/approve", json={}), 403, "PERMISSION_DENIED")
    assert _stage(as_, name, 2) == "None"

    applied = ok(as_["bob"].post(f"{PODIUM}/requests/{request['id']}/approve", json={"comment": "ship it"}))["request"]
    assert applied["status"] == "applied" and applied["decided_by"] == "bob"
    assert [a["approver"] for a in applied["approvals"]] == ["bob"]
    assert _stage(as_, name, 2) == "Production" and _stage(as_, name, 1) == "Archived"

    listed = ok(as_["dave"].get(f"{PODIUM}/requests", params={"name": name}))["requests"]
    assert [r["id"] for r in listed] == [request["id"]]
    assert ok(as_["dave"].get(f"{PODIUM}/requests/{request['id']}"))["request"]["status"] == "applied"
    again = error(as_["carol"].post(f"{PODIUM}/requests/{request['id']}/approve", json={}), 400, "INVALID_STATE")
    assert "already applied" in again["message"]


def test_gates_refuse_a_request_at_creation(as_):
    name = _model(as_, versions=(0.8,), gates=["metrics.accuracy >= 0.9"])
    refused = error(_request(as_["alice"], name, 1, stage="Production"), 400, "INVALID_STATE")
    assert "metrics.accuracy >= 0.9: accuracy=0.8" in refused["message"]
    assert ok(as_["alice"].get(f"{PODIUM}/requests", params={"name": name})) == {"requests": []}


def test_who_may_request_approve_and_reject(as_):
    name = _model(as_, versions=(0.9, 0.9, 0.9), approvers=["group:leads"])
    error(_request(as_["dave"], name, 1, alias="champion"), 403, "PERMISSION_DENIED")  # read only
    direct = error(as_["bob"].post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion",
                                                                          "version": "1"}), 403, "PERMISSION_DENIED")
    assert f"podium models request {name} 1 --alias champion" in direct["message"]
    first = ok(_request(as_["alice"], name, 1, alias="champion"))["request"]
    # bob has manage, but the policy names the group leads: he is not an approver
    denied = error(as_["bob"].post(f"{PODIUM}/requests/{first['id']}/approve", json={}), 403, "PERMISSION_DENIED")
    assert "group:leads" in denied["message"]
    error(as_["dave"].post(f"{PODIUM}/requests/{first['id']}/reject", json={}), 403, "PERMISSION_DENIED")
    assert ok(as_["erin"].post(f"{PODIUM}/requests/{first['id']}/approve", json={}))["request"]["status"] == "applied"
    alias = ok(as_["dave"].get(f"{A2}/registered-models/alias", params={"name": name, "alias": "champion"}))
    assert alias["model_version"]["version"] == "1"

    second = ok(_request(as_["alice"], name, 2, alias="champion"))["request"]
    rejected = ok(as_["erin"].post(f"{PODIUM}/requests/{second['id']}/reject", json={"comment": "no"}))["request"]
    assert (rejected["status"], rejected["decision_comment"]) == ("rejected", "no")
    third = ok(_request(as_["alice"], name, 3, alias="champion"))["request"]
    assert ok(as_["alice"].post(f"{PODIUM}/requests/{third['id']}/reject", json={}))["request"]["status"] == "cancelled"
    admin = ok(_request(as_["alice"], name, 2, alias="champion"))["request"]
    assert ok(as_["admin"].post(f"{PODIUM}/requests/{admin['id']}/approve", json={}))["request"]["status"] == "applied"


def test_concurrent_approvals_of_one_request_apply_it_once(as_):
    name = _model(as_, versions=(0.9, 0.9))
    ok(as_["admin"].post(f"{PODIUM}/registered-models/policy", json={"name": name}))
    ok(as_["bob"].post(f"{A2}/model-versions/transition-stage",
                       json={"name": name, "version": "1", "stage": "Production", "archive_existing_versions": False}))
    ok(as_["admin"].post(f"{PODIUM}/registered-models/policy", json={
        "name": name, "protected_stages": ["Production"], "requires_approval": True}))
    request = ok(_request(as_["alice"], name, 2, stage="Production"))["request"]
    approve = f"{PODIUM}/requests/{request['id']}/approve"
    racers = ["bob", "carol", "admin", "bob", "carol", "admin"]
    responses = _race([lambda u=u: as_[u].post(approve, json={}) for u in racers])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (len(racers) - 1), [r.text for r in responses]
    assert all(r.json()["error_code"] == "INVALID_STATE" for r in responses if r.status_code != 200)
    final = ok(as_["dave"].get(f"{PODIUM}/requests/{request['id']}"))["request"]
    assert final["status"] == "applied" and len(final["approvals"]) == 1
    latest = ok(as_["dave"].post(f"{A2}/registered-models/get-latest-versions",
                                 json={"name": name, "stages": ["Production"]}))["model_versions"]
    assert [v["version"] for v in latest] == ["2"]
    versions = ok(as_["dave"].get(f"{A2}/model-versions/search", params={"filter": f"name='{name}'"}))
    assert sorted(v["current_stage"] for v in versions["model_versions"]) == ["Archived", "Production"]


def test_concurrent_approvals_with_two_required_apply_once(as_):
    name = _model(as_, required=2)
    request = ok(_request(as_["alice"], name, 1, stage="Production"))["request"]
    approve = f"{PODIUM}/requests/{request['id']}/approve"
    responses = _race([lambda u=u: as_[u].post(approve, json={}) for u in ("bob", "carol", "admin")])
    succeeded = sorted(r.json()["request"]["status"] for r in responses if r.status_code == 200)
    assert succeeded == ["applied", "pending"], [r.text for r in responses]
    final = ok(as_["dave"].get(f"{PODIUM}/requests/{request['id']}"))["request"]
    assert final["status"] == "applied" and len(final["approvals"]) == 2
    assert _stage(as_, name, 1) == "Production"


def test_podium_client_requests_and_approves_over_http(server, as_, monkeypatch):
    from podium import PodiumClient
    from podium.errors import PermissionDenied

    name = _model(as_, versions=(0.93,))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password_of("alice"))
    alice = PodiumClient(server.url)
    request = alice.request_model_version(name, 1, stage="Production", comment="from the client")
    assert request.status == "pending" and request.comment == "from the client" and request.requester == "alice"
    assert [r.id for r in alice.list_requests(name, "pending")] == [request.id]
    with pytest.raises(PermissionDenied, match="cannot approve their own request"):
        alice.approve_request(request.id)
    ok(as_["bob"].post(f"{PODIUM}/requests/{request.id}/approve", json={}))
    assert alice.get_request(request.id).status == "applied"
    assert alice.get_model_version(name, 1).current_stage == "Production"
    policy = alice.get_model_policy(name)
    assert policy.requires_approval and policy.required_approvals == 1 and policy.gates == ()


def test_approvers_by_role_admin_and_by_user(as_):
    name = _model(as_, approvers=["role:admin", "user:dave"])
    request = ok(_request(as_["alice"], name, 1, stage="Production"))["request"]
    approve = f"{PODIUM}/requests/{request['id']}/approve"
    denied = error(as_["bob"].post(approve, json={}), 403, "PERMISSION_DENIED")  # manage is not enough here
    assert "role:admin, user:dave" in denied["message"]
    assert ok(as_["dave"].post(approve, json={}))["request"]["status"] == "applied"  # named, even with read only
    policy = ok(as_["dave"].get(f"{PODIUM}/registered-models/policy", params={"name": name}))["policy"]
    assert policy["approvers"] == ["role:admin", "user:dave"] and policy["required_approvals"] == 1


def test_without_auth_an_anonymous_request_takes_one_anonymous_approval(tmp_path):
    from .helpers import start_server, stop_server

    running = start_server(tmp_path / "open", "--allowed-source-prefix", "s3://bucket")
    try:
        with httpx.Client(base_url=running.url, timeout=30) as api:
            name = f"m-{uuid.uuid4().hex[:8]}"
            ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
            ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": "s3://bucket/x"}))
            ok(api.post(f"{PODIUM}/registered-models/policy", json={
                "name": name, "protected_stages": ["Production"], "requires_approval": True}))
            request = ok(_request(api, name, 1, stage="Production"))["request"]
            assert "requester" not in request  # anonymous
            applied = ok(api.post(f"{PODIUM}/requests/{request['id']}/approve", json={}))["request"]
            assert applied["status"] == "applied" and applied["approvals"][0]["approver"] == "anonymous"
            history = ok(api.get(f"{PODIUM}/registered-models/history", params={"name": name}))["events"]
            assert {"request_created", "request_approved", "request_applied"} <= {e["action"] for e in history}
    finally:
        stop_server(running)


SIGNED_MLMODEL = b"""flavors:
  python_function: {loader_module: podium.pyfunc}
signature:
  inputs: '[{"type": "double", "name": "alcohol", "required": true}]'
  outputs: null
"""


def test_signature_gate_reads_the_mlmodel_the_server_stores(as_):
    """The server reads the version's MLmodel through its artifact proxy store (mlflow-artifacts:/)."""
    admin = as_["admin"]
    name = _model(as_, versions=(), gates=["signature"])
    for mlmodel in (b"flavors: {}\n", SIGNED_MLMODEL):
        run = ok(admin.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]
        root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
        assert admin.put(f"{ART}/{root}/model/MLmodel", content=mlmodel).status_code == 200
        ok(admin.post(f"{A2}/model-versions/create",
                      json={"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))
    unsigned = error(_request(as_["alice"], name, 1, stage="Production"), 400, "INVALID_STATE")
    assert "signature: the version has no signature" in unsigned["message"]
    signed = ok(_request(as_["alice"], name, 2, stage="Production"))["request"]
    assert signed["gate_results"] == [{"gate": "signature", "passed": True, "detail": "the MLmodel has a signature"}]
