"""Integrity, embedded: manifests at registration, tamper detection on verify and on download, and
immutability of a registered version's files (every configured database backend)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

import podium
from podium.artifacts import download_artifacts
from podium.errors import IntegrityCheckFailed, PodiumError, ResourceConflict, ResourceDoesNotExist

FILES = {"MLmodel": b"flavors:\n  python_function: {}\n", "model.pkl": bytes(range(256)) * 40,
         "code/util.py": b"def f():\n    return 1\n"}


def _write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture
def registered(client, tmp_path):
    """Version 1 of 'wine', registered from the files of a run's ``model`` directory."""
    run = client.create_run("0")
    client.log_artifacts(run.info.run_id, str(_write_tree(tmp_path / "src", FILES)), "model")
    client.create_registered_model("wine")
    mv = client.create_model_version("wine", f"runs:/{run.info.run_id}/model", run.info.run_id)
    location = Path(client.get_model_version_download_uri("wine", mv.version))
    return {"run_id": run.info.run_id, "location": location, "version": mv.version}


def test_registration_records_a_sha256_manifest_of_every_file(client, registered):
    manifest = client.get_model_version_manifest("wine", 1)
    assert [(f.path, f.size, f.sha256) for f in manifest.files] == [
        (path, len(FILES[path]), hashlib.sha256(FILES[path]).hexdigest()) for path in sorted(FILES)]
    assert manifest.location == registered["location"].resolve().as_posix()
    assert manifest.created_at and len(manifest.digest) == 64
    report = client.verify_model_version("wine", 1)
    assert report["status"] == "intact" and report["files_checked"] == 3 and report["problems"] == []
    assert report["manifest_digest"] == manifest.digest


def test_the_manifest_is_written_in_the_versions_transaction(client, registered, monkeypatch):
    import podium.store.sql.registry as sql_registry

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sql_registry, "insert_manifest", broken)
    with pytest.raises(RuntimeError):
        client.create_model_version("wine", f"runs:/{registered['run_id']}/model", registered["run_id"])
    monkeypatch.undo()
    with pytest.raises(ResourceDoesNotExist):
        client.get_model_version("wine", 2)
    assert client.create_model_version("wine", f"runs:/{registered['run_id']}/model", registered["run_id"]).version == 2


def _modify(location: Path) -> str:
    data = bytearray((location / "model.pkl").read_bytes())
    data[100] ^= 0xFF
    (location / "model.pkl").write_bytes(bytes(data))
    return "file 'model.pkl' is different"


def _truncate(location: Path) -> str:
    with open(location / "model.pkl", "r+b") as f:
        f.truncate(1000)
    return "file 'model.pkl' is truncated (1000 of 10240 bytes)"


def _delete(location: Path) -> str:
    (location / "code" / "util.py").unlink()
    return "file 'code/util.py' is missing"


def _add(location: Path) -> str:
    (location / "backdoor.py").write_text("import os\n")
    return "file 'backdoor.py' was added after registration"


TAMPERING = {"modify-a-byte": _modify, "truncate": _truncate, "delete": _delete, "add": _add}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampered_files_fail_verification_and_download(client, registered, tamper, tmp_path):
    message = tamper(registered["location"])
    with pytest.raises(IntegrityCheckFailed, match="DATA_LOSS") as verified:
        client.verify_model_version("wine", 1)
    assert message in str(verified.value)
    report = client.verify_model_version("wine", 1, raise_on_failure=False)
    assert report["status"] == "tampered" and len(report["problems"]) == 1
    with pytest.raises(IntegrityCheckFailed) as downloaded:
        download_artifacts("models:/wine/1", tracking_uri=client.tracking_uri)
    assert message in downloaded.value.message
    with pytest.raises(IntegrityCheckFailed):
        download_artifacts("models:/wine/latest", dst_path=str(tmp_path / "dst"), tracking_uri=client.tracking_uri)


def test_download_by_alias_stage_and_sub_path_is_verified(client, registered, tmp_path):
    client.set_registered_model_alias("wine", "champion", 1)
    local = download_artifacts("models:/wine@champion", dst_path=str(tmp_path / "a"), tracking_uri=client.tracking_uri)
    assert sorted(p.relative_to(local).as_posix() for p in Path(local).rglob("*") if p.is_file()) == sorted(FILES)
    one = download_artifacts("models:/wine/1/MLmodel", tracking_uri=client.tracking_uri)
    assert Path(one).read_bytes() == FILES["MLmodel"]
    _modify(registered["location"])  # model.pkl changes: MLmodel alone still verifies
    download_artifacts("models:/wine/1/MLmodel", tracking_uri=client.tracking_uri)
    with pytest.raises(IntegrityCheckFailed):
        download_artifacts("models:/wine@champion", tracking_uri=client.tracking_uri)


