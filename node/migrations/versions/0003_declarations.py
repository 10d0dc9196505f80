"""declarations: the single-declaration flow, and outbound messages linked to a flow

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:47:38.666579
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # (a submodule import, so that type checkers see it)
from alembic import op

from node.storage.models import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('declaration',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('declaration_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('exporting_authority', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('importing_authority', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('parties', sa.Text(), nullable=False),
    sa.Column('ucr', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('export_decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('export_reasons', sa.Text(), nullable=False),
    sa.Column('export_findings', sa.Text(), nullable=False),
    sa.Column('export_decided_at', UTCDateTime(), nullable=True),
    sa.Column('import_decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('import_reasons', sa.Text(), nullable=False),
    sa.Column('import_findings', sa.Text(), nullable=False),
    sa.Column('import_decided_at', UTCDateTime(), nullable=True),
    sa.Column('preference', sa.Text(), nullable=True),
    sa.Column('import_declaration_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('side', 'exporting_authority', 'declaration_id',
                        name='uq_declaration_side_exporter_id')
    )
    with op.batch_alter_table('declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declaration_declaration_id'), ['declaration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_declaration_state'), ['state'], unique=False)

    op.create_table('declaration_document',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('declaration_pk', sa.Integer(), nullable=False),
    sa.Column('document_pk', sa.Integer(), nullable=False),
    sa.Column('part', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('recognition', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['declaration_pk'], ['declaration.pk'], ),
    sa.ForeignKeyConstraint(['document_pk'], ['document.pk'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('declaration_pk', 'document_pk', name='uq_declaration_document')
    )
    with op.batch_alter_table('declaration_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declaration_document_declaration_pk'),
                              ['declaration_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_declaration_document_document_pk'), ['document_pk'],
                              unique=False)

    op.create_table('declaration_event',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('declaration_pk', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['declaration_pk'], ['declaration.pk'], ),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('declaration_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declaration_event_declaration_pk'), ['declaration_pk'],
                              unique=False)

    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flow_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbound_message_flow_ref'), ['flow_ref'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_message_flow_ref'))
        batch_op.drop_column('flow_ref')

    with op.batch_alter_table('declaration_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declaration_event_declaration_pk'))

    op.drop_table('declaration_event')
    with op.batch_alter_table('declaration_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declaration_document_document_pk'))
        batch_op.drop_index(batch_op.f('ix_declaration_document_declaration_pk'))

    op.drop_table('declaration_document')
    with op.batch_alter_table('declaration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declaration_state'))
        batch_op.drop_index(batch_op.f('ix_declaration_declaration_id'))

    op.drop_table('declaration')
