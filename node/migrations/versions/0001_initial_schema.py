"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 14:18:15.027586
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # (a submodule import, so that type checkers see it)
from alembic import op

from node.storage.models import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('secret_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('key_id')
    )
    op.create_table('audit_event',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('document',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('document_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('doc_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('doc_version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('parties', sa.Text(), nullable=False),
    sa.Column('signed_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('received_from', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('checks', sa.Text(), nullable=False),
    sa.Column('agreement_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('recognised_as', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('registry_version', sa.Integer(), nullable=True),
    sa.Column('mapped_json', sa.Text(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('direction', 'document_id', 'sha256', name='uq_document_dir_id_sha')
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_direction_created', ['direction', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_message_id'), ['message_id'], unique=False)

    op.create_table('inbound_message',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('envelope_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('envelope_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('receipt_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_sender'), ['sender'], unique=False)

    op.create_table('outbound_message',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('envelope_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('envelope_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('lease_until', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('receipt_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_message_peer'), ['peer'], unique=False)
        batch_op.create_index('ix_outbound_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('registry_state',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('registry_json', sa.Text(), nullable=False),
    sa.Column('installed_at', UTCDateTime(), nullable=False),
    sa.Column('installed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('delivery',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('document_pk', sa.Integer(), nullable=False),
    sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('agreement_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('recognised_as', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_pk'], ['document.pk'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('document_pk', 'peer', name='uq_delivery_doc_peer')
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_document_pk'), ['document_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_peer'), ['peer'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_state'))
        batch_op.drop_index(batch_op.f('ix_delivery_peer'))
        batch_op.drop_index(batch_op.f('ix_delivery_message_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_document_pk'))

    op.drop_table('delivery')
    op.drop_table('registry_state')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_state_next')
        batch_op.drop_index(batch_op.f('ix_outbound_message_peer'))

    op.drop_table('outbound_message')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_sender'))

    op.drop_table('inbound_message')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_message_id'))
        batch_op.drop_index(batch_op.f('ix_document_document_id'))
        batch_op.drop_index('ix_document_direction_created')

    op.drop_table('document')
    op.drop_table('audit_event')
    op.drop_table('api_key')
