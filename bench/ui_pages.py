"""Server time of the web UI's pages next to the API calls that read the same data (not a test).

A live ``podium server`` on SQLite with one model of 1,000 versions and 60 small models; 200
requests per path after 20 warm-up ones; server time from the access log (p50/p99), bytes per answer.

    .venv/bin/python bench/ui_pages.py
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.server.helpers import A2, start_server, stop_server  # noqa: E402
from tests.server.ui_data import register_model  # noqa: E402

N = 200


def main() -> None:
    server = start_server(Path(tempfile.mkdtemp()))
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        register_model(client, "big", versions=1000)
        for i in range(60):
            client.post(f"{A2}/registered-models/create", json={"name": f"m{i:03d}"})
        css = re.search(r'href="(/static/[^"]+css)"', client.get("/").text).group(1)
        paths = {
            "API registered-models/search (50)": f"{A2}/registered-models/search?max_results=50",
            "page /models (25 rows)": "/models",
            "API model-versions/search (50)": f"{A2}/model-versions/search?filter=name%3D%27big%27&max_results=50",
            "page /models/big (1,000 versions)": "/models/big",
            "page /models/big/versions/1": "/models/big/versions/1",
            "static CSS": css,
            "API 404 (no route)": "/api/2.0/nothing",
        }
        for path in paths.values():
            for _ in range(20):
                client.get(path)
        mark = len(server.log_path.read_text().splitlines())
        for path in paths.values():
            for _ in range(N):
                client.get(path)
        found = [re.search(r"GET (\S+) \d+ ([\d.]+)ms", line) for line in server.log_path.read_text().splitlines()[mark:]]
        print(f"{'path':40s} {'p50 ms':>8s} {'p99 ms':>8s} {'bytes':>8s}")
        for label, path in paths.items():
            ms = sorted(float(m.group(2)) for m in found if m and m.group(1) == path.split("?")[0])
            print(f"{label:40s} {statistics.median(ms):8.2f} {ms[int(len(ms) * 0.99) - 1]:8.2f} "
                  f"{len(client.get(path).content):8d}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
