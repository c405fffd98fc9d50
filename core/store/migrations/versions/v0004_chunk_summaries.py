"""chunks.summary: per-chunk block summaries that charts of long series read instead of the points

NULL for the chunks already stored: the dashboard decodes those (store/summaries.py), and every
chunk an append or a rewind writes from now on has its summary.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('summary')
