"""model_versions indexes for models with very many versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

* ``(model, current_stage, version)`` replaces ``(model, current_stage)``: the newest version in a
  stage is then one index probe (``get-latest-versions``, ``latest_versions`` of a model) instead of
  a read of every version of the model.
* ``(model, last_updated_timestamp, version)``: ``model-versions/search`` with ``name = 'X'`` in the
  default order (last_updated DESC, name, version DESC) reads one page of this index, and the next
  page starts at the keyset cursor.
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # create before drop: MySQL needs some index led by `model` for the foreign key at every moment
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_model_versions_model_stage_version', ['model', 'current_stage', 'version'],
                              unique=False)
        batch_op.create_index('ix_model_versions_model_last_updated', ['model', 'last_updated_timestamp', 'version'],
                              unique=False)
        batch_op.drop_index('ix_model_versions_stage')


def downgrade() -> None:
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_model_versions_stage', ['model', 'current_stage'], unique=False)
        batch_op.drop_index('ix_model_versions_model_last_updated')
        batch_op.drop_index('ix_model_versions_model_stage_version')
