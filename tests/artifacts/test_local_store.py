"""LocalArtifactStore's own mechanics behind the contract: temporary files and the exclusive commit."""

from __future__ import annotations

import errno
import os

import pytest

from podium.errors import ResourceAlreadyExists
from podium.store.artifacts.local import LocalArtifactStore


@pytest.fixture
def local(tmp_path) -> LocalArtifactStore:
    (tmp_path / "root").mkdir()
    return LocalArtifactStore(str(tmp_path / "root"))


def _everything(store: LocalArtifactStore) -> list[str]:
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*"))


def test_a_failed_upload_leaves_no_temporary_file(local):
    def failing():
        yield b"x" * 1000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        local.write_stream("d/f.bin", failing())
    assert _everything(local) == ["d"]  # the directory was made; no .podium-tmp-* file is left



def test_a_refused_exclusive_commit_leaves_no_temporary_file(local, monkeypatch):
    local.write_stream("g.bin", iter([b"1"]))
    monkeypatch.setattr("pathlib.Path.exists", lambda self: False)  # skip the early check: fail at commit
    with pytest.raises(ResourceAlreadyExists):
        local.write_stream("g.bin", iter([b"2"]), overwrite=False)
    monkeypatch.undo()
    assert _everything(local) == ["g.bin"] and (local.root / "g.bin").read_bytes() == b"1"


def test_exclusive_commit_without_hard_links_falls_back(local, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    local.write_stream("a.txt", iter([b"first"]), overwrite=False)
    with pytest.raises(ResourceAlreadyExists):
        local.write_stream("a.txt", iter([b"second"]), overwrite=False)
    assert (local.root / "a.txt").read_bytes() == b"first"
    assert _everything(local) == ["a.txt"]


def test_committed_files_are_world_readable(local):
    local.write_stream("m.bin", iter([b"m"]), overwrite=False)
    assert (local.root / "m.bin").stat().st_mode & 0o777 == 0o644
