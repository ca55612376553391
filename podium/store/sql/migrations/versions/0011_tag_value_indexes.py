"""search: indexes that answer ``tags.k = 'v'`` on registered models and model versions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A registry search filtered by ``tags.k = 'v'`` checked the tag of every candidate model (or
version) through the tag table's primary key ``(owner, key)``: on SQLite a scan of all models in
the search's order, 147-284 ms at 100,000 models against 2.5-3.4 ms at 1,000 (``bench/tag_search.py``).
``ix_<table>_key_value`` finds the matching rows directly; the search asks for them as
``owner IN (SELECT owner ... WHERE key = ? AND value = ?)`` (decision 0023).

Tag values are long texts (MEDIUMTEXT on MySQL), so the index's value part differs per dialect
(``tables._tag_value_index``): the whole value on SQLite (no entry size limit), ``md5(value)`` on
PostgreSQL (b-tree entries are limited to ~2.7 kB), the first 255 characters on MySQL/MariaDB
(3,072-byte index entries).
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_TABLES = (('registered_model_tags', ['model']), ('model_version_tags', ['model', 'version']))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, owner in _TABLES:
        name = f'ix_{table}_key_value'
        if dialect == 'postgresql':
            op.create_index(name, table, ['key', sa.text('md5(value)'), *owner])
        elif dialect in ('mysql', 'mariadb'):
            op.create_index(name, table, ['key', 'value', *owner], mysql_length={'value': 255})
        else:
            op.create_index(name, table, ['key', 'value', *owner])


def downgrade() -> None:
    for table, _owner in reversed(_TABLES):
        op.drop_index(f'ix_{table}_key_value', table_name=table)
