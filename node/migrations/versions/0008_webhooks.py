"""webhooks: subscriptions and their durable outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:00:00

``webhook_subscription`` holds the callback URLs (ADR 0031); ``webhook_delivery`` one signed
notification per (event, subscription), sent with retries by the webhook worker.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from node.storage.models import UTCDateTime

revision = '0008'
# The lead re-chains this after the migrations merged before it (0006 is 0006_console.py).
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=128), nullable=True),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("subscription_id"),
    )
    op.create_index(op.f("ix_webhook_subscription_owner"), "webhook_subscription", ["owner"],
                    unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_pk", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_webhook_delivery_state_next", "webhook_delivery",
                    ["state", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_webhook_delivery_subscription_pk"), "webhook_delivery",
                    ["subscription_pk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_delivery_subscription_pk"), table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_state_next", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_subscription_owner"), table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
