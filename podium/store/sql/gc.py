"""``SqlGcStore``: what ``podium gc`` reads and removes in SQL (tables of migration 0009).

Purging an object is one write transaction that re-reads it (still deleted? else nothing happens),
deletes its rows child tables first (so no foreign key is ever violated, on any backend, whether or
not the database cascades), records the purge in ``gc_purges`` and leaves a tombstone
(``gc_pending_artifacts``) for its files. The files are deleted by the caller *after* that commit,
and the tombstone is removed only then (:meth:`SqlGcStore.resolve_pending`): an interruption at any
point leaves either the object or its tombstone, so the next collection finishes the job.

Deleting a model version or a registered model (:class:`~podium.store.sql.registry.SqlRegistryStore`)
calls :func:`remember_version_files` in its own transaction, so the files of deleted versions are
found later without scanning the artifact store.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from podium import clock
from podium.auth.actor import current_actor
from podium.domain.gc import GcCandidate, PendingArtifacts, PurgeRecord
from podium.errors import InvalidParameterValue
from podium.store.sql.engine import Database
from podium.store.sql.events import record_event
from podium.store.sql.gc_tables import gc_leases, gc_pending_artifacts, gc_purges
from podium.store.sql.tables import (
    experiment_tags,
    experiments,
    latest_metrics,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    model_versions,
    params,
    registered_models,
    run_inputs,
    run_outputs,
    run_tags,
    runs,
)

__all__ = ["SqlGcStore", "remember_version_files"]

pending = gc_pending_artifacts
#: the Default experiment is never purged (its deleted runs are): every store expects it
_DEFAULT_EXPERIMENT = 0
#: a run's rows, children first
_RUN_CHILDREN = (params, run_tags, metrics, latest_metrics, run_inputs, run_outputs)
#: a logged model's rows, children first
_MODEL_CHILDREN = (logged_model_tags, logged_model_params, logged_model_metrics)


def remember_version_files(conn, model_pk: int, version: int | None = None, now: int | None = None) -> None:
    """Tombstones for the files of model ``model_pk``'s version ``version`` (every version when None),
    in ``conn``'s transaction, before the rows go (the registry store's deletes call it)."""
    mv = model_versions
    query = (select(mv.c.version, mv.c.storage_location, mv.c.source, registered_models.c.name)
             .join(registered_models, registered_models.c.id == mv.c.model).where(mv.c.model == model_pk))
    if version is not None:
        query = query.where(mv.c.version == version)
    now = clock.now_ms() if now is None else now
    rows = [{"kind": "model_version", "object_id": f"{r.name}/{r.version}", "name": r.name, "version": r.version,
             "model_key": model_pk, "location": r.storage_location or r.source, "deleted_at": now}
            for r in conn.execute(query) if (r.storage_location or r.source)]
    if rows:
        conn.execute(insert(pending), rows)


def _record(conn, action: str, kind: str, object_id: str, detail: dict, now: int) -> None:
    conn.execute(insert(gc_purges).values(timestamp=now, action=action, kind=kind, object_id=object_id,
                                          actor=current_actor().name, detail=PurgeRecord.encode(detail)))


def _experiment_key(experiment_id: str) -> int | None:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        return None


class SqlGcStore:
    """Garbage collection on a :class:`~podium.store.sql.engine.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ what there is to collect
    def candidates(self, kind: str, deleted_before: int | None = None,
                   ids: Sequence[str] | None = None) -> list[GcCandidate]:
        """Deleted ``kind`` objects (experiment, run, logged_model) deleted before ``deleted_before``
        (epoch ms; a deletion time never recorded counts as old), oldest first; or, with ``ids``,
        those objects whatever their state (the caller checks their ``lifecycle``)."""
        table, key, name, deleted, location = self._columns(kind)
        query = select(key.label("id"), name.label("name"), func.coalesce(deleted, 0).label("deleted_at"),
                       location.label("location"), table.c.lifecycle_stage, table.c.experiment_id)
        if ids is not None:
            wanted = [_experiment_key(i) for i in ids] if kind == "experiment" else list(ids)
            query = query.where(key.in_([w for w in wanted if w is not None]))
        else:
            query = query.where(table.c.lifecycle_stage == "deleted")
            if deleted_before is not None:
                query = query.where(func.coalesce(deleted, 0) < deleted_before)
            if kind == "experiment":
                query = query.where(key != _DEFAULT_EXPERIMENT)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(func.coalesce(deleted, 0), key)).all()
        return [GcCandidate(kind, str(r.id), r.name, r.deleted_at, r.location, r.lifecycle_stage,
                            None if kind == "experiment" else str(r.experiment_id)) for r in rows]

    @staticmethod
    def _columns(kind: str):
        if kind == "experiment":
            t = experiments
            return t, t.c.experiment_id, t.c.name, t.c.last_update_time, t.c.artifact_location
        if kind == "run":
            return runs, runs.c.run_id, runs.c.run_name, runs.c.deleted_time, runs.c.artifact_uri
        if kind == "logged_model":
            t = logged_models
            return t, t.c.model_id, t.c.name, t.c.last_updated_timestamp, t.c.artifact_location
        raise InvalidParameterValue(f"Unknown kind of object to collect: {kind!r}")

    def count_rows(self, kind: str, object_id: str) -> dict[str, int]:
        """The rows purging the object would remove, by table (what ``--dry-run`` reports)."""
        with self.db.read() as conn:
            if kind == "run":
                return self._count_run(conn, [object_id])
            if kind == "logged_model":
                return self._count_models(conn, [object_id])
            pk = _experiment_key(object_id)
            run_ids = conn.execute(select(runs.c.run_id).where(runs.c.experiment_id == pk)).scalars().all()
            model_ids = conn.execute(
                select(logged_models.c.model_id).where(logged_models.c.experiment_id == pk)).scalars().all()
            counts = _merge(self._count_run(conn, run_ids), self._count_models(conn, model_ids))
            tags = conn.execute(select(func.count()).where(experiment_tags.c.experiment_id == pk)).scalar()
            return _merge(counts, {"experiment_tags": tags, "experiments": 1})

    @staticmethod
    def _count_run(conn, run_ids: Sequence[str]) -> dict[str, int]:
        return _count_children(conn, run_ids, _RUN_CHILDREN, "run_id", "runs")

    @staticmethod
    def _count_models(conn, model_ids: Sequence[str]) -> dict[str, int]:
        return _count_children(conn, model_ids, _MODEL_CHILDREN, "model_id", "logged_models")

    # ------------------------------------------------------------------ purging rows
    def purge_run(self, run_id: str) -> dict[str, int] | None:
        """Remove a deleted run's rows (one transaction), record it, leave a tombstone for its artifacts.
        None (nothing done) when the run is gone or no longer deleted."""
        return self._purge_run(run_id, None)

    def _purge_run(self, run_id: str, deleted_experiment: int | None) -> dict[str, int] | None:
        """With ``deleted_experiment``: a run of that experiment, whatever its state, as long as the
        experiment is still deleted (checked in the same transaction)."""
        now = clock.now_ms()
        with self.db.write() as conn:
            if deleted_experiment is not None and not self._still_deleted(conn, deleted_experiment, lock=True):
                return None
            row = conn.execute(select(runs).where(runs.c.run_id == run_id).with_for_update()).first()
            if row is None or (deleted_experiment is None and row.lifecycle_stage != "deleted"):
                return None
            counts = self._delete_run_rows(conn, run_id)
            self._tombstone(conn, "run", run_id, row.run_name, row.artifact_uri, row.deleted_time or now)
            _record(conn, "rows_purged", "run", run_id, {"rows": counts, "location": row.artifact_uri,
                                                          "experiment_id": str(row.experiment_id)}, now)
            return counts

    def purge_logged_model(self, model_id: str) -> dict[str, int] | None:
        """Like :meth:`purge_run`, for a logged model (its tags, params and metrics, the runs' outputs naming it)."""
        return self._purge_logged_model(model_id, None)

    def _purge_logged_model(self, model_id: str, deleted_experiment: int | None) -> dict[str, int] | None:
        now = clock.now_ms()
        lm = logged_models
        with self.db.write() as conn:
            if deleted_experiment is not None and not self._still_deleted(conn, deleted_experiment, lock=True):
                return None
            row = conn.execute(select(lm).where(lm.c.model_id == model_id).with_for_update()).first()
            if row is None or (deleted_experiment is None and row.lifecycle_stage != "deleted"):
                return None
            counts = self._delete_model_rows(conn, model_id)
            self._tombstone(conn, "logged_model", model_id, row.name, row.artifact_location,
                            row.last_updated_timestamp or now)
            _record(conn, "rows_purged", "logged_model", model_id,
                    {"rows": counts, "location": row.artifact_location, "name": row.name,
                     "experiment_id": str(row.experiment_id)}, now)
            return counts

    def purge_experiment(self, experiment_id: str) -> dict[str, int] | None:
        """Purge a deleted experiment: each of its runs and logged models (whatever their state) in a
        transaction of its own, then the experiment itself. None when it is gone or not deleted (a
        restore in between stops it: what was purged before stays purged)."""
        pk = _experiment_key(experiment_id)
        if pk is None or pk == _DEFAULT_EXPERIMENT:
            return None
        counts: dict[str, int] = {}
        while True:  # runs, a batch at a time; each purge re-checks that the experiment is still deleted
            with self.db.read() as conn:
                if not self._still_deleted(conn, pk):
                    return None
                batch = conn.execute(select(runs.c.run_id).where(runs.c.experiment_id == pk)
                                     .order_by(runs.c.run_id).limit(200)).scalars().all()
                models = conn.execute(select(logged_models.c.model_id).where(logged_models.c.experiment_id == pk)
                                      .order_by(logged_models.c.model_id).limit(200)).scalars().all()
            if not batch and not models:
                break
            for run_id in batch:
                counts = _merge(counts, self._purge_run(run_id, pk) or {})
            for model_id in models:
                counts = _merge(counts, self._purge_logged_model(model_id, pk) or {})
        now = clock.now_ms()
        e = experiments
        with self.db.write() as conn:
            row = conn.execute(select(e).where(e.c.experiment_id == pk).with_for_update()).first()
            if row is None or row.lifecycle_stage != "deleted":
                return None
            # anything created since (nothing can be: a deleted experiment takes no runs) goes too
            for run_id in conn.execute(select(runs.c.run_id).where(runs.c.experiment_id == pk)).scalars().all():
                counts = _merge(counts, self._delete_run_rows(conn, run_id))
            for model_id in conn.execute(
                    select(logged_models.c.model_id).where(logged_models.c.experiment_id == pk)).scalars().all():
                counts = _merge(counts, self._delete_model_rows(conn, model_id))
            own = {"experiment_tags": conn.execute(delete(experiment_tags).where(experiment_tags.c.experiment_id == pk)).rowcount,
                   "experiments": conn.execute(delete(e).where(e.c.experiment_id == pk)).rowcount}
            counts = _merge(counts, own)
            self._tombstone(conn, "experiment", str(pk), row.name, row.artifact_location, row.last_update_time or now)
            _record(conn, "rows_purged", "experiment", str(pk),
                    {"rows": own, "location": row.artifact_location, "name": row.name}, now)
        return counts

    @staticmethod
    def _still_deleted(conn, pk: int, lock: bool = False) -> bool:
        query = select(experiments.c.lifecycle_stage).where(experiments.c.experiment_id == pk)
        stage = conn.execute(query.with_for_update() if lock else query).scalar()
        return stage == "deleted"

    @staticmethod
    def _delete_run_rows(conn, run_id: str) -> dict[str, int]:
        counts = {t.name: conn.execute(delete(t).where(t.c.run_id == run_id)).rowcount for t in _RUN_CHILDREN}
        counts["runs"] = conn.execute(delete(runs).where(runs.c.run_id == run_id)).rowcount
        return counts

    @staticmethod
    def _delete_model_rows(conn, model_id: str) -> dict[str, int]:
        counts = {t.name: conn.execute(delete(t).where(t.c.model_id == model_id)).rowcount for t in _MODEL_CHILDREN}
        counts["run_outputs"] = conn.execute(delete(run_outputs).where(run_outputs.c.model_id == model_id)).rowcount
        counts["logged_models"] = conn.execute(
            delete(logged_models).where(logged_models.c.model_id == model_id)).rowcount
        return counts

    @staticmethod
    def _tombstone(conn, kind: str, object_id: str, name: str | None, location: str | None, deleted_at: int) -> None:
        if location:
            conn.execute(insert(pending).values(kind=kind, object_id=object_id, name=name, location=location,
                                                deleted_at=deleted_at))

    # ------------------------------------------------------------------ files waiting to be deleted
    def pending_artifacts(self, deleted_before: int | None = None,
                          object_ids: Sequence[str] | None = None) -> list[PendingArtifacts]:
        """Tombstones, oldest first: those recorded before ``deleted_before``, or about ``object_ids``."""
        query = select(pending)
        if deleted_before is not None:
            query = query.where(pending.c.deleted_at < deleted_before)
        if object_ids is not None:
            query = query.where(pending.c.object_id.in_(list(object_ids)))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(pending.c.deleted_at, pending.c.id)).all()
        return [PendingArtifacts(r.id, r.kind, r.object_id, r.location, r.deleted_at, r.name, r.version, r.model_key)
                for r in rows]

    def referenced_locations(self) -> list[tuple[str, str, str | None, str]]:
        """``(kind, id, experiment id, location)`` of everything that still exists and owns or points
        at files: runs, logged models (any state: a deleted one can still be restored) and model
        versions (experiment id None)."""
        mv = model_versions
        lm = logged_models
        with self.db.read() as conn:
            out = [("run", r.run_id, str(r.experiment_id), r.artifact_uri) for r in conn.execute(
                select(runs.c.run_id, runs.c.experiment_id, runs.c.artifact_uri).where(runs.c.artifact_uri.is_not(None)))]
            out += [("logged_model", r.model_id, str(r.experiment_id), r.artifact_location) for r in
                    conn.execute(select(lm.c.model_id, lm.c.experiment_id, lm.c.artifact_location))]
            out += [("model_version", f"{r.name}/{r.version}", None, r.storage_location or r.source) for r in conn.execute(
                select(registered_models.c.name, mv.c.version, mv.c.storage_location, mv.c.source)
                .join(registered_models, registered_models.c.id == mv.c.model)
                .where(or_(mv.c.storage_location.is_not(None), mv.c.source.is_not(None))))]
        return out

    def experiment_locations(self) -> list[str]:
        """Every experiment's artifact location: where Podium keeps files (and may delete them)."""
        with self.db.read() as conn:
            return list(conn.execute(select(experiments.c.artifact_location)).scalars())

    def resolve_pending(self, pending_id: int, action: str, detail: dict) -> bool:
        """Remove a tombstone once its files are dealt with, recording ``action`` (``artifacts_deleted``,
        ``artifacts_missing``, ``artifacts_left``) in the purge history, and for a model version a
        ``version_purged`` registry event; False when another collector resolved it first."""
        now = clock.now_ms()
        with self.db.write() as conn:
            row = conn.execute(select(pending).where(pending.c.id == pending_id).with_for_update()).first()
            if row is None:
                return False
            conn.execute(delete(pending).where(pending.c.id == pending_id))
            detail = {"location": row.location, **detail}
            _record(conn, action, row.kind, row.object_id, detail, now)
            if row.kind == "model_version" and row.name:
                record_event(conn, "version_purged", row.model_key, row.name, version=row.version, timestamp=now,
                             before={"location": row.location}, after={"files": action.removeprefix("artifacts_"),
                                                                        **({"bytes": detail["bytes"]} if "bytes" in detail else {})},
                             cause="gc")
            return True

    def drop_pending(self, pending_id: int) -> None:
        """Forget a tombstone without recording anything (its files belong to an object that still exists)."""
        with self.db.write() as conn:
            conn.execute(delete(pending).where(pending.c.id == pending_id))

    # ------------------------------------------------------------------ history
    def purge_history(self, max_results: int = 100, object_id: str | None = None) -> list[PurgeRecord]:
        """The newest purge records first (those about ``object_id`` only, if given)."""
        import json

        query = select(gc_purges)
        if object_id is not None:
            query = query.where(gc_purges.c.object_id == object_id)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(gc_purges.c.id.desc()).limit(max_results)).all()
        return [PurgeRecord(r.id, r.timestamp, r.action, r.kind, r.object_id, r.actor,
                            json.loads(r.detail) if r.detail else {}) for r in rows]

    # ------------------------------------------------------------------ one collector at a time
    def claim_collection(self, name: str, holder: str, interval_ms: int, ttl_ms: int) -> bool:
        """Take the job ``name`` if it is due (its ``next_run_at`` passed) and nobody holds it (or their
        lease expired): then it is ``holder``'s for ``ttl_ms``, next due in ``interval_ms``, and True.
        Concurrent claimers, in any number of processes: exactly one gets True."""
        now = clock.now_ms()
        values = {"holder": holder, "expires_at": now + ttl_ms, "next_run_at": now + interval_ms}
        try:
            with self.db.write() as conn:
                row = conn.execute(select(gc_leases).where(gc_leases.c.name == name).with_for_update()).first()
                if row is None:
                    conn.execute(insert(gc_leases).values(name=name, **values))
                    return True
                if row.next_run_at > now or (row.holder is not None and row.expires_at > now):
                    return False
                conn.execute(update(gc_leases).where(gc_leases.c.name == name).values(**values))
                return True
        except IntegrityError:  # another process inserted the first row at the same moment
            return False
        except OperationalError as exc:  # MySQL may pick this claimer as a deadlock's victim instead
            if "deadlock" in str(exc).lower():
                return False
            raise

    def renew_collection(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Extend ``holder``'s lease by ``ttl_ms`` from now; False if it is no longer theirs."""
        with self.db.write() as conn:
            result = conn.execute(update(gc_leases).where(gc_leases.c.name == name, gc_leases.c.holder == holder)
                                  .values(expires_at=clock.now_ms() + ttl_ms))
            return result.rowcount == 1

    def release_collection(self, name: str, holder: str) -> None:
        """Give the job back (it stays not due until its ``next_run_at``)."""
        with self.db.write() as conn:
            conn.execute(update(gc_leases).where(gc_leases.c.name == name, gc_leases.c.holder == holder)
                         .values(holder=None, expires_at=0))


def _count_children(conn, ids: Sequence[str], children, column: str, own: str) -> dict[str, int]:
    """Rows of ``children`` whose ``column`` is one of ``ids``, by table, plus ``{own: len(ids)}``."""
    counts: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        for table in children:
            counts = _merge(counts, {table.name: conn.execute(
                select(func.count()).select_from(table).where(table.c[column].in_(chunk))).scalar()})
        counts = _merge(counts, {own: len(chunk)})
    return counts


def _merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + (value or 0)
    return out
