"""lifecycle: issuers' signed status statements (revocation, replacement); negotiations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:00:00

``document_status`` holds one signed status statement per document (issuer, id, digest),
issued here or received from a peer (see ``node.services.lifecycle``); ``negotiation`` the
agreements negotiated node to node (``node.services.negotiation``).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # (a submodule import, so that type checkers see it)
from alembic import op

from node.storage.models import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'document_status',
        sa.Column('pk', sa.Integer(), nullable=False),
        sa.Column('statement_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('document_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('document_sha256', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('effective_at', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('replacement_id', sqlmodel.sql.sqltypes.AutoString(length=128),
                  nullable=True),
        sa.Column('replacement_sha256', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=True),
        sa.Column('statement_bytes', sa.LargeBinary(), nullable=False),
        sa.Column('received_from', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('pk'),
        sa.UniqueConstraint('statement_id'),
        sa.UniqueConstraint('issuer', 'document_id', 'document_sha256',
                            name='uq_document_status_document'),
    )
    op.create_index('ix_document_status_document_id', 'document_status', ['document_id'],
                    unique=False)
    op.create_table(
        'negotiation',
        sa.Column('pk', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('partner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('side', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('proposal_bytes', sa.LargeBinary(), nullable=False),
        sa.Column('agreement_bytes', sa.LargeBinary(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('pk'),
        sa.UniqueConstraint('agreement_id', 'partner', name='uq_negotiation_agreement_partner'),
    )
    op.create_index('ix_negotiation_agreement_id', 'negotiation', ['agreement_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_negotiation_agreement_id', table_name='negotiation')
    op.drop_table('negotiation')
    op.drop_index('ix_document_status_document_id', table_name='document_status')
    op.drop_table('document_status')
