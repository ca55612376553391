"""imports: what an import has loaded (podium import-mlflow, podium import)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

New table ``imported_objects`` (see ``podium/store/sql/import_tables.py`` and decision 0019): one
row per object an import loaded, with the digest of the record, so an import run again skips what
is unchanged and resumes where it stopped.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imported_objects',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key_hash', name=op.f('pk_imported_objects')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )


def downgrade() -> None:
    op.drop_table('imported_objects')
