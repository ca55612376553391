#!/usr/bin/env python
"""Webhook delivery latency: a registry change committed -> the receiver got its delivery.

Starts ``podium server`` on a fresh SQLite file (``--pg URL``: a fresh PostgreSQL database) with a
webhook to a local receiver (tests/webhook_receiver.py), makes ``--changes`` registry changes one
after another (``create_registered_model``, a pause of ``--gap`` ms between them so deliveries
do not queue behind each other), and reports p50/p90/p99/max of two latencies per event:

* ``from ack``: the client got the server's 200 (the change is committed) -> the receiver got it;
* ``from event``: the event's own timestamp (taken in the transaction, before the commit; the
  envelope's ``timestamp``) -> the receiver got it (same machine, same clock).

For each poll interval in ``--poll-ms``. A change committed in the process whose worker sends it
wakes that worker at once; with ``--workers`` above 1 another process's worker may find it first, at
its next poll. Not a test: nothing is asserted. Usage::

    .venv/bin/python bench/webhook_latency.py --changes 200 --poll-ms 500 --poll-ms 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.helpers import start_server, stop_server  # noqa: E402
from tests.webhook_receiver import Receiver  # noqa: E402

A2 = "/api/2.0/mlflow"


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return (f"p50 {q(0.5) * 1000:6.1f} ms  p90 {q(0.9) * 1000:6.1f} ms  p99 {q(0.99) * 1000:6.1f} ms  "
            f"max {ordered[-1] * 1000:6.1f} ms  mean {statistics.fmean(ordered) * 1000:6.1f} ms")


def run(poll_ms: int, changes: int, gap_ms: int, pg: str | None, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        extra = ["--webhook-allowed-scheme", "http", "--webhook-allowed-network", "127.0.0.1/32",
                 "--webhook-poll-ms", str(poll_ms), "--no-access-log", "--workers", str(workers)]
        database = None
        if pg:
            from tests.databases import ServerDatabase

            database = ServerDatabase(pg, "postgresql")
            extra += ["--backend-store-uri", database.url]
        server = start_server(Path(tmp), *extra)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as api:
                api.post(f"{A2}/webhooks", json={"name": "bench", "url": receiver.url(), "secret": "s3cr3t",
                                                 "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})
                acked: dict[str, float] = {}
                for i in range(changes):
                    name = f"m{i}"
                    response = api.post(f"{A2}/registered-models/create", json={"name": name})
                    acked[name] = time.time()
                    assert response.status_code == 200, response.text
                    time.sleep(gap_ms / 1000)
                got = receiver.wait_for(changes, timeout=120)
        finally:
            stop_server(server)
            if database is not None:
                database.drop()
    from_ack = [r.at - acked[r.json["data"]["name"]] for r in got]
    from_event = [r.at - datetime.fromisoformat(r.json["timestamp"]).timestamp() for r in got]
    print(f"poll {poll_ms:4d} ms, {changes} events, {'postgresql' if pg else 'sqlite'}, {workers} worker(s):")
    print(f"  from ack:   {percentiles(from_ack)}")
    print(f"  from event: {percentiles(from_event)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--gap", type=int, default=20, help="ms between two changes")
    parser.add_argument("--poll-ms", type=int, action="append", help="delivery worker poll interval(s), ms")
    parser.add_argument("--pg", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (more than 1: the change "
                        "and the delivery are often in different processes, so the poll interval shows)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    for poll in args.poll_ms or [500, 50]:
        run(poll, args.changes, args.gap, args.pg, args.workers)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
