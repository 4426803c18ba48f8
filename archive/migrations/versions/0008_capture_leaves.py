"""capture leaves: each capture's log leaf moves from `captures.leaf` (text) to
`capture_leaves.leaf_z`, compressed as archive.log.leaves stores it (issue #14: the text
was most of what an unchanged capture cost). The leaves' bytes, and so the log, do not
change; `presswatch verify` passes before and after. Downgrading writes the text back.
A SQLite file keeps its size (the freed pages are reused by new rows) until VACUUM.

The conversion runs through archive.log.leaves' pack_leaf/unpack_leaf (the one definition
of the stored form) with plain SQL here, in capture order, as store_leaf would have
written them: the leaf of a version's first capture on its own, the leaves of the later
captures that saw it against that one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

# archive.log is imported by upgrade() and downgrade(): alembic imports every migration
# to read its revision, and `presswatch status` does that (is_migrated) without needing
# the log wing.

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 1000
ANCHORS_KEPT = 4096

captures = sa.table(
    "captures",
    sa.column("id", sa.BigInteger()),
    sa.column("version_id", sa.Integer()),
    sa.column("leaf", sa.Text()),
)
versions = sa.table(
    "versions",
    sa.column("id", sa.Integer()),
    sa.column("first_capture_id", sa.BigInteger()),
)
capture_leaves = sa.table(
    "capture_leaves",
    sa.column("capture_id", sa.BigInteger()),
    sa.column("leaf_z", sa.LargeBinary()),
)


class _Anchors:
    """The leaves others are compressed against, by capture id: the last ones seen are
    kept, others read again with `read` and turned into leaf bytes by `decode`."""

    def __init__(
        self,
        bind: sa.Connection,
        read: sa.Select[tuple[object]],
        decode: Callable[[bytes], bytes] = lambda stored: stored,
    ) -> None:
        self.bind, self.read, self.decode = bind, read, decode
        self.kept: OrderedDict[int, bytes] = OrderedDict()

    def keep(self, capture_id: int, data: bytes) -> None:
        self.kept[capture_id] = data
        if len(self.kept) > ANCHORS_KEPT:
            self.kept.popitem(last=False)

    def get(self, capture_id: int) -> bytes:
        if capture_id not in self.kept:
            stored = self.bind.execute(self.read, {"id": capture_id}).scalar()
            if stored is None:
                raise RuntimeError(f"capture {capture_id}: its leaf is missing")
            self.keep(capture_id, self.decode(_as_bytes(stored)))
        return self.kept[capture_id]


def _as_bytes(stored: object) -> bytes:
    if isinstance(stored, str):
        return stored.encode("utf-8")
    if isinstance(stored, memoryview):  # psycopg returns bytea as memoryview
        return stored.tobytes()
    assert isinstance(stored, bytes)
    return stored


def upgrade() -> None:
    from archive.log.leaves import pack_leaf

    op.create_table(
        "capture_leaves",
        sa.Column(
            "capture_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("leaf_z", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_capture_leaves")),
    )
    bind = op.get_bind()
    # Captures not yet sealed (an archive older than the log: `presswatch init` seals
    # them after migrating) have no leaf to move.
    anchors = _Anchors(bind, sa.select(captures.c.leaf).where(captures.c.id == sa.bindparam("id")))
    anchor_ids: set[int] = set()  # versions' first captures, stored on their own
    after = 0
    while True:
        rows = bind.execute(
            sa.select(captures.c.id, versions.c.first_capture_id, captures.c.leaf)
            .outerjoin(versions, versions.c.id == captures.c.version_id)
            .where(captures.c.id > after, captures.c.leaf.is_not(None))
            .order_by(captures.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        out = []
        for capture_id, first_saw, text in rows:
            data = text.encode("utf-8")
            anchor = None
            if first_saw in anchor_ids:
                anchor = (first_saw, anchors.get(first_saw))
            elif first_saw == capture_id:
                anchor_ids.add(capture_id)
                anchors.keep(capture_id, data)
            out.append({"capture_id": capture_id, "leaf_z": pack_leaf(data, anchor)})
        bind.execute(capture_leaves.insert(), out)
        after = rows[-1][0]
    if bind.dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35):
        op.drop_column("captures", "leaf")
    else:
        # Before 3.35 SQLite drops a column only by rebuilding the table, which the
        # foreign keys on `captures` refuse inside a migration: the column stays, empty
        # (a NULL costs one byte a row), and nothing reads it.
        bind.execute(captures.update().values(leaf=None))


def downgrade() -> None:
    from archive.log.leaves import LeafFormatError, unpack_leaf

    bind = op.get_bind()
    if "leaf" not in {c["name"] for c in sa.inspect(bind).get_columns("captures")}:
        op.add_column("captures", sa.Column("leaf", sa.Text(), nullable=True))
    # An anchor is stored on its own: unpack_leaf without anchors refuses one that is not.
    anchors = _Anchors(
        bind,
        sa.select(capture_leaves.c.leaf_z).where(capture_leaves.c.capture_id == sa.bindparam("id")),
        unpack_leaf,
    )

    after = -1
    while True:
        rows = bind.execute(
            sa.select(capture_leaves.c.capture_id, capture_leaves.c.leaf_z)
            .where(capture_leaves.c.capture_id > after)
            .order_by(capture_leaves.c.capture_id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for capture_id, blob in rows:
            try:
                text = unpack_leaf(_as_bytes(blob), anchors.get).decode("utf-8")
            except (LeafFormatError, UnicodeDecodeError) as exc:
                raise RuntimeError(
                    f"capture {capture_id}: its stored leaf cannot be read back ({exc}); "
                    "the downgrade stopped"
                ) from exc
            bind.execute(captures.update().where(captures.c.id == capture_id).values(leaf=text))
        after = rows[-1][0]
    op.drop_table("capture_leaves")
