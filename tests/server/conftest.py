"""A real ``podium server`` process on an ephemeral port, with a temporary SQLite file and artifact dir.

``server`` is module-scoped (one process per test module, started in ~1 s); tests create uniquely
named resources (``unique``) so they never depend on each other's data. ``api`` is an ``httpx``
client on the server's base URL.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from .helpers import start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("podium-server"))
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def api(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def unique():
    """A fresh name prefix per test: ``unique("model")`` -> ``model-1a2b3c4d``."""
    token = uuid.uuid4().hex[:8]
    return lambda base="x": f"{base}-{token}"
