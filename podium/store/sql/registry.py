"""``SqlRegistryStore``: registered models, versions, stages, tags and aliases in SQL.

Concurrency contract (holds on SQLite, PostgreSQL and MySQL, with any number of processes):
every write that touches a model first locks that model's row (``SELECT ... FOR UPDATE``; on SQLite
the ``BEGIN IMMEDIATE`` transaction already excludes other writers), so version numbers come out
unique and gap-free, and ``archive_existing_versions`` leaves exactly one version in the stage.
Listing is done in a fixed number of queries per page, never one query per row, and searches page by
keyset (see :mod:`podium.store.sql.keyset`): fetching page N costs what page 2 costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from podium import clock
from podium.domain.entities import STAGES, ModelVersion, PagedList, RegisteredModel
from podium.domain.paging import query_fingerprint
from podium.domain.search import parse_filter, parse_order_by
from podium.domain.search_ast import And, Comparison, Node, OrderKey
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.engine import Database
from podium.store.sql.events import record_event, record_events
from podium.store.sql.filters import KeyedTable, Target, compile_filter, tags_to_check
from podium.store.sql.gc import remember_version_files
from podium.store.sql.keyset import KeysetOrder, keyset_page
from podium.store.sql.manifests import insert_manifest
from podium.store.sql.prepared import Prepared, shared
from podium.store.sql.tables import (
    STAGE,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)

__all__ = ["SqlRegistryStore"]

rm = registered_models
mv = model_versions

_ACTIVE_STAGES = ("Staging", "Production")


#: distinct search requests whose compiled statement a store keeps (then it starts again)
SEARCHES_KEPT = 512


def now_ms() -> int:
    return clock.now_ms()


def _model_not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Registered Model with name={name} not found")


def _version_not_found(name: str, version: int) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")


class _Statements:
    """The store's frequent statements, compiled for one dialect: built once per dialect and shared by
    every store on it (:func:`~podium.store.sql.prepared.shared`; building them costs ~30 ms, and a
    process may open many stores, the test suite one per test)."""

    def __init__(self, dialect) -> None:
        t, a = model_version_tags, registered_model_aliases
        expanding_models = bindparam("m", expanding=True)
        # Rows of (model, version) pairs are read as "model IN (<literals>) AND version IN (<params>)" (the
        # cross product; callers pick their pairs). The model keys are rendered into the SQL: a prepared,
        # generic plan of "model IN ($1)" on PostgreSQL is planned for an average model and then probes
        # (model) only, filtering all of a big model's versions (225 ms for a page of a model with
        # 100,000 versions); with the keys in the text the planner knows the model's size and probes
        # (model, version). (Exact pair lists, "(model, version) IN (...)", cost ~3 ms of planning
        # for 300 pairs.)
        literal_models = bindparam("lm", expanding=True, literal_execute=True)
        versions = bindparam("v", expanding=True)
        # (the readers of many entities' rows are compiled once and run on the driver's cursor, their key
        # lists written in as integers per call: podium.store.sql.prepared)
        self.version_tags = Prepared(select(t).where(t.c.model.in_(literal_models), t.c.version.in_(versions)),
                                      dialect)
        self.aliases_of_models = Prepared(select(a).where(a.c.model.in_(expanding_models)).order_by(a.c.alias),
                                           dialect)
        self.model_tags = Prepared(
            select(registered_model_tags).where(registered_model_tags.c.model.in_(expanding_models)), dialect)
        # Latest version per (model, stage): one probe of the (model, current_stage, version) index per
        # pair, so a model with 100,000 versions costs what a model with 3 costs (a GROUP BY would read
        # every version of the model). The (model, version) keys come first, then the rows by primary
        # key: joined in one statement, PostgreSQL cannot estimate the computed keys and hash-joins a
        # scan of all model_versions (35 ms at 10k models).
        probe, newest = rm.alias("probe"), mv.alias("newest")
        stages = union_all(*(select(literal_column(f"'{s}'", STAGE).label("stage")) for s in STAGES)).subquery("stages")
        latest = (
            select(
                probe.c.id.label("model"),
                select(func.max(newest.c.version))
                .where(newest.c.model == probe.c.id, newest.c.current_stage == stages.c.stage)
                .scalar_subquery()
                .label("version"),
            )
            .select_from(probe.join(stages, true()))
            .where(probe.c.id.in_(expanding_models))
            .subquery("latest")
        )
        self.latest_version_keys = Prepared(
            select(latest.c.model, latest.c.version).where(latest.c.version.is_not(None)), dialect)
        owner_name = select(rm.c.name).where(rm.c.id == mv.c.model).scalar_subquery().label("name")
        self.versions_by_key = Prepared(
            select(mv, owner_name).where(mv.c.model.in_(literal_models), mv.c.version.in_(versions)), dialect)
        self._hot_reads(dialect)
        self._hot_writes(dialect)

    def _hot_reads(self, dialect) -> None:
        """The single-entity reads (get model, get version, by alias, latest versions), compiled once and
        run on the driver's cursor (:mod:`podium.store.sql.prepared`): two to four statements a read."""
        b, a, t, rt = bindparam, registered_model_aliases, model_version_tags, registered_model_tags
        versions = select(mv, rm.c.name).join(rm, rm.c.id == mv.c.model)
        self.model = Prepared(select(rm).where(rm.c.name == b("name")), dialect)
        self.model_by_key = Prepared(select(rm).where(rm.c.id == b("model")), dialect)
        self.version = Prepared(versions.where(rm.c.name == b("name"), mv.c.version == b("version")), dialect)
        self.version_by_key = Prepared(versions.where(mv.c.model == b("model"), mv.c.version == b("version")),
                                          dialect)
        self.version_by_alias = Prepared(
            versions.join(a, (a.c.model == mv.c.model) & (a.c.version == mv.c.version))
            .where(rm.c.name == b("name"), a.c.alias == b("alias")), dialect)
        # the newest version in each stage (one probe of (model, current_stage, version) per stage)
        newest, owner = mv.alias("newest"), rm.alias("owner")

        def latest(model_key):
            tops = [select(func.max(newest.c.version))
                    .where(newest.c.model == model_key, newest.c.current_stage == literal_column(f"'{stage}'"))
                    .scalar_subquery() for stage in STAGES]
            return versions.where(mv.c.model == model_key, mv.c.version.in_(tops))

        self.latest = Prepared(latest(select(owner.c.id).where(owner.c.name == b("name")).scalar_subquery()),
                                  dialect)
        self.latest_by_key = Prepared(latest(b("model")), dialect)
        # tags and aliases of up to len(STAGES) versions of one model (fewer: repeat one), in one statement
        few = [b(f"v{i}") for i in range(len(STAGES))]
        self.version_extras = Prepared(union_all(
            select(literal_column("'t'").label("kind"), t.c.version, t.c.key, t.c.value)
            .where(t.c.model == b("model"), t.c.version.in_(few)),
            select(literal_column("'a'"), a.c.version, a.c.alias, null()).where(a.c.model == b("model"),
                                                                                 a.c.version.in_(few)),
        ), dialect)
        # a model's tags and aliases, in one statement
        self.model_extras = Prepared(union_all(
            select(literal_column("'t'").label("kind"), rt.c.key, rt.c.value, null().label("version"))
            .where(rt.c.model == b("model")),
            select(literal_column("'a'"), a.c.alias, null(), a.c.version).where(a.c.model == b("model")),
        ), dialect)

    def _hot_writes(self, dialect) -> None:
        """The statements of the frequent writes (new version, transition, alias), compiled once."""
        b, a = bindparam, registered_model_aliases
        by_name = rm.c.name == b("name")
        self.bump = self.touch = None
        if dialect.update_returning:  # one statement takes the next number (or locks the model) and returns the key
            self.bump = Prepared(update(rm).where(by_name).values(
                last_version=rm.c.last_version + 1, last_updated_timestamp=b("now"))
                .returning(rm.c.id, rm.c.last_version), dialect)
            self.touch = Prepared(update(rm).where(by_name).values(last_updated_timestamp=b("now"))
                                     .returning(rm.c.id), dialect)
        self.insert_version = Prepared(insert(mv).inline().values({name: b(name) for name in (
            "model", "version", "current_stage", "description", "user_id", "source", "run_id", "model_id",
            "run_link", "status", "status_message", "storage_location", "creation_timestamp",
            "last_updated_timestamp")}), dialect)
        one = (mv.c.model == b("model")) & (mv.c.version == b("version"))
        self.version_exists = Prepared(select(mv.c.version).where(one), dialect)
        self.stages = Prepared(select(mv.c.version, mv.c.current_stage).where(
            mv.c.model == b("model"), or_(mv.c.version == b("version"), mv.c.current_stage == b("stage"))), dialect)
        self.move = Prepared(update(mv).where(one).values(
            current_stage=b("stage"), last_updated_timestamp=b("now")), dialect)
        self.archive = Prepared(update(mv).where(
            mv.c.model == b("model"), mv.c.current_stage == b("stage"), mv.c.version != b("version"))
            .values(current_stage="Archived", last_updated_timestamp=b("now")), dialect)
        alias = (a.c.model == b("model")) & (a.c.alias == b("alias"))
        self.alias = Prepared(select(a.c.version).where(alias), dialect)
        self.alias_delete = Prepared(delete(a).where(alias), dialect)
        self.alias_insert = Prepared(insert(a).inline().values(model=b("model"), alias=b("alias"),
                                                                  version=b("version")), dialect)


