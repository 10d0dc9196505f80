"""titles: transferable records and their title entries

Revision ID: 0007
Revises: 0006_console
Create Date: 2026-12-01 20:00:00

``title_record`` holds a record this node issued or holds in custody; ``title_entry`` its
recorded entries, unique per ``(record, sequence)`` (the storage side of singularity).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # (a submodule import, so that type checkers see it)
from alembic import op

from node.storage.models import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'title_record',
        sa.Column('pk', sa.Integer(), nullable=False),
        sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('control_registry', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column('transport_document_reference', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column('bill_bytes', sa.LargeBinary(), nullable=False),
        sa.Column('bill_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('custodian', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('head', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('parties', sa.Text(), nullable=False),
        sa.Column('pending_entry', sa.LargeBinary(), nullable=True),
        sa.Column('last_refusal', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('pk'),
        sa.UniqueConstraint('record_id'),
        sa.UniqueConstraint('control_registry', 'transport_document_reference',
                            name='uq_title_registry_reference'),
    )
    with op.batch_alter_table('title_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_title_record_state'), ['state'], unique=False)
    op.create_table(
        'title_entry',
        sa.Column('pk', sa.Integer(), nullable=False),
        sa.Column('record_pk', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('entry_bytes', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['record_pk'], ['title_record.pk']),
        sa.PrimaryKeyConstraint('pk'),
        sa.UniqueConstraint('record_pk', 'sequence', name='uq_title_entry_sequence'),
    )
    with op.batch_alter_table('title_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_title_entry_record_pk'), ['record_pk'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('title_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_title_entry_record_pk'))
    op.drop_table('title_entry')
    with op.batch_alter_table('title_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_title_record_state'))
    op.drop_table('title_record')
