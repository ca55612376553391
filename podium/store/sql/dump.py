"""``SqlRecordSource``: this store's own contents as portable records (``podium export``, decision 0019).

The mirror of :mod:`podium.store.sql.loader`: what the loader writes, this reads back, in a stable
order (experiments and runs by id, models by name, versions by number, metric points and inputs in
the order they were written, events by id), so two stores holding the same things give the same
records, and an archive written from each is the same archive.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import bindparam, func, select

from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
)
from podium.store.sql.engine import Database
from podium.store.sql.event_tables import registry_events
from podium.store.sql.events import event_entity, incarnation_start
from podium.store.sql.manifest_tables import model_version_manifests
from podium.store.sql.tables import (
    experiment_tags,
    experiments,
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
from podium.store.sql.tracking_common import from_db

__all__ = ["SqlRecordSource"]

_PAGE = 500


class SqlRecordSource:
    """Portable records (:class:`podium.services.moving.RecordSource`) from a Podium database."""

    def __init__(self, db: Database, description: str) -> None:
        self.db = db
        self.description = description

    def close(self) -> None:
        pass

    def experiments(self, only: Sequence[str] = ()) -> list[ExperimentRecord]:
        with self.db.read() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.experiment_id)).all()
            tags: dict[int, dict] = defaultdict(dict)
            for t in conn.execute(select(experiment_tags).order_by(experiment_tags.c.key)):
                tags[t.experiment_id][t.key] = t.value
        wanted = set(only)
        return [ExperimentRecord(str(r.experiment_id), r.name, r.artifact_location, r.lifecycle_stage,
                                 r.creation_time, r.last_update_time, tags.get(r.experiment_id, {}))
                for r in rows if not wanted or r.name in wanted or str(r.experiment_id) in wanted]

    def count_runs(self, experiment_ids: Sequence[str]) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(runs).where(
                runs.c.experiment_id.in_([int(e) for e in experiment_ids]))).scalar_one()

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        after = ""
        while True:
            with self.db.read() as conn:
                page = conn.execute(select(runs).where(runs.c.experiment_id == int(experiment_id),
                                                       runs.c.run_id > after).order_by(runs.c.run_id).limit(_PAGE)).all()
                if not page:
                    return
                records = self._runs(conn, page)
            yield from records
            after = page[-1].run_id

    @staticmethod
    def _runs(conn, page) -> list[RunRecord]:
        ids = {"ids": [r.run_id for r in page]}
        within = bindparam("ids", expanding=True)
        kv: dict[str, dict[str, dict]] = {"params": defaultdict(dict), "tags": defaultdict(dict)}
        for name, table in (("params", params), ("tags", run_tags)):
            for row in conn.execute(select(table).where(table.c.run_id.in_(within)).order_by(table.c.key), ids):
                kv[name][row.run_id][row.key] = row.value
        points: dict[str, list] = defaultdict(list)
        for m in conn.execute(select(metrics).where(metrics.c.run_id.in_(within)).order_by(metrics.c.id), ids):
            points[m.run_id].append(MetricPoint(m.key, from_db(m.value), m.timestamp, m.step, m.model_id,
                                                None, m.dataset_name, m.dataset_digest))
        inputs: dict[str, dict[str, list]] = defaultdict(lambda: {"dataset": [], "model": []})
        for i in conn.execute(select(run_inputs).where(run_inputs.c.run_id.in_(within)).order_by(run_inputs.c.id), ids):
            inputs[i.run_id][i.kind].append(json.loads(i.payload))
        outputs: dict[str, list] = defaultdict(list)
        for o in conn.execute(select(run_outputs).where(run_outputs.c.run_id.in_(within))
                              .order_by(run_outputs.c.model_id), ids):
            outputs[o.run_id].append((o.model_id, o.step))
        return [RunRecord(
            run_id=r.run_id, experiment_id=str(r.experiment_id), run_name=r.run_name, user_id=r.user_id,
            status=r.status, start_time=r.start_time, end_time=r.end_time, artifact_uri=r.artifact_uri,
            lifecycle_stage=r.lifecycle_stage, deleted_time=r.deleted_time, params=kv["params"].get(r.run_id, {}),
            tags=kv["tags"].get(r.run_id, {}), metrics=tuple(points.get(r.run_id, ())),
            datasets=tuple(inputs[r.run_id]["dataset"]) if r.run_id in inputs else (),
            model_inputs=tuple(inputs[r.run_id]["model"]) if r.run_id in inputs else (),
            model_outputs=tuple(outputs.get(r.run_id, ())),
        ) for r in page]

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]:
        lm = logged_models
        with self.db.read() as conn:
            rows = conn.execute(select(lm).where(lm.c.experiment_id == int(experiment_id)).order_by(lm.c.model_id)).all()
            if not rows:
                return
            ids = {"ids": [r.model_id for r in rows]}
            within = bindparam("ids", expanding=True)
            kv: dict[str, dict[str, dict]] = {"params": defaultdict(dict), "tags": defaultdict(dict)}
            for name, table in (("params", logged_model_params), ("tags", logged_model_tags)):
                for row in conn.execute(select(table).where(table.c.model_id.in_(within)).order_by(table.c.key), ids):
                    kv[name][row.model_id][row.key] = row.value
            points: dict[str, list] = defaultdict(list)
            t = logged_model_metrics
            for m in conn.execute(select(t).where(t.c.model_id.in_(within)).order_by(t.c.key, t.c.step, t.c.timestamp),
                                  ids):
                points[m.model_id].append(MetricPoint(m.key, from_db(m.value), m.timestamp, m.step, None, m.run_id,
                                                      m.dataset_name, m.dataset_digest))
        for r in rows:
            yield LoggedModelRecord(
                model_id=r.model_id, experiment_id=str(r.experiment_id), name=r.name,
                artifact_location=r.artifact_location, creation_timestamp=r.creation_timestamp,
                last_updated_timestamp=r.last_updated_timestamp, status=r.status, status_message=r.status_message,
                model_type=r.model_type, source_run_id=r.source_run_id, lifecycle_stage=r.lifecycle_stage,
                tags=kv["tags"].get(r.model_id, {}), params=kv["params"].get(r.model_id, {}),
                metrics=tuple(points.get(r.model_id, ())))

    def registered_models(self, only: Sequence[str] = ()) -> list[RegisteredModelRecord]:
        with self.db.read() as conn:
            query = select(rm).order_by(rm.c.name)
            if only:
                query = query.where(rm.c.name.in_(list(only)))
            rows = conn.execute(query).all()
            tags: dict[int, dict] = defaultdict(dict)
            for t in conn.execute(select(registered_model_tags).order_by(registered_model_tags.c.key)):
                tags[t.model][t.key] = t.value
            aliases: dict[int, dict] = defaultdict(dict)
            for a in conn.execute(select(registered_model_aliases).order_by(registered_model_aliases.c.alias)):
                aliases[a.model][a.alias] = a.version
        return [RegisteredModelRecord(
            name=r.name, creation_timestamp=r.creation_timestamp, last_updated_timestamp=r.last_updated_timestamp,
            description=r.description, user_id=r.user_id, last_version=r.last_version, tags=tags.get(r.id, {}),
            aliases=aliases.get(r.id, {})) for r in rows]

    def model_versions(self, name: str) -> list[ModelVersionRecord]:
        with self.db.read() as conn:
            rows = conn.execute(select(mv).join(rm, rm.c.id == mv.c.model).where(rm.c.name == name)
                                .order_by(mv.c.version)).all()
            tags: dict[int, dict] = defaultdict(dict)
            if rows:
                t = model_version_tags
                for row in conn.execute(select(t).where(t.c.model == rows[0].model).order_by(t.c.key)):
                    tags[row.version][row.key] = row.value
        return [ModelVersionRecord(
            name=name, version=r.version, creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp, current_stage=r.current_stage,
            description=r.description, user_id=r.user_id, source=r.source, run_id=r.run_id, model_id=r.model_id,
            run_link=r.run_link, status=r.status, status_message=r.status_message,
            storage_location=r.storage_location, tags=tags.get(r.version, {})) for r in rows]

    def version_manifest_digest(self, name: str, version: int) -> str | None:
        """The digest recorded at registration: an export copies only files that still match it."""
        t = model_version_manifests
        with self.db.read() as conn:
            return conn.execute(select(t.c.digest).join(rm, rm.c.id == t.c.model).where(
                rm.c.name == name, t.c.version == version)).scalar()

    def model_events(self, name: str) -> list[dict]:
        """The model's audit history, oldest first, without this store's event ids."""
        ev = registry_events
        with self.db.read() as conn:
            key = conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar()
            if key is None:
                return []
            start = incarnation_start(conn, key)  # not the events of an earlier model that had this key
            rows = conn.execute(select(ev).where(ev.c.model_key == key, ev.c.id >= start).order_by(ev.c.id)).all()
        out = []
        for row in rows:
            event = event_entity(row).to_dict()
            event.pop("id", None)
            out.append(event)
        return out
