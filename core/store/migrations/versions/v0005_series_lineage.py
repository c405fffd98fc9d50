"""series.lineage: a random token, new with a series row and at each rewind

Chart reads keep what they decoded of a series' full chunks under it (store/kept.py): full chunks
never change while the lineage stays. Existing series get one each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:20:00.000000
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lineage', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    series = sa.table('series', sa.column('id', sa.Integer), sa.column('lineage', sa.String))
    ids = [row.id for row in conn.execute(sa.select(series.c.id))]
    if ids:
        conn.execute(series.update().where(series.c.id == sa.bindparam('b_id')).values(lineage=sa.bindparam('b_lineage')),
                     [{'b_id': i, 'b_lineage': uuid.uuid4().hex} for i in ids])


def downgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('lineage')
