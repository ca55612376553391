"""Fixtures for the artifact-store contract suite: ``store`` is each implementation in turn.

* ``local``: a :class:`LocalArtifactStore` on a fresh directory;
* ``s3``: an :class:`S3ArtifactStore` on ``s3://<fresh bucket>/root/prefix`` of a ``moto_server``
  process started once per session on a free port (skipped when ``moto[s3]``/``boto3`` are not
  installed). Buckets are unique per test and moto's state is reset after each S3 test.
"""

from __future__ import annotations

import importlib.util
import uuid

import pytest

from podium.store.artifacts.local import LocalArtifactStore

from .moto import start_moto, stop_moto

_HAVE_MOTO = all(importlib.util.find_spec(m) is not None for m in ("boto3", "moto", "flask"))
_NEED_MOTO = "S3 tests need moto's server and boto3: pip install 'moto[s3]' flask flask-cors boto3"


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    if not _HAVE_MOTO:
        pytest.skip(_NEED_MOTO)
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop_moto(server)


@pytest.fixture
def s3_env(moto, monkeypatch):
    """Point Podium's S3 client at moto (endpoint + dummy credentials); forget moto's state afterwards."""
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    yield moto
    moto.reset()


@pytest.fixture
def s3(s3_env):
    """The boto3 client Podium uses (to look behind the store's back)."""
    from podium.store.artifacts.s3 import s3_client

    return s3_client()


@pytest.fixture
def bucket(s3) -> str:
    name = f"podium-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        root = tmp_path / "root"
        root.mkdir()
        return LocalArtifactStore(str(root))
    from podium.store.artifacts.s3 import S3ArtifactStore

    return S3ArtifactStore(f"s3://{request.getfixturevalue('bucket')}/root/prefix")
