"""identity and permissions: users, API tokens, groups, per-model grants and policies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

New tables only (``podium server --auth``; see docs/security.md): ``auth_users``, ``auth_tokens``
(prefix + SHA-256, never the token), ``auth_groups``, ``auth_group_members``, ``auth_model_grants``
(one user or one group per row; cascades with the model, user or group) and ``auth_model_policies``
(protected stages and aliases of a model). Existing tables are untouched.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_groups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_auth_groups_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('auth_users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_users')),
    sa.UniqueConstraint('name', name=op.f('uq_auth_users_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('auth_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['auth_groups.id'], name=op.f('fk_auth_group_members_group_id_auth_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['auth_users.id'], name=op.f('fk_auth_group_members_user_id_auth_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_auth_group_members')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('auth_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_auth_group_members_user', ['user_id'], unique=False)

    op.create_table('auth_model_grants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('permission', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (group_id IS NULL)', name='ck_auth_model_grants_one_principal'),
    sa.ForeignKeyConstraint(['group_id'], ['auth_groups.id'], name=op.f('fk_auth_model_grants_group_id_auth_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model'], ['registered_models.id'], name=op.f('fk_auth_model_grants_model_registered_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['auth_users.id'], name=op.f('fk_auth_model_grants_user_id_auth_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_model_grants')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('auth_model_grants', schema=None) as batch_op:
        batch_op.create_index('ix_auth_model_grants_group', ['group_id'], unique=False)
        batch_op.create_index('ix_auth_model_grants_model_group', ['model', 'group_id'], unique=True)
        batch_op.create_index('ix_auth_model_grants_model_user', ['model', 'user_id'], unique=True)
        batch_op.create_index('ix_auth_model_grants_user', ['user_id'], unique=False)

    op.create_table('auth_model_policies',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('protected_stages', sa.Text(), nullable=False),
    sa.Column('protected_aliases', sa.Text(), nullable=False),
    sa.Column('require_role', sa.String(length=16), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['registered_models.id'], name=op.f('fk_auth_model_policies_model_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', name=op.f('pk_auth_model_policies')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('auth_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=True),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=True),
    sa.Column('last_used_at', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['auth_users.id'], name=op.f('fk_auth_tokens_user_id_auth_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_tokens')),
    sa.UniqueConstraint('prefix', name=op.f('uq_auth_tokens_prefix')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_tokens_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    # dropping a table drops its indexes (MySQL refuses to drop an index a foreign key still needs)
    for table in ('auth_tokens', 'auth_model_policies', 'auth_model_grants', 'auth_group_members', 'auth_users',
                  'auth_groups'):
        op.drop_table(table)
