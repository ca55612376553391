#!/usr/bin/env bash
# run_issue14.sh [OUTDIR] - every row of issue 14's table, against MLflow, in one command.
#
#   1. calibrate.py: the machine's floor for one registry read (CPU per request, req/s, p50)
#   2. bench/server_vs_mlflow.py: podium server vs mlflow server (3 configurations, best taken) on
#      SQLite, every scenario of the shared harness (writes, transitions, read-hot at c=1/16/64,
#      search on a 3,000-model data set, seed flow, artifacts 1 MB/100 MB, 1 GB with BIG=1), with
#      the server's CPU time and memory per scenario (compare.py --resources)
#   3. bench/cpu_per_request.py: Podium's server CPU per request against the calibration, before
#      (BEFORE, a git ref; default: none) and after
#   3b. bench/sql_floor.py: the SQL of one get-model / create-version / transition replayed on the
#      driver alone (the database's share of a request's CPU), beside the calibration
#   4. bench/workers.sh: read-hot c=1/c=64 at --workers 1 and 2 (SQLite; PostgreSQL with PG_URL=...)
#   5. bench/embedded_bench.py: create_model_version / get_model_version_by_alias in process, from
#      an empty runs:/ source and (--real-model, the issue's target) from a logged sklearn model whose
#      files Podium hashes, as shipped and at equal durability (--mlflow-wal)
#   6. bench/artifacts_vs_mlflow.py: 1 MiB / 100 MiB (and 1 GiB with BIG=1) up and down through both
#      artifact proxies, one plain HTTP client and each project's own client, beside cp
#   7. calibrate.py again (the machine may have changed during the run)
#
# Run it on a quiet machine (other jobs move every figure); the load average is recorded with
# each step in OUTDIR/load.txt. Environment: DURATION=10 (s per scenario), MODELS=3000,
# BIG=1 (1 GB artifacts), BEFORE=<git ref>, HARNESS=/work/shared/bench, WORKDIR=<dir> (server data
# kept between runs: the search data set is populated once, `server_vs_mlflow.py --only populate
# --workdir DIR`), MLFLOW_VARIANTS (default: 4 workers without keep-alive and 1 worker with it, the
# issue's two), SKIP_EMBEDDED=1 / SKIP_ARTIFACTS=1 (steps 5 and 6). Podium runs with its defaults.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-bench/results/$(date -u +%F)-issue14}
PY=.venv/bin/python
HARNESS=${HARNESS:-/work/shared/bench}
export PODIUM_BENCH_HARNESS=$HARNESS
mkdir -p "$OUT"
note() { echo "$(date -u +%T) $1: load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"; }

note "calibrate (before)"
$PY "$HARNESS/calibrate.py" --duration 8 --json "$OUT/calibration-before.json"

note "server vs mlflow"
big=(); [ "${BIG:-0}" = 1 ] && big=(--big)
work=(); [ -n "${WORKDIR:-}" ] && work=(--workdir "$WORKDIR")
$PY bench/server_vs_mlflow.py --out "$OUT/server" --duration "${DURATION:-10}" \
    --dataset "rbpop${MODELS:-3000}" --models "${MODELS:-3000}" "${big[@]}" "${work[@]}" \
    --mlflow-variants "${MLFLOW_VARIANTS:-mlflow-nokeepalive mlflow-workers1}" --podium-workers2 "${PODIUM_W2:-create-version transition read-hot search}" \
    --group-scenarios 'create-model,create-version,transition read-hot,search seed-flow,artifacts' --quiet-timeout 5
$PY "$HARNESS/compare.py" --resources "$OUT/server/podium" > "$OUT/podium-resources.txt" 2>&1 || true

note "cpu per request"
before=(); [ -n "${BEFORE:-}" ] && before=(--before "$BEFORE")
$PY bench/cpu_per_request.py "${before[@]}" --scenarios "read-hot create-version transition" \
    --duration "${DURATION:-10}" --json "$OUT/cpu-per-request.json" | tee "$OUT/cpu-per-request.md"

note "sql floor"
$PY bench/sql_floor.py --json "$OUT/sql-floor.json" | tee "$OUT/sql-floor.md"

note "workers (SQLite)"
bench/workers.sh | tee "$OUT/workers-sqlite.txt"
if [ -n "${PG_URL:-}" ]; then note "workers (PostgreSQL)"; bench/workers.sh "$PG_URL" | tee "$OUT/workers-postgres.txt"; fi

if [ "${SKIP_EMBEDDED:-0}" != 1 ]; then
note "embedded"
$PY bench/embedded_bench.py --n 1000 --rounds 3 --json "$OUT/embedded.json" | tee "$OUT/embedded.txt"
note "embedded, real model"
$PY bench/embedded_bench.py --real-model --n 1000 --rounds 3 --json "$OUT/embedded-real.json" | tee "$OUT/embedded-real.txt"
$PY bench/embedded_bench.py --real-model --n 1000 --rounds 3 --mlflow-wal --json "$OUT/embedded-real-wal.json" \
    | tee "$OUT/embedded-real-wal.txt"

fi

if [ "${SKIP_ARTIFACTS:-0}" != 1 ]; then
note "artifacts vs mlflow and cp"
sizes=1,100; [ "${BIG:-0}" = 1 ] && sizes=1,100,1024
$PY bench/artifacts_vs_mlflow.py --sizes "$sizes" --json "$OUT/artifacts.json" | tee "$OUT/artifacts.md"
fi

note "calibrate (after)"
$PY "$HARNESS/calibrate.py" --duration 8 --json "$OUT/calibration-after.json"
note "done"
echo "results in $OUT: server/summary.md, cpu-per-request.md, embedded*.txt, artifacts.md, calibration-*.json, load.txt"
