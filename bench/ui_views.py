"""Server time of the compare/explain views (decision 0017) on a small and a big model (not a test).

A live ``podium server`` on SQLite: ``small`` (3 versions, each from its own run with a metric
history) and ``big`` (``--versions`` versions, default 2,000, plus the same 3 compared versions'
kind of data on its first 3). Each path is asked ``--requests`` times (default 100) after 10 warm-up
requests; server time per request comes from the access log, in request order. The pages read a
bounded window, so ``big`` should cost what ``small`` costs; "as at" a time replays the model's
stage and alias moves (it grows with the moves, not with the versions: decision 0018).

    .venv/bin/python bench/ui_views.py [--versions 2000] [--requests 100]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.server.helpers import A2, start_server, stop_server  # noqa: E402
from tests.server.ui_data import register_compared_model  # noqa: E402

PATHS = [
    ("model page + trend", "/models/{m}"),
    ("compare 3 versions", "/models/{m}/compare?versions=1,2,3&metric=rmse"),
    ("history (50 events)", "/models/{m}/history"),
    ("history ?action=alias_set", "/models/{m}/history?action=alias_set"),
    ("history ?at=(now)", "/models/{m}/history?at=2999-01-01T00:00"),
    ("version page", "/models/{m}/versions/2"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    server = start_server(Path(tempfile.mkdtemp()))
    try:
        client = httpx.Client(base_url=server.url, timeout=60)
        register_compared_model(client, "small")
        register_compared_model(client, "big")
        source = client.get(f"{A2}/model-versions/get", params={"name": "big", "version": "1"}).json()
        run_id = source["model_version"]["run_id"]
        for _ in range(args.versions - 3):
            client.post(f"{A2}/model-versions/create",
                        json={"name": "big", "source": f"runs:/{run_id}/model", "run_id": run_id})
        print(f"{'path':28s} {'model':>6s} {'p50 ms':>8s} {'p99 ms':>8s} {'bytes':>8s}")
        for label, template in PATHS:
            for model in ("small", "big"):
                path = template.format(m=model)
                for _ in range(10):
                    client.get(path)
                mark = len(server.log_path.read_text().splitlines())
                for _ in range(args.requests):
                    assert client.get(path).status_code == 200, path
                lines = server.log_path.read_text().splitlines()[mark:]
                ms = sorted(float(m.group(1)) for m in (re.search(r" GET \S+ 200 ([\d.]+)ms", x) for x in lines) if m)
                size = len(client.get(path).content)
                print(f"{label:28s} {model:>6s} {statistics.median(ms):8.2f} "
                      f"{ms[max(0, int(len(ms) * 0.99) - 1)]:8.2f} {size:8d}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
