"""LocalArtifactStore: files below a directory, path rules and atomic writes, on the real file system."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.store.artifacts.base import clean_relative_path
from podium.store.artifacts.local import LocalArtifactStore


@pytest.fixture
def root(tmp_path) -> Path:
    path = tmp_path / "root" / "1" / "abc" / "artifacts"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def store(root) -> LocalArtifactStore:
    return LocalArtifactStore(str(root))


@pytest.fixture
def tree(tmp_path) -> Path:
    """A local directory: model/MLmodel, model/data/weights.bin, model/data/deep/x.txt."""
    base = tmp_path / "src" / "model"
    (base / "data" / "deep").mkdir(parents=True)
    (base / "MLmodel").write_text("flavors: {}\n")
    (base / "data" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (base / "data" / "deep" / "x.txt").write_text("x")
    return base


def _all_files(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_store_accepts_a_file_uri_root(root):
    store = LocalArtifactStore(root.as_uri())
    assert store.root == root.resolve()
    assert store.root_uri == root.as_uri()


# ----------------------------------------------------------------------------- logging
def test_log_artifact_copies_one_file_to_the_root(store, root, tmp_path):
    local = tmp_path / "readme.txt"
    local.write_text("hello world")
    store.log_artifact(str(local))
    assert (root / "readme.txt").read_text() == "hello world"
    assert store.list_artifacts() == [FileInfo("readme.txt", False, 11)]


def test_log_artifact_into_a_nested_artifact_path(store, root, tmp_path):
    local = tmp_path / "readme.txt"
    local.write_text("hi")
    store.log_artifact(str(local), "notes/2024")
    assert (root / "notes" / "2024" / "readme.txt").read_text() == "hi"
    assert store.list_artifacts("notes") == [FileInfo("notes/2024", True, None)]


def test_log_artifact_overwrites_an_existing_file(store, root, tmp_path):
    local = tmp_path / "f.txt"
    local.write_text("one")
    store.log_artifact(str(local))
    local.write_text("second")
    store.log_artifact(str(local))
    assert (root / "f.txt").read_text() == "second"


def test_log_artifacts_copies_a_tree(store, root, tree):
    store.log_artifacts(str(tree), "model")
    assert _all_files(root / "model") == ["MLmodel", "data", "data/deep", "data/deep/x.txt", "data/weights.bin"]
    assert (root / "model" / "data" / "weights.bin").read_bytes() == bytes(range(256)) * 4


def test_log_artifacts_to_the_root(store, root, tree):
    store.log_artifacts(str(tree))
    assert sorted(p.name for p in root.iterdir()) == ["MLmodel", "data"]


def test_logged_files_are_world_readable(store, root, tmp_path):
    local = tmp_path / "f.txt"
    local.write_text("x")
    os.chmod(local, 0o600)
    store.log_artifact(str(local))
    assert (root / "f.txt").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------- listing
def test_list_artifacts_lists_direct_children_with_sizes(store, tree):
    store.log_artifacts(str(tree), "model")
    assert store.list_artifacts() == [FileInfo("model", True, None)]
    assert store.list_artifacts("model") == [
        FileInfo("model/MLmodel", False, len("flavors: {}\n")),
        FileInfo("model/data", True, None),
    ]
    assert store.list_artifacts("model/data") == [
        FileInfo("model/data/deep", True, None),
        FileInfo("model/data/weights.bin", False, 1024),
    ]


@pytest.mark.parametrize("path", ["model/", "./model", "model/./", "model/data/.."])
def test_list_artifacts_normalises_the_path(store, tree, path):
    store.log_artifacts(str(tree), "model")
    assert [f.path for f in store.list_artifacts(path)] == ["model/MLmodel", "model/data"]


def test_list_artifacts_of_a_file_is_empty(store, tree):
    store.log_artifacts(str(tree), "model")
    assert store.list_artifacts("model/MLmodel") == []


def test_list_artifacts_of_a_missing_path_or_empty_root_is_empty(store):
    assert store.list_artifacts() == []
    assert store.list_artifacts("nope") == []
    assert store.list_artifacts("") == []


def test_list_artifacts_of_a_root_that_does_not_exist_yet_is_empty(tmp_path):
    assert LocalArtifactStore(str(tmp_path / "not" / "yet")).list_artifacts() == []


def test_is_dir_exists_and_file_size(store, tree):
    store.log_artifacts(str(tree), "model")
    assert store.is_dir("model") and not store.is_dir("model/MLmodel")
    assert store.exists("model/MLmodel") and not store.exists("model/nope")
    assert store.file_size("model/data/weights.bin") == 1024
    with pytest.raises(ResourceDoesNotExist):
        store.file_size("model")
    with pytest.raises(ResourceDoesNotExist):
        store.file_size("nope")


# ----------------------------------------------------------------------------- downloading
def test_download_a_file(store, tree, tmp_path):
    store.log_artifacts(str(tree), "model")
    dst = tmp_path / "dst"
    local = store.download_artifacts("model/MLmodel", str(dst))
    assert Path(local) == dst / "model" / "MLmodel"
    assert Path(local).read_text() == "flavors: {}\n"


def test_download_a_tree(store, tree, tmp_path):
    store.log_artifacts(str(tree), "model")
    dst = tmp_path / "dst"
    local = store.download_artifacts("model", str(dst))
    assert Path(local) == dst / "model"
    assert _all_files(Path(local)) == _all_files(tree)
    assert (Path(local) / "data" / "weights.bin").read_bytes() == (tree / "data" / "weights.bin").read_bytes()


def test_download_the_whole_root(store, tree, tmp_path):
    store.log_artifacts(str(tree), "model")
    dst = tmp_path / "dst"
    local = store.download_artifacts("", str(dst))
    assert Path(local) == dst
    assert (dst / "model" / "data" / "deep" / "x.txt").read_text() == "x"


def test_download_a_missing_artifact_is_not_found(store, tmp_path):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.download_artifacts("nope.txt", str(tmp_path / "dst"))
    assert info.value.message == "No such artifact: 'nope.txt'"


def test_open_read_streams_the_bytes(store, tree):
    store.log_artifacts(str(tree), "model")
    chunks = list(store.open_read("model/data/weights.bin", chunk_size=100))
    assert b"".join(chunks) == bytes(range(256)) * 4
    assert len(chunks) == 11
    with pytest.raises(ResourceDoesNotExist):
        store.open_read("model/data")
    with pytest.raises(ResourceDoesNotExist):
        store.open_read("missing")


def test_local_file_is_the_path_on_disk(store, root, tree):
    store.log_artifacts(str(tree), "model")
    assert store.local_file("model/MLmodel") == root / "model" / "MLmodel"


# ----------------------------------------------------------------------------- deleting
def test_delete_artifacts(store, root, tree):
    store.log_artifacts(str(tree), "model")
    store.delete_artifacts("model/MLmodel")
    assert not (root / "model" / "MLmodel").exists()
    store.delete_artifacts("model")
    assert store.list_artifacts() == []
    store.delete_artifacts("never-there")


# ----------------------------------------------------------------------------- path rules
BAD_PATHS = ["../x", "..", "a/../../x", "/abs", "/etc/passwd", "a\x00b", "a\\..\\b"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_paths_escaping_the_root_are_invalid_parameter(store, tmp_path, path):
    local = tmp_path / "f.txt"
    local.write_text("x")
    operations = [
        lambda: store.list_artifacts(path),
        lambda: store.download_artifacts(path, str(tmp_path / "dst")),
        lambda: store.write_stream(path, io.BytesIO(b"x")),
        lambda: store.log_artifact(str(local), path),
        lambda: store.log_artifacts(str(tmp_path), path),
        lambda: store.delete_artifacts(path),
        lambda: store.exists(path),
        lambda: store.open_read(path),
    ]
    for operation in operations:
        with pytest.raises(InvalidParameterValue) as info:
            operation()
        assert info.value.http_status == 400
    assert not (tmp_path / "root" / "1" / "abc" / "x").exists()
    assert not (tmp_path / "x").exists()


def test_a_symlink_pointing_outside_the_root_is_refused(store, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "link").symlink_to(outside)
    with pytest.raises(InvalidParameterValue):
        store.download_artifacts("link/secret.txt", str(tmp_path / "dst"))
    with pytest.raises(InvalidParameterValue):
        store.write_stream("link/new.txt", io.BytesIO(b"x"))
    assert not (outside / "new.txt").exists()


@pytest.mark.parametrize(
    ("path", "clean"),
    [(None, ""), ("", ""), (".", ""), ("./", ""), ("a/b/", "a/b"), ("a//b", "a/b"), ("a/./b", "a/b"), ("a/../b", "b")],
)
def test_clean_relative_path_normalises(path, clean):
    assert clean_relative_path(path) == clean


@pytest.mark.parametrize("path", BAD_PATHS)
def test_clean_relative_path_refuses_escapes(path):
    with pytest.raises(InvalidParameterValue):
        clean_relative_path(path)


def test_write_stream_refuses_the_root_and_directories(store, tree):
    store.log_artifacts(str(tree), "model")
    with pytest.raises(InvalidParameterValue):
        store.write_stream("", io.BytesIO(b"x"))
    with pytest.raises(InvalidParameterValue):
        store.write_stream("model/data", io.BytesIO(b"x"))


# ----------------------------------------------------------------------------- atomic writes
def test_write_stream_from_a_file_object_and_from_chunks(store, root):
    assert store.write_stream("a/b.bin", io.BytesIO(b"0123456789")) == 10
    assert store.write_stream("c.bin", iter([b"ab", b"", b"cd"])) == 4
    assert (root / "a" / "b.bin").read_bytes() == b"0123456789"
    assert (root / "c.bin").read_bytes() == b"abcd"


def _failing_chunks(seen: list):
    yield b"first chunk "
    seen.append([p.name for p in seen[0].iterdir()])  # what is on disk mid-upload
    yield b"second chunk"
    raise ConnectionError("client went away")


def test_failing_stream_leaves_no_file_and_no_temp_file(store, root):
    target_dir = root / "upload"
    target_dir.mkdir()
    seen: list = [target_dir]
    with pytest.raises(ConnectionError):
        store.write_stream("upload/model.bin", _failing_chunks(seen))
    mid_upload = seen[1]
    assert len(mid_upload) == 1 and mid_upload[0].startswith(".podium-tmp-")  # the bytes went to a temp file
    assert list(target_dir.iterdir()) == []
    assert store.list_artifacts("upload") == []
    assert not store.exists("upload/model.bin")


def test_failing_stream_keeps_the_previous_version_of_the_file(store, root):
    store.write_stream("model.bin", io.BytesIO(b"old and complete"))
    seen: list = [root]
    with pytest.raises(ConnectionError):
        store.write_stream("model.bin", _failing_chunks(seen))
    assert (root / "model.bin").read_bytes() == b"old and complete"
    assert sorted(p.name for p in root.iterdir()) == ["model.bin"]


def test_upload_in_flight_is_not_listed_or_downloaded(store, root, tmp_path):
    store.write_stream("dir/done.txt", io.BytesIO(b"done"))
    (root / "dir" / ".podium-tmp-inflight").write_bytes(b"partial")
    assert store.list_artifacts("dir") == [FileInfo("dir/done.txt", False, 4)]
    local = store.download_artifacts("dir", str(tmp_path / "dst"))
    assert sorted(p.name for p in Path(local).iterdir()) == ["done.txt"]


def test_writing_below_an_existing_file_is_invalid_parameter(store, root):
    store.write_stream("x.txt", io.BytesIO(b"1"))
    with pytest.raises(InvalidParameterValue):
        store.write_stream("x.txt/y.txt", io.BytesIO(b"2"))
    assert (root / "x.txt").read_bytes() == b"1"
    assert store.list_artifacts("x.txt/y") == []
    with pytest.raises(ResourceDoesNotExist):
        store.download_artifacts("x.txt/y", str(root.parent / "dst"))


def test_clean_staging_removes_the_files_of_processes_that_are_gone_and_its_own(tmp_path):
    import socket
    import subprocess
    import sys

    from podium.store.artifacts.local import STAGING, LocalArtifactStore, prepare_staging

    prepare_staging(str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    staging = tmp_path / STAGING
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        for name in (f"{host}-{gone.stdout.strip()}-abc", f"{host}-{alive.pid}-def", f"{host}-{os.getpid()}-jkl",
                     "other-host-1-ghi"):
            (staging / name).write_bytes(b"partial")
        assert LocalArtifactStore(str(tmp_path)).clean_staging() == 2  # the dead process's and our own
        assert sorted(p.name for p in staging.iterdir()) == sorted([f"{host}-{alive.pid}-def", "other-host-1-ghi"])
    finally:
        alive.communicate(b"")
    assert LocalArtifactStore(str(tmp_path)).list_artifacts() == []
