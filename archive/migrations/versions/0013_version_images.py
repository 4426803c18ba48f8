"""version images: each version's pictures ([{src, alt, caption, phash, reason}]).
Versions recorded before keep NULL, read as "unknown": no edit is ever judged against
them on images (design rule 8), so an upgrade does not read as a wave of photo edits.

Plain ALTER TABLE both ways: a batch (copy-and-move) of `versions` on SQLite would drop
a table other tables' foreign keys point at. SQLite before 3.35 cannot drop a column:
the downgrade leaves it there, unused (as migration 0008 does).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00.000000
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("images", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35):
        op.drop_column("versions", "images")
