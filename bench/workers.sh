#!/usr/bin/env bash
# workers.sh [BACKEND_URI] - read-hot at c=1 and c=64 on `podium server --workers 1` and `--workers 2`,
# alternating, ROUNDS times (default 2): req/s, p50/p95/p99 and server CPU per request, with the load
# average. Issue 14's criterion for the default worker count: read-hot c=64 p95 <= 10x its c=1 p50.
# BACKEND_URI defaults to a fresh SQLite file per run; a PostgreSQL URL is used as given (each run
# creates its own models, so runs can share one database).
set -eu
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-/work/shared/bench}
PY=.venv/bin/python
OUT=${OUT:-$(mktemp -d)}
for round in $(seq "${ROUNDS:-2}"); do
  for wk in 1 2; do
    dir=$OUT/r$round-w$wk; mkdir -p "$dir"
    uri=${1:-sqlite:///$dir/p.db}
    port=$($PY -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    .venv/bin/podium server --backend-store-uri "$uri" --artifacts-destination "$dir/art" --port "$port" \
        --workers "$wk" > "$dir/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
    for c in 1 64; do
      $PY "$HARNESS/registry_bench.py" "http://127.0.0.1:$port" --scenario read-hot --concurrency "$c" \
          --duration "${DURATION:-8}" --server-pid "$pid" --json "$dir/c$c.json" > "$dir/c$c.log" 2>&1
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    $PY - "$dir" "$wk" <<'PY'
import json, sys
d, wk = sys.argv[1], sys.argv[2]
load = " ".join(open("/proc/loadavg").read().split()[:3])
for c in (1, 64):
    run = json.load(open(f"{d}/c{c}.json"))["runs"][0]
    q, res, lat = run["result"], run["resources"], run["result"]["latency"]
    print(f"workers={wk} c={c:<3} {q['ok_rps']:8.1f} req/s  p50 {lat['p50_ms']:7.2f}  p95 {lat['p95_ms']:7.2f}  "
          f"p99 {lat['p99_ms']:7.2f} ms  server CPU {1000 * res['server_cpu_s'] / q['ok']:.3f} ms/req  load {load}")
PY
  done
done
