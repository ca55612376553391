"""registry events: the append-only audit history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

A new table only (see ``podium/store/sql/event_tables.py`` and docs/governance.md, "Audit
history"): ``registry_events``, one row per change of registry state, written in the transaction
of the change. Existing models and versions get no back-filled events: their history starts at the
upgrade (their current state is still what ``podium models at`` answers for later times).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql').with_variant(mysql.MEDIUMTEXT(), 'mariadb')
    op.create_table('registry_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('model_key', sa.Integer(), nullable=True),
    sa.Column('model_name', sa.String(length=500), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=250), nullable=True),
    sa.Column('actor', sa.String(length=500), nullable=True),
    sa.Column('actor_via', sa.String(length=20), nullable=True),
    sa.Column('before', text, nullable=True),
    sa.Column('after', text, nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('cause', sa.String(length=40), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_events')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('registry_events', schema=None) as batch_op:
        batch_op.create_index('ix_registry_events_model_key_id', ['model_key', 'id'], unique=False)
        batch_op.create_index('ix_registry_events_model_name_id', ['model_name', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('registry_events')
