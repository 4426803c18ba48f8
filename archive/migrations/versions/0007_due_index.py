"""due index: the recheck planner reads articles by (next_check, id), so the index on
next_check alone becomes one on (next_check, id), and the one on source_id one on
(source_id, next_check) for the pass over some sources

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `due_articles` orders each of its two statements by (next_check, id); with the id
    # in the index PostgreSQL walks it in that order instead of sorting 100,000 due
    # rows (SQLite's index already ends with the rowid, so there it changes nothing).
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_next_check")
        batch_op.create_index("ix_articles_next_check_id", ["next_check", "id"], unique=False)
        # `recheck --source X`: that source's due articles without walking every due row.
        batch_op.drop_index("ix_articles_source_id")
        batch_op.create_index(
            "ix_articles_source_id_next_check", ["source_id", "next_check"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_source_id_next_check")
        batch_op.create_index("ix_articles_source_id", ["source_id"], unique=False)
        batch_op.drop_index("ix_articles_next_check_id")
        batch_op.create_index("ix_articles_next_check", ["next_check"], unique=False)
