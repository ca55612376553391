#!/usr/bin/env python3
"""Issue 14: does a ``tags.k = 'v'`` search on 100,000 registered models cost what it costs on 1,000?

One command, from the repository root::

    .venv/bin/python bench/tag_search.py                                   # SQLite, 1,000 and 100,000
    .venv/bin/python bench/tag_search.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/tag_search.py --mysql mysql://root@127.0.0.1:3306/test --sizes 1000
    .venv/bin/python bench/tag_search.py --explain                          # print the plans too

For each backend and size N, a fresh database (a temp SQLite file; ``podium_bench_tags`` created on
the PostgreSQL/MariaDB server named, dropped at the end) is migrated by Podium and seeded by bulk SQL inserts (not
timed): N models ``m-000000`` ... each with the tags ``id = 'id-<i>'`` (unique), ``group = 'g-<i %
100>'`` (shared by 1% of the models), ``team = 't-<i % 7>'``, ``batch = 'b-<i // 10>'`` (10 models
each) and a 300-character ``note``, and one version with the tags ``vid = 'id-<i>'`` and ``vgroup =
'g-<i % 100>'``. PostgreSQL gets ``ANALYZE``
(what autovacuum does after a bulk load); SQLite gets nothing (Podium never runs ``ANALYZE`` on it).

The timed searches go through the real store (``podium.compose.build(url).registry``, the service
the server calls), with the filters the mlflow client sends (``search_registered_models`` always
appends ``tag.`mlflow.prompt.is_prompt` != 'true'``; its page sizes are 100 for models and 10,000
for versions):

====================  ===========================================================================
rm tag =, 1 match     ``tags.id = 'id-<random i>'``
rm tag =, 10 models   ``tags.batch = 'b-<random>'`` (held by 10 models at every size: the same answer)
rm tag =, 1%          ``tags.group = 'g-<random>'``, one page of 100 (10 rows at 1k, 100 of 1,000 at 100k)
rm tag =, 14%         ``tags.team = 't-<random>'``, one page of 100 (the least selective: 1 model in 7)
rm name LIKE + tag    ``name LIKE 'm-%' AND tags.id = 'id-<random i>'``
rm tag, by ts         ``tags.id = ...`` with ``order_by=['last_updated_timestamp DESC']``
mv tag =, 1 match     ``search_model_versions("tags.vid = 'id-<random i>'")``
mv tag =, 1%          ``search_model_versions("tags.vgroup = 'g-<random>'", max_results=100)``
====================  ===========================================================================

Each search runs ``--reps`` times (a new random value each time, after 5 warm-up calls); the table
shows the median ms per search at each size and the ratio of the largest size to the smallest.
``--explain`` prints the plan of each search's main statement (EXPLAIN QUERY PLAN / EXPLAIN).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, text  # noqa: E402

BENCH_DB = "podium_bench_tags"
GROUPS = 100
NOTE = "n" * 290


def _admin(server_url: str):
    return create_engine(server_url.replace("mysql://", "mysql+pymysql://", 1)
                         .replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")


def drop_database(server_url: str) -> None:
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
    admin.dispose()


def fresh_url(kind: str, server_url: str | None, workdir: Path, size: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{(workdir / f'tags-{size}.db').as_posix()}"
    drop_database(server_url)
    admin = _admin(server_url)
    with admin.connect() as conn:
        extra = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if kind == "mysql" else ""
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}{extra}"))
    admin.dispose()
    return f"{base_of(server_url)}/{BENCH_DB}"


def base_of(server_url: str) -> str:
    return server_url.rsplit("/", 1)[0]


def seed(db, size: int, chunk: int = 5000) -> float:
    """N models with 4 tags and one version with 2 tags each, by bulk inserts; returns seconds."""
    from podium.store.sql.tables import model_version_tags, model_versions, registered_model_tags, registered_models

    start = time.perf_counter()
    now = 1_700_000_000_000
    with db.engine.begin() as conn:
        for lo in range(0, size, chunk):
            ids = range(lo, min(size, lo + chunk))
            conn.execute(insert(registered_models), [
                {"id": i + 1, "name": f"m-{i:06d}", "creation_timestamp": now + i,
                 "last_updated_timestamp": now + i, "last_version": 1} for i in ids])
            conn.execute(insert(registered_model_tags), [
                {"model": i + 1, "key": k, "value": v} for i in ids
                for k, v in (("id", f"id-{i}"), ("group", f"g-{i % GROUPS}"), ("team", f"t-{i % 7}"),
                             ("batch", f"b-{i // 10}"), ("note", f"{NOTE}{i:010d}"))])
            conn.execute(insert(model_versions), [
                {"model": i + 1, "version": 1, "current_stage": "None", "source": f"/tmp/m/{i}",
                 "status": "READY", "creation_timestamp": now + i, "last_updated_timestamp": now + i}
                for i in ids])
            conn.execute(insert(model_version_tags), [
                {"model": i + 1, "version": 1, "key": k, "value": v} for i in ids
                for k, v in (("vid", f"id-{i}"), ("vgroup", f"g-{i % GROUPS}"))])
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    elif db.dialect in ("mysql", "mariadb"):
        with db.engine.begin() as conn:
            for t in ("registered_models", "registered_model_tags", "model_versions", "model_version_tags"):
                conn.execute(text(f"ANALYZE TABLE {t}"))
    return time.perf_counter() - start


PROMPT = " AND tag.`mlflow.prompt.is_prompt` != 'true'"


def searches(size: int):
    """name -> function(registry, rnd) running one search and checking its answer."""
    def one_model(template: str, **kwargs):
        def search(reg, rnd):
            i = rnd.randrange(size)
            page = reg.search_registered_models(template.format(i=i) + PROMPT, max_results=100, **kwargs)
            assert [m.name for m in page] == [f"m-{i:06d}"], page
        return search

    def first_page(key: str, value: str, shared_by: int):
        def search(reg, rnd):
            g = rnd.randrange(shared_by)
            page = reg.search_registered_models(f"tags.{key} = '{value}{g}'{PROMPT}", max_results=100)
            assert len(page) == min(100, size // shared_by) and page[0].name == f"m-{g:06d}", (g, len(page))
        return search

    def ten_models(reg, rnd):
        b = rnd.randrange(size // 10)
        page = reg.search_registered_models(f"tags.batch = 'b-{b}'{PROMPT}", max_results=100)
        assert [m.name for m in page] == [f"m-{i:06d}" for i in range(b * 10, b * 10 + 10)], page

    def mv_one(reg, rnd):
        i = rnd.randrange(size)
        page = reg.search_model_versions(f"tags.vid = 'id-{i}'", max_results=10000)
        assert [(v.name, int(v.version)) for v in page] == [(f"m-{i:06d}", 1)], page

    def mv_group(reg, rnd):
        g = rnd.randrange(GROUPS)
        page = reg.search_model_versions(f"tags.vgroup = 'g-{g}'", max_results=100)
        assert len(page) == min(100, size // GROUPS), (g, len(page))

    return {
        "rm tag =, 1 match": one_model("tags.id = 'id-{i}'"),
        "rm tag =, 10 models": ten_models,
        "rm tag =, 1%": first_page("group", "g-", GROUPS),
        "rm tag =, 14%": first_page("team", "t-", 7),
        "rm name LIKE + tag": one_model("name LIKE 'm-%' AND tags.id = 'id-{i}'"),
        "rm tag, by ts": one_model("tags.id = 'id-{i}'", order_by=["last_updated_timestamp DESC"]),
        "mv tag =, 1 match": mv_one,
        "mv tag =, 1%": mv_group,
    }


def explain(db, fn, registry, rnd) -> list[str]:
    """The plan of the search's page statement (the one selecting the ``podium_sort_`` columns)."""
    captured: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn(registry, rnd)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    statement, params = next((s, p) for s, p in captured if "podium_sort_" in s)
    prefix = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN ANALYZE "}.get(db.dialect, "EXPLAIN ")
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(prefix + statement, params)
        rows = cur.fetchall()
    finally:
        raw.close()
    if db.dialect == "sqlite":
        return [f"{r[1]:>3} {r[3]}" for r in rows]
    if db.dialect == "postgresql":
        return [r[0] for r in rows]
    return [" | ".join(str(c) for c in r) for r in rows]


