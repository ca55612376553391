"""approvals and policy gates: approval requests, their approvals, and policy approval settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

New tables (see ``podium/store/sql/approval_tables.py`` and docs/governance.md, "Approvals and
policy gates"): ``approval_requests`` (cascades with the version) and
``approval_request_approvals`` (primary key ``(request_id, approver)``: one approval per approver).
``auth_model_policies`` gains ``required_approvals`` (existing policies: 1), ``approvers`` and
``gates`` (JSON lists; NULL: none, so existing policies keep their meaning).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=10), nullable=False),
    sa.Column('target', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requester', sa.String(length=500), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('decided_at', sa.BigInteger(), nullable=True),
    sa.Column('decided_by', sa.String(length=500), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['model', 'version'], ['model_versions.model', 'model_versions.version'], name=op.f('fk_approval_requests_model_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.create_index('ix_approval_requests_model_status', ['model', 'status', 'id'], unique=False)

    op.create_table('approval_request_approvals',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('approver', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_request_approvals_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'approver', name=op.f('pk_approval_request_approvals')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('auth_model_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_approvals', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('approvers', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('gates', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_model_policies', schema=None) as batch_op:
        batch_op.drop_column('gates')
        batch_op.drop_column('approvers')
        batch_op.drop_column('required_approvals')
    op.drop_table('approval_request_approvals')
    op.drop_table('approval_requests')
