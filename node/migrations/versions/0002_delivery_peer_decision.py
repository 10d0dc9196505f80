"""delivery peer decision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:57:34.855574
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from node.storage.models import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('peer_decided_at', UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('peer_decided_at')

