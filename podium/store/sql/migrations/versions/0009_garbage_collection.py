"""garbage collection: pending artifact deletions, the purge history, the collector's lease

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

New tables only (see ``podium/store/sql/gc_tables.py`` and docs/operations.md):
``gc_pending_artifacts`` (locations whose files ``podium gc`` deletes once nothing refers to them),
``gc_purges`` (the append-only purge history) and ``gc_leases`` (one collector per database for the
server's scheduled collection). Versions deleted before the upgrade have no pending row: their files
normally lie in their run's or logged model's artifacts and go when that is purged.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql').with_variant(mysql.MEDIUMTEXT(), 'mariadb')
    op.create_table('gc_pending_artifacts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('model_key', sa.Integer(), nullable=True),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('deleted_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gc_pending_artifacts')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('gc_pending_artifacts', schema=None) as batch_op:
        batch_op.create_index('ix_gc_pending_artifacts_deleted_at', ['deleted_at'], unique=False)

    op.create_table('gc_purges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=500), nullable=True),
    sa.Column('detail', text, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gc_purges')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('gc_purges', schema=None) as batch_op:
        batch_op.create_index('ix_gc_purges_object', ['kind', 'object_id'], unique=False)

    op.create_table('gc_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=500), nullable=True),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('next_run_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gc_leases')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )


def downgrade() -> None:
    op.drop_table('gc_leases')
    op.drop_table('gc_purges')
    op.drop_table('gc_pending_artifacts')
