"""The database schema, in SQLAlchemy Core. Alembic migrations create and change it.

Design notes:
- Registered models have a surrogate integer key, so a rename touches one row; versions, tags and
  aliases hang off that key.
- ``registered_models.last_version`` is the per-model version counter. A new version number is
  taken with ``UPDATE ... SET last_version = last_version + 1`` inside the creating transaction,
  which also locks the model row: numbers are unique and gap-free however many processes write,
  and never reused after a delete.
- Every search path has an index (see the ``Index`` lines). Tag filters are matched per candidate
  row through the tag tables' primary keys ``(owner, key)``; a registry tag equality
  (``tags.k = 'v'``) is looked up by ``(key, value)`` instead (:func:`_tag_value_index`, migration
  0011, decision 0023). Tag values are long texts, so that index holds the whole value only on
  SQLite: PostgreSQL's b-tree entries cannot exceed ~2.7 kB (it indexes ``md5(value)``) and
  MySQL/MariaDB's 3,072 bytes (they index the first 255 characters).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.mysql import MEDIUMTEXT

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Key and name columns are bounded so that MySQL can index them (utf8mb4, 3072-byte keys).
NAME = String(500)
KEY = String(250)
ID = String(64)
STAGE = String(20)
#: tag and param values: long texts (MLflow allows up to 100,000 characters for registry tags);
#: limits per entity are enforced in podium.domain.rules, not by the column
TAG_VALUE = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", STAGE, nullable=False, default="active"),
    Column("creation_time", BigInteger),
    Column("last_update_time", BigInteger),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("run_name", NAME),
    Column("user_id", NAME),
    Column("status", STAGE, nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("artifact_uri", Text),
    Column("lifecycle_stage", STAGE, nullable=False, default="active"),
    Column("deleted_time", BigInteger),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

#: every logged point (the history)
metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", KEY, nullable=False),
    Column("value", Double),  # NULL stands for NaN (SQLite and MySQL cannot store NaN)
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("model_id", ID),
    Column("dataset_name", NAME),
    Column("dataset_digest", String(64)),
    Index("ix_metrics_run_key_step", "run_id", "key", "step", "timestamp"),
)

#: the latest point per (run, key), for run data and metric search
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Double),  # NULL stands for NaN
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", ID, primary_key=True),
    Column("step", BigInteger, nullable=False, default=0),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ID, ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "dataset" | "model"
    Column("payload", Text, nullable=False),  # JSON
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", ID, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", NAME, nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", Text),
    Column("model_type", NAME),
    Column("source_run_id", ID),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("lifecycle_stage", STAGE, nullable=False, default="active"),
    Index("ix_logged_models_experiment_name", "experiment_id", "name"),
    Index("ix_logged_models_source_run", "source_run_id"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", ID, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", ID, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_id", ID, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("value", Double),  # NULL stands for NaN
    Column("run_id", ID),
    Column("dataset_name", NAME),
    Column("dataset_digest", String(64)),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("description", Text),
    Column("user_id", NAME),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("last_version", Integer, nullable=False, default=0),
    Index("ix_registered_models_last_updated", "last_updated_timestamp"),
    Index("ix_registered_models_creation", "creation_timestamp"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("model", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("current_stage", STAGE, nullable=False, default="None"),
    Column("description", Text),
    Column("user_id", NAME),
    Column("source", Text),
    Column("run_id", ID),
    Column("model_id", ID),
    Column("run_link", Text),
    Column("status", String(32), nullable=False, default="READY"),
    Column("status_message", Text),
    Column("storage_location", Text),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    # newest version per stage: max(version) for (model, stage) is one probe, however many versions
    Index("ix_model_versions_model_stage_version", "model", "current_stage", "version"),
    # a model's versions in the default search order (last_updated DESC, version DESC), paged by keyset
    Index("ix_model_versions_model_last_updated", "model", "last_updated_timestamp", "version"),
    Index("ix_model_versions_run", "run_id"),
    Index("ix_model_versions_last_updated", "last_updated_timestamp"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
    ForeignKeyConstraint(
        ["model", "version"], ["model_versions.model", "model_versions.version"], ondelete="CASCADE"
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("model", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", NAME, primary_key=True),
    Column("version", Integer, nullable=False),
)



#: how many leading characters of a tag value MySQL/MariaDB index (utf8mb4: 4 bytes each; with the
#: 250-character key, 2,028 of the 3,072 bytes an InnoDB index entry may have)
TAG_VALUE_PREFIX = 255


def _tag_value_index(table: Table, *owner: str) -> None:
    """``ix_<table>_key_value``: ``(key, value, *owner)``, the index a ``tags.k = 'v'`` search is
    answered from (``filters._value_equals`` writes the matching condition). One name, one shape per
    dialect: the whole value on SQLite, ``md5(value)`` on PostgreSQL, a prefix on MySQL/MariaDB.
    ``info["dialects"]`` tells the drift check which one a database should have."""
    name = f"ix_{table.name}_key_value"
    owners = [table.c[c] for c in owner]
    variants = (
        (("sqlite",), Index(name, table.c.key, table.c.value, *owners)),
        (("postgresql",), Index(name, table.c.key, func.md5(table.c.value), *owners)),
        (("mysql", "mariadb"), Index(name, table.c.key, table.c.value, *owners,
                                     mysql_length={"value": TAG_VALUE_PREFIX})),
    )
    for dialects, index in variants:
        index.info["dialects"] = dialects
        index.ddl_if(dialect=dialects)  # the columns attach it to the table


_tag_value_index(registered_model_tags, "model")
_tag_value_index(model_version_tags, "model", "version")

# MySQL/MariaDB: compare names, keys and values exactly as SQLite and PostgreSQL do (case- and
# accent-sensitive), whatever the server's default collation is.
for _table in metadata.tables.values():
    _table.kwargs.update(mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")

# identity and permission tables (users, tokens, groups, model grants and policies) live in their own module
from podium.store.sql import auth_tables as _auth_tables  # noqa: E402,F401
# integrity tables (version manifests and the locations they protect) live in their own module
from podium.store.sql import manifest_tables as _manifest_tables  # noqa: E402,F401
# the audit history (append-only registry events) lives in its own module
from podium.store.sql import event_tables as _event_tables  # noqa: E402,F401
# approval requests and their approvals live in their own module
from podium.store.sql import approval_tables as _approval_tables  # noqa: E402,F401
# webhooks and their delivery outbox live in their own module
from podium.store.sql import webhook_tables as _webhook_tables  # noqa: E402,F401
# garbage collection: pending artifact deletions, the purge history, the collector's lease
from podium.store.sql import gc_tables as _gc_tables  # noqa: E402,F401
# what imports have loaded (podium import-mlflow, podium import) lives in its own module
from podium.store.sql import import_tables as _import_tables  # noqa: E402,F401