def test_a_version_without_a_manifest_loads_with_a_warning(client, registered, backend):
    from sqlalchemy import update

    from podium.store.sql.manifest_tables import model_version_manifests

    with backend.tracking.store.db.write() as conn:  # as if registered before migration 0004
        conn.execute(update(model_version_manifests).values(digest=None))
    assert client.get_model_version_manifest("wine", 1) is None
    with pytest.warns(UserWarning, match="has no manifest"):
        local = download_artifacts("models:/wine/1", tracking_uri=client.tracking_uri)
    assert (Path(local) / "model.pkl").read_bytes() == FILES["model.pkl"]
    with pytest.raises(PodiumError, match="no manifest") as error:
        client.verify_model_version("wine", 1)
    assert error.value.error_code == "INVALID_STATE"
    assert client.verify_model_version("wine", 1, raise_on_failure=False)["status"] == "no_manifest"


def test_a_source_podium_cannot_read_registers_without_a_manifest(client):
    client.create_registered_model("remote")
    client.create_model_version("remote", "gs://bucket/models/remote")  # no store for gs:// here
    client.create_model_version("remote", str(Path("/nonexistent/podium/model")))
    assert client.get_model_version_manifest("remote", 1) is None
    assert client.get_model_version_manifest("remote", 2) is None
    with pytest.raises(ResourceDoesNotExist):
        client.get_model_version_manifest("remote", 3)


def test_a_registered_versions_files_cannot_be_overwritten(client, registered, tmp_path):
    extra = tmp_path / "MLmodel"
    extra.write_text("flavors: {hacked: {}}\n")
    run_id = registered["run_id"]
    with pytest.raises(ResourceConflict, match="model version 'wine' 1"):
        client.log_artifact(run_id, str(extra), "model")
    with pytest.raises(ResourceConflict):
        client.log_text(run_id, "x", "model/code/new.py")
    with pytest.raises(ResourceConflict):
        client.log_artifacts(run_id, str(_write_tree(tmp_path / "more", {"model/MLmodel": b"x"})))
    client.log_artifact(run_id, str(extra), "notes")  # beside the registered files: fine
    client.log_text(run_id, "x", "model-card.md")
    assert (registered["location"] / "MLmodel").read_bytes() == FILES["MLmodel"]
    client.verify_model_version("wine", 1)
    client.delete_model_version("wine", 1)  # no registered version holds the files any more
    client.log_artifact(run_id, str(extra), "model")


def test_the_store_contract_refuses_an_overwrite_without_replacing(registered):
    from podium.errors import ResourceAlreadyExists
    from podium.store.artifacts.local import LocalArtifactStore

    store = LocalArtifactStore(str(registered["location"]))
    with pytest.raises(ResourceAlreadyExists):
        store.write_stream("MLmodel", iter([b"other"]), overwrite=False)
    assert (registered["location"] / "MLmodel").read_bytes() == FILES["MLmodel"]


def test_copied_versions_keep_the_manifest_they_were_registered_with(client, registered):
    copied = client.copy_model_version("models:/wine/1", "wine-prod")
    assert client.get_model_version_manifest("wine-prod", copied.version).digest == \
        client.get_model_version_manifest("wine", 1).digest
    client.verify_model_version("wine-prod", copied.version)


def test_sklearn_load_model_refuses_a_tampered_model(client, tmp_path):
    np = pytest.importorskip("numpy")
    from sklearn.linear_model import LogisticRegression

    X = np.arange(40, dtype=float).reshape(20, 2)
    y = (X[:, 0] > 15).astype(int)
    with podium.start_run():
        podium.sklearn.log_model(LogisticRegression().fit(X, y), name="model", registered_model_name="clf")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = podium.sklearn.load_model("models:/clf/1")
    assert not [w for w in caught if "manifest" in str(w.message)]  # verified, silently
    assert (loaded.predict(X) == y).all()
    location = Path(client.get_model_version_download_uri("clf", 1))
    model_file = next(p for p in location.iterdir() if p.name.startswith("model."))
    model_file.write_bytes(model_file.read_bytes()[:-10])
    with pytest.raises(IntegrityCheckFailed, match=f"file '{model_file.name}' is truncated"):
        podium.sklearn.load_model("models:/clf/1")
    with pytest.raises(IntegrityCheckFailed):
        podium.pyfunc.load_model("models:/clf/latest")