def run_backend(kind: str, server_url: str | None, sizes: list[int], reps: int, show_plans: bool,
                workdir: Path) -> dict:
    from podium.compose import build

    out = {}
    for size in sizes:
        url = fresh_url(kind, server_url, workdir, size)
        backend = build(url, artifact_root=str(workdir / "artifacts"))
        db = backend.database
        seconds = seed(db, size)
        print(f"[{kind}] seeded {size:,} models in {seconds:.1f} s", file=sys.stderr, flush=True)
        figures = {}
        for name, fn in searches(size).items():
            rnd = random.Random(size)
            for _ in range(5):
                fn(backend.registry, rnd)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn(backend.registry, rnd)
                times.append((time.perf_counter() - t0) * 1000)
            figures[name] = statistics.median(times)
            if show_plans:
                print(f"\n--- [{kind} {size:,}] {name}: {figures[name]:.2f} ms", file=sys.stderr)
                for line in explain(db, fn, backend.registry, rnd):
                    print("   ", line, file=sys.stderr)
        out[size] = figures
        backend.close()
    if kind != "sqlite":
        drop_database(server_url)
    return out


def table(kind: str, result: dict) -> str:
    sizes = sorted(result)
    lo, hi = sizes[0], sizes[-1]
    head = f"| {kind} | " + " | ".join(f"{s:,} (ms)" for s in sizes) + f" | ratio {hi // 1000}k/{lo // 1000}k |"
    lines = [head, "|---|" + "---:|" * (len(sizes) + 1)]
    for name in result[lo]:
        cells = " | ".join(f"{result[s][name]:.2f}" for s in sizes)
        lines.append(f"| {name} | {cells} | {result[hi][name] / result[lo][name]:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--pg", help="a PostgreSQL server URL (database podium_bench_tags is recreated)")
    parser.add_argument("--mysql", help="a MySQL/MariaDB server URL (database podium_bench_tags is recreated)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print each search's plan (stderr)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ([] if args.no_sqlite else [("sqlite", None)]) + ([("postgresql", args.pg)] if args.pg else []) \
        + ([("mysql", args.mysql)] if args.mysql else [])
    results = {}
    with tempfile.TemporaryDirectory(prefix="podium-tag-bench-") as tmp:
        for kind, url in backends:
            results[kind] = run_backend(kind, url, sizes, args.reps, args.explain, Path(tmp))
            print(table(kind, results[kind]), flush=True)
            print(flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
