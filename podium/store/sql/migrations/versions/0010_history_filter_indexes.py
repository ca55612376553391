"""history: indexes that serve a model's events filtered by action or by version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

The model page's "serving now" panel, a version page's history and the history page's action
filter read a model's events by ``(model_key, action)`` or ``(model_key, version)``, newest first.
With only ``(model_key, id)`` each of those reads walked every event of the model: 60-78 ms of CPU
per page for a model with 100,000 versions (``bench/ui_pages.py``, decision 0018); with these two
indexes 3-10 ms, whatever the model's size.
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_registry_events_model_key_action_id', 'registry_events', ['model_key', 'action', 'id'])
    op.create_index('ix_registry_events_model_key_version_id', 'registry_events', ['model_key', 'version', 'id'])


def downgrade() -> None:
    op.drop_index('ix_registry_events_model_key_version_id', table_name='registry_events')
    op.drop_index('ix_registry_events_model_key_action_id', table_name='registry_events')
