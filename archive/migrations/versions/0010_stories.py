"""stories: story clusters across outlets (issue 25). The sketch of each version, the
lookup index as rows (LSH bands and long-passage hashes, each with its article), the
clusters and their members, and the outbox that feeds the sketcher. Existing archives
put every version in the outbox here (one INSERT ... SELECT, no text read), so the next
`presswatch run` or `presswatch reindex` sketches them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_outbox")),
    )
    op.create_table(
        "story_sketches",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.Column("sketched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_story_sketches_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_story_sketches_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_story_sketches")),
    )
    with op.batch_alter_table("story_sketches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_story_sketches_article_id"), ["article_id"], unique=False
        )
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("band_key", "article_id", name=op.f("pk_story_bands")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "story_passages",
        sa.Column("passage_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("passage_key", "article_id", name=op.f("pk_story_passages")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_table(
        "story_members",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("shared", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_story_members_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_members_story_id_stories")
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_story_members")),
    )
    with op.batch_alter_table("story_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_members_story_id"), ["story_id"], unique=False)
    # Every version already archived waits for its sketch, queued as of when it was seen.
    op.execute(
        "INSERT INTO story_outbox (version_id, created_at) "
        "SELECT id, first_seen FROM versions ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table("story_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_members_story_id"))
    op.drop_table("story_members")
    op.drop_table("stories")
    op.drop_table("story_passages")
    op.drop_table("story_bands")
    with op.batch_alter_table("story_sketches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_sketches_article_id"))
    op.drop_table("story_sketches")
    op.drop_table("story_outbox")
