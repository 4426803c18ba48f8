"""search dead letters: articles the search backend refused too often leave the outbox
(`search_dead_letters`); outbox rows count refusals apart from other failed tries

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rejections", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "search_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("failed_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_dead_letters")),
    )
    with op.batch_alter_table("search_dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_dead_letters_article_id"), ["article_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("search_dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_dead_letters_article_id"))
    op.drop_table("search_dead_letters")
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.drop_column("rejections")
