#!/usr/bin/env python
"""The unauthenticated big-body attack of issue 10 (item 1): server memory before and after.

Starts ``podium server --auth`` and ``podium server`` (fresh SQLite files in a temporary directory),
then sends four 200 MiB bodies at once to ``POST /api/2.0/mlflow/runs/log-batch`` without
credentials, announced with Content-Length and then chunked (raw sockets, pushing until the server
answers: ``tests/server/attacker.py``). Prints each server's RSS (psutil) before and after, the
statuses and how much of each body the server let through. Not a test: nothing is asserted (the
bound is asserted by ``tests/server/test_hostile_bodies.py``). Usage::

    .venv/bin/python bench/big_body_attack.py
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.auth_server import start_auth_server  # noqa: E402
from tests.server.attacker import MIB, push  # noqa: E402
from tests.server.helpers import start_server, stop_server  # noqa: E402

BODY = 200 * MIB
PATH = "/api/2.0/mlflow/runs/log-batch"


def attack(label: str, running) -> None:
    process = psutil.Process(running.process.pid)
    before = process.memory_info().rss
    for chunked in (False, True):
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: push(running.url, "POST", PATH, BODY, chunked=chunked), range(4)))
        statuses = sorted({status for status, *_ in results})
        sent = [round(r[3] / MIB, 1) for r in results]
        print(f"{label}, {'chunked' if chunked else 'Content-Length'}: statuses {statuses}, MiB sent each {sent}")
    print(f"{label}: server RSS {before / MIB:.0f} MiB before, {process.memory_info().rss / MIB:.0f} MiB after")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        auth = start_auth_server(Path(tmp) / "auth", {"admin": True})
        open_server = start_server(Path(tmp) / "open")
        try:
            attack("--auth, no credentials", auth.server)
            attack("no --auth", open_server)
        finally:
            auth.stop()
            stop_server(open_server)


if __name__ == "__main__":
    main()
