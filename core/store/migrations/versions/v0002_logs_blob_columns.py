"""logs.blob_sha256 / blob_size (the blob an IMAGE log shows) and an index on artifacts.sha256

Garbage collection and storage sizes read which blobs are referred to, and their sizes, in SQL.
Existing IMAGE logs get the columns filled from their JSON metadata.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:32.709886
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.create_index('ix_artifacts_sha256', ['sha256'], unique=False)

    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blob_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('blob_size', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_logs_blob_sha256'), ['blob_sha256'], unique=False)

    logs = sa.table('logs', sa.column('id'), sa.column('type'), sa.column('data'),
                    sa.column('blob_sha256'), sa.column('blob_size'))
    connection = op.get_bind()
    images = connection.execute(sa.select(logs.c.id, logs.c.data).where(logs.c.type == 'IMAGE')).all()
    for log_id, data in images:
        meta = json.loads(data)
        connection.execute(logs.update().where(logs.c.id == log_id)
                           .values(blob_sha256=meta['sha256'], blob_size=meta['size']))


def downgrade() -> None:
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_logs_blob_sha256'))
        batch_op.drop_column('blob_size')
        batch_op.drop_column('blob_sha256')

    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.drop_index('ix_artifacts_sha256')
