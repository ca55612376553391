"""Many OS processes writing one database at once (spawned with multiprocessing).

On SQLite this exercises WAL + ``BEGIN IMMEDIATE`` + the busy timeout: no "database is locked" may
reach a caller, version numbers must come out unique and gap-free, and ``archive_existing_versions``
must leave exactly one version in the target stage. The same tests run on PostgreSQL and MySQL when
those backends are configured (row locks instead of a database lock).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import traceback

import pytest

WORKERS = 16
VERSIONS_PER_WORKER = 10
TRANSITIONS_PER_WORKER = 10
TIMEOUT_S = 120


# --- worker side (module level, so spawned children can import it) ---------------------------------
def _open_registry(db_url: str, artifact_root: str):
    from podium.compose import build

    return build(db_url, artifact_root=artifact_root).registry


def _create_versions(db_url, artifact_root, worker, ready, results):
    try:
        registry = _open_registry(db_url, artifact_root)
        ready.wait(TIMEOUT_S)
        numbers = []
        for i in range(VERSIONS_PER_WORKER):
            version = registry.create_model_version("shared", f"/models/w{worker}/{i}", tags={"worker": str(worker)})
            numbers.append(version.version)
        results.put((worker, numbers, None))
    except BaseException:  # noqa: BLE001 - reported to the parent verbatim
        ready.abort()
        results.put((worker, None, traceback.format_exc()))


def _promote_random_versions(db_url, artifact_root, worker, ready, results):
    try:
        registry = _open_registry(db_url, artifact_root)
        rng = random.Random(worker)
        ready.wait(TIMEOUT_S)
        moved = []
        for _ in range(TRANSITIONS_PER_WORKER):
            version = rng.randint(1, 20)
            registry.transition_model_version_stage("shared", version, "Production", archive_existing_versions=True)
            moved.append(version)
        results.put((worker, moved, None))
    except BaseException:  # noqa: BLE001
        ready.abort()
        results.put((worker, None, traceback.format_exc()))


def _run_workers(target, db_url, artifact_root) -> dict[int, list[int]]:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(WORKERS + 1)  # released once every worker has opened its backend
    results = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(db_url, str(artifact_root), worker, ready, results), daemon=True)
        for worker in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        try:
            ready.wait(TIMEOUT_S)  # from here on, all workers write at once
        except threading.BrokenBarrierError:
            pass  # a worker failed while starting; its traceback is in the queue
        outcomes = [results.get(timeout=TIMEOUT_S) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failures = [error for _, _, error in outcomes if error]
    assert not failures, "worker failed:\n" + "\n".join(failures)
    assert all(process.exitcode == 0 for process in processes)
    return {worker: values for worker, values, _ in outcomes}


# --- tests ----------------------------------------------------------------------------------------
@pytest.fixture
def shared_model(registry):
    registry.create_registered_model("shared")
    return registry


def test_concurrent_processes_get_unique_gap_free_version_numbers(shared_model, db_url, artifact_root):
    by_worker = _run_workers(_create_versions, db_url, artifact_root)

    allocated = sorted(n for numbers in by_worker.values() for n in numbers)
    total = WORKERS * VERSIONS_PER_WORKER
    assert allocated == list(range(1, total + 1))
    for numbers in by_worker.values():
        assert numbers == sorted(numbers)  # each worker sees its own numbers increase
    stored = shared_model.search_model_versions("name = 'shared'", max_results=1000)
    assert sorted(v.version for v in stored) == list(range(1, total + 1))
    # every stored version carries the tag of the worker that got its number
    owner = {n: w for w, numbers in by_worker.items() for n in numbers}
    assert all(v.tags == {"worker": str(owner[v.version])} for v in stored)
    assert shared_model.create_model_version("shared", "/after").version == total + 1


def test_concurrent_archiving_promotions_leave_exactly_one_production_version(shared_model, db_url, artifact_root):
    for i in range(20):
        shared_model.create_model_version("shared", f"/models/{i}")

    by_worker = _run_workers(_promote_random_versions, db_url, artifact_root)

    assert sum(len(moved) for moved in by_worker.values()) == WORKERS * TRANSITIONS_PER_WORKER
    stages = {v.version: v.current_stage for v in shared_model.search_model_versions("name = 'shared'")}
    production = [version for version, stage in stages.items() if stage == "Production"]
    assert len(production) == 1
    promoted = {v for moved in by_worker.values() for v in moved}
    assert production[0] in promoted
    assert {stages[v] for v in promoted} <= {"Production", "Archived"}
    assert all(stages[v] == "None" for v in set(stages) - promoted)
    [latest] = shared_model.get_latest_versions("shared", ["Production"])
    assert latest.version == production[0]