class SqlRegistryStore:
    """The model registry on a :class:`~podium.store.sql.engine.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._searches: dict[tuple, tuple[Prepared, object]] = {}  # see _search
        self._rm_target = Target(
            attributes={
                "name": rm.c.name,
                "creation_timestamp": rm.c.creation_timestamp,
                "last_updated_timestamp": rm.c.last_updated_timestamp,
                "description": rm.c.description,
            },
            keyed={"tag": KeyedTable(registered_model_tags, lambda t: t.c.model == rm.c.id,
                                     owner=lambda t: (rm.c.id, [t.c.model]))},
            dialect=db.dialect,
            indexed=frozenset({"name"}),
        )
        self._mv_target = Target(
            attributes={
                "name": rm.c.name,
                "version_number": mv.c.version,
                "run_id": mv.c.run_id,
                "source_path": mv.c.source,
                "current_stage": mv.c.current_stage,
                "creation_timestamp": mv.c.creation_timestamp,
                "last_updated_timestamp": mv.c.last_updated_timestamp,
                "model_id": mv.c.model_id,
                "description": mv.c.description,
            },
            keyed={
                "tag": KeyedTable(
                    model_version_tags,
                    lambda t: (t.c.model == mv.c.model) & (t.c.version == mv.c.version),
                    owner=lambda t: (tuple_(mv.c.model, mv.c.version), [t.c.model, t.c.version]),
                )
            },
            dialect=db.dialect,
            indexed=frozenset({"name"}),
        )
        self._q = shared(db.engine.dialect, "registry", _Statements)

    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        user_id: str | None = None,
    ) -> RegisteredModel:
        now = now_ms()
        try:
            with self.db.write() as conn:
                if conn.execute(select(rm.c.id).where(rm.c.name == name)).first():
                    raise ResourceAlreadyExists(f"Registered Model (name={name}) already exists.")
                model_pk = conn.execute(
                    insert(rm).values(
                        name=name,
                        description=description,
                        user_id=user_id,
                        creation_timestamp=now,
                        last_updated_timestamp=now,
                        last_version=0,
                    )
                ).inserted_primary_key[0]
                if tags:
                    conn.execute(
                        insert(registered_model_tags),
                        [{"model": model_pk, "key": k, "value": v} for k, v in tags.items()],
                    )
                record_event(conn, "model_created", model_pk, name, timestamp=now,
                             after=_present(description=description, tags=tags or None))
                return self._registered_model(conn, self._q.model_by_key.rows(conn, model=model_pk)[0])
        except IntegrityError:  # a concurrent writer on a non-SQLite backend got there first
            raise ResourceAlreadyExists(f"Registered Model (name={name}) already exists.") from None

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            rows = self._q.model.rows(conn, name=name)
            if not rows:
                raise _model_not_found(name)
            return self._registered_model(conn, rows[0])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        with self.db.write() as conn:
            row = self._rm_row(conn, name, lock=True)
            if new_name != name and conn.execute(select(rm.c.id).where(rm.c.name == new_name)).first():
                raise ResourceAlreadyExists(f"Registered Model (name={new_name}) already exists.")
            conn.execute(
                update(rm).where(rm.c.id == row.id).values(name=new_name, last_updated_timestamp=now_ms())
            )
            if new_name != name:
                record_event(conn, "model_renamed", row.id, new_name, before={"name": name}, after={"name": new_name})
            return self._registered_model(conn, self._q.model_by_key.rows(conn, model=row.id)[0])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self.db.write() as conn:
            row = self._rm_row(conn, name, lock=True)
            conn.execute(
                update(rm)
                .where(rm.c.id == row.id)
                .values(description=description, last_updated_timestamp=now_ms())
            )
            if (row.description or None) != (description or None):
                record_event(conn, "model_description_changed", row.id, name,
                             before=_present(description=row.description), after=_present(description=description))
            return self._registered_model(conn, self._q.model_by_key.rows(conn, model=row.id)[0])

    def delete_registered_model(self, name: str) -> None:
        with self.db.write() as conn:
            row = self._rm_row(conn, name, lock=True)
            versions = conn.execute(select(func.count()).select_from(mv).where(mv.c.model == row.id)).scalar()
            remember_version_files(conn, row.id)  # their files are collected by `podium gc`
            for table in (model_version_tags, registered_model_aliases, registered_model_tags, mv):
                conn.execute(delete(table).where(table.c.model == row.id))
            conn.execute(delete(rm).where(rm.c.id == row.id))
            record_event(conn, "model_deleted", row.id, name, before={"versions": versions})

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        def build():
            parsed = parse_filter(filter_string, "registered_models")
            where = compile_filter(parsed, self._rm_target, tags_to_check(conn, parsed, self._rm_target))
            keys = parse_order_by(order_by, "registered_models")
            if not any(k.kind == "attribute" and k.key == "name" for k in keys):
                keys.append(OrderKey("attribute", "name", True))  # unique: the keyset tiebreaker
            order = KeysetOrder(keys, self._rm_target)
            fingerprint = query_fingerprint("registered_models", parsed, keys)
            return keyset_page(select(rm).where(where), order, fingerprint, page_token, max_results)

        with self.db.read() as conn:
            rows, finish = self._search(conn, "models", filter_string, tuple(order_by or ()), max_results, page_token,
                                        build)
            rows, token = finish(rows)
            return PagedList(self._registered_models(conn, rows), token)

    def _search(self, conn, *key_and_build) -> tuple[Sequence, object]:
        """A search page's rows and its ``finish``. ``build()`` parses the filter and order and builds the
        Core statement; a request seen before (same text, same pinned model) reuses what it built, and
        from its second use runs it compiled once, on the driver's cursor (:class:`Prepared`, with its
        values): a dashboard or a client polling the same search skips ~0.5-1 ms of Python per call.
        A first request runs through SQLAlchemy, whose compiled cache already serves its shape. The
        entry depends only on the request, never on the rows: a hit is always correct."""
        *key, build = key_and_build
        key = tuple(key)
        found = self._searches.get(key)
        if found is None:
            query, finish = build()
            if len(self._searches) >= SEARCHES_KEPT:
                self._searches.clear()  # simple and thread-safe; a busy registry refills it in one round
            self._searches[key] = (query, finish)
            return conn.execute(query).all(), finish
        query, finish = found
        if not isinstance(query, Prepared):
            query = Prepared(query, self.db.engine.dialect, bound=True)
            self._searches[key] = (query, finish)
        return query.rows(conn), finish

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        wanted = list(stages) if stages else list(STAGES)
        with self.db.read() as conn:
            rows = [r for r in self._q.latest.rows(conn, name=name) if r.current_stage in wanted]
            if not rows:
                if not self._q.model.rows(conn, name=name):
                    raise _model_not_found(name)  # a model without versions is not an error
                return []
            by_stage = {v.current_stage: v for v in self._few_versions(conn, rows)}
            return [by_stage[s] for s in wanted if s in by_stage]

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            row = self._rm_row(conn, name, lock=True)
            t = registered_model_tags
            old = conn.execute(select(t.c.value).where(t.c.model == row.id, t.c.key == key)).scalar()
            conn.execute(delete(t).where(t.c.model == row.id, t.c.key == key))
            conn.execute(insert(t).values(model=row.id, key=key, value=value))
            if old != value:
                record_event(conn, "model_tag_set", row.id, name, target=key,
                             before=None if old is None else {"value": old}, after={"value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self.db.write() as conn:
            row = self._rm_row(conn, name, lock=True)
            t = registered_model_tags
            old = conn.execute(select(t.c.value).where(t.c.model == row.id, t.c.key == key)).scalar()
            if old is not None:
                conn.execute(delete(t).where(t.c.model == row.id, t.c.key == key))
                record_event(conn, "model_tag_deleted", row.id, name, target=key, before={"value": old})

    # ------------------------------------------------------------------ model versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
        storage_location: str | None = None,
        user_id: str | None = None,
        manifest=None,
    ) -> ModelVersion:
        now = now_ms()
        tags = dict(tags or {})
        with self.db.write() as conn:
            model_pk, version = self._next_version(conn, name, now)
            self._q.insert_version.run(
                conn, model=model_pk, version=version, current_stage="None", description=description,
                user_id=user_id, source=source, run_id=run_id, model_id=model_id, run_link=run_link,
                status="READY", status_message=None, storage_location=storage_location,
                creation_timestamp=now, last_updated_timestamp=now,
            )
            if tags:
                conn.execute(
                    insert(model_version_tags),
                    [{"model": model_pk, "version": version, "key": k, "value": v} for k, v in tags.items()],
                )
            # the version's manifest (podium.store.sql.manifests), in the same transaction
            insert_manifest(conn, model_pk, version, storage_location or source, manifest, now)
            record_event(conn, "version_created", model_pk, name, version=version, timestamp=now,
                         after=_present(stage="None", source=source, run_id=run_id, model_id=model_id,
                                        user_id=user_id), webhook={"tags": tags, "description": description})
        return ModelVersion(
            name=name,
            version=version,
            creation_timestamp=now,
            last_updated_timestamp=now,
            description=description,
            user_id=user_id,
            source=source,
            run_id=run_id,
            run_link=run_link,
            model_id=model_id,
            tags=tags,
            storage_location=storage_location,
        )

    def _next_version(self, conn, name: str, now: int) -> tuple[int, int]:
        """Take the model's next version number inside this transaction (and lock the model row)."""
        if self._q.bump is not None:
            rows = self._q.bump.rows(conn, name=name, now=now)
            if not rows:
                raise _model_not_found(name)
            return rows[0].id, rows[0].last_version
        bump = (
            update(rm)
            .where(rm.c.name == name)
            .values(last_version=rm.c.last_version + 1, last_updated_timestamp=now)
        )
        model_pk = self.lock_model(conn, name, now)
        conn.execute(bump)
        return model_pk, conn.execute(select(rm.c.last_version).where(rm.c.id == model_pk)).scalar_one()

    def lock_model(self, conn, name: str, now: int, missing: Exception | None = None) -> int:
        """Lock the model's row until commit and mark it updated; returns its key.

        Every write to a model's versions, tags or aliases goes through here first, so writers to one
        model queue up (a row lock on PostgreSQL/MySQL, the write lock on SQLite).
        """
        if self._q.touch is not None:
            rows = self._q.touch.rows(conn, name=name, now=now)
            if not rows:
                raise missing or _model_not_found(name)
            return rows[0].id
        row = conn.execute(select(rm.c.id).where(rm.c.name == name).with_for_update()).first()
        if row is None:
            raise missing or _model_not_found(name)
        conn.execute(update(rm).where(rm.c.id == row.id).values(last_updated_timestamp=now))
        return row.id

    def _require_version(self, conn, model_pk: int, name: str, version: int) -> None:
        if not self._q.version_exists.rows(conn, model=model_pk, version=version):
            raise _version_not_found(name, version)

    def _version(self, conn, model_pk: int, version: int) -> ModelVersion:
        return self._few_versions(conn, self._q.version_by_key.rows(conn, model=model_pk, version=version))[0]

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            rows = self._q.version.rows(conn, name=name, version=version)
            if not rows:
                raise _version_not_found(name, version)
            return self._few_versions(conn, rows)[0]

    def get_model_versions(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]:
        """The versions named by ``(model name, version)`` pairs, those that exist, in three
        statements per 500 pairs (a page of approval requests: not one read per version)."""
        wanted = sorted({(name, int(version)) for name, version in keys})
        out: dict[tuple[str, int], ModelVersion] = {}
        with self.db.read() as conn:
            for start in range(0, len(wanted), 500):
                chunk = set(wanted[start:start + 500])
                query = (select(mv, rm.c.name).join(rm, rm.c.id == mv.c.model)
                         .where(rm.c.name.in_(sorted({n for n, _ in chunk})),
                                mv.c.version.in_(sorted({v for _, v in chunk}))))
                rows = [r for r in conn.execute(query) if (r.name, r.version) in chunk]
                out.update({(e.name, int(e.version)): e for e in self._model_versions(conn, rows)})
        return out

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        now = now_ms()
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now, _version_not_found(name, version))
            old = conn.execute(
                select(mv.c.description).where(mv.c.model == model_pk, mv.c.version == version)
            ).first()
            if old is None:
                raise _version_not_found(name, version)
            conn.execute(
                update(mv)
                .where(mv.c.model == model_pk, mv.c.version == version)
                .values(description=description, last_updated_timestamp=now)
            )
            if (old.description or None) != (description or None):
                record_event(conn, "version_description_changed", model_pk, name, version=version, timestamp=now,
                             before=_present(description=old.description), after=_present(description=description))
            return self._version(conn, model_pk, version)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self.transition_reporting_aliases(name, version, stage, archive_existing_versions)[0]

    def transition_reporting_aliases(
        self, name: str, version: int, stage: str, archive_existing_versions: bool = False
    ) -> tuple[ModelVersion, dict[str, int]]:
        """The transition, and the aliases (alias -> version) left on versions it newly archived, read in
        its transaction (only when it archived one), for the service's warnings."""
        if archive_existing_versions and stage not in _ACTIVE_STAGES:
            raise InvalidParameterValue(
                f"Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {', '.join(_ACTIVE_STAGES)}."
            )
        now = now_ms()
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now, _version_not_found(name, version))
            archived = self.apply_transition(conn, model_pk, name, version, stage, archive_existing_versions, now)
            aliases = {}
            if archived:
                aliases = {r.alias: r.version for r in self._q.aliases_of_models.rows(conn, m=[model_pk])
                           if r.version in archived}
            return self._version(conn, model_pk, version), aliases

    def apply_transition(self, conn, model_pk: int, name: str, version: int, stage: str,
                         archive_existing_versions: bool, now: int | None = None) -> set[int]:
        """Move ``version`` into ``stage`` (archiving the stage's other versions if asked) and record it,
        inside the caller's transaction, which has locked the model (:meth:`lock_model`); the versions it
        moved into Archived from another stage."""
        now = now if now is not None else now_ms()
        # the version, and the stage's current holders (read always: one statement either way)
        before = dict(self._q.stages.rows(conn, model=model_pk, version=version, stage=stage))
        if version not in before:
            raise _version_not_found(name, version)  # rolls back: nothing changed
        self._q.move.run(conn, model=model_pk, version=version, stage=stage, now=now)
        archived = sorted(v for v, s in before.items() if v != version and s == stage) if archive_existing_versions else []
        if archived:
            self._q.archive.run(conn, model=model_pk, version=version, stage=stage, now=now)
        events = []
        if before[version] != stage:
            events.append(("stage_transitioned", model_pk, name, {
                "version": version, "target": stage, "timestamp": now,
                "before": {"stage": before[version]}, "after": {"stage": stage}}))
        for v in archived:
            events.append(("stage_transitioned", model_pk, name, {
                "version": v, "target": "Archived", "timestamp": now, "cause": "archive_existing_versions",
                "before": {"stage": stage}, "after": {"stage": "Archived", "replaced_by": version}}))
        record_events(conn, events)
        newly_archived = set(archived)
        if stage == "Archived" and before[version] != "Archived":
            newly_archived.add(version)
        return newly_archived

    def delete_model_version(self, name: str, version: int) -> None:
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now_ms(), _version_not_found(name, version))
            t, a = model_version_tags, registered_model_aliases
            stage = conn.execute(
                select(mv.c.current_stage).where(mv.c.model == model_pk, mv.c.version == version)
            ).scalar()
            if stage is None:
                raise _version_not_found(name, version)
            remember_version_files(conn, model_pk, version)  # its files are collected by `podium gc`
            aliases = conn.execute(
                select(a.c.alias).where(a.c.model == model_pk, a.c.version == version).order_by(a.c.alias)
            ).scalars().all()
            conn.execute(delete(t).where(t.c.model == model_pk, t.c.version == version))
            conn.execute(delete(a).where(a.c.model == model_pk, a.c.version == version))
            conn.execute(delete(mv).where(mv.c.model == model_pk, mv.c.version == version))
            record_events(conn, [
                ("version_deleted", model_pk, name, {"version": version,
                                                     "before": _present(stage=stage, aliases=list(aliases) or None)}),
                *(("alias_deleted", model_pk, name, {"version": version, "target": alias, "cause": "version_deleted",
                                                     "before": {"version": version}}) for alias in aliases),
            ])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        parsed = parse_filter(filter_string, "model_versions")

        def build(model_pk: int | None):
            where = compile_filter(parsed, self._mv_target, tags_to_check(conn, parsed, self._mv_target))
            keys = parse_order_by(order_by, "model_versions") or [
                OrderKey("attribute", "last_updated_timestamp", False)
            ]
            # (name, version) is unique: the keyset tiebreaker
            for tiebreak in (OrderKey("attribute", "name", True), OrderKey("attribute", "version_number", False)):
                if not any(k.kind == "attribute" and k.key == tiebreak.key for k in keys):
                    keys.append(tiebreak)
            order = KeysetOrder(keys, self._mv_target)
            fingerprint = query_fingerprint("model_versions", parsed, keys)
            query = select(mv, rm.c.name).join(rm, rm.c.id == mv.c.model).where(where)
            if model_pk is not None:
                # The filter pins one model. Naming its key as a literal (redundant with the filter)
                # lets the planner see how many versions it has (PostgreSQL's most-common-values
                # statistics), so a big model is read in order from (model, last_updated_timestamp,
                # version) and the scan stops after one page, instead of sorting all its versions. A
                # bound parameter or a sub-select would be planned as an average-sized model.
                query = query.where(mv.c.model == literal(model_pk, literal_execute=True))
            return keyset_page(query, order, fingerprint, page_token, max_results)

        name = _name_equals(parsed)
        with self.db.read() as conn:
            model_pk = None
            if name is not None:
                found = self._q.model.rows(conn, name=name)
                if not found:
                    return PagedList([], None)
                model_pk = found[0].id
            rows, finish = self._search(conn, "versions", filter_string, tuple(order_by or ()), max_results,
                                        page_token, model_pk, lambda: build(model_pk))
            rows, token = finish(rows)
            return PagedList(self._model_versions(conn, rows), token)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now_ms(), _version_not_found(name, version))
            self._require_version(conn, model_pk, name, version)
            t = model_version_tags
            mine = (t.c.model == model_pk) & (t.c.version == version) & (t.c.key == key)
            old = conn.execute(select(t.c.value).where(mine)).scalar()
            conn.execute(delete(t).where(mine))
            conn.execute(insert(t).values(model=model_pk, version=version, key=key, value=value))
            if old != value:
                record_event(conn, "version_tag_set", model_pk, name, version=version, target=key,
                             before=None if old is None else {"value": old}, after={"value": value})

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now_ms(), _version_not_found(name, version))
            self._require_version(conn, model_pk, name, version)
            t = model_version_tags
            mine = (t.c.model == model_pk) & (t.c.version == version) & (t.c.key == key)
            old = conn.execute(select(t.c.value).where(mine)).scalar()
            if old is not None:
                conn.execute(delete(t).where(mine))
                record_event(conn, "version_tag_deleted", model_pk, name, version=version, target=key,
                             before={"value": old})

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now_ms())
            self.apply_alias(conn, model_pk, name, alias, version)

    def apply_alias(self, conn, model_pk: int, name: str, alias: str, version: int | None) -> None:
        """Point ``alias`` at ``version`` (``None``: delete it) and record it, inside the caller's
        transaction, which has locked the model (:meth:`lock_model`)."""
        if version is not None:
            self._require_version(conn, model_pk, name, version)
        held = self._q.alias.rows(conn, model=model_pk, alias=alias)
        old = held[0].version if held else None
        if old == version:
            return
        self._q.alias_delete.run(conn, model=model_pk, alias=alias)
        if version is None:
            record_event(conn, "alias_deleted", model_pk, name, version=old, target=alias, before={"version": old})
            return
        self._q.alias_insert.run(conn, model=model_pk, alias=alias, version=version)
        record_event(conn, "alias_set", model_pk, name, version=version, target=alias,
                     before=None if old is None else {"version": old}, after={"version": version})

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        with self.db.write() as conn:
            model_pk = self.lock_model(conn, name, now_ms())
            self.apply_alias(conn, model_pk, name, alias, None)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            rows = self._q.version_by_alias.rows(conn, name=name, alias=alias)
            if not rows:
                if not self._q.model.rows(conn, name=name):
                    raise _model_not_found(name)
                raise InvalidParameterValue(f"Registered model alias {alias} not found.")
            return self._few_versions(conn, rows)[0]

    # ------------------------------------------------------------------ row loading
    def _rm_row(self, conn, name: str, *, lock: bool = False, missing: Exception | None = None):
        query = select(rm).where(rm.c.name == name)
        if lock and self.db.dialect != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise missing or _model_not_found(name)
        return row

    def _few_versions(self, conn, rows: Sequence) -> list[ModelVersion]:
        """Entities for up to ``len(STAGES)`` version rows of one model: tags and aliases in one statement."""
        if not rows:
            return []
        keys = [r.version for r in rows]
        keys += keys[-1:] * (len(STAGES) - len(keys))
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, list[str]] = defaultdict(list)
        params = {f"v{i}": v for i, v in enumerate(keys)}
        for kind, version, key, value in self._q.version_extras.rows(conn, model=rows[0].model, **params):
            if kind == "t":
                tags[version][key] = value
            else:
                aliases[version].append(key)
        return [_version_entity(r, tags.get(r.version, {}), sorted(aliases.get(r.version, ()))) for r in rows]

    def _registered_model(self, conn, row) -> RegisteredModel:
        """The entity of one model row: its tags and aliases, latest versions and their tags (3 statements)."""
        tags: dict[str, str] = {}
        aliases: list[tuple[str, int]] = []
        for kind, key, value, version in self._q.model_extras.rows(conn, model=row.id):
            if kind == "t":
                tags[key] = value
            else:
                aliases.append((key, version))
        latest = self._few_versions(conn, self._q.latest_by_key.rows(conn, model=row.id))
        return _model_entity(row, latest, tags, dict(sorted(aliases)))

    def _model_versions(self, conn, rows: Sequence, aliases: dict | None = None) -> list[ModelVersion]:
        """Entities for version rows (with ``name``): tags and aliases in two queries per 500 rows.

        ``aliases`` ((model, version) -> [alias]) may be passed in by a caller that already has them.
        """
        if not rows:
            return []
        tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        fetch_aliases = aliases is None
        aliases = defaultdict(list) if aliases is None else aliases
        for chunk in _chunks(rows):
            models = sorted({r.model for r in chunk})
            for tr in self._q.version_tags.rows(conn, **_key_params({(r.model, r.version) for r in chunk})):
                tags[(tr.model, tr.version)][tr.key] = tr.value
            if fetch_aliases:
                for ar in self._q.aliases_of_models.rows(conn, m=models):
                    aliases[(ar.model, ar.version)].append(ar.alias)
        return [_version_entity(r, tags.get((r.model, r.version), {}), aliases.get((r.model, r.version), []))
                for r in rows]

    def _registered_models(self, conn, rows: Sequence) -> list[RegisteredModel]:
        """Entities for model rows, with tags, aliases and latest version per stage: 5 queries per 500."""
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, dict[str, int]] = defaultdict(dict)
        version_aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
        latest_by_model: dict[int, list[ModelVersion]] = defaultdict(list)
        for chunk in _chunks(rows):
            ids = [r.id for r in chunk]
            for tr in self._q.model_tags.rows(conn, m=ids):
                tags[tr.model][tr.key] = tr.value
            for ar in self._q.aliases_of_models.rows(conn, m=ids):
                aliases[ar.model][ar.alias] = ar.version
                version_aliases[(ar.model, ar.version)].append(ar.alias)
            keys = {(k.model, k.version) for k in self._q.latest_version_keys.rows(conn, m=ids)}
            version_rows = [
                row for row in self._q.versions_by_key.rows(conn, **_key_params(keys))
                if (row.model, row.version) in keys
            ] if keys else []
            for vrow, version in zip(version_rows, self._model_versions(conn, version_rows, version_aliases)):
                latest_by_model[vrow.model].append(version)
        return [_model_entity(r, latest_by_model[r.id], tags[r.id], aliases[r.id]) for r in rows]


