"""``MlflowDatabaseSource``: an MLflow tracking/registry database, read directly and read-only.

The tables below are MLflow's schema as this module reads it (2.x up to 3.17), written out by hand:
no reflection, no MLflow import. What differs between those versions is asked once, by name
(:meth:`_has`): the MLflow 3 tables (``logged_models`` and its tags, params, metrics), the dataset
tables (2.4+), and the ``workspace`` column of 3.x (only the ``default`` workspace is read).
Nothing is ever written: every query runs in a read-only transaction.

MLflow keeps a deleted model version as a row in the stage ``Deleted_Internal`` (its fields
redacted): such rows are not versions, but their numbers count toward the model's highest number,
so the gaps they leave stay gaps in Podium.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    model_id_of_source,
)
from podium.errors import InvalidParameterValue, TemporarilyUnavailable
from podium.store.sql.engine import normalize_db_url
from podium.uris import without_password

__all__ = ["MlflowDatabaseSource"]

DELETED_INTERNAL = "Deleted_Internal"
DEFAULT_WORKSPACE = "default"
_PAGE = 500
_LOGGED_MODEL_STATUS = {0: "LOGGED_MODEL_STATUS_UNSPECIFIED", 1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY",
                        3: "LOGGED_MODEL_UPLOAD_FAILED"}

_md = MetaData()
experiments = Table("experiments", _md, Column("experiment_id", Integer), Column("name", String),
                    Column("artifact_location", String), Column("lifecycle_stage", String),
                    Column("creation_time", BigInteger), Column("last_update_time", BigInteger),
                    Column("workspace", String))
experiment_tags = Table("experiment_tags", _md, Column("key", String), Column("value", Text),
                        Column("experiment_id", Integer))
runs = Table("runs", _md, Column("run_uuid", String), Column("name", String), Column("user_id", String),
             Column("status", String), Column("start_time", BigInteger), Column("end_time", BigInteger),
             Column("deleted_time", BigInteger), Column("lifecycle_stage", String), Column("artifact_uri", String),
             Column("experiment_id", Integer))
tags = Table("tags", _md, Column("key", String), Column("value", Text), Column("run_uuid", String))
params = Table("params", _md, Column("key", String), Column("value", Text), Column("run_uuid", String))
metrics = Table("metrics", _md, Column("key", String), Column("value", Float), Column("timestamp", BigInteger),
                Column("step", BigInteger), Column("is_nan", Boolean), Column("run_uuid", String))
datasets = Table("datasets", _md, Column("dataset_uuid", String), Column("experiment_id", Integer),
                 Column("name", String), Column("digest", String), Column("dataset_source_type", String),
                 Column("dataset_source", Text), Column("dataset_schema", Text), Column("dataset_profile", Text))
inputs = Table("inputs", _md, Column("input_uuid", String), Column("source_type", String),
               Column("source_id", String), Column("destination_type", String), Column("destination_id", String),
               Column("step", BigInteger))
input_tags = Table("input_tags", _md, Column("input_uuid", String), Column("name", String), Column("value", String))
logged_models = Table("logged_models", _md, Column("model_id", String), Column("experiment_id", Integer),
                      Column("name", String), Column("artifact_location", String),
                      Column("creation_timestamp_ms", BigInteger), Column("last_updated_timestamp_ms", BigInteger),
                      Column("status", Integer), Column("lifecycle_stage", String), Column("model_type", String),
                      Column("source_run_id", String), Column("status_message", String))
logged_model_metrics = Table("logged_model_metrics", _md, Column("model_id", String), Column("metric_name", String),
                             Column("metric_timestamp_ms", BigInteger), Column("metric_step", BigInteger),
                             Column("metric_value", Float), Column("run_id", String),
                             Column("dataset_name", String), Column("dataset_digest", String))
logged_model_params = Table("logged_model_params", _md, Column("model_id", String), Column("param_key", String),
                            Column("param_value", Text))
logged_model_tags = Table("logged_model_tags", _md, Column("model_id", String), Column("tag_key", String),
                          Column("tag_value", Text))
registered_models = Table("registered_models", _md, Column("name", String), Column("creation_time", BigInteger),
                          Column("last_updated_time", BigInteger), Column("description", String),
                          Column("workspace", String))
registered_model_tags = Table("registered_model_tags", _md, Column("key", String), Column("value", String),
                              Column("name", String), Column("workspace", String))
model_versions = Table("model_versions", _md, Column("name", String), Column("version", Integer),
                       Column("creation_time", BigInteger), Column("last_updated_time", BigInteger),
                       Column("description", String), Column("user_id", String), Column("current_stage", String),
                       Column("source", String), Column("storage_location", String), Column("run_id", String),
                       Column("run_link", String), Column("status", String), Column("status_message", String),
                       Column("workspace", String))
model_version_tags = Table("model_version_tags", _md, Column("key", String), Column("value", Text),
                           Column("name", String), Column("version", Integer), Column("workspace", String))
registered_model_aliases = Table("registered_model_aliases", _md, Column("alias", String),
                                 Column("version", Integer), Column("name", String), Column("workspace", String))


class MlflowDatabaseSource:
    """Portable records (:mod:`podium.domain.portable`) from an MLflow database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.description = without_password(url)
        try:
            self.engine = create_engine(normalize_db_url(url), **({"pool_pre_ping": True}
                                                                   if not url.startswith("sqlite") else {}))
            names = inspect(self.engine)
            self._tables = set(names.get_table_names())
            if not {"experiments", "runs"} <= self._tables:
                raise InvalidParameterValue(
                    f"'{self.description}' is not an MLflow database (no experiments or runs table). "
                    "Give the URI mlflow server --backend-store-uri was given.")
            self._columns = {t: {c["name"] for c in names.get_columns(t)}
                             for t in ("experiments", "runs", "registered_models", "model_versions", "inputs")
                             if t in self._tables}
            if "run_uuid" not in self._columns["runs"]:
                raise InvalidParameterValue(
                    f"'{self.description}' is not an MLflow database (its runs table has no run_uuid: a Podium "
                    "store? Use podium export and podium import to move a Podium store).")
        except ImportError as exc:
            raise InvalidParameterValue(f"No database driver for '{self.description}' ({exc}).") from None
        except SQLAlchemyError as exc:
            raise InvalidParameterValue(f"Cannot read the MLflow database '{self.description}': "
                                        f"{str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _read(self):
        try:
            with self.engine.connect() as conn:
                if not self.url.startswith("sqlite"):
                    conn = conn.execution_options(postgresql_readonly=True)
                with conn.begin() as trans:
                    yield conn
                    trans.rollback()  # nothing is written, ever
        except SQLAlchemyError as exc:
            raise TemporarilyUnavailable(f"Cannot read the MLflow database '{self.description}': "
                                         f"{str(exc).splitlines()[0]}") from None

    def _has(self, table: str, column: str | None = None) -> bool:
        if column is None:
            return table in self._tables
        return column in self._columns.get(table, set())

    def _workspace(self, table: Table) -> list:
        return [table.c.workspace == DEFAULT_WORKSPACE] if self._has(table.name, "workspace") else []

    # ------------------------------------------------------------------ tracking
    def experiments(self, only: Sequence[str] = ()) -> list[ExperimentRecord]:
        """Every experiment (deleted ones too); ``only``: names or ids to keep."""
        cols = [c for c in experiments.c if c.name != "workspace"]
        query = select(*cols).where(*self._workspace(experiments)).order_by(experiments.c.experiment_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
            ids = [r.experiment_id for r in rows]
            by_exp: dict[int, dict[str, str]] = defaultdict(dict)
            if ids:
                for t in conn.execute(select(experiment_tags).where(
                        experiment_tags.c.experiment_id.in_(bindparam("ids", expanding=True))), {"ids": ids}):
                    by_exp[t.experiment_id][t.key] = t.value or ""
        wanted = set(only)
        return [ExperimentRecord(str(r.experiment_id), r.name, r.artifact_location or "",
                                 r.lifecycle_stage or "active", r.creation_time, r.last_update_time,
                                 by_exp.get(r.experiment_id, {}))
                for r in rows if not wanted or r.name in wanted or str(r.experiment_id) in wanted]

    def count_runs(self, experiment_ids: Sequence[str]) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(runs).where(
                runs.c.experiment_id.in_([int(e) for e in experiment_ids]))).scalar_one() if experiment_ids else 0

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """The experiment's runs (deleted ones too), a page at a time, each with its whole history."""
        after = ""
        while True:
            with self._read() as conn:
                page = conn.execute(select(runs).where(runs.c.experiment_id == int(experiment_id),
                                                       runs.c.run_uuid > after)
                                    .order_by(runs.c.run_uuid).limit(_PAGE)).all()
                if not page:
                    return
                records = self._run_records(conn, page)
            yield from records
            after = page[-1].run_uuid

    def _run_records(self, conn, page) -> list[RunRecord]:
        ids = {"ids": [r.run_uuid for r in page]}
        within = bindparam("ids", expanding=True)
        run_params: dict[str, dict] = defaultdict(dict)
        for p in conn.execute(select(params).where(params.c.run_uuid.in_(within)), ids):
            run_params[p.run_uuid][p.key] = p.value
        run_tags: dict[str, dict] = defaultdict(dict)
        for t in conn.execute(select(tags).where(tags.c.run_uuid.in_(within)), ids):
            run_tags[t.run_uuid][t.key] = t.value or ""
        points: dict[str, list] = defaultdict(list)
        query = select(metrics).where(metrics.c.run_uuid.in_(within)).order_by(
            metrics.c.run_uuid, metrics.c.key, metrics.c.step, metrics.c.timestamp)
        for m in conn.execute(query, ids):
            value = float("nan") if m.is_nan else m.value
            points[m.run_uuid].append(MetricPoint(m.key, value, m.timestamp, m.step or 0))
        run_datasets, model_inputs, model_outputs = self._run_inputs(conn, ids["ids"])
        return [RunRecord(
            run_id=r.run_uuid, experiment_id=str(r.experiment_id), run_name=r.name, user_id=r.user_id,
            status=r.status, start_time=r.start_time, end_time=r.end_time, artifact_uri=r.artifact_uri,
            lifecycle_stage=r.lifecycle_stage or "active", deleted_time=r.deleted_time,
            params=run_params.get(r.run_uuid, {}), tags=run_tags.get(r.run_uuid, {}),
            metrics=tuple(points.get(r.run_uuid, ())), datasets=tuple(run_datasets.get(r.run_uuid, ())),
            model_inputs=tuple(model_inputs.get(r.run_uuid, ())), model_outputs=tuple(model_outputs.get(r.run_uuid, ())),
        ) for r in page]

    def _run_inputs(self, conn, run_ids: list[str]):
        found: tuple[dict, dict, dict] = (defaultdict(list), defaultdict(list), defaultdict(list))
        if not self._has("inputs"):
            return found
        run_datasets, model_inputs, model_outputs = found
        within = bindparam("ids", expanding=True)
        if self._has("datasets"):
            query = (select(inputs.c.input_uuid, inputs.c.destination_id, datasets)
                     .join(datasets, datasets.c.dataset_uuid == inputs.c.source_id)
                     .where(inputs.c.source_type == "DATASET", inputs.c.destination_type == "RUN",
                            inputs.c.destination_id.in_(within)).order_by(inputs.c.destination_id, datasets.c.name,
                                                                          inputs.c.input_uuid))
            rows = conn.execute(query, {"ids": run_ids}).all()
            input_tag_rows: dict[str, list] = defaultdict(list)
            uuids = [r.input_uuid for r in rows]
            for start in range(0, len(uuids), _PAGE):
                for t in conn.execute(select(input_tags).where(input_tags.c.input_uuid.in_(
                        bindparam("u", expanding=True))).order_by(input_tags.c.name), {"u": uuids[start:start + _PAGE]}):
                    input_tag_rows[t.input_uuid].append({"key": t.name, "value": t.value})
            for r in rows:
                dataset = {"name": r.name, "digest": r.digest, "source_type": r.dataset_source_type,
                           "source": r.dataset_source}
                if r.dataset_schema:
                    dataset["schema"] = r.dataset_schema
                if r.dataset_profile:
                    dataset["profile"] = r.dataset_profile
                entry = {"dataset": dataset}
                if input_tag_rows.get(r.input_uuid):
                    entry["tags"] = input_tag_rows[r.input_uuid]
                run_datasets[r.destination_id].append(entry)
        step = inputs.c.step if self._has("inputs", "step") else None
        query = select(inputs.c.source_type, inputs.c.source_id, inputs.c.destination_id,
                       *([step] if step is not None else [])).where(
            ((inputs.c.source_type == "RUN_INPUT") & (inputs.c.destination_type == "MODEL_INPUT")) |
            ((inputs.c.source_type == "RUN_OUTPUT") & (inputs.c.destination_type == "MODEL_OUTPUT")),
            inputs.c.source_id.in_(within)).order_by(inputs.c.source_id, inputs.c.destination_id)
        for r in conn.execute(query, {"ids": run_ids}):
            if r.source_type == "RUN_INPUT":
                model_inputs[r.source_id].append({"model_id": r.destination_id})
            else:
                model_outputs[r.source_id].append((r.destination_id, int(getattr(r, "step", 0) or 0)))
        return found

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]:
        if not self._has("logged_models"):
            return
        with self._read() as conn:
            rows = conn.execute(select(logged_models).where(logged_models.c.experiment_id == int(experiment_id))
                                .order_by(logged_models.c.model_id)).all()
            if not rows:
                return
            ids = {"ids": [r.model_id for r in rows]}
            within = bindparam("ids", expanding=True)
            model_tags: dict[str, dict] = defaultdict(dict)
            model_params: dict[str, dict] = defaultdict(dict)
            points: dict[str, list] = defaultdict(list)
            if self._has("logged_model_tags"):
                for t in conn.execute(select(logged_model_tags).where(logged_model_tags.c.model_id.in_(within)), ids):
                    model_tags[t.model_id][t.tag_key] = t.tag_value
            if self._has("logged_model_params"):
                for p in conn.execute(select(logged_model_params).where(
                        logged_model_params.c.model_id.in_(within)), ids):
                    model_params[p.model_id][p.param_key] = p.param_value
            if self._has("logged_model_metrics"):
                m_t = logged_model_metrics
                for m in conn.execute(select(m_t).where(m_t.c.model_id.in_(within)).order_by(
                        m_t.c.model_id, m_t.c.metric_name, m_t.c.metric_step, m_t.c.metric_timestamp_ms), ids):
                    value = float("nan") if m.metric_value is None else m.metric_value
                    points[m.model_id].append(MetricPoint(m.metric_name, value, m.metric_timestamp_ms,
                                                          m.metric_step or 0, run_id=m.run_id,
                                                          dataset_name=m.dataset_name,
                                                          dataset_digest=m.dataset_digest))
        for r in rows:
            yield LoggedModelRecord(
                model_id=r.model_id, experiment_id=str(r.experiment_id), name=r.name,
                artifact_location=r.artifact_location, creation_timestamp=r.creation_timestamp_ms,
                last_updated_timestamp=r.last_updated_timestamp_ms,
                status=_LOGGED_MODEL_STATUS.get(r.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
                status_message=r.status_message, model_type=r.model_type, source_run_id=r.source_run_id,
                lifecycle_stage=r.lifecycle_stage or "active", tags=model_tags.get(r.model_id, {}),
                params=model_params.get(r.model_id, {}), metrics=tuple(points.get(r.model_id, ())))

    # ------------------------------------------------------------------ the registry
    def registered_models(self, only: Sequence[str] = ()) -> list[RegisteredModelRecord]:
        if not self._has("registered_models"):
            return []
        rm_t, mv_t = registered_models, model_versions
        with self._read() as conn:
            query = select(rm_t.c.name, rm_t.c.creation_time, rm_t.c.last_updated_time, rm_t.c.description).where(
                *self._workspace(rm_t)).order_by(rm_t.c.name)
            if only:
                query = query.where(rm_t.c.name.in_(list(only)))
            rows = conn.execute(query).all()
            highest = dict(conn.execute(select(mv_t.c.name, func.max(mv_t.c.version)).where(
                *self._workspace(mv_t)).group_by(mv_t.c.name)).all())
            model_tags: dict[str, dict] = defaultdict(dict)
            if self._has("registered_model_tags"):
                for t in conn.execute(select(registered_model_tags).where(*self._workspace(registered_model_tags))):
                    model_tags[t.name][t.key] = t.value or ""
            aliases: dict[str, dict] = defaultdict(dict)
            if self._has("registered_model_aliases"):
                for a in conn.execute(select(registered_model_aliases).where(
                        *self._workspace(registered_model_aliases))):
                    aliases[a.name][a.alias] = a.version
        return [RegisteredModelRecord(
            name=r.name, creation_timestamp=r.creation_time or 0,
            last_updated_timestamp=r.last_updated_time or r.creation_time or 0, description=r.description,
            last_version=highest.get(r.name) or 0, tags=model_tags.get(r.name, {}), aliases=aliases.get(r.name, {}),
        ) for r in rows]

    def model_versions(self, name: str) -> list[ModelVersionRecord]:
        mv_t, tag_t = model_versions, model_version_tags
        with self._read() as conn:
            rows = conn.execute(select(*[c for c in mv_t.c if c.name != "workspace"]).where(
                mv_t.c.name == name, mv_t.c.current_stage != DELETED_INTERNAL, *self._workspace(mv_t))
                .order_by(mv_t.c.version)).all()
            version_tags: dict[int, dict] = defaultdict(dict)
            if self._has("model_version_tags"):
                for t in conn.execute(select(tag_t).where(and_(tag_t.c.name == name, *self._workspace(tag_t)))):
                    version_tags[t.version][t.key] = t.value or ""
        return [ModelVersionRecord(
            name=r.name, version=r.version, creation_timestamp=r.creation_time or 0,
            last_updated_timestamp=r.last_updated_time or r.creation_time or 0, current_stage=r.current_stage or "None",
            description=r.description, user_id=r.user_id, source=r.source, run_id=r.run_id or None,
            model_id=model_id_of_source(r.source), run_link=r.run_link, status=r.status or "READY",
            status_message=r.status_message, storage_location=r.storage_location,
            tags=version_tags.get(r.version, {}),
        ) for r in rows]


    def model_events(self, name: str) -> None:
        return None  # MLflow keeps no history: the loader records one ``imported`` event per version

    def version_manifest_digest(self, name: str, version: int) -> None:
        return None

