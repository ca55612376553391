"""MLflow 3 logged models in SQL: the part of ``SqlTrackingStore`` that stores them.

:class:`LoggedModelsMixin` is mixed into :class:`~podium.store.sql.tracking.SqlTrackingStore` (it
uses the store's ``db`` and ``_run_row``); ``_init_logged_models`` builds its prepared statements
and search target. A logged model's artifacts live at ``<experiment>/models/<model_id>/artifacts``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, delete, insert, select, update

from podium.domain.entities import LoggedModel, LoggedModelStatus, Metric, PagedList
from podium.domain.paging import decode_page_token, encode_page_token
from podium.domain.search import parse_filter
from podium.domain.search_ast import OrderKey
from podium.errors import InvalidParameterValue, ResourceDoesNotExist
from podium.store.sql.filters import KeyedTable, Target, compile_filter, compile_order_by
from podium.store.sql.prepared import Prepared, shared
from podium.store.sql.tables import experiments, logged_model_metrics, logged_model_params, logged_model_tags, logged_models
from podium.store.sql.tracking_common import (
    experiment_not_found,
    experiment_pk,
    from_db,
    join_location,
    key_values,
    now_ms,
    random_run_name,
    upsert,
)

__all__ = ["LoggedModelsMixin"]


def _find_logged_model(dialect) -> Prepared:
    lm = logged_models
    return Prepared(
        select(lm)
        .where(lm.c.source_run_id == bindparam("run_id"), lm.c.name == bindparam("name"), lm.c.lifecycle_stage == "active")
        .order_by(lm.c.creation_timestamp.desc())
        .limit(1),
        dialect,
    )


class LoggedModelsMixin:
    """Logged models: create, get, finalize, tags, params, delete, search, find by run and name."""

    def _init_logged_models(self, dialect: str) -> None:
        lm = logged_models
        # looked up for every version registered from runs:/<run>/<name>: compiled once, on the driver
        self._q_find_logged_model = shared(self.db.engine.dialect, "logged_models.find", _find_logged_model)
        self._logged_model_target = Target(
            attributes={
                "name": lm.c.name,
                "model_id": lm.c.model_id,
                "status": lm.c.status,
                "model_type": lm.c.model_type,
                "source_run_id": lm.c.source_run_id,
                "creation_timestamp": lm.c.creation_timestamp,
                "last_updated_timestamp": lm.c.last_updated_timestamp,
                "experiment_id": lm.c.experiment_id,
            },
            keyed={
                "metric": KeyedTable(logged_model_metrics, lambda t: t.c.model_id == lm.c.model_id),
                "param": KeyedTable(logged_model_params, lambda t: t.c.model_id == lm.c.model_id),
                "tag": KeyedTable(logged_model_tags, lambda t: t.c.model_id == lm.c.model_id),
            },
            dialect=dialect,
        )

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        name = name or random_run_name()
        now = now_ms()
        with self.db.write() as conn:
            exp = conn.execute(
                select(experiments).where(experiments.c.experiment_id == experiment_pk(experiment_id))
            ).first()
            if exp is None:
                raise experiment_not_found(experiment_id)
            if source_run_id is not None:
                self._run_row(conn, source_run_id)
            conn.execute(
                insert(logged_models).values(
                    model_id=model_id,
                    experiment_id=exp.experiment_id,
                    name=name,
                    artifact_location=join_location(exp.artifact_location, "models", model_id, "artifacts"),
                    status=LoggedModelStatus.PENDING,
                    model_type=model_type,
                    source_run_id=source_run_id,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    lifecycle_stage="active",
                )
            )
            if tags:
                conn.execute(insert(logged_model_tags), [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()])
            if params:
                conn.execute(
                    insert(logged_model_params), [{"model_id": model_id, "key": k, "value": v} for k, v in params.items()]
                )
            return self._logged_models(conn, [self._logged_model_row(conn, model_id)])[0]

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self.db.read() as conn:
            return self._logged_models(conn, [self._logged_model_row(conn, model_id)])[0]

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        if status not in LoggedModelStatus.ALL:
            raise InvalidParameterValue(f"Invalid logged model status '{status}'.")
        with self.db.write() as conn:
            self._logged_model_row(conn, model_id)
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(status=status, last_updated_timestamp=now_ms())
            )
            return self._logged_models(conn, [self._logged_model_row(conn, model_id)])[0]

    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> LoggedModel:
        with self.db.write() as conn:
            self._logged_model_row(conn, model_id)
            for key, value in tags.items():
                upsert(conn, logged_model_tags, {"model_id": model_id}, key, value)
            return self._logged_models(conn, [self._logged_model_row(conn, model_id)])[0]

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._logged_model_row(conn, model_id)
            t = logged_model_tags
            conn.execute(delete(t).where(t.c.model_id == model_id, t.c.key == key))

    def log_model_params(self, model_id: str, params: dict[str, str]) -> None:
        with self.db.write() as conn:
            self._logged_model_row(conn, model_id)
            for key, value in params.items():
                upsert(conn, logged_model_params, {"model_id": model_id}, key, value)

    def delete_logged_model(self, model_id: str) -> None:
        with self.db.write() as conn:
            self._logged_model_row(conn, model_id)
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(lifecycle_stage="deleted", last_updated_timestamp=now_ms())
            )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[OrderKey] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        lm = logged_models
        where = and_(
            lm.c.experiment_id.in_([experiment_pk(e) for e in experiment_ids]),
            lm.c.lifecycle_stage == "active",
            compile_filter(parse_filter(filter_string, "logged_models"), self._logged_model_target),
        )
        keys = list(order_by or []) or [OrderKey("attribute", "creation_timestamp", False)]
        keys.append(OrderKey("attribute", "model_id", True))
        offset = decode_page_token(page_token).get("offset", 0)
        query = (
            select(lm)
            .where(where)
            .order_by(*compile_order_by(keys, self._logged_model_target))
            .limit(max_results + 1)
            .offset(offset)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            token = encode_page_token({"offset": offset + max_results}) if len(rows) > max_results else None
            return PagedList(self._logged_models(conn, rows[:max_results]), token)

    def find_logged_model(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest logged model called ``name`` that ``run_id`` produced (``runs:/<run>/<name>``)."""
        with self.db.read() as conn:
            rows = self._q_find_logged_model.rows(conn, run_id=run_id, name=name)
            return self._logged_models(conn, rows[:1])[0] if rows else None

    def _logged_model_row(self, conn, model_id: str):
        row = conn.execute(select(logged_models).where(logged_models.c.model_id == model_id)).first()
        if row is None or row.lifecycle_stage != "active":
            raise ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")
        return row

    def _logged_models(self, conn, rows) -> list[LoggedModel]:
        if not rows:
            return []
        ids = {"m": [r.model_id for r in rows]}
        expanding = bindparam("m", expanding=True)
        tags = key_values(conn, logged_model_tags, "model_id", ids["m"])
        model_params = key_values(conn, logged_model_params, "model_id", ids["m"])
        model_metrics: dict[str, list[Metric]] = defaultdict(list)
        lmm = logged_model_metrics
        for m in conn.execute(
            select(lmm).where(lmm.c.model_id.in_(expanding)).order_by(lmm.c.key, lmm.c.step, lmm.c.timestamp), ids
        ):
            model_metrics[m.model_id].append(
                Metric(m.key, from_db(m.value), m.timestamp, m.step, m.model_id, m.run_id, m.dataset_name, m.dataset_digest)
            )
        return [
            LoggedModel(
                model_id=r.model_id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                creation_timestamp=r.creation_timestamp,
                last_updated_timestamp=r.last_updated_timestamp,
                status=r.status,
                model_type=r.model_type,
                source_run_id=r.source_run_id,
                status_message=r.status_message,
                tags=tags[r.model_id],
                params=model_params[r.model_id],
                metrics=tuple(model_metrics[r.model_id]),
            )
            for r in rows
        ]
