"""edit significance: a column on change_events so lists filter and sort edits by how
much they matter; existing edits get their score computed from their two versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:15:00.000000
"""

from __future__ import annotations

import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from archive.content.diff import VersionSide
from archive.content.editclass import judge_edit

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("significance", sa.Float(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_change_events_significance"), ["significance"], unique=False
        )
    _backfill()


def _side(row: sa.Row[Any]) -> VersionSide:
    text = zlib.decompress(row.text_z).decode("utf-8")
    return VersionSide(row.title, row.byline, row.published, row.modified, text, "")


def _backfill() -> None:
    """Score the edits recorded before this migration, a batch at a time (the same
    function capture uses, so old and new events agree)."""
    bind = op.get_bind()
    versions = sa.text(
        "SELECT title, byline, published, modified, text_z FROM versions WHERE id = :id"
    )
    last = 0
    while True:
        events = bind.execute(
            sa.text(
                "SELECT id, from_version_id, to_version_id FROM change_events "
                "WHERE kind = 'edited' AND id > :last AND from_version_id IS NOT NULL "
                "AND to_version_id IS NOT NULL ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not events:
            return
        for event_id, from_id, to_id in events:
            old = bind.execute(versions, {"id": from_id}).first()
            new = bind.execute(versions, {"id": to_id}).first()
            if old is not None and new is not None:
                score = judge_edit(_side(old), _side(new)).get("significance")
                bind.execute(
                    sa.text("UPDATE change_events SET significance = :s WHERE id = :id"),
                    {"s": score, "id": event_id},
                )
            last = event_id


def downgrade() -> None:
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_events_significance"))
        batch_op.drop_column("significance")
