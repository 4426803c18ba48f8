"""version diffs: the diff of each version against the one before, computed once and
stored (design rule 11, issue 22), so pages, API, feed and packages never diff on a
request. Existing archives get theirs here, a batch at a time, with the same functions
capture uses (each diff within its work budget, so no archived text can stall this).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:30:00.000000
"""

from __future__ import annotations

import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from archive.content.diff import DIFF_ALGORITHM, VersionSide, diff_versions

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 200

version_diffs = sa.table(
    "version_diffs",
    sa.column("article_id", sa.Integer()),
    sa.column("old_version_id", sa.Integer()),
    sa.column("new_version_id", sa.Integer()),
    sa.column("algorithm", sa.String()),
    sa.column("ops", sa.JSON()),
)


def upgrade() -> None:
    op.create_table(
        "version_diffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("old_version_id", sa.Integer(), nullable=False),
        sa.Column("new_version_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("ops", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_version_diffs_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["new_version_id"],
            ["versions.id"],
            name=op.f("fk_version_diffs_new_version_id_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["old_version_id"],
            ["versions.id"],
            name=op.f("fk_version_diffs_old_version_id_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_diffs")),
        sa.UniqueConstraint(
            "old_version_id",
            "new_version_id",
            name=op.f("uq_version_diffs_old_version_id"),
        ),
    )
    with op.batch_alter_table("version_diffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_diffs_article_id"), ["article_id"], unique=False
        )
    _backfill()


def _side(row: sa.Row[Any]) -> VersionSide:
    text = zlib.decompress(row.text_z).decode("utf-8")
    return VersionSide(row.title, row.byline, row.published, row.modified, text, "")


def _backfill() -> None:
    """Each version with a version before it (n > 1) gets its diff against that one."""
    # Imported here: alembic imports every migration to read its revision, and
    # `presswatch status` does that (is_migrated) without needing the capture wing.
    from archive.capture.stored_diffs import encode_diff

    bind = op.get_bind()
    columns = "id, article_id, n, title, byline, published, modified, text_z"
    previous = sa.text(f"SELECT {columns} FROM versions WHERE article_id = :a AND n = :n")
    last = 0
    while True:
        newer = bind.execute(
            sa.text(
                f"SELECT {columns} FROM versions WHERE id > :last AND n > 1 ORDER BY id LIMIT :k"
            ),
            {"last": last, "k": _BATCH},
        ).all()
        if not newer:
            return
        rows = []
        for new in newer:
            old = bind.execute(previous, {"a": new.article_id, "n": new.n - 1}).first()
            if old is not None:
                d = diff_versions(_side(old), _side(new))
                rows.append(
                    {
                        "article_id": new.article_id,
                        "old_version_id": old.id,
                        "new_version_id": new.id,
                        "algorithm": DIFF_ALGORITHM,
                        "ops": encode_diff(d),
                    }
                )
            last = new.id
        if rows:
            bind.execute(sa.insert(version_diffs), rows)


def downgrade() -> None:
    with op.batch_alter_table("version_diffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_diffs_article_id"))
    op.drop_table("version_diffs")
