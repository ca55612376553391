"""Manifests: the digest, what counts as a difference, and one spelling per storage location."""

from __future__ import annotations

import hashlib

import pytest

from podium.domain.manifests import (
    Manifest,
    ManifestFile,
    compare_files,
    hash_chunks,
    integrity_error,
    join_key,
    key_prefixes,
    location_key,
    manifest_digest,
)
from podium.errors import IntegrityCheckFailed


def _file(path: str, data: bytes) -> ManifestFile:
    return ManifestFile(path, len(data), hashlib.sha256(data).hexdigest())


FILES = [_file("MLmodel", b"flavors: {}\n"), _file("model.pkl", b"\x00" * 100), _file("sub/a b.txt", b"x")]


def test_digest_is_independent_of_order_and_changes_with_any_file():
    digest = manifest_digest(FILES)
    assert digest == manifest_digest(list(reversed(FILES)))
    assert len(digest) == 64
    changed = [FILES[0], _file("model.pkl", b"\x00" * 99 + b"\x01"), FILES[2]]
    assert manifest_digest(changed) != digest
    renamed = [FILES[0], FILES[1], _file("sub/a_b.txt", b"x")]
    assert manifest_digest(renamed) != digest


def test_manifest_round_trips_through_json_shape():
    manifest = Manifest.of(reversed(FILES), "mlflow-artifacts:/1/m", 123)
    assert [f.path for f in manifest.files] == ["MLmodel", "model.pkl", "sub/a b.txt"]
    assert manifest.file_count == 3 and manifest.total_bytes == sum(f.size for f in FILES)
    assert Manifest.from_dict(manifest.to_dict()) == manifest


def test_hash_chunks_streams():
    size, digest = hash_chunks(iter([b"ab", b"", b"c"]))
    assert (size, digest) == (3, hashlib.sha256(b"abc").hexdigest())


def test_compare_files_names_missing_truncated_modified_and_added():
    actual = [
        _file("MLmodel", b"flavors: {}\n"),                   # same
        _file("model.pkl", b"\x00" * 50),                      # truncated
        _file("extra.py", b"import os"),                      # added
    ]
    problems = compare_files(FILES, actual)
    assert [(p.path, p.problem) for p in problems] == [
        ("extra.py", "added"), ("model.pkl", "truncated"), ("sub/a b.txt", "missing")]
    assert "truncated (50 of 100 bytes)" in problems[1].describe()
    same_size = compare_files(FILES, [FILES[0], _file("model.pkl", b"\x01" * 100), FILES[2]])
    assert [(p.path, p.problem) for p in same_size] == [("model.pkl", "modified")]
    assert "sha256" in same_size[0].describe()
    assert compare_files(FILES, list(FILES)) == []
    assert compare_files(FILES, [*FILES, _file("new", b"")], report_added=False) == []


def test_integrity_error_is_data_loss_naming_the_first_file():
    problems = compare_files(FILES, FILES[:1])
    error = integrity_error("model version 'wine' 3", problems, "ab" * 32)
    assert isinstance(error, IntegrityCheckFailed) and error.error_code == "DATA_LOSS"
    assert "file 'model.pkl' is missing" in error.message and "(and 1 more file)" in error.message
    assert error.http_status == 500


@pytest.mark.parametrize(("uri", "key"), [
    ("mlflow-artifacts:/1/abc/artifacts/model/", "mlflow-artifacts:/1/abc/artifacts/model"),
    ("mlflow-artifacts:1/abc/artifacts/model", "mlflow-artifacts:/1/abc/artifacts/model"),
    ("mlflow-artifacts://host:5000/1/abc/artifacts/model", "mlflow-artifacts:/1/abc/artifacts/model"),
    ("mlflow-artifacts:/1//x/./y", "mlflow-artifacts:/1/x/y"),
    ("s3://bucket/prefix/1/x/", "s3://bucket/prefix/1/x"),
    ("S3://bucket/prefix", "s3://bucket/prefix"),
    ("dbfs:/models/x/", "dbfs:/models/x"),
])
def test_location_key_spells_each_place_once(uri, key):
    assert location_key(uri) == key


def test_location_key_of_local_paths_is_absolute(tmp_path):
    assert location_key(str(tmp_path / "a" / ".." / "b")) == (tmp_path / "b").resolve().as_posix()
    assert location_key(f"file://{tmp_path}/b/") == (tmp_path / "b").resolve().as_posix()


def test_key_prefixes_list_every_directory_above():
    assert key_prefixes("mlflow-artifacts:/1/run/artifacts/model") == [
        "mlflow-artifacts:/1/run/artifacts/model", "mlflow-artifacts:/1/run/artifacts",
        "mlflow-artifacts:/1/run", "mlflow-artifacts:/1"]
    assert key_prefixes("s3://b/p/x") == ["s3://b/p/x", "s3://b/p"]
    assert key_prefixes("/srv/art/1") == ["/srv/art/1", "/srv/art", "/srv"]
    assert key_prefixes("mlflow-artifacts:/") == []
    assert join_key("mlflow-artifacts:/1/x", "model/MLmodel") == "mlflow-artifacts:/1/x/model/MLmodel"
