"""``SqlImportStore``: writes portable records into the SQL store, ids and timestamps kept (decision 0019).

One object per write transaction (an experiment, a run with its whole history, a logged model, a
registered model with the versions being loaded), together with its ``imported_objects`` row
(:mod:`podium.store.sql.import_tables`): an interrupted import leaves every object either fully
there or absent, and the next run resumes after the last one committed.

What "again" means, per object (``key`` below is its id, name or ``name/version``):

* no ``imported_objects`` row and nothing with that key: **created**;
* a row with the same digest: **unchanged** (nothing is written);
* a row with another digest: the source changed since: **updated** (a run or logged model is
  replaced whole; an experiment, model or version has its fields and tags set to the record's);
* no row but an object with that key (made in this store, not imported): a ``RESOURCE_CONFLICT``,
  nothing written, except an experiment with the same id *and* name (the ``Default`` experiment
  every store has), which is adopted.

Registry rows are written directly, not through :class:`SqlRegistryStore`: version numbers, user
ids and timestamps are the record's, the model's version counter continues from the source's
highest number (deleted versions included, so numbers are never reused), and no webhook fires.
History: each version loaded gets one ``imported`` event carrying the source's values (and the model
one when it is created), unless the caller passes the model's events (a Podium archive), which are
appended as they were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, text, update

from podium import clock
from podium.domain.manifests import Manifest
from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
)
from podium.errors import ResourceConflict
from podium.store.sql.engine import Database
from podium.store.sql.event_tables import registry_events
from podium.store.sql.events import incarnation_start, record_event
from podium.store.sql.import_tables import imported_objects as io
from podium.store.sql.manifests import insert_manifest
from podium.store.sql.tables import (
    experiment_tags,
    experiments,
    latest_metrics,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    model_version_tags,
    model_versions as mv,
    params,
    registered_model_aliases,
    registered_model_tags,
    registered_models as rm,
    run_inputs,
    run_outputs,
    run_tags,
    runs,
)
from podium.store.sql.tracking_common import to_db

__all__ = ["CREATED", "SqlImportStore", "UNCHANGED", "UPDATED"]

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
_CHUNK = 5000


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def version_key(name: str, version: int) -> str:
    return f"{name}/{version}"


class SqlImportStore:
    """The loader (:class:`podium.store.base.ImportStore`) on a :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ bookkeeping
    def imported_digests(self, kind: str) -> dict[str, str]:
        with self.db.read() as conn:
            return {r.object_key: r.digest for r in conn.execute(
                select(io.c.object_key, io.c.digest).where(io.c.kind == kind))}

    @staticmethod
    def _progress(conn, kind: str, key: str) -> str | None:
        return conn.execute(select(io.c.digest).where(io.c.kind == kind, io.c.key_hash == _key_hash(key))).scalar()

    @staticmethod
    def _mark(conn, kind: str, key: str, digest: str, existed: bool) -> None:
        now = clock.now_ms()
        if existed:
            conn.execute(update(io).where(io.c.kind == kind, io.c.key_hash == _key_hash(key))
                         .values(digest=digest, imported_at=now))
        else:
            conn.execute(insert(io).values(kind=kind, key_hash=_key_hash(key), object_key=key, digest=digest,
                                           imported_at=now))

    # ------------------------------------------------------------------ experiments
    def load_experiment(self, record: ExperimentRecord, digest: str) -> str:
        pk = int(record.experiment_id)
        with self.db.write() as conn:
            seen = self._progress(conn, "experiment", record.experiment_id)
            if seen == digest:
                return UNCHANGED
            row = conn.execute(select(experiments).where(experiments.c.experiment_id == pk)).first()
            named = conn.execute(select(experiments.c.experiment_id).where(experiments.c.name == record.name)).scalar()
            if named is not None and named != pk:
                raise ResourceConflict(f"Experiment '{record.name}' already exists here with id {named} "
                                       f"(the source's is {record.experiment_id}); not imported.")
            values = dict(name=record.name, lifecycle_stage=record.lifecycle_stage, creation_time=record.creation_time,
                          last_update_time=record.last_update_time)
            if row is None:
                if self.db.dialect in ("mysql", "mariadb") and pk == 0:
                    conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
                conn.execute(insert(experiments).values(experiment_id=pk, artifact_location=record.artifact_location,
                                                        **values))
                self._advance_sequence(conn, "experiments", "experiment_id")
                outcome = CREATED
            elif seen is None and row.name != record.name:
                raise ResourceConflict(f"Experiment id {record.experiment_id} is '{row.name}' here and "
                                       f"'{record.name}' in the source; not imported.")
            else:  # imported before, or this store's own experiment with the same id and name: adopt it
                conn.execute(update(experiments).where(experiments.c.experiment_id == pk).values(**values))
                conn.execute(delete(experiment_tags).where(experiment_tags.c.experiment_id == pk))
                outcome = UPDATED
            if record.tags:
                conn.execute(insert(experiment_tags),
                             [{"experiment_id": pk, "key": k, "value": v} for k, v in record.tags.items()])
            self._mark(conn, "experiment", record.experiment_id, digest, seen is not None)
            return outcome

    def _advance_sequence(self, conn, table: str, column: str) -> None:
        """PostgreSQL: explicit ids do not move a serial's sequence; move it past the highest id."""
        if self.db.dialect == "postgresql":
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                              f"GREATEST((SELECT MAX({column}) FROM {table}), 1))"))

    # ------------------------------------------------------------------ runs
    def load_run(self, record: RunRecord, digest: str) -> str:
        with self.db.write() as conn:
            seen = self._progress(conn, "run", record.run_id)
            if seen == digest:
                return UNCHANGED
            exists = conn.execute(select(runs.c.run_id).where(runs.c.run_id == record.run_id)).first() is not None
            if exists and seen is None:
                raise ResourceConflict(f"Run {record.run_id} already exists here (not imported); not imported.")
            if exists:
                for t in (params, run_tags, metrics, latest_metrics, run_inputs, run_outputs):
                    conn.execute(delete(t).where(t.c.run_id == record.run_id))
                conn.execute(delete(runs).where(runs.c.run_id == record.run_id))
            conn.execute(insert(runs).values(
                run_id=record.run_id, experiment_id=int(record.experiment_id), run_name=record.run_name,
                user_id=record.user_id, status=record.status, start_time=record.start_time, end_time=record.end_time,
                artifact_uri=record.artifact_uri, lifecycle_stage=record.lifecycle_stage, deleted_time=record.deleted_time))
            _insert_key_values(conn, params, {"run_id": record.run_id}, record.params)
            _insert_key_values(conn, run_tags, {"run_id": record.run_id}, record.tags)
            self._insert_metrics(conn, record.run_id, record.metrics)
            inputs = [{"run_id": record.run_id, "kind": "dataset", "payload": json.dumps(d, sort_keys=True)}
                      for d in record.datasets]
            inputs += [{"run_id": record.run_id, "kind": "model", "payload": json.dumps(m, sort_keys=True)}
                       for m in record.model_inputs]
            if inputs:
                conn.execute(insert(run_inputs), inputs)
            outputs = {model_id: step for model_id, step in record.model_outputs}
            if outputs:
                conn.execute(insert(run_outputs), [{"run_id": record.run_id, "model_id": m, "step": s}
                                                   for m, s in outputs.items()])
            self._mark(conn, "run", record.run_id, digest, seen is not None)
            return UPDATED if exists else CREATED

    @staticmethod
    def _insert_metrics(conn, run_id: str, points: Sequence[MetricPoint]) -> None:
        latest: dict[str, MetricPoint] = {}
        rows = []
        for p in points:
            rows.append({"run_id": run_id, "key": p.key, "value": to_db(p.value), "timestamp": p.timestamp,
                         "step": p.step, "model_id": p.model_id, "dataset_name": p.dataset_name,
                         "dataset_digest": p.dataset_digest})
            held = latest.get(p.key)
            if held is None or _recency(p) > _recency(held):
                latest[p.key] = p
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(metrics), rows[start:start + _CHUNK])
        if latest:
            conn.execute(insert(latest_metrics), [
                {"run_id": run_id, "key": p.key, "value": to_db(p.value), "timestamp": p.timestamp, "step": p.step}
                for p in latest.values()])

    # ------------------------------------------------------------------ logged models
    def load_logged_model(self, record: LoggedModelRecord, digest: str) -> str:
        with self.db.write() as conn:
            seen = self._progress(conn, "logged_model", record.model_id)
            if seen == digest:
                return UNCHANGED
            lm = logged_models
            exists = conn.execute(select(lm.c.model_id).where(lm.c.model_id == record.model_id)).first() is not None
            if exists and seen is None:
                raise ResourceConflict(f"Logged model {record.model_id} already exists here (not imported); "
                                       "not imported.")
            if exists:
                for t in (logged_model_tags, logged_model_params, logged_model_metrics):
                    conn.execute(delete(t).where(t.c.model_id == record.model_id))
                conn.execute(delete(lm).where(lm.c.model_id == record.model_id))
            conn.execute(insert(lm).values(
                model_id=record.model_id, experiment_id=int(record.experiment_id), name=record.name,
                artifact_location=record.artifact_location, status=record.status, status_message=record.status_message,
                model_type=record.model_type, source_run_id=record.source_run_id,
                creation_timestamp=record.creation_timestamp, last_updated_timestamp=record.last_updated_timestamp,
                lifecycle_stage=record.lifecycle_stage))
            _insert_key_values(conn, logged_model_tags, {"model_id": record.model_id}, record.tags)
            _insert_key_values(conn, logged_model_params, {"model_id": record.model_id}, record.params)
            points = {(p.key, p.step, p.timestamp): p for p in record.metrics}  # the table's key: one value each
            if points:
                conn.execute(insert(logged_model_metrics), [
                    {"model_id": record.model_id, "key": p.key, "step": p.step, "timestamp": p.timestamp,
                     "value": to_db(p.value), "run_id": p.run_id, "dataset_name": p.dataset_name,
                     "dataset_digest": p.dataset_digest} for p in points.values()])
            self._mark(conn, "logged_model", record.model_id, digest, seen is not None)
            return UPDATED if exists else CREATED

    # ------------------------------------------------------------------ the registry
    def load_registered_model(self, record: RegisteredModelRecord, digest: str,
                              versions: Sequence[tuple[ModelVersionRecord, str, Manifest | None]] = (),
                              events: Sequence[dict] | None = None) -> dict[str, int]:
        """The model and ``versions`` (``(record, digest, manifest)``, those new or changed) in one
        transaction; the model's aliases are set last (to versions that exist). Returns how many
        versions were created and updated, and the model's own outcome."""
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "model": UNCHANGED}
        with self.db.write() as conn:
            seen = self._progress(conn, "registered_model", record.name)
            row = conn.execute(select(rm.c.id, rm.c.last_version).where(rm.c.name == record.name)).first()
            if row is not None and seen is None:
                raise ResourceConflict(f"Registered model '{record.name}' already exists here (not imported); "
                                       "not imported.")
            highest = max([record.last_version, *(v.version for v, _, _ in versions)])
            values = dict(description=record.description, user_id=record.user_id,
                          creation_timestamp=record.creation_timestamp)
            if row is None:
                model_pk = conn.execute(insert(rm).values(name=record.name, last_version=highest,
                                                          last_updated_timestamp=record.last_updated_timestamp,
                                                          **values)).inserted_primary_key[0]
                counts["model"] = CREATED
                if events is None:
                    record_event(conn, "imported", model_pk, record.name, after=_present(
                        description=record.description, user_id=record.user_id, tags=record.tags or None,
                        aliases=record.aliases or None, creation_timestamp=record.creation_timestamp,
                        last_updated_timestamp=record.last_updated_timestamp))
            else:
                model_pk = row.id
                if seen != digest:
                    conn.execute(update(rm).where(rm.c.id == model_pk).values(
                        last_version=max(highest, row.last_version), **values))
                    counts["model"] = UPDATED
            if seen != digest:
                conn.execute(delete(registered_model_tags).where(registered_model_tags.c.model == model_pk))
                _insert_key_values(conn, registered_model_tags, {"model": model_pk}, record.tags)
            for vrec, vdigest, manifest in versions:
                counts[self._load_version(conn, model_pk, vrec, vdigest, manifest, events is None)] += 1
            if seen != digest:
                existing = set(conn.execute(select(mv.c.version).where(mv.c.model == model_pk)).scalars())
                conn.execute(delete(registered_model_aliases).where(registered_model_aliases.c.model == model_pk))
                aliases = [{"model": model_pk, "alias": a, "version": v} for a, v in record.aliases.items()
                           if v in existing]
                if aliases:
                    conn.execute(insert(registered_model_aliases), aliases)
            if events:
                self._append_events(conn, model_pk, record.name, events, new=row is None)
            # last: the versions' writes must not move the model's own update time
            conn.execute(update(rm).where(rm.c.id == model_pk)
                         .values(last_updated_timestamp=record.last_updated_timestamp))
            if seen != digest:
                self._mark(conn, "registered_model", record.name, digest, seen is not None)
        return counts

    def _load_version(self, conn, model_pk: int, rec: ModelVersionRecord, digest: str, manifest: Manifest | None,
                      synthesize_event: bool) -> str:
        key = version_key(rec.name, rec.version)
        seen = self._progress(conn, "model_version", key)
        if seen == digest:
            return UNCHANGED
        exists = conn.execute(select(mv.c.version).where(mv.c.model == model_pk, mv.c.version == rec.version)
                              ).first() is not None
        if exists and seen is None:
            raise ResourceConflict(f"Model version {rec.name} {rec.version} already exists here (not imported).")
        values = dict(current_stage=rec.current_stage, description=rec.description, user_id=rec.user_id,
                      source=rec.source, run_id=rec.run_id, model_id=rec.model_id, run_link=rec.run_link,
                      status=rec.status, status_message=rec.status_message, storage_location=rec.storage_location,
                      creation_timestamp=rec.creation_timestamp, last_updated_timestamp=rec.last_updated_timestamp)
        if exists:
            conn.execute(update(mv).where(mv.c.model == model_pk, mv.c.version == rec.version).values(**values))
            conn.execute(delete(model_version_tags).where(model_version_tags.c.model == model_pk,
                                                          model_version_tags.c.version == rec.version))
        else:
            conn.execute(insert(mv).values(model=model_pk, version=rec.version, **values))
            location = rec.storage_location or rec.source
            created = manifest.created_at if manifest is not None and manifest.created_at else clock.now_ms()
            insert_manifest(conn, model_pk, rec.version, location, manifest, created)
        _insert_key_values(conn, model_version_tags, {"model": model_pk, "version": rec.version}, rec.tags)
        if synthesize_event:
            record_event(conn, "imported", model_pk, rec.name, version=rec.version, after=_present(
                stage=rec.current_stage, source=rec.source, run_id=rec.run_id, model_id=rec.model_id,
                user_id=rec.user_id, description=rec.description, status=rec.status,
                creation_timestamp=rec.creation_timestamp, last_updated_timestamp=rec.last_updated_timestamp))
        self._mark(conn, "model_version", key, digest, seen is not None)
        return UPDATED if exists else CREATED

    @staticmethod
    def _append_events(conn, model_pk: int, name: str, events: Sequence[dict], new: bool) -> None:
        """Append the archive's events the model does not have yet (they are only ever appended)."""
        ev = registry_events
        have = 0
        if not new:
            start = incarnation_start(conn, model_pk)
            have = conn.execute(select(func.count()).select_from(ev).where(
                ev.c.model_key == model_pk, ev.c.id >= start)).scalar_one()
        rows = []
        for e in list(events)[have:]:
            rows.append({
                "timestamp": e["timestamp"], "action": e["action"], "model_key": model_pk,
                "model_name": e.get("model_name", name), "version": e.get("version"), "target": e.get("target"),
                "actor": e.get("actor"), "actor_via": e.get("actor_via"),
                "before": _json(e.get("before")), "after": _json(e.get("after")), "comment": e.get("comment"),
                "cause": e.get("cause"), "request_id": e.get("request_id"),
            })
        if rows:
            conn.execute(insert(ev), rows)


def _recency(p: MetricPoint) -> tuple:
    value = p.value
    return (p.step, p.timestamp, float("-inf") if value is None or value != value else value)


def _insert_key_values(conn, table, owner: dict, values: dict[str, str]) -> None:
    if values:
        conn.execute(insert(table), [{**owner, "key": k, "value": v} for k, v in values.items()])


def _present(**fields) -> dict | None:
    out = {k: v for k, v in fields.items() if v is not None}
    return out or None


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))