# --------------------------------------------------------------------------- reading local files
def _run_with_model(client, tmp_path, files=FILES) -> tuple[str, Path]:
    """A run whose ``model`` directory holds ``files``; returns (run id, that directory on disk)."""
    run = client.create_run("0")
    client.log_artifacts(run.info.run_id, str(_write_tree(tmp_path / "src", files)), "model")
    root = client.get_run(run.info.run_id).info.artifact_uri
    return run.info.run_id, Path(root.removeprefix("file://")) / "model"


def test_the_local_walk_lists_what_the_store_lists(tmp_path):
    from podium.services.model_files import hash_location, hash_store_files, list_store_files, local_files
    from podium.store.artifacts.local import LocalArtifactStore

    files = {**FILES, "a/b/c/deep.bin": b"\x00" * 3, "empty": b"", "z.txt": b"z",
             ".podium-tmp-upload": b"half-written", "a/.podium-tmp-x": b"half"}
    root = _write_tree(tmp_path / "store", files)
    store = LocalArtifactStore(str(root))
    for below in ("", "a", "a/b"):
        walked = local_files(store, below)
        listed = list_store_files(store, below)
        assert [(rel, size) for rel, size, _ in walked] == listed
        assert not [rel for rel, _ in listed if ".podium-" in rel]  # the stores' own files: never listed
        generic = hash_store_files(store, below, [rel for rel, _ in listed])
        assert hash_location(store, below) == generic
    # nothing there, or a file: no files, as the store lists them, found with one stat (no listing)
    for nothing in ("missing", "z.txt", "missing/deeper", "z.txt/below"):
        assert local_files(store, nothing) == [] == list_store_files(store, nothing)


def test_a_symlinked_file_inside_the_location_is_hashed_through_the_store(client, tmp_path):
    run_id, location = _run_with_model(client, tmp_path)
    (location / "alias.pkl").symlink_to(location / "model.pkl")
    client.create_registered_model("linked")
    client.create_model_version("linked", f"runs:/{run_id}/model", run_id)
    manifest = client.get_model_version_manifest("linked", 1)
    entries = {f.path: (f.size, f.sha256) for f in manifest.files}
    assert entries["alias.pkl"] == entries["model.pkl"] == (len(FILES["model.pkl"]),
                                                           hashlib.sha256(FILES["model.pkl"]).hexdigest())


def test_a_symlink_out_of_the_location_gets_no_manifest(client, tmp_path):
    run_id, location = _run_with_model(client, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not the model's\n")
    (location / "code" / "leak.txt").symlink_to(secret)
    client.create_registered_model("escaping")
    client.create_model_version("escaping", f"runs:/{run_id}/model", run_id)
    assert client.get_model_version_manifest("escaping", 1) is None  # as for any unreadable location


def test_a_file_replaced_between_registrations_gets_its_new_hash(client, tmp_path):
    run_id, location = _run_with_model(client, tmp_path)
    client.create_registered_model("again")
    client.create_model_version("again", str(location), run_id)
    client.delete_model_version("again", 1)  # the files are writable again
    client.log_text(run_id, "changed", "model/MLmodel")
    client.create_model_version("again", str(location), run_id)
    entries = {f.path: f for f in client.get_model_version_manifest("again", 2).files}
    assert entries["MLmodel"].sha256 == hashlib.sha256(b"changed").hexdigest() and entries["MLmodel"].size == 7
    client.verify_model_version("again", 2)


def test_a_file_swapped_for_a_symlink_after_the_walk_is_not_followed(tmp_path, monkeypatch):
    from podium.services import model_files
    from podium.store.artifacts.local import LocalArtifactStore

    root = _write_tree(tmp_path / "store", {"MLmodel": b"flavors: {}\n"})
    (tmp_path / "secret.txt").write_text("outside\n")
    walk = model_files.local_files

    def walk_then_swap(store, below=""):
        found = walk(store, below)
        (root / "MLmodel").unlink()
        (root / "MLmodel").symlink_to(tmp_path / "secret.txt")
        return found

    monkeypatch.setattr(model_files, "local_files", walk_then_swap)
    with pytest.raises(OSError):
        model_files.hash_location(LocalArtifactStore(str(root)))
