"""renderings: one row per capture rendered in a browser (outcome, reason, where its
screenshot and rendered DOM are); the rendering itself is a capture in the log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renderings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("log_capture_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rendered_at", sa.DateTime(), nullable=False),
        sa.Column("warc_file", sa.Text(), nullable=True),
        sa.Column("screenshot_offset", sa.BigInteger(), nullable=True),
        sa.Column("screenshot_length", sa.BigInteger(), nullable=True),
        sa.Column("screenshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("dom_offset", sa.BigInteger(), nullable=True),
        sa.Column("dom_length", sa.BigInteger(), nullable=True),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_renderings_capture_id_captures")
        ),
        sa.ForeignKeyConstraint(
            ["log_capture_id"], ["captures.id"], name=op.f("fk_renderings_log_capture_id_captures")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_renderings_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renderings")),
        sa.UniqueConstraint("capture_id", name=op.f("uq_renderings_capture_id")),
        sa.UniqueConstraint("log_capture_id", name=op.f("uq_renderings_log_capture_id")),
    )
    with op.batch_alter_table("renderings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renderings_article_id"), ["article_id"])
        batch_op.create_index(batch_op.f("ix_renderings_version_id"), ["version_id"])


def downgrade() -> None:
    op.drop_table("renderings")