def _present(**fields) -> dict | None:
    """``fields`` without the unset (``None``) ones; ``None`` when nothing is left."""
    kept = {k: v for k, v in fields.items() if v is not None}
    return kept or None


def _key_params(keys) -> dict:
    """Parameters of the (model, version) row readers for a set of pairs."""
    return {"lm": sorted({m for m, _ in keys}), "v": sorted({v for _, v in keys})}


def _chunks(rows: Sequence, size: int = 500):
    """Slices of at most ``size``: keeps every IN (...) list far below any backend's parameter limit."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _model_entity(row, latest: list[ModelVersion], tags: dict[str, str], aliases: dict[str, int]) -> RegisteredModel:
    return RegisteredModel(
        name=row.name,
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        description=row.description,
        user_id=row.user_id,
        latest_versions=sorted(latest, key=lambda v: STAGES.index(v.current_stage)),
        tags=tags,
        aliases=aliases,
    )


def _version_entity(row, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        current_stage=row.current_stage,
        description=row.description,
        user_id=row.user_id,
        source=row.source,
        run_id=row.run_id,
        status=row.status,
        status_message=row.status_message,
        run_link=row.run_link,
        model_id=row.model_id,
        tags=dict(tags),
        aliases=list(aliases),
        storage_location=row.storage_location,
    )


def _name_equals(node: Node | None) -> str | None:
    """The X of a top-level ``name = 'X'`` conjunct of a filter, if there is one."""
    items = node.items if isinstance(node, And) else (node,)
    for item in items:
        if (
            isinstance(item, Comparison)
            and item.kind == "attribute"
            and item.key == "name"
            and item.op == "="
            and isinstance(item.value, str)
        ):
            return item.value
    return None
