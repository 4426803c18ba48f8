"""backfill: the snapshots of public web archives that `presswatch backfill` planned,
and what became of each (`backfill_snapshots`); the pages Presswatch asked an archive
to save (`archive_saves`)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfill_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.String(length=14), nullable=False),
        sa.Column("snapshot_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=True),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("updated_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_id"],
            ["captures.id"],
            name=op.f("fk_backfill_snapshots_capture_id_captures"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_backfill_snapshots_source_id_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_snapshots")),
        sa.UniqueConstraint("key", name=op.f("uq_backfill_snapshots_key")),
    )
    with op.batch_alter_table("backfill_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backfill_snapshots_outcome"), ["outcome"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_backfill_snapshots_source_id"), ["source_id"], unique=False
        )

    op.create_table(
        "archive_saves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("requested_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("snapshot_url", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_archive_saves_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_archive_saves_capture_id_captures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_saves")),
        sa.UniqueConstraint("capture_id", name=op.f("uq_archive_saves_capture_id")),
    )
    with op.batch_alter_table("archive_saves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archive_saves_article_id"), ["article_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("archive_saves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_saves_article_id"))
    op.drop_table("archive_saves")
    with op.batch_alter_table("backfill_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backfill_snapshots_source_id"))
        batch_op.drop_index(batch_op.f("ix_backfill_snapshots_outcome"))
    op.drop_table("backfill_snapshots")
