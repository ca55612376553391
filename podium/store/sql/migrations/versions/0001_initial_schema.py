"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('experiment_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('artifact_location', sa.Text(), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=20), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=True),
    sa.Column('last_update_time', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('experiment_id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('name', name=op.f('uq_experiments_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('registered_models',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('user_id', sa.String(length=500), nullable=True),
    sa.Column('creation_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('last_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_models')),
    sa.UniqueConstraint('name', name=op.f('uq_registered_models_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.create_index('ix_registered_models_creation', ['creation_timestamp'], unique=False)
        batch_op.create_index('ix_registered_models_last_updated', ['last_updated_timestamp'], unique=False)

    op.create_table('experiment_tags',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_experiment_tags_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'key', name=op.f('pk_experiment_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('logged_models',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('artifact_location', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('model_type', sa.String(length=500), nullable=True),
    sa.Column('source_run_id', sa.String(length=64), nullable=True),
    sa.Column('creation_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_logged_models_experiment_id_experiments')),
    sa.PrimaryKeyConstraint('model_id', name=op.f('pk_logged_models')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('logged_models', schema=None) as batch_op:
        batch_op.create_index('ix_logged_models_experiment_name', ['experiment_id', 'name'], unique=False)
        batch_op.create_index('ix_logged_models_source_run', ['source_run_id'], unique=False)

    op.create_table('model_versions',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('current_stage', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('user_id', sa.String(length=500), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('model_id', sa.String(length=64), nullable=True),
    sa.Column('run_link', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('storage_location', sa.Text(), nullable=True),
    sa.Column('creation_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_timestamp', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['registered_models.id'], name=op.f('fk_model_versions_model_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'version', name=op.f('pk_model_versions')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_model_versions_last_updated', ['last_updated_timestamp'], unique=False)
        batch_op.create_index('ix_model_versions_run', ['run_id'], unique=False)
        batch_op.create_index('ix_model_versions_stage', ['model', 'current_stage'], unique=False)

    op.create_table('registered_model_aliases',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=500), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['registered_models.id'], name=op.f('fk_registered_model_aliases_model_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'alias', name=op.f('pk_registered_model_aliases')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('registered_model_tags',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['registered_models.id'], name=op.f('fk_registered_model_tags_model_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'key', name=op.f('pk_registered_model_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('run_name', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start_time', sa.BigInteger(), nullable=True),
    sa.Column('end_time', sa.BigInteger(), nullable=True),
    sa.Column('artifact_uri', sa.Text(), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=20), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_runs_experiment_id_experiments')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_runs')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_experiment_start', ['experiment_id', 'start_time'], unique=False)

    op.create_table('latest_metrics',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_latest_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_latest_metrics')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('latest_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_latest_metrics_key_value', ['key', 'value'], unique=False)

    op.create_table('logged_model_metrics',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('dataset_name', sa.String(length=500), nullable=True),
    sa.Column('dataset_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['logged_models.model_id'], name=op.f('fk_logged_model_metrics_model_id_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', 'step', 'timestamp', name=op.f('pk_logged_model_metrics')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('logged_model_params',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['logged_models.model_id'], name=op.f('fk_logged_model_params_model_id_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_logged_model_params')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('logged_model_tags',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['logged_models.model_id'], name=op.f('fk_logged_model_tags_model_id_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_logged_model_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('metrics',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=True),
    sa.Column('dataset_name', sa.String(length=500), nullable=True),
    sa.Column('dataset_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metrics')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.create_index('ix_metrics_run_key_step', ['run_id', 'key', 'step', 'timestamp'], unique=False)

    op.create_table('model_version_tags',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['model', 'version'], ['model_versions.model', 'model_versions.version'], name=op.f('fk_model_version_tags_model_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'version', 'key', name=op.f('pk_model_version_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('params',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_params_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_params')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('run_inputs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_run_inputs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_inputs')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('run_inputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_inputs_run_id'), ['run_id'], unique=False)

    op.create_table('run_outputs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_run_outputs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'model_id', name=op.f('pk_run_outputs')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    op.create_table('run_tags',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_run_tags_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_run_tags')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )


def downgrade() -> None:
    # dropping a table drops its indexes (MySQL refuses to drop an index a foreign key still needs)
    for table in (
        "run_tags", "run_outputs", "run_inputs", "params", "model_version_tags", "metrics",
        "logged_model_tags", "logged_model_params", "logged_model_metrics", "latest_metrics", "runs",
        "registered_model_tags", "registered_model_aliases", "model_versions", "logged_models",
        "experiment_tags", "registered_models", "experiments",
    ):
        op.drop_table(table)
