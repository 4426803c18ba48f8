"""story events: `removed_together`, one per story and episode, with the removals it
names, and the outbox of articles whose story must be looked at again. Existing
archives queue every article that was ever removed, so the next `presswatch run` (or
`reindex`) finds the episodes already in the archive once the stories are sketched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("first_removed_at", sa.DateTime(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(), nullable=False),
        sa.Column("outlets", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_story_events_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_events")),
    )
    with op.batch_alter_table("story_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_events_article_id"), ["article_id"])
        batch_op.create_index(batch_op.f("ix_story_events_at"), ["at"])
        batch_op.create_index(batch_op.f("ix_story_events_kind"), ["kind"])
        batch_op.create_index(batch_op.f("ix_story_events_story_id"), ["story_id"])
    op.create_table(
        "story_event_removals",
        sa.Column("change_event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("story_event_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_event_id"],
            ["change_events.id"],
            name=op.f("fk_story_event_removals_change_event_id_change_events"),
        ),
        sa.ForeignKeyConstraint(
            ["story_event_id"],
            ["story_events.id"],
            name=op.f("fk_story_event_removals_story_event_id_story_events"),
        ),
        sa.PrimaryKeyConstraint("change_event_id", name=op.f("pk_story_event_removals")),
    )
    with op.batch_alter_table("story_event_removals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_event_removals_article_id"), ["article_id"])
        batch_op.create_index(
            batch_op.f("ix_story_event_removals_story_event_id"), ["story_event_id"]
        )
    op.create_table(
        "story_event_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_event_outbox")),
    )
    # Every article ever removed waits for a look at its story.
    op.execute(
        "INSERT INTO story_event_outbox (article_id, created_at) "
        "SELECT article_id, MAX(at) FROM change_events WHERE kind = 'removed' "
        "GROUP BY article_id ORDER BY article_id"
    )


def downgrade() -> None:
    op.drop_table("story_event_outbox")
    with op.batch_alter_table("story_event_removals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_event_removals_story_event_id"))
        batch_op.drop_index(batch_op.f("ix_story_event_removals_article_id"))
    op.drop_table("story_event_removals")
    with op.batch_alter_table("story_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_events_story_id"))
        batch_op.drop_index(batch_op.f("ix_story_events_kind"))
        batch_op.drop_index(batch_op.f("ix_story_events_at"))
        batch_op.drop_index(batch_op.f("ix_story_events_article_id"))
    op.drop_table("story_events")
