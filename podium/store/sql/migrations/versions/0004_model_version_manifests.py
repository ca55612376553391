"""model version manifests: SHA-256 of every file of a version, and the locations they protect

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

New tables only (see ``podium/store/sql/manifest_tables.py`` and docs/governance.md, "Integrity"):
``model_version_manifests`` (one row per version: its storage location as a location key and that
key's SHA-256, indexed; the manifest digest, file count and bytes) and ``model_version_files`` (the
manifest's files: path, size, sha256). Both cascade with the version.

Existing versions get a row without a manifest (``digest`` NULL): their files were never hashed,
so loads warn instead of verifying, but their locations are protected from overwrites from now on.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_version_manifests',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('location_hash', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('file_count', sa.Integer(), nullable=True),
    sa.Column('total_bytes', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model', 'version'], ['model_versions.model', 'model_versions.version'], name=op.f('fk_model_version_manifests_model_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'version', name=op.f('pk_model_version_manifests')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    with op.batch_alter_table('model_version_manifests', schema=None) as batch_op:
        batch_op.create_index('ix_model_version_manifests_location_hash', ['location_hash'], unique=False)

    op.create_table('model_version_files',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['model', 'version'], ['model_version_manifests.model', 'model_version_manifests.version'], name=op.f('fk_model_version_files_model_model_version_manifests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'version', 'ordinal', name=op.f('pk_model_version_files')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_bin'
    )
    _protect_existing_versions()


def _protect_existing_versions() -> None:
    """A manifest row without a manifest for every existing version: its location is protected."""
    import time

    from podium.domain.manifests import location_hash, location_key

    conn = op.get_bind()
    versions = sa.table('model_versions', sa.column('model', sa.Integer), sa.column('version', sa.Integer),
                        sa.column('source', sa.Text), sa.column('storage_location', sa.Text))
    manifests = sa.table('model_version_manifests', sa.column('model', sa.Integer), sa.column('version', sa.Integer),
                         sa.column('location', sa.Text), sa.column('location_hash', sa.String),
                         sa.column('created_at', sa.BigInteger))
    now = int(time.time() * 1000)
    rows = conn.execute(sa.select(versions.c.model, versions.c.version, versions.c.storage_location,
                                  versions.c.source)).fetchall()
    batch = []
    for model, version, storage_location, source in rows:
        where = storage_location or source
        if not where:
            continue
        key = location_key(where)
        batch.append({"model": model, "version": version, "location": key, "location_hash": location_hash(key),
                      "created_at": now})
        if len(batch) >= 500:
            conn.execute(sa.insert(manifests), batch)
            batch = []
    if batch:
        conn.execute(sa.insert(manifests), batch)


def downgrade() -> None:
    op.drop_table('model_version_files')
    op.drop_table('model_version_manifests')
