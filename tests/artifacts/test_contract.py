"""The ArtifactStore contract, once, run on every implementation (``store``: local directory, S3 on moto).

What a store must do is in ``podium/store/artifacts/base.py``; each test here says one rule of it.
Store-specific mechanics (temporary files, multipart uploads, presigned URLs) are checked in
``test_local_store.py`` and ``test_s3_store.py``.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from podium.domain.entities import FileInfo
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist

MiB = 1 << 20


def _read(store, path: str, **kw) -> bytes:
    return b"".join(store.open_read(path, **kw))


def _small_parts(store) -> None:
    """S3: 5 MiB parts (S3's minimum), so a 20 MiB file is a 4-part upload; no-op for the local store."""
    if hasattr(store, "part_size"):
        store.part_size = 5 * MiB


def _visible_files(store, path: str | None = None) -> list[str]:
    """Every file below ``path``, walking the listing as a client would."""
    out = []
    for info in store.list_artifacts(path):
        out.extend(_visible_files(store, info.path) if info.is_dir else [info.path])
    return out


# ----------------------------------------------------------------------------- write / read
def test_write_and_read_a_small_file(store):
    assert store.write_stream("notes/readme.txt", iter([b"hello ", b"world"])) == 11
    assert _read(store, "notes/readme.txt") == b"hello world"
    assert store.file_size("notes/readme.txt") == 11
    assert store.exists("notes/readme.txt") and not store.is_dir("notes/readme.txt")
    assert store.list_artifacts("notes") == [FileInfo("notes/readme.txt", False, 11)]


def test_write_from_a_file_object_and_an_empty_file(store):
    assert store.write_stream("a.bin", io.BytesIO(b"\x00\x01" * 1000)) == 2000
    assert store.write_stream("empty.txt", iter([])) == 0
    assert _read(store, "a.bin") == b"\x00\x01" * 1000
    assert _read(store, "empty.txt") == b"" and store.file_size("empty.txt") == 0


def test_a_multi_part_file_round_trips_in_bounded_chunks(store):
    _small_parts(store)
    block = os.urandom(MiB)
    size = 20 * MiB

    def body():
        for i in range(20):
            yield bytes([i]) + block[1:]

    expected = hashlib.sha256(b"".join(body())).hexdigest()
    assert store.write_stream("big/blob.bin", body()) == size
    assert store.file_size("big/blob.bin") == size
    digest, largest = hashlib.sha256(), 0
    for chunk in store.open_read("big/blob.bin", chunk_size=MiB):
        digest.update(chunk)
        largest = max(largest, len(chunk))
    assert digest.hexdigest() == expected
    assert largest <= MiB


def test_overwriting_replaces_the_file(store):
    store.write_stream("f.txt", iter([b"one"]))
    store.write_stream("f.txt", iter([b"two!"]))
    assert _read(store, "f.txt") == b"two!" and store.file_size("f.txt") == 4


def test_log_artifact_and_log_artifacts(store, tmp_path):
    (tmp_path / "src" / "model" / "data").mkdir(parents=True)
    (tmp_path / "src" / "model" / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "src" / "model" / "data" / "w.bin").write_bytes(b"w" * 300)
    (tmp_path / "one.txt").write_text("1")
    store.log_artifact(str(tmp_path / "one.txt"), "extra")
    store.log_artifacts(str(tmp_path / "src" / "model"), "model")
    assert sorted(_visible_files(store)) == ["extra/one.txt", "model/MLmodel", "model/data/w.bin"]
    assert store.file_size("model/data/w.bin") == 300


# ----------------------------------------------------------------------------- ranged reads
@pytest.mark.parametrize("byte_range, expected", [
    ((0, 0), b"0"),
    ((3, 6), b"3456"),
    ((7, None), b"789"),
    ((8, 100), b"89"),       # cut at the end
    ((10, None), b""),       # starts at the end
    ((50, 60), b""),         # starts past it
])
def test_ranged_reads(store, byte_range, expected):
    store.write_stream("digits.txt", iter([b"0123456789"]))
    assert _read(store, "digits.txt", byte_range=byte_range) == expected


def test_a_ranged_read_across_parts(store):
    _small_parts(store)
    data = os.urandom(11 * MiB)
    store.write_stream("r.bin", io.BytesIO(data))
    first, last = 5 * MiB - 10, 10 * MiB + 10
    assert _read(store, "r.bin", byte_range=(first, last)) == data[first:last + 1]


@pytest.mark.parametrize("byte_range", [(-1, 2), (5, 3), ("0", 2), (1,)])
def test_malformed_ranges_are_refused(store, byte_range):
    store.write_stream("digits.txt", iter([b"0123456789"]))
    with pytest.raises(InvalidParameterValue):
        _read(store, "digits.txt", byte_range=byte_range)


# ----------------------------------------------------------------------------- listing
def test_listing_shows_direct_children_with_sizes(store):
    for path, body in (("a/b/c.txt", b"c"), ("a/d.txt", b"dd"), ("e.txt", b"eee")):
        store.write_stream(path, iter([body]))
    assert store.list_artifacts() == [FileInfo("a", True, None), FileInfo("e.txt", False, 3)]
    assert store.list_artifacts("a") == [FileInfo("a/b", True, None), FileInfo("a/d.txt", False, 2)]
    assert store.list_artifacts("a/b") == [FileInfo("a/b/c.txt", False, 1)]
    assert store.list_artifacts("a/d.txt") == []   # a file lists as nothing
    assert store.list_artifacts("missing") == []
    assert store.list_artifacts("a/") == store.list_artifacts("a") == store.list_artifacts("./a")


def test_listing_follows_pagination(store):
    store.page_size = 3  # S3: ListObjectsV2 MaxKeys; the local store ignores it
    names = [f"f{i:02d}.txt" for i in range(10)]
    for name in names:
        store.write_stream(f"many/{name}", iter([name.encode()]))
    for sub in ("d1", "d2"):
        store.write_stream(f"many/{sub}/x.txt", iter([b"x"]))
    listing = store.list_artifacts("many")
    assert [f.path for f in listing] == [f"many/{n}" for n in ["d1", "d2", *names]]
    assert [f.is_dir for f in listing] == [True, True] + [False] * 10
    assert len(_visible_files(store, "many")) == 12


def test_nested_directories(store):
    store.write_stream("x/y/z/w/deep.txt", iter([b"deep"]))
    assert store.is_dir("x") and store.is_dir("x/y/z") and store.is_dir("x/y/z/w")
    assert store.list_artifacts("x/y") == [FileInfo("x/y/z", True, None)]
    assert _visible_files(store, "x") == ["x/y/z/w/deep.txt"]


# ----------------------------------------------------------------------------- exists / is_dir / file_size
def test_exists_is_dir_and_file_size(store):
    store.write_stream("d/f.bin", iter([b"12345"]))
    assert store.exists("d") and store.is_dir("d")
    assert store.exists("d/f.bin") and not store.is_dir("d/f.bin")
    assert not store.exists("nope") and not store.is_dir("nope") and not store.exists("d/nope")
    assert store.file_size("d/f.bin") == 5
    with pytest.raises(ResourceDoesNotExist, match="No such artifact: 'd/nope'"):
        store.file_size("d/nope")
    with pytest.raises(ResourceDoesNotExist):
        store.file_size("d")  # a directory has no size


def test_reading_a_missing_file_fails_at_the_call(store):
    with pytest.raises(ResourceDoesNotExist, match="No such artifact"):
        store.open_read("missing.bin")  # not lazily at the first chunk: a server can still answer 404


# ----------------------------------------------------------------------------- download
def test_download_a_tree_and_a_file(store, tmp_path):
    for path, body in (("model/MLmodel", b"m"), ("model/data/w.bin", b"w" * 100), ("other.txt", b"o")):
        store.write_stream(path, iter([body]))
    dst = tmp_path / "dst"
    assert store.download_artifacts("model", str(dst)) == str(dst / "model")
    got = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert got == ["model/MLmodel", "model/data/w.bin"]
    assert (dst / "model" / "data" / "w.bin").read_bytes() == b"w" * 100
    single = tmp_path / "single"
    assert store.download_artifacts("model/data/w.bin", str(single)) == str(single / "model" / "data" / "w.bin")
    assert [p.name for p in single.rglob("*") if p.is_file()] == ["w.bin"]  # no temporary file left


def test_download_of_the_root_and_of_a_missing_path(store, tmp_path):
    store.write_stream("a/1.txt", iter([b"1"]))
    store.write_stream("2.txt", iter([b"2"]))
    root = tmp_path / "all"
    store.download_artifacts("", str(root))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["2.txt", "a/1.txt"]
    with pytest.raises(ResourceDoesNotExist):
        store.download_artifacts("missing", str(tmp_path / "m"))


# ----------------------------------------------------------------------------- delete
def test_delete_a_file_a_tree_and_a_missing_path(store):
    store.page_size = 3  # S3: batches of 3 keys per DeleteObjects
    for i in range(7):
        store.write_stream(f"tree/sub{i % 2}/f{i}.txt", iter([b"x"]))
    store.write_stream("keep/k.txt", iter([b"k"]))
    store.write_stream("keep/gone.txt", iter([b"g"]))
    store.delete_artifacts("keep/gone.txt")
    assert _visible_files(store, "keep") == ["keep/k.txt"]
    store.delete_artifacts("tree")
    assert not store.exists("tree") and store.list_artifacts("tree") == []
    store.delete_artifacts("never/was")  # not an error
    assert _visible_files(store) == ["keep/k.txt"]
    store.delete_artifacts()
    assert store.list_artifacts() == []


def test_deleting_a_file_keeps_its_siblings_with_a_common_name_prefix(store):
    store.write_stream("a/model", iter([b"1"]))
    store.write_stream("a/model.bak", iter([b"2"]))
    store.write_stream("a/models/x", iter([b"3"]))
    store.delete_artifacts("a/model")
    assert _visible_files(store, "a") == ["a/model.bak", "a/models/x"]


# ----------------------------------------------------------------------------- path rules
_ESCAPES = ["../x", "a/../../x", "/abs/x", "a\x00b", "a\\b", "..", "../"]


@pytest.mark.parametrize("bad", _ESCAPES, ids=repr)
@pytest.mark.parametrize("operation", ["write", "read", "list", "delete", "size", "exists", "is_dir", "download"])
def test_paths_leaving_the_root_are_refused(store, tmp_path, bad, operation):
    calls = {
        "write": lambda: store.write_stream(bad, iter([b"evil"])),
        "read": lambda: _read(store, bad),
        "list": lambda: store.list_artifacts(bad),
        "delete": lambda: store.delete_artifacts(bad),
        "size": lambda: store.file_size(bad),
        "exists": lambda: store.exists(bad),
        "is_dir": lambda: store.is_dir(bad),
        "download": lambda: store.download_artifacts(bad, str(tmp_path / "dst")),
    }
    with pytest.raises(InvalidParameterValue):
        calls[operation]()
    assert not (tmp_path / "x").exists() and not (tmp_path / "evil").exists()


def test_writing_the_root_or_over_a_directory_is_refused(store):
    store.write_stream("dir/f.txt", iter([b"f"]))
    with pytest.raises(InvalidParameterValue):
        store.write_stream("", iter([b"x"]))
    with pytest.raises(InvalidParameterValue, match="directory"):
        store.write_stream("dir", iter([b"x"]))
    assert _read(store, "dir/f.txt") == b"f"


# ----------------------------------------------------------------------------- overwrite=False
def test_overwrite_false_refuses_an_existing_file(store):
    assert store.write_stream("v1/model.pkl", iter([b"original"]), overwrite=False) == 8
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        store.write_stream("v1/model.pkl", iter([b"replacement"]), overwrite=False)
    assert _read(store, "v1/model.pkl") == b"original"


def test_overwrite_false_is_checked_again_when_the_write_commits(store):
    """Two writers of one new name: the one that commits second loses, even if it started first."""
    _small_parts(store)
    started, release, errors = threading.Event(), threading.Event(), []
    slow_data = os.urandom(7 * MiB)  # S3: two parts, so the check is the conditional Complete

    def slow_body():
        yield slow_data[:6 * MiB]
        started.set()  # the first block is taken: the early existence check is behind the writer
        release.wait(30)
        yield slow_data[6 * MiB:]

    def slow_writer():
        try:
            store.write_stream("race.bin", slow_body(), overwrite=False)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert started.wait(30)
        store.write_stream("race.bin", iter([b"fast"]), overwrite=False)
    finally:
        release.set()
        thread.join(60)
    assert len(errors) == 1 and isinstance(errors[0], ResourceAlreadyExists), errors
    assert _read(store, "race.bin") == b"fast"
    assert _visible_files(store) == ["race.bin"]


# ----------------------------------------------------------------------------- interrupted writes
class _Broken(Exception):
    pass


@pytest.mark.parametrize("sent_mib", [1, 12], ids=["within-one-part", "after-two-parts"])
def test_an_upload_failing_halfway_leaves_nothing_visible(store, sent_mib):
    _small_parts(store)
    block = os.urandom(MiB)

    def failing_body():
        for _ in range(sent_mib):
            yield block
        raise _Broken("the client went away")

    store.write_stream("kept.txt", iter([b"k"]))
    with pytest.raises(_Broken):
        store.write_stream("partial/file.bin", failing_body())
    assert not store.exists("partial/file.bin")
    assert _visible_files(store) == ["kept.txt"]
    with pytest.raises(ResourceDoesNotExist):
        store.open_read("partial/file.bin")


def test_a_failed_overwrite_keeps_the_previous_file(store):
    _small_parts(store)
    store.write_stream("model.bin", iter([b"v1"]))

    def failing_body():
        yield os.urandom(6 * MiB)
        raise _Broken("disk full on the client")

    with pytest.raises(_Broken):
        store.write_stream("model.bin", failing_body())
    assert _read(store, "model.bin") == b"v1"


def test_local_paths_the_store_returns_stay_below_the_destination(store, tmp_path):
    store.write_stream("a/b.txt", iter([b"b"]))
    dst = tmp_path / "out"
    path = Path(store.download_artifacts("a/b.txt", str(dst)))
    assert dst in path.parents
