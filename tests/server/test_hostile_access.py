"""Issue 10 (hostile input), items 2, 5 and 6, tried as an attacker would, over HTTP against a live
``podium server --auth --default-role none`` (on PostgreSQL with ``PODIUM_TEST_SERVER_DB=postgresql``).

The cast: ``admin`` logs the runs (with ``--default-role none`` nobody else may); ``victim`` manages
``victim-model``, registered from the victim's run, whose artifacts also hold ``secret/``;
``mallory`` manages ``mallory-model``, registered from a run of her own. The server's S3 is moto's,
where ``secret-bucket`` must stay out of reach and ``allowed-bucket/models`` is allow-listed.

* item 2: registering from a source needs read access to it (the run, the logged model, the
  model version), by the same rule as downloading its files; every spelling of the victim's run is
  refused and leaves nothing behind (no version, no new read access, no 409 on the owner's delete);
* item 5: for every route that takes a model name or a request id, "exists but not yours" and
  "does not exist" answer byte for byte alike (the probed name or id aside);
* item 6: a version's files must be in the server's artifact store or under an allowed prefix,
  whatever the source spelling (``s3://``, local paths, ``runs:/`` of an experiment stored
  elsewhere, ``models:/`` of a version registered before the rule);
* names with control or invisible characters, and descriptions over 100,000 characters, are refused.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.artifacts.moto import start_moto, stop_moto
from tests.auth_server import AuthServer, start_auth_server

from .helpers import A2, ART, error, ok, start_server, stop_server

PODIUM = "/api/podium/v1"
USERS = {"admin": True, "victim": False, "mallory": False}
SOURCE_RULE = "--allowed-source-prefix"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    moto = start_moto(tmp_path_factory.mktemp("moto"))
    import boto3

    client = boto3.client("s3", endpoint_url=moto.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    for bucket in ("secret-bucket", "allowed-bucket", "allowed-bucket-2"):
        client.create_bucket(Bucket=bucket)
    for key in ("secret-bucket/private/model/MLmodel", "allowed-bucket/models/ok/MLmodel",
                "allowed-bucket-2/models/x/MLmodel", "allowed-bucket/modelsX/MLmodel"):
        bucket, _, path = key.partition("/")
        client.put_object(Bucket=bucket, Key=path, Body=b"flavors: {}\n")
    yield moto
    stop_moto(moto)


class World:
    """The live server, a client per user, and what the admin set up."""

    server: AuthServer
    admin: httpx.Client
    victim: httpx.Client
    mallory: httpx.Client


@pytest.fixture(scope="module")
def world(tmp_path_factory, s3):
    root = tmp_path_factory.mktemp("hostile")
    server = start_auth_server(root, USERS, None, None, "none", SOURCE_RULE, "s3://allowed-bucket/models",
                               env=s3.env())
    w = World()
    w.server = server
    w.root = root
    clients = {user: httpx.Client(base_url=server.url, timeout=60, auth=AuthServer.basic(user)) for user in USERS}
    w.admin, w.victim, w.mallory = clients["admin"], clients["victim"], clients["mallory"]
    try:
        _set_up(w)
        yield w
    finally:
        for client in clients.values():
            client.close()
        server.stop()


def _run(admin: httpx.Client, files: dict[str, bytes]) -> str:
    run = ok(admin.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
    for path, content in files.items():
        _put(admin, f"0/{run}/artifacts/{path}", content)
    return run


def _put(client: httpx.Client, path: str, content: bytes) -> None:
    response = client.put(f"{ART}/{path}", content=content)
    assert response.status_code == 200, response.text


def _grant(admin: httpx.Client, model: str, user: str, permission: str = "manage") -> None:
    ok(admin.post(f"{PODIUM}/registered-models/grants", json={"name": model, "user": user, "permission": permission}))


def _set_up(w: World) -> None:
    admin = w.admin
    w.victim_run = _run(admin, {"model/MLmodel": b"flavors: {}\n", "secret/data.txt": b"the victim's secret"})
    w.mallory_run = _run(admin, {"model/MLmodel": b"flavors: {}\n"})
    logged = ok(admin.post(f"{A2}/logged-models", json={"experiment_id": "0", "name": "lm",
                                                       "source_run_id": w.victim_run}))["model"]["info"]
    w.logged_model = logged["model_id"]
    w.logged_location = logged["artifact_uri"]
    _put(admin, f"0/models/{w.logged_model}/artifacts/MLmodel", b"flavors: {}\n")
    for model, run, user in (("victim-model", w.victim_run, "victim"), ("mallory-model", w.mallory_run, "mallory")):
        ok(admin.post(f"{A2}/registered-models/create", json={"name": model}))
        ok(admin.post(f"{A2}/model-versions/create", json={"name": model, "source": f"runs:/{run}/model",
                                                          "run_id": run}))
        _grant(admin, model, user)
    ok(admin.post(f"{A2}/registered-models/alias", json={"name": "victim-model", "alias": "champion", "version": "1"}))
    ok(admin.post(f"{PODIUM}/registered-models/policy", json={
        "name": "victim-model", "protected_stages": ["Production"], "requires_approval": True}))
    w.victim_request = ok(w.victim.post(f"{PODIUM}/requests", json={
        "name": "victim-model", "version": "1", "stage": "Production"}))["request"]["id"]


def _mallory_versions(w: World) -> list[str]:
    found = ok(w.mallory.get(f"{A2}/model-versions/search", params={"filter": "name = 'mallory-model'"}))
    return sorted(v["version"] for v in found.get("model_versions", []))


# ------------------------------------------------------------------------------ item 2
def _victim_sources(w: World) -> dict[str, dict]:
    run, lm = w.victim_run, w.logged_model
    art = f"mlflow-artifacts:/0/{run}/artifacts/secret"
    return {
        "mlflow-artifacts + run_id": {"source": art, "run_id": run},
        "mlflow-artifacts:/// + run_id": {"source": f"mlflow-artifacts:///0/{run}/artifacts/secret", "run_id": run},
        "percent-encoded path + run_id": {"source": f"mlflow-artifacts:/0/{run}/artifacts/%73ecret", "run_id": run},
        "runs:/ + run_id": {"source": f"runs:/{run}/secret", "run_id": run},
        "runs:/ alone": {"source": f"runs:/{run}/secret"},
        "runs:/ of the run root": {"source": f"runs:/{run}", "run_id": run},
        "an unknown run": {"source": "runs:/0123456789abcdef0123456789abcdef/x",
                           "run_id": "0123456789abcdef0123456789abcdef"},
        "models:/name/version": {"source": "models:/victim-model/1"},
        "models:/name@alias": {"source": "models:/victim-model@champion"},
        "models:/name/stage": {"source": "models:/victim-model/None"},
        "models:/name/latest": {"source": "models:/victim-model/latest"},
        "models:/m-id + model_id": {"source": f"models:/{lm}", "model_id": lm},
        "logged model location + model_id": {"source": w.logged_location, "model_id": lm},
        "own allowed files, victim's run_id attached": {"source": "s3://allowed-bucket/models/ok", "run_id": run},
        "own version, victim's run_id attached": {"source": "models:/mallory-model/1", "run_id": run},
        "own run's files, victim's logged model attached": {
            "source": f"mlflow-artifacts:/0/{w.mallory_run}/artifacts/model", "run_id": w.mallory_run,
            "model_id": lm},
        "the proxy's destination spelled as a path": {
            "source": str(w.root / "artifacts" / "0" / run / "artifacts" / "secret"), "run_id": run},
        "the proxy's destination as file://": {
            "source": (w.root / "artifacts" / "0" / run / "artifacts" / "secret").as_uri(), "run_id": run},
    }


def test_registering_from_a_source_the_caller_cannot_read_is_refused_in_every_spelling(world):
    w = world
    before = _mallory_versions(w)
    assert w.mallory.get(f"{ART}/0/{w.victim_run}/artifacts/secret/data.txt").status_code == 403
    for label, body in _victim_sources(w).items():
        response = w.mallory.post(f"{A2}/model-versions/create", json={"name": "mallory-model", **body})
        assert response.status_code == 403, f"{label}: {response.status_code} {response.text}"
        assert response.json()["error_code"] == "PERMISSION_DENIED", label
        assert "registering a version" in response.json()["message"], label
    assert _mallory_versions(w) == before  # nothing was registered
    # still no way in: the files, the listing, the run, the manifest
    assert w.mallory.get(f"{ART}/0/{w.victim_run}/artifacts/secret/data.txt").status_code == 403
    assert w.mallory.get(f"{ART}", params={"path": f"0/{w.victim_run}/artifacts"}).status_code == 403
    assert w.mallory.get(f"{A2}/runs/get", params={"run_id": w.victim_run}).status_code == 403
    # and the owner's files stay theirs to delete (a foreign registration would make this a 409)
    _put(w.admin, f"0/{w.victim_run}/artifacts/secret/extra.txt", b"x")
    assert w.admin.delete(f"{ART}/0/{w.victim_run}/artifacts/secret").status_code == 200


def test_an_unknown_run_is_refused_exactly_like_a_run_the_caller_cannot_read(world):
    w = world
    unknown = uuid.uuid4().hex

    def attempt(run: str) -> httpx.Response:
        return w.mallory.post(f"{A2}/model-versions/create", json={
            "name": "mallory-model", "source": f"runs:/{run}/model", "run_id": run})

    known, missing = attempt(w.victim_run), attempt(unknown)
    assert (known.status_code, known.text.replace(w.victim_run, "RUN")) == \
        (missing.status_code, missing.text.replace(unknown, "RUN"))


def test_dot_segments_in_an_artifact_path_do_not_borrow_a_readable_run(world):
    w = world
    readable = f"0/{w.mallory_run}/artifacts"
    assert w.mallory.get(f"{ART}/{readable}/model/MLmodel").status_code == 200  # her own run: readable
    for escape in (f"{readable}/%2E%2E/%2E%2E/{w.victim_run}/artifacts/model/MLmodel",
                   f"{readable}/..%2F..%2F{w.victim_run}/artifacts/model/MLmodel"):
        response = w.mallory.get(f"{ART}/{escape}")
        assert response.status_code in (400, 403), f"{escape}: {response.status_code} {response.text}"
        assert b"flavors" not in response.content
    listing = w.mallory.get(f"{ART}", params={"path": f"{readable}/../../{w.victim_run}/artifacts"})
    assert listing.status_code in (400, 403), listing.text


def test_registering_from_sources_the_caller_can_read_still_works(world):
    w = world
    for body in ({"source": f"runs:/{w.mallory_run}/model", "run_id": w.mallory_run},
                 {"source": f"mlflow-artifacts:/0/{w.mallory_run}/artifacts/model", "run_id": w.mallory_run},
                 {"source": "models:/mallory-model/1"},
                 {"source": "s3://allowed-bucket/models/ok"}):
        created = ok(w.mallory.post(f"{A2}/model-versions/create", json={"name": "mallory-model", **body}))
        assert created["model_version"]["source"] == body["source"]


# ------------------------------------------------------------------------------ item 5
def _version_of(n: str) -> dict:
    return {"name": n, "version": "1"}


def _name_probes() -> dict:
    """route -> call(client, name): everything that takes a model name."""
    version_of = _version_of
    return {
        "create model": lambda c, n: c.post(f"{A2}/registered-models/create", json={"name": n}),
        "get model": lambda c, n: c.get(f"{A2}/registered-models/get", params={"name": n}),
        "update model": lambda c, n: c.patch(f"{A2}/registered-models/update", json={"name": n, "description": "d"}),
        "rename model": lambda c, n: c.post(f"{A2}/registered-models/rename", json={"name": n, "new_name": n + "2"}),
        "rename own model onto the name": lambda c, n: c.post(f"{A2}/registered-models/rename",
                                                              json={"name": "mallory-model", "new_name": n}),
        "delete model": lambda c, n: c.request("DELETE", f"{A2}/registered-models/delete", json={"name": n}),
        "latest versions": lambda c, n: c.post(f"{A2}/registered-models/get-latest-versions", json={"name": n}),
        "latest versions (GET)": lambda c, n: c.get(f"{A2}/registered-models/get-latest-versions",
                                                    params={"name": n}),
        "set model tag": lambda c, n: c.post(f"{A2}/registered-models/set-tag", json={"name": n, "key": "k", "value": "v"}),
        "delete model tag": lambda c, n: c.request("DELETE", f"{A2}/registered-models/delete-tag",
                                                   json={"name": n, "key": "k"}),
        "set alias": lambda c, n: c.post(f"{A2}/registered-models/alias", json={**version_of(n), "alias": "a"}),
        "get alias": lambda c, n: c.get(f"{A2}/registered-models/alias", params={"name": n, "alias": "champion"}),
        "delete alias": lambda c, n: c.request("DELETE", f"{A2}/registered-models/alias",
                                               json={"name": n, "alias": "champion"}),
        "create version": lambda c, n: c.post(f"{A2}/model-versions/create",
                                              json={"name": n, "source": "s3://allowed-bucket/models/ok"}),
        "create version from it": lambda c, n: c.post(f"{A2}/model-versions/create",
                                                      json={"name": "mallory-model", "source": f"models:/{n}/1"}),
        "create version from its alias": lambda c, n: c.post(f"{A2}/model-versions/create", json={
            "name": "mallory-model", "source": f"models:/{n}@champion"}),
        "get version": lambda c, n: c.get(f"{A2}/model-versions/get", params=version_of(n)),
        "update version": lambda c, n: c.patch(f"{A2}/model-versions/update", json={**version_of(n), "description": "d"}),
        "delete version": lambda c, n: c.request("DELETE", f"{A2}/model-versions/delete", json=version_of(n)),
        "transition": lambda c, n: c.post(f"{A2}/model-versions/transition-stage", json={
            **version_of(n), "stage": "Staging", "archive_existing_versions": False}),
        "download uri": lambda c, n: c.get(f"{A2}/model-versions/get-download-uri", params=version_of(n)),
        "set version tag": lambda c, n: c.post(f"{A2}/model-versions/set-tag", json={**version_of(n), "key": "k", "value": "v"}),
        "delete version tag": lambda c, n: c.request("DELETE", f"{A2}/model-versions/delete-tag",
                                                     json={**version_of(n), "key": "k"}),
        "search models": lambda c, n: c.get(f"{A2}/registered-models/search", params={"filter": f"name = '{n}'"}),
        "search versions": lambda c, n: c.get(f"{A2}/model-versions/search", params={"filter": f"name = '{n}'"}),
        "get grants": lambda c, n: c.get(f"{PODIUM}/registered-models/grants", params={"name": n}),
        "set grant": lambda c, n: c.post(f"{PODIUM}/registered-models/grants",
                                         json={"name": n, "user": "mallory", "permission": "manage"}),
        "delete grant": lambda c, n: c.request("DELETE", f"{PODIUM}/registered-models/grants",
                                               json={"name": n, "user": "victim"}),
        "get policy": lambda c, n: c.get(f"{PODIUM}/registered-models/policy", params={"name": n}),
        "set policy": lambda c, n: c.post(f"{PODIUM}/registered-models/policy", json={"name": n}),
        "manifest": lambda c, n: c.get(f"{PODIUM}/model-versions/manifest", params=version_of(n)),
        "verify": lambda c, n: c.post(f"{PODIUM}/model-versions/verify", json=version_of(n)),
        "compare": lambda c, n: c.get(f"{PODIUM}/model-versions/compare", params={"name": n, "versions": ["1", "1"]}),
        "history": lambda c, n: c.get(f"{PODIUM}/registered-models/history", params={"name": n}),
        "state at": lambda c, n: c.get(f"{PODIUM}/registered-models/at", params={"name": n, "time": "1"}),
        "rollback": lambda c, n: c.post(f"{PODIUM}/registered-models/rollback", json={"name": n, "stage": "Production",
                                                                                           "reason": "r"}),
        "request": lambda c, n: c.post(f"{PODIUM}/requests", json={**version_of(n), "stage": "Production"}),
        "list requests": lambda c, n: c.get(f"{PODIUM}/requests", params={"name": n}),
    }


def _answer(response: httpx.Response, probe: str) -> tuple:
    return response.status_code, response.headers.get("content-type"), response.content.replace(probe.encode(), b"<X>")


@pytest.mark.parametrize("route", list(_name_probes()))
def test_a_model_the_caller_cannot_see_answers_exactly_like_one_that_does_not_exist(world, route):
    w = world
    call = _name_probes()[route]
    missing = f"no-such-{uuid.uuid4().hex[:4]}"
    hidden = "victim-model"
    seen = call(w.mallory, hidden)
    # refused for want of permission (or, for a search, an empty answer), not for a malformed call
    assert seen.status_code in (200, 403), f"{seen.status_code}: {seen.text}"
    assert _answer(seen, hidden) == _answer(call(w.mallory, missing), missing)
    assert ok(w.admin.get(f"{A2}/registered-models/get", params={"name": hidden}))  # untouched, still there


@pytest.mark.parametrize("action", ["get", "approve", "reject"])
def test_a_request_of_a_model_the_caller_cannot_see_answers_like_an_unknown_id(world, action):
    w = world
    hidden, missing = str(w.victim_request), "987654"

    def call(request_id: str) -> httpx.Response:
        if action == "get":
            return w.mallory.get(f"{PODIUM}/requests/{request_id}")
        return w.mallory.post(f"{PODIUM}/requests/{request_id}/{action}", json={"comment": "x"})

    seen = call(hidden)
    error(seen, 404, "RESOURCE_DOES_NOT_EXIST", f"Request {hidden} not found")
    assert _answer(seen, hidden) == _answer(call(missing), missing)
    assert ok(w.victim.get(f"{PODIUM}/requests/{hidden}"))["request"]["status"] == "pending"


def test_creating_a_visible_existing_name_still_says_it_exists(world):
    w = world
    error(w.admin.post(f"{A2}/registered-models/create", json={"name": "mallory-model"}), 400,
          "RESOURCE_ALREADY_EXISTS")
    # mallory can see her own model, but with --default-role none may not create any: refused either way
    error(w.mallory.post(f"{A2}/registered-models/create", json={"name": "mallory-model"}), 400,
          "RESOURCE_ALREADY_EXISTS")


# ------------------------------------------------------------------------------ item 6
OUTSIDE = {
    "another bucket": "s3://secret-bucket/private/model",
    "a bucket sharing the allowed prefix's start": "s3://allowed-bucket-2/models/x",
    "a key sharing the allowed prefix's start": "s3://allowed-bucket/modelsX",
    "the bucket above the allowed prefix": "s3://allowed-bucket",
    "upper-case scheme": "S3://secret-bucket/private/model",
    "gs://": "gs://secret-bucket/private/model",
    "https://": "https://evil.example/model.tar.gz",
}


@pytest.mark.parametrize("label", list(OUTSIDE))
def test_a_source_outside_the_artifact_store_and_the_allowed_prefixes_is_refused(world, label):
    response = world.admin.post(f"{A2}/model-versions/create", json={"name": "mallory-model", "source": OUTSIDE[label]})
    body = error(response, 400, "INVALID_PARAMETER_VALUE")
    assert "--allowed-source-prefix" in body["message"], body


@pytest.mark.parametrize("source", ["s3://allowed-bucket/models/../../secret-bucket/private/model",
                                    "s3://allowed-bucket/models/%2E%2E/%2E%2E/secret-bucket/private/model",
                                    "mlflow-artifacts://evil.example:5000/0/x/artifacts/model",
                                    "/etc/passwd", "file:///etc", "../../etc"])
def test_escapes_and_local_paths_are_refused(world, source):
    error(world.admin.post(f"{A2}/model-versions/create", json={"name": "mallory-model", "source": source}), 400,
          "INVALID_PARAMETER_VALUE")


def test_an_allowed_prefix_is_read_with_the_servers_credentials_and_hashed(world):
    w = world
    created = ok(w.admin.post(f"{A2}/model-versions/create", json={
        "name": "mallory-model", "source": "s3://allowed-bucket/models/ok"}))["model_version"]
    manifest = ok(w.admin.get(f"{PODIUM}/model-versions/manifest",
                              params={"name": "mallory-model", "version": created["version"]}))
    assert [f["path"] for f in manifest["manifest"]["files"]] == ["MLmodel"]


def test_runs_of_an_experiment_stored_outside_are_refused(world, tmp_path):
    w = world
    outside = tmp_path / "outside"
    for location in (str(outside), "s3://secret-bucket/experiments"):
        experiment = ok(w.admin.post(f"{A2}/experiments/create", json={
            "name": f"elsewhere-{uuid.uuid4().hex[:6]}", "artifact_location": location}))["experiment_id"]
        run = ok(w.admin.post(f"{A2}/runs/create", json={"experiment_id": experiment}))["run"]["info"]
        if location == str(outside):
            (outside / run["run_id"] / "artifacts" / "model").mkdir(parents=True)
            (outside / run["run_id"] / "artifacts" / "model" / "MLmodel").write_text("flavors: {}\n")
        body = error(w.admin.post(f"{A2}/model-versions/create", json={
            "name": "mallory-model", "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}), 400,
            "INVALID_PARAMETER_VALUE")
        assert "its files are at" in body["message"] and "--allowed-source-prefix" in body["message"]


def test_a_models_uri_does_not_reach_files_registered_before_the_rule(world):
    """A version pointing outside (registered before the rule, here straight into the database)
    cannot be copied: the resolved files are judged, not the ``models:/`` spelling."""
    from podium.services.registry import RegistryService
    from podium.store.sql import Database, SqlRegistryStore, SqlTrackingStore

    w = world
    db = Database(w.server.db_url)
    try:
        legacy = RegistryService(SqlRegistryStore(db), SqlTrackingStore(db, str(w.root / "artifacts")))
        legacy.create_registered_model("legacy-model")
        for _ in range(2):
            legacy.create_model_version("legacy-model", "s3://secret-bucket/private/model")
    finally:
        db.dispose()
    for source in ("models:/legacy-model/1", "models:/legacy-model/latest"):
        body = error(w.admin.post(f"{A2}/model-versions/create", json={"name": "mallory-model", "source": source}),
                     400, "INVALID_PARAMETER_VALUE")
        assert "s3://secret-bucket/private/model" in body["message"]
    # nor does comparing them read those files with the server's credentials (MLmodel, file hashes)
    compared = ok(w.admin.get(f"{PODIUM}/model-versions/compare",
                              params={"name": "legacy-model", "versions": ["1", "2"]}))
    sections = {section["name"]: section for section in compared["comparison"]["sections"]}
    assert sections["files"]["available"] == sections["signature"]["available"] == [False, False]
    assert "MLmodel" not in str(compared)


def test_without_auth_the_source_rules_hold_too(tmp_path):
    running = start_server(tmp_path)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as api:
            ok(api.post(f"{A2}/registered-models/create", json={"name": "open"}))
            error(api.post(f"{A2}/model-versions/create", json={"name": "open", "source": "s3://any-bucket/m"}), 400,
                  "INVALID_PARAMETER_VALUE")
            run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]["run_id"]
            ok(api.post(f"{A2}/model-versions/create", json={"name": "open", "source": f"runs:/{run}/m", "run_id": run}))
    finally:
        stop_server(running)


# ------------------------------------------------------------------------------ names and descriptions
@pytest.mark.parametrize("name", ["\u202eevil-lmth.exe", "zero\u200bwidth", "line\nbreak", "tab\there", "\ufeffbom",
                                  "nul\x00", "esc\x1b[31m", "isolate\u2066x\u2069", "para\u2029graph"])
def test_names_with_control_or_invisible_characters_are_refused(world, name):
    w = world
    body = error(w.admin.post(f"{A2}/registered-models/create", json={"name": name}), 400, "INVALID_PARAMETER_VALUE")
    assert "U+" in body["message"]
    error(w.admin.post(f"{A2}/registered-models/rename", json={"name": "mallory-model", "new_name": name}), 400,
          "INVALID_PARAMETER_VALUE")
    assert w.admin.get(f"{A2}/registered-models/get", params={"name": "mallory-model"}).status_code == 200


def test_names_in_any_script_are_welcome(world):
    name = f"modèle-日本語-{uuid.uuid4().hex[:4]}"
    assert ok(world.admin.post(f"{A2}/registered-models/create", json={"name": name}))["registered_model"]["name"] == name


def test_tag_keys_with_invisible_characters_are_refused(world):
    error(world.admin.post(f"{A2}/registered-models/set-tag", json={
        "name": "mallory-model", "key": "team\u202e", "value": "v"}), 400, "INVALID_PARAMETER_VALUE")


def test_descriptions_are_capped_at_100000_characters(world):
    w = world
    name = f"described-{uuid.uuid4().hex[:6]}"
    error(w.admin.post(f"{A2}/registered-models/create", json={"name": name, "description": "x" * 100_001}), 400,
          "INVALID_PARAMETER_VALUE")
    ok(w.admin.post(f"{A2}/registered-models/create", json={"name": name, "description": "x" * 100_000}))
    for route, body in ((f"{A2}/registered-models/update", {"name": name}),
                        (f"{A2}/model-versions/update", {"name": "mallory-model", "version": "1"})):
        error(w.admin.patch(route, json={**body, "description": "x" * 1_000_000}), 400, "INVALID_PARAMETER_VALUE")
    error(w.admin.post(f"{A2}/model-versions/create", json={
        "name": name, "source": "s3://allowed-bucket/models/ok", "description": "x" * 100_001}), 400,
        "INVALID_PARAMETER_VALUE")
