"""auth: failed sign-in attempts in the database, shared by every worker and server

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``auth_login_failures``: the failed-attempt limiter's counts (``--login-attempts-per-minute``) were
kept in each worker process's memory, so with N workers a username or an address got up to N times
the limit. With several workers by default (decision 0028) they live here: one row per attempt and
limited key (a SHA-256 of the user name or client address), deleted once out of the window.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_login_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_login_failures')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('auth_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_auth_login_failures_key_at', ['key', 'at'], unique=False)
        batch_op.create_index('ix_auth_login_failures_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_login_failures_at')
        batch_op.drop_index('ix_auth_login_failures_key_at')
    op.drop_table('auth_login_failures')
