"""evidence: where each capture came from (`origin`, `provenance`), the digest of its
request record (`request_length`, `request_sha256`), its transparency-log leaf (`leaf`,
`leaf_hash`), the log's compact range (`chain_head.frontier`), and the signed tree heads
(`log_checkpoints`)

Captures recorded before the log have no leaf yet: `presswatch init` seals them after
migrating (archive.log.legacy.seal_legacy_captures), once it has checked their old hash
chain, because leaves are computed by the application's code, not by SQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=20), server_default="crawl", nullable=False)
        )
        batch_op.add_column(sa.Column("provenance", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("leaf", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("request_length", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("request_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frontier", sa.JSON(), nullable=True))
    op.create_table(
        "log_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", archive.store.models.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("tsa_token", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoints")),
    )
    with op.batch_alter_table("log_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_log_checkpoints_tree_size"), ["tree_size"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("log_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_checkpoints_tree_size"))
    op.drop_table("log_checkpoints")
    with op.batch_alter_table("chain_head", schema=None) as batch_op:
        batch_op.drop_column("frontier")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("request_sha256")
        batch_op.drop_column("request_length")
        batch_op.drop_column("leaf")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("provenance")
        batch_op.drop_column("origin")
