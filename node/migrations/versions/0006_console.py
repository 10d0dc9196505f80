"""console: officers' reasons, and documents' reference numbers for search

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00

``document.decision_reason`` keeps an officer's reason on a held document it decided;
``delivery.peer_reason`` the reason a peer's officer sent back in a status-change notice;
``document.reference_numbers`` the numbers printed on a document (certificate, invoice,
UCR…), filled here for the documents already held.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from node.storage.references import reference_numbers

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reference_numbers", sa.Text(), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peer_reason", sa.Text(), nullable=True))
    connection = op.get_bind()
    document = sa.table("document", sa.column("pk", sa.Integer),
                        sa.column("signed_bytes", sa.LargeBinary),
                        sa.column("reference_numbers", sa.Text))
    last = 0
    while True:  # bounded: pk grows strictly, each batch moves past the last one
        rows = connection.execute(sa.select(document.c.pk, document.c.signed_bytes)
                                  .where(document.c.pk > last).order_by(document.c.pk)
                                  .limit(_BATCH)).all()
        if not rows:
            break
        for pk, signed in rows:
            numbers = reference_numbers(bytes(signed))
            if numbers is not None:
                connection.execute(sa.update(document).where(document.c.pk == pk)
                                   .values(reference_numbers=numbers))
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("peer_reason")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("reference_numbers")
        batch_op.drop_column("decision_reason")
