"""notifications: subscriptions (`notify_subscriptions`), the notification outbox
(`notify_outbox`) and the cursor over change events that fills it (`notify_cursor`)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("min_significance", sa.Float(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("after_event_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", archive.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", archive.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", archive.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_notify_subscriptions_name")),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", archive.store.models.UTCDateTime(), nullable=True),
        sa.Column("sent_at", archive.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["notify_subscriptions.id"],
            name=op.f("fk_notify_outbox_subscription_id_notify_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint(
            "subscription_id", "event_id", name=op.f("uq_notify_outbox_subscription_id")
        ),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_outbox_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notify_outbox_subscription_id"), ["subscription_id"], unique=False
        )
    cursor = op.create_table(
        "notify_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_cursor")),
    )
    # The one cursor row exists from the start, so two first senders never race to
    # create it (subscriptions skip the events that predate them, so 0 reads nothing old).
    op.bulk_insert(cursor, [{"id": 1, "event_id": 0}])


def downgrade() -> None:
    op.drop_table("notify_cursor")
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_outbox_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_notify_outbox_state"))
    op.drop_table("notify_outbox")
    op.drop_table("notify_subscriptions")
