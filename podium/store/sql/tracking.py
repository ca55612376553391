"""``SqlTrackingStore``: experiments, runs (params, metrics, tags) and MLflow 3 logged models in SQL.

Artifact locations are decided here, from the store's ``default_artifact_root``, with MLflow's
layout: ``<root>/<experiment_id>`` for an experiment, ``.../<run_id>/artifacts`` for a run and
``.../models/<model_id>/artifacts`` for a logged model.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from podium.domain.entities import (
    Experiment,
    LoggedModelOutput,
    Metric,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    ViewType,
)
from podium.domain.paging import decode_page_token, encode_page_token, query_fingerprint
from podium.domain.search import parse_filter, parse_order_by
from podium.domain.search_ast import OrderKey
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.engine import Database
from podium.store.sql.filters import KeyedTable, Target, compile_filter, compile_order_by
from podium.store.sql.keyset import KeysetOrder, keyset_page
from podium.store.sql.logged_models import LoggedModelsMixin
from podium.store.sql.prepared import Prepared, shared
from podium.store.sql.tables import (
    experiment_tags,
    experiments,
    latest_metrics,
    logged_model_metrics,
    logged_models,
    metrics,
    params,
    run_inputs,
    run_outputs,
    run_tags,
    runs,
)
from podium.store.sql.tracking_common import (
    experiment_not_found,
    experiment_pk,
    from_db,
    join_location,
    key_values,
    now_ms,
    random_run_name,
    run_not_found,
    to_db,
    upsert,
)

__all__ = ["DEFAULT_EXPERIMENT_ID", "SqlTrackingStore"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"



def _run_by_id(dialect) -> Prepared:
    return Prepared(select(runs).where(runs.c.run_id == bindparam("run_id")), dialect)


def _run_source(dialect) -> Prepared:
    lm = logged_models
    newest_model = (
        select(lm.c.artifact_location)
        .where(lm.c.source_run_id == runs.c.run_id, lm.c.name == bindparam("name"), lm.c.lifecycle_stage == "active")
        .order_by(lm.c.creation_timestamp.desc())
        .limit(1)
        .scalar_subquery()
        .label("logged_model_location")
    )
    return Prepared(select(runs, newest_model).where(runs.c.run_id == bindparam("run_id")), dialect)


class SqlTrackingStore(LoggedModelsMixin):
    """Experiments, runs and logged models on a :class:`~podium.store.sql.engine.Database`."""

    def __init__(self, db: Database, default_artifact_root: str) -> None:
        self.db = db
        self.default_artifact_root = default_artifact_root
        self._ensure_default_experiment()
        # a run's row: read by every run write and by each model version registered from a run
        # a run's row: read by every run write and by each model version registered from a run; and, for a
        # version registered from runs:/<run>/<name>, the run's row with where the newest logged model
        # <name> of that run keeps its files (find_logged_model's rule; decision 0027): compiled once
        self._q_run = shared(db.engine.dialect, "tracking.run", _run_by_id)
        self._q_run_source = shared(db.engine.dialect, "tracking.run_source", _run_source)
        dialect = db.dialect
        self._run_target = Target(
            attributes={
                "run_id": runs.c.run_id,
                "run_name": runs.c.run_name,
                "status": runs.c.status,
                "user_id": runs.c.user_id,
                "artifact_uri": runs.c.artifact_uri,
                "lifecycle_stage": runs.c.lifecycle_stage,
                "start_time": runs.c.start_time,
                "end_time": runs.c.end_time,
                "experiment_id": runs.c.experiment_id,
            },
            keyed={
                "metric": KeyedTable(latest_metrics, lambda t: t.c.run_id == runs.c.run_id),
                "param": KeyedTable(params, lambda t: t.c.run_id == runs.c.run_id),
                "tag": KeyedTable(run_tags, lambda t: t.c.run_id == runs.c.run_id),
            },
            dialect=dialect,
        )
        self._experiment_target = Target(
            attributes={
                "name": experiments.c.name,
                "experiment_id": experiments.c.experiment_id,
                "creation_time": experiments.c.creation_time,
                "last_update_time": experiments.c.last_update_time,
                "lifecycle_stage": experiments.c.lifecycle_stage,
            },
            keyed={"tag": KeyedTable(experiment_tags, lambda t: t.c.experiment_id == experiments.c.experiment_id)},
            dialect=dialect,
        )
        self._init_logged_models(dialect)

    # ------------------------------------------------------------------ experiments
    def _ensure_default_experiment(self) -> None:
        with self.db.read() as conn:
            if conn.execute(select(experiments.c.experiment_id).where(experiments.c.experiment_id == 0)).first():
                return
        now = now_ms()
        try:
            with self.db.write() as conn:
                if self.db.dialect == "mysql":
                    conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
                conn.execute(
                    insert(experiments).values(
                        experiment_id=0,
                        name=DEFAULT_EXPERIMENT_NAME,
                        artifact_location=join_location(self.default_artifact_root, DEFAULT_EXPERIMENT_ID),
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                )
        except IntegrityError:  # another process created it first
            pass

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        now = now_ms()
        try:
            with self.db.write() as conn:
                if conn.execute(select(experiments.c.experiment_id).where(experiments.c.name == name)).first():
                    raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.")
                pk = conn.execute(
                    insert(experiments).values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                ).inserted_primary_key[0]
                if not artifact_location:
                    conn.execute(
                        update(experiments)
                        .where(experiments.c.experiment_id == pk)
                        .values(artifact_location=join_location(self.default_artifact_root, str(pk)))
                    )
                if tags:
                    conn.execute(
                        insert(experiment_tags),
                        [{"experiment_id": pk, "key": k, "value": v} for k, v in tags.items()],
                    )
                return str(pk)
        except IntegrityError:
            raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.") from None

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self.db.read() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.experiment_id == experiment_pk(experiment_id))
            ).first()
            if row is None:
                raise experiment_not_found(experiment_id)
            return self._experiments(conn, [row])[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
            return self._experiments(conn, [row])[0] if row else None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        where = and_(
            compile_filter(parse_filter(filter_string, "experiments"), self._experiment_target),
            _lifecycle_condition(experiments.c.lifecycle_stage, view_type),
        )
        keys = parse_order_by(order_by, "experiments") or [
            OrderKey("attribute", "creation_time", False)
        ]
        keys.append(OrderKey("attribute", "experiment_id", True))  # unique: the keyset tiebreaker
        order = KeysetOrder(keys, self._experiment_target)
        fingerprint = query_fingerprint("experiments", int(view_type), filter_string, keys)
        query, finish = keyset_page(select(experiments).where(where), order, fingerprint, page_token, max_results)
        with self.db.read() as conn:
            rows, token = finish(conn.execute(query).all())
            return PagedList(self._experiments(conn, rows), token)

    def _update_experiment(self, experiment_id: str, **values) -> None:
        with self.db.write() as conn:
            pk = experiment_pk(experiment_id)
            if not conn.execute(select(experiments.c.experiment_id).where(experiments.c.experiment_id == pk)).first():
                raise experiment_not_found(experiment_id)
            conn.execute(
                update(experiments).where(experiments.c.experiment_id == pk).values(last_update_time=now_ms(), **values)
            )

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and its active runs deleted (restore_experiment brings both back)."""
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise InvalidParameterValue("Cannot delete the default experiment '0'.")
        now = now_ms()
        with self.db.write() as conn:
            pk = self._experiment_row(conn, experiment_id).experiment_id
            conn.execute(
                update(experiments).where(experiments.c.experiment_id == pk)
                .values(lifecycle_stage="deleted", last_update_time=now)
            )
            conn.execute(
                update(runs).where(runs.c.experiment_id == pk, runs.c.lifecycle_stage == "active")
                .values(lifecycle_stage="deleted", deleted_time=now)
            )

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore the experiment and the runs its deletion deleted (not runs deleted on their own)."""
        now = now_ms()
        with self.db.write() as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage == "deleted":
                conn.execute(
                    update(runs)
                    .where(runs.c.experiment_id == row.experiment_id, runs.c.lifecycle_stage == "deleted",
                           runs.c.deleted_time == row.last_update_time)
                    .values(lifecycle_stage="active", deleted_time=None)
                )
            conn.execute(
                update(experiments).where(experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage="active", last_update_time=now)
            )

    def _experiment_row(self, conn, experiment_id):
        row = conn.execute(
            select(experiments).where(experiments.c.experiment_id == experiment_pk(experiment_id))
        ).first()
        if row is None:
            raise experiment_not_found(experiment_id)
        return row

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with self.db.read() as conn:
            clash = conn.execute(select(experiments.c.experiment_id).where(experiments.c.name == new_name)).first()
        if clash and str(clash[0]) != str(experiment_id):
            raise ResourceAlreadyExists(f"Experiment(name={new_name}) already exists.")
        self._update_experiment(experiment_id, name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        pk = experiment_pk(experiment_id)
        with self.db.write() as conn:
            if not conn.execute(select(experiments.c.experiment_id).where(experiments.c.experiment_id == pk)).first():
                raise experiment_not_found(experiment_id)
            t = experiment_tags
            conn.execute(delete(t).where(t.c.experiment_id == pk, t.c.key == key))
            conn.execute(insert(t).values(experiment_id=pk, key=key, value=value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        pk = experiment_pk(experiment_id)
        with self.db.write() as conn:
            t = experiment_tags
            conn.execute(delete(t).where(t.c.experiment_id == pk, t.c.key == key))

    def _experiments(self, conn, rows) -> list[Experiment]:
        ids = [r.experiment_id for r in rows]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        if ids:
            t = experiment_tags
            for tr in conn.execute(select(t).where(t.c.experiment_id.in_(bindparam("e", expanding=True))), {"e": ids}):
                tags[tr.experiment_id][tr.key] = tr.value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=r.lifecycle_stage,
                tags=tags[r.experiment_id],
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tags = dict(tags or {})
        if run_name and tags.get(RUN_NAME_TAG) and tags[RUN_NAME_TAG] != run_name:
            raise InvalidParameterValue(
                f"Both 'run_name' argument and '{RUN_NAME_TAG}' tag are specified, but with different "
                f"values (run_name='{run_name}', {RUN_NAME_TAG}='{tags[RUN_NAME_TAG]}')."
            )
        run_name = run_name or tags.get(RUN_NAME_TAG) or random_run_name()
        tags[RUN_NAME_TAG] = run_name
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
            exp = conn.execute(
                select(experiments).where(experiments.c.experiment_id == experiment_pk(experiment_id))
            ).first()
            if exp is None:
                raise experiment_not_found(experiment_id)
            if exp.lifecycle_stage != "active":
                raise InvalidParameterValue(
                    f"The experiment {experiment_id} must be in the 'active' state. "
                    f"Current state is {exp.lifecycle_stage}."
                )
            conn.execute(
                insert(runs).values(
                    run_id=run_id,
                    experiment_id=exp.experiment_id,
                    run_name=run_name,
                    user_id=user_id or "",
                    status=RunStatus.RUNNING,
                    start_time=start_time if start_time is not None else now_ms(),
                    end_time=None,
                    artifact_uri=join_location(exp.artifact_location, run_id, "artifacts"),
                    lifecycle_stage="active",
                )
            )
            conn.execute(insert(run_tags), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])
            return self._runs(conn, [self._run_row(conn, run_id)])[0]

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            return self._runs(conn, [self._run_row(conn, run_id)])[0]

    def get_latest_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """``{run_id: {key: latest value}}`` for the listed runs: one statement per 500 runs."""
        ids = sorted(set(run_ids))
        out: dict[str, dict[str, float]] = {}
        with self.db.read() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                query = select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value)
                for r in conn.execute(query.where(latest_metrics.c.run_id.in_(chunk))):
                    out.setdefault(r.run_id, {})[r.key] = from_db(r.value)
        return out

    def get_run_info(self, run_id: str) -> RunInfo:
        """Only the run's own row: cheaper than ``get_run`` when params, metrics and tags are not needed."""
        with self.db.read() as conn:
            return _run_info(self._run_row(conn, run_id))

    def get_run_source(self, run_id: str, name: str | None) -> tuple[RunInfo, str | None]:
        """The run's info and the artifact location of the newest logged model called ``name`` that it
        produced (None: no such model, or ``name`` is None), in one statement."""
        with self.db.read() as conn:
            rows = self._q_run_source.rows(conn, run_id=run_id, name=name)
        if not rows:
            raise run_not_found(run_id)
        return _run_info(rows[0]), rows[0].logged_model_location if name is not None else None

    def update_run_info(
        self, run_id: str, status: str | None = None, end_time: int | None = None, run_name: str | None = None
    ) -> RunInfo:
        with self.db.write() as conn:
            self._active_run_row(conn, run_id)
            values = {}
            if status is not None:
                if status not in RunStatus.ALL:
                    raise InvalidParameterValue(f"Invalid run status '{status}'.")
                values["status"] = status
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["run_name"] = run_name
                upsert(conn, run_tags, {"run_id": run_id}, RUN_NAME_TAG, run_name)
            if values:
                conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))
            return _run_info(self._run_row(conn, run_id))

    def delete_run(self, run_id: str) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(lifecycle_stage="deleted", deleted_time=now_ms())
            )

    def restore_run(self, run_id: str) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(lifecycle_stage="active", deleted_time=None)
            )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Params, metrics and tags in one transaction: all are stored, or none."""
        with self.db.write() as conn:
            self._active_run_row(conn, run_id)
            if params:
                self._log_params(conn, run_id, params)
            if metrics:
                self._log_metrics(conn, run_id, metrics)
            for key, value in tags:
                upsert(conn, run_tags, {"run_id": run_id}, key, value)
                if key == RUN_NAME_TAG:
                    conn.execute(update(runs).where(runs.c.run_id == run_id).values(run_name=value))

    def _log_params(self, conn, run_id: str, new: Sequence[tuple[str, str]]) -> None:
        incoming: dict[str, str] = {}
        for key, value in new:
            if key in incoming and incoming[key] != value:
                raise InvalidParameterValue(
                    f"Duplicate parameter keys with different values: '{key}' in the same batch."
                )
            incoming[key] = value
        existing = {
            r.key: r.value
            for r in conn.execute(
                select(params.c.key, params.c.value).where(
                    params.c.run_id == run_id, params.c.key.in_(bindparam("k", expanding=True))
                ),
                {"k": list(incoming)},
            )
        }
        for key, value in incoming.items():
            if key in existing and existing[key] != value:
                raise InvalidParameterValue(
                    f"Changing param values is not allowed. Param with key='{key}' was already logged "
                    f"with value='{existing[key]}' for run ID='{run_id}'. Attempted logging new value '{value}'."
                )
        fresh = [{"run_id": run_id, "key": k, "value": v} for k, v in incoming.items() if k not in existing]
        if fresh:
            conn.execute(insert(params), fresh)

    def _log_metrics(self, conn, run_id: str, points: Sequence[Metric]) -> None:
        history: dict[str, set] = defaultdict(set)
        if any(m.model_id for m in points):  # only then can a point repeat one already stored
            for r in conn.execute(
                select(metrics.c.key, metrics.c.value, metrics.c.timestamp, metrics.c.step).where(
                    metrics.c.run_id == run_id, metrics.c.key.in_(bindparam("k", expanding=True))
                ),
                {"k": sorted({m.key for m in points})},
            ):
                history[r.key].add((r.value, r.timestamp, r.step))
        rows, model_rows = [], []
        for m in points:
            point = (to_db(m.value), m.timestamp, m.step)
            if m.model_id:
                model_rows.append(m)
                if point in history[m.key]:
                    continue  # MLflow 3's log_model re-sends run metrics tagged with the model: no duplicates
            history[m.key].add(point)
            rows.append(
                {
                    "run_id": run_id,
                    "key": m.key,
                    "value": to_db(m.value),
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "model_id": m.model_id,
                    "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest,
                }
            )
        if rows:
            conn.execute(insert(metrics), rows)
            self._update_latest_metrics(conn, run_id, rows)
        if model_rows:
            self._log_model_metrics(conn, run_id, model_rows)

    def _update_latest_metrics(self, conn, run_id: str, rows: list[dict]) -> None:
        best: dict[str, dict] = {}
        for r in rows:
            current = best.get(r["key"])
            if current is None or _recency(r["step"], r["timestamp"], r["value"]) >= _recency(
                current["step"], current["timestamp"], current["value"]
            ):
                best[r["key"]] = r
        lm = latest_metrics
        stored = {
            r.key: r
            for r in conn.execute(
                select(lm).where(lm.c.run_id == run_id, lm.c.key.in_(bindparam("k", expanding=True))),
                {"k": list(best)},
            )
        }
        for key, r in best.items():
            old = stored.get(key)
            values = {"value": r["value"], "timestamp": r["timestamp"], "step": r["step"]}
            if old is None:
                conn.execute(insert(lm).values(run_id=run_id, key=key, **values))
            elif _recency(r["step"], r["timestamp"], r["value"]) >= _recency(old.step, old.timestamp, old.value):
                conn.execute(update(lm).where(lm.c.run_id == run_id, lm.c.key == key).values(**values))

    def _log_model_metrics(self, conn, run_id: str, points: Sequence[Metric]) -> None:
        for model_id in sorted({m.model_id for m in points}):
            self._logged_model_row(conn, model_id)  # RESOURCE_DOES_NOT_EXIST, and nothing is stored
        t = logged_model_metrics
        for m in points:
            conn.execute(
                delete(t).where(t.c.model_id == m.model_id, t.c.key == m.key, t.c.step == m.step, t.c.timestamp == m.timestamp)
            )
            conn.execute(
                insert(t).values(
                    model_id=m.model_id,
                    key=m.key,
                    step=m.step,
                    timestamp=m.timestamp,
                    value=to_db(m.value),
                    run_id=run_id,
                    dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest,
                )
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._active_run_row(conn, run_id)
            result = conn.execute(delete(run_tags).where(run_tags.c.run_id == run_id, run_tags.c.key == key))
            if result.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")

    def get_metric_history(
        self, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList:
        offset = decode_page_token(page_token).get("offset", 0)
        with self.db.read() as conn:
            self._run_row(conn, run_id)
            query = (
                select(metrics)
                .where(metrics.c.run_id == run_id, metrics.c.key == key)
                .order_by(metrics.c.timestamp, metrics.c.step, metrics.c.value, metrics.c.id)  # MLflow's order
                .offset(offset)
            )
            if max_results:
                query = query.limit(max_results + 1)
            rows = conn.execute(query).all()
        token = None
        if max_results and len(rows) > max_results:
            rows = rows[:max_results]
            token = encode_page_token({"offset": offset + max_results})
        return PagedList(
            [Metric(r.key, from_db(r.value), r.timestamp, r.step, r.model_id, run_id, r.dataset_name, r.dataset_digest) for r in rows],
            token,
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        exp_ids = [experiment_pk(e) for e in experiment_ids]
        parsed = parse_filter(filter_string, "runs")
        where = and_(
            runs.c.experiment_id.in_(exp_ids),
            _lifecycle_condition(runs.c.lifecycle_stage, run_view_type),
            compile_filter(parsed, self._run_target),
        )
        keys = parse_order_by(order_by, "runs") or [OrderKey("attribute", "start_time", False)]
        keys.append(OrderKey("attribute", "run_id", True))  # unique: the keyset tiebreaker
        order = KeysetOrder(keys, self._run_target)
        fingerprint = query_fingerprint("runs", sorted(exp_ids), int(run_view_type), parsed, keys)
        query, finish = keyset_page(select(runs).where(where), order, fingerprint, page_token, max_results)
        with self.db.read() as conn:
            rows, token = finish(conn.execute(query).all())
            return PagedList(self._runs(conn, rows), token)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            for m in models:
                t = run_outputs
                conn.execute(delete(t).where(t.c.run_id == run_id, t.c.model_id == m.model_id))
                conn.execute(insert(t).values(run_id=run_id, model_id=m.model_id, step=m.step))

    def log_inputs(self, run_id: str, datasets: Sequence[dict] = (), models: Sequence[dict] = ()) -> None:
        with self.db.write() as conn:
            self._active_run_row(conn, run_id)
            rows = [{"run_id": run_id, "kind": "dataset", "payload": json.dumps(d, sort_keys=True)} for d in datasets]
            rows += [{"run_id": run_id, "kind": "model", "payload": json.dumps(m, sort_keys=True)} for m in models]
            if rows:
                conn.execute(insert(run_inputs), rows)

    def _run_row(self, conn, run_id: str):
        rows = self._q_run.rows(conn, run_id=run_id)
        if not rows:
            raise run_not_found(run_id)
        return rows[0]

    def _active_run_row(self, conn, run_id: str):
        row = self._run_row(conn, run_id)
        if row.lifecycle_stage != "active":
            raise InvalidParameterValue(
                f"The run {run_id} must be in the 'active' state. Current state is {row.lifecycle_stage}."
            )
        return row

    def _runs(self, conn, rows) -> list[Run]:
        """Run entities with params, tags, latest metrics, inputs and outputs: five queries in all."""
        if not rows:
            return []
        ids = {"r": [r.run_id for r in rows]}
        expanding = bindparam("r", expanding=True)
        run_params = key_values(conn, params, "run_id", ids["r"])
        tags = key_values(conn, run_tags, "run_id", ids["r"])
        latest: dict[str, list[Metric]] = defaultdict(list)
        for m in conn.execute(select(latest_metrics).where(latest_metrics.c.run_id.in_(expanding)), ids):
            latest[m.run_id].append(Metric(m.key, from_db(m.value), m.timestamp, m.step, run_id=m.run_id))
        outputs: dict[str, list[LoggedModelOutput]] = defaultdict(list)
        for o in conn.execute(select(run_outputs).where(run_outputs.c.run_id.in_(expanding)), ids):
            outputs[o.run_id].append(LoggedModelOutput(o.model_id, o.step))
        inputs: dict[str, dict[str, list]] = defaultdict(lambda: {"dataset": [], "model": []})
        for i in conn.execute(select(run_inputs).where(run_inputs.c.run_id.in_(expanding)).order_by(run_inputs.c.id), ids):
            inputs[i.run_id][i.kind].append(json.loads(i.payload))
        return [
            Run(
                info=_run_info(r),
                data=RunData(
                    metrics={m.key: m.value for m in latest[r.run_id]},
                    params=run_params[r.run_id],
                    tags=tags[r.run_id],
                    metric_objects=tuple(sorted(latest[r.run_id], key=lambda m: m.key)),
                ),
                inputs=RunInputs(tuple(inputs[r.run_id]["dataset"]), tuple(inputs[r.run_id]["model"])),
                outputs=RunOutputs(tuple(outputs[r.run_id])),
            )
            for r in rows
        ]


def _recency(step: int, timestamp: int, value: float | None) -> tuple:
    """Which point is a metric's latest: highest step, then timestamp, then value (NaN lowest)."""
    return (step, timestamp, -math.inf if value is None else value)


def _run_info(r) -> RunInfo:
    return RunInfo(
        run_id=r.run_id,
        experiment_id=str(r.experiment_id),
        run_name=r.run_name or "",
        user_id=r.user_id or "",
        status=r.status,
        start_time=r.start_time,
        end_time=r.end_time,
        artifact_uri=r.artifact_uri,
        lifecycle_stage=r.lifecycle_stage,
    )


def _lifecycle_condition(column, view_type: int):
    if view_type == ViewType.ACTIVE_ONLY:
        return column == "active"
    if view_type == ViewType.DELETED_ONLY:
        return column == "deleted"
    return column.in_(["active", "deleted"])


