"""Integrity and compare over HTTP, against a real ``podium server`` process (SQLite and PostgreSQL).

Manifests recorded by the server at registration (``mlflow-artifacts:`` sources read through its own
destination), ``GET .../manifest``, ``POST .../verify``, ``GET .../compare``, the artifact proxy
refusing to change a registered version's files (409), and the Python client's verified downloads.
"""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx
import pytest

from podium.artifacts import download_artifacts
from podium.client import PodiumClient
from podium.errors import IntegrityCheckFailed, InvalidParameterValue, ResourceConflict
from tests.conftest import BACKEND_PARAMS

from .helpers import A2, ART, error, live_server_on, ok

PODIUM = "/api/podium/v1/model-versions"
FILES = {"MLmodel": b"flavors:\n  python_function: {}\n", "model.pkl": os.urandom(5000), "code/util.py": b"x = 1\n"}


@pytest.fixture(scope="module", params=[p for p in BACKEND_PARAMS if p.values[0] != "mysql"])
def live(request, tmp_path_factory):
    """A server on SQLite or on a fresh PostgreSQL database, and an httpx client on it."""
    with live_server_on(request.param, tmp_path_factory.mktemp(f"podium-integrity-{request.param}")) as live_pair:
        yield live_pair


@pytest.fixture
def version(live):
    """A registered version whose files were uploaded through the proxy: (name, run_id, on-disk dir, proxy path)."""
    server, api = live
    name = f"wine-{uuid.uuid4().hex[:8]}"
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]
    proxy_root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
    for rel, data in FILES.items():
        assert api.put(f"{ART}/{proxy_root}/model/{rel}", content=data).status_code == 200
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    ok(api.post(f"{A2}/model-versions/create",
                json={"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))
    return name, run["run_id"], server.artifacts / proxy_root / "model", f"{proxy_root}/model"


def test_manifest_and_verify_endpoints(live, version):
    _, api = live
    name, _, _, _ = version
    manifest = ok(api.get(f"{PODIUM}/manifest", params={"name": name, "version": "1"}))["manifest"]
    assert [(f["path"], f["size"], f["sha256"]) for f in manifest["files"]] == [
        (p, len(FILES[p]), hashlib.sha256(FILES[p]).hexdigest()) for p in sorted(FILES)]
    assert manifest["file_count"] == 3 and manifest["location"].startswith("mlflow-artifacts:/")
    report = ok(api.post(f"{PODIUM}/verify", json={"name": name, "version": "1"}))["verification"]
    assert report["status"] == "intact" and report["manifest_digest"] == manifest["digest"]
    client = PodiumClient(str(api.base_url))
    assert client.get_model_version_manifest(name, 1).digest == manifest["digest"]
    assert client.verify_model_version(name, 1)["files_checked"] == 3
    error(api.get(f"{PODIUM}/manifest", params={"name": name, "version": "9"}), 404, "RESOURCE_DOES_NOT_EXIST")
    error(api.get(f"{PODIUM}/manifest", params={"name": name}), 400, "INVALID_PARAMETER_VALUE")


def _modify(d):
    data = bytearray((d / "model.pkl").read_bytes())
    data[0] ^= 1
    (d / "model.pkl").write_bytes(bytes(data))
    return "model.pkl", "modified"


def _truncate(d):
    (d / "model.pkl").write_bytes((d / "model.pkl").read_bytes()[:100])
    return "model.pkl", "truncated"


def _delete(d):
    (d / "code" / "util.py").unlink()
    return "code/util.py", "missing"


def _add(d):
    (d / "evil.py").write_bytes(b"import os\n")
    return "evil.py", "added"


TAMPERING = {"modify-a-byte": _modify, "truncate": _truncate, "delete": _delete, "add": _add}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_on_the_server_is_detected(live, version, tamper, tmp_path):
    _, api = live
    name, _, directory, _ = version
    path, problem = tamper(directory)
    report = ok(api.post(f"{PODIUM}/verify", json={"name": name, "version": "1"}))["verification"]
    assert report["status"] == "tampered"
    assert [(p["path"], p["problem"]) for p in report["problems"]] == [(path, problem)]
    client = PodiumClient(str(api.base_url))
    with pytest.raises(IntegrityCheckFailed, match=f"file '{path}'"):
        client.verify_model_version(name, 1)
    with pytest.raises(IntegrityCheckFailed, match=f"file '{path}'"):
        download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "dl"), tracking_uri=str(api.base_url))


def test_the_proxy_refuses_to_change_a_registered_versions_files(live, version):
    _, api = live
    name, _, directory, proxy = version
    conflict = error(api.put(f"{ART}/{proxy}/MLmodel", content=b"hacked"), 409, "RESOURCE_CONFLICT")
    assert f"model version '{name}' 1" in conflict["message"]
    error(api.put(f"{ART}/{proxy}/new/file.txt", content=b"x"), 409, "RESOURCE_CONFLICT")
    error(api.delete(f"{ART}/{proxy}/model.pkl"), 409, "RESOURCE_CONFLICT")
    error(api.delete(f"{ART}/{proxy.rsplit('/', 1)[0]}"), 409, "RESOURCE_CONFLICT")  # the run's whole tree
    assert api.put(f"{ART}/{proxy.rsplit('/', 1)[0]}/notes.txt", content=b"fine").status_code == 200  # beside it
    assert api.put(f"{ART}/{proxy}-v2/MLmodel", content=b"fine").status_code == 200  # shares a prefix only
    assert (directory / "MLmodel").read_bytes() == FILES["MLmodel"]
    with pytest.raises(ResourceConflict):
        PodiumClient(str(api.base_url))._artifacts(f"mlflow-artifacts:/{proxy}").write_stream(
            "MLmodel", iter([b"hacked"]))
    ok(api.request("DELETE", f"{A2}/model-versions/delete", json={"name": name, "version": "1"}))
    assert api.put(f"{ART}/{proxy}/MLmodel", content=b"now allowed").status_code == 200


def test_compare_two_sklearn_versions_over_http(live, unique_name):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    import podium
    from sklearn.linear_model import LogisticRegression

    _, api = live
    url = str(api.base_url)
    podium.set_tracking_uri(url)
    X = pd.DataFrame(np.arange(60, dtype=float).reshape(20, 3), columns=["a", "b", "c"])
    y = (X["a"] > 25).astype(int)
    for C, columns, accuracy in ((1.0, ["a", "b"], 0.9), (0.1, ["a", "b", "c"], 0.95)):
        with podium.start_run():
            podium.log_param("C", C)
            podium.log_metric("accuracy", accuracy)
            podium.sklearn.log_model(LogisticRegression(C=C).fit(X[columns], y), name="model",
                                     registered_model_name=unique_name, input_example=X[columns].head(2))
    body = ok(api.get(f"{PODIUM}/compare", params=[("name", unique_name), ("versions", "1"), ("versions", "2")]))
    comparison = body["comparison"]
    assert comparison["versions"] == [1, 2]
    sections = {s["name"]: s for s in comparison["sections"]}
    assert {r["key"]: r["values"] for r in sections["params"]["rows"] if r["different"]} == {"C": ["1.0", "0.1"]}
    assert {r["key"]: r["values"] for r in sections["metrics"]["rows"] if r["different"]} == {"accuracy": [0.9, 0.95]}
    assert sections["model_params"]["rows"][0]["values"] == ["1.0", "0.1"]
    assert sections["signature"]["changes"] == [{"version": 2, "base": 1, "added": ["inputs.c"], "removed": [],
                                                 "changed": []}]
    assert all(sections["files"]["available"]) and any(r["different"] for r in sections["files"]["rows"])
    assert PodiumClient(url).compare_model_versions(unique_name, [1, 2]) == comparison
    loaded = podium.sklearn.load_model(f"models:/{unique_name}/2")  # verified against its manifest
    assert list(loaded.predict(X)) == list(y)
    error(api.get(f"{PODIUM}/compare", params=[("name", unique_name), ("versions", "1")]), 400,
          "INVALID_PARAMETER_VALUE")
    error(api.get(f"{PODIUM}/compare", params=[("name", "nope-" + unique_name), ("versions", "1"),
                                               ("versions", "2")]), 404, "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(InvalidParameterValue):
        PodiumClient(url).compare_model_versions(unique_name, [1])


@pytest.fixture
def unique_name():
    return f"clf-{uuid.uuid4().hex[:8]}"
