#!/usr/bin/env python
"""Where an embedded-registry call spends its time: cProfile + SQL statements per call.

Same setup as ``embedded_bench.py`` (fresh SQLite file in a temp dir, experiment + run +
registered model created untimed), then ``--n`` calls of one operation under cProfile. Prints the
top functions by cumulative time and the SQL statements issued per call (counted with a
SQLAlchemy ``before_cursor_execute`` hook; SQLite ``PRAGMA``/``BEGIN`` issued by the driver on
its own are not seen). cProfile slows pure-Python code more than C code, so use the absolute
times only to rank functions, and ``embedded_bench.py`` for the real numbers.

Usage::

    .venv/bin/python bench/profile_embedded.py --lib podium --op create_model_version
    .venv/bin/python bench/profile_embedded.py --lib mlflow --op create_model_version --mlflow-wal
    .venv/bin/python bench/profile_embedded.py --lib podium --op get_model_version_by_alias --sql
    .venv/bin/python bench/profile_embedded.py --lib podium --real-model --sort tottime --top 30

``--real-model``: the source is a logged sklearn model's artifact location, as in
``embedded_bench.py --real-model`` (Podium hashes its files on every ``create_model_version``).
"""

from __future__ import annotations

import argparse
import cProfile
import collections
import io
import os
import pstats
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from embedded_bench import (_CHILD_ENV, _SCRUB_ENV, ALIAS, MODEL_NAME, _log_real_model, _silence,  # noqa: E402
                             _tune_mlflow_sqlite)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", choices=("podium", "mlflow"), default="podium")
    parser.add_argument("--op", choices=("create_model_version", "get_model_version_by_alias", "get_latest_versions"),
                        default="create_model_version")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (default cumulative)")
    parser.add_argument("--sql", action="store_true", help="also print the distinct SQL statements of one call")
    parser.add_argument("--mlflow-wal", action="store_true", help="MLflow SQLite with WAL + synchronous=NORMAL")
    parser.add_argument("--real-model", action="store_true",
                        help="register a logged sklearn model's artifact location instead of runs:/<id>/model")
    args = parser.parse_args()

    for key in _SCRUB_ENV:
        os.environ.pop(key, None)
    os.environ.update(_CHILD_ENV)
    _silence()
    workdir = tempfile.TemporaryDirectory(prefix=f"profile-{args.lib}-", ignore_cleanup_errors=True)
    tmp = workdir.name  # removed when the process exits
    os.chdir(tmp)
    uri = f"sqlite:///{os.path.join(tmp, 'registry.db')}"
    if args.lib == "mlflow":
        from mlflow import MlflowClient
        if args.mlflow_wal:
            _tune_mlflow_sqlite()
    else:
        from podium import MlflowClient
    _silence()

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("bench", artifact_location=os.path.join(tmp, "artifacts"))
    if args.real_model:
        run_id, source = _log_real_model(args.lib, client, uri, experiment_id)
    else:
        run_id = client.create_run(experiment_id).info.run_id
        source = f"runs:/{run_id}/model"
    client.create_registered_model(MODEL_NAME)
    if args.op == "get_model_version_by_alias":
        client.create_model_version(MODEL_NAME, source, run_id=run_id)
        client.set_registered_model_alias(MODEL_NAME, ALIAS, "1")

        def call():
            client.get_model_version_by_alias(MODEL_NAME, ALIAS)
    elif args.op == "get_latest_versions":
        client.create_model_version(MODEL_NAME, source, run_id=run_id)

        def call():
            client.get_latest_versions(MODEL_NAME)
    else:
        def call():
            client.create_model_version(MODEL_NAME, source, run_id=run_id)

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements: list[str] = []
    counting = [False]

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if counting[0]:
            statements.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", on_execute)

    counting[0] = True
    call()  # one call, outside the profile, to count statements
    counting[0] = False
    one_call = list(statements)
    statements.clear()

    profiler = cProfile.Profile()
    counting[0] = True
    profiler.enable()
    for _ in range(args.n):
        call()
    profiler.disable()
    counting[0] = False

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(f"{args.lib} {args.op}: {args.n} calls under cProfile"
          + (" (MLflow SQLite: WAL + synchronous=NORMAL)" if args.mlflow_wal else ""))
    print(out.getvalue().strip())
    print(f"\nSQL statements per call: {len(statements) / args.n:.1f} "
          f"(first call: {len(one_call)})")
    kinds = collections.Counter(s.split(" ", 1)[0].upper() for s in one_call)
    print("  by kind (one call): " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    if args.sql:
        for s in one_call:
            print("  " + (s if len(s) < 240 else s[:237] + "..."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
