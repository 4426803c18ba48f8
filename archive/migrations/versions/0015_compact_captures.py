"""compact captures: the seven digests of a capture row (`fetch_key`, `payload_sha256`,
`record_sha256`, `request_sha256`, `prev_chain`, `chain_hash`, `leaf_hash`) are kept as
their raw bytes instead of 64 hex characters (issue #27: they were 448 B of a row, and
`fetch_key` and `payload_sha256` are indexed). Python still sees hex
(archive.store.models.HexDigest), so the log's leaves, and `presswatch verify`, do not
change. The index on `payload_sha256` keeps only captures with a payload (a 304's
digest is the empty payload's, and only a revisit's target is looked up by it).
PostgreSQL turns the columns into `bytea`; SQLite keeps their declared type and
stores each value as a BLOB (rebuilding `captures` is refused by the foreign keys on it
inside a migration). Downgrading writes hex back. A SQLite file keeps its size (the
freed space is reused by new rows) until VACUUM.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BATCH = 2000
COLUMNS = (
    "fetch_key",
    "payload_sha256",
    "record_sha256",
    "request_sha256",
    "prev_chain",
    "chain_hash",
    "leaf_hash",
)
captures = sa.table("captures", sa.column("id", sa.BigInteger()), *(sa.column(c) for c in COLUMNS))


def _to_bytes(capture_id: int, column: str, value: object) -> object:
    if not isinstance(value, str):
        return value  # NULL, or bytes already
    try:
        if value != value.lower():
            raise ValueError("upper case")
        return bytes.fromhex(value)
    except ValueError as exc:
        raise RuntimeError(
            f"capture {capture_id}: {column} is not a hex digest ({value[:80]!r}); "
            "the upgrade stopped and changed nothing. Run `presswatch verify` on the "
            "archive made before the upgrade: the row was altered"
        ) from exc


def _to_hex(_capture_id: int, _column: str, value: object) -> object:
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else value


def _rewrite_sqlite(convert: object) -> None:
    bind = op.get_bind()
    after = -1
    while True:
        rows = bind.execute(
            sa.select(captures).where(captures.c.id > after).order_by(captures.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            values = {c: convert(row.id, c, getattr(row, c)) for c in COLUMNS}  # type: ignore[operator]
            if any(values[c] is not getattr(row, c) for c in COLUMNS):
                bind.execute(captures.update().where(captures.c.id == row.id).values(**values))
        after = rows[-1].id


def _payload_index(partial: bool) -> None:
    op.drop_index("ix_captures_payload_sha256", table_name="captures")
    where = sa.text("payload_length > 0") if partial else None
    op.create_index(
        "ix_captures_payload_sha256",
        "captures",
        ["payload_sha256"],
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite(_to_bytes)
        _payload_index(partial=True)
        return
    bad = bind.execute(
        sa.text(
            "SELECT id FROM captures WHERE "
            + " OR ".join(f"{c} !~ '^([0-9a-f]{{2}})*$'" for c in COLUMNS)
            + " LIMIT 1"
        )
    ).scalar()
    if bad is not None:
        raise RuntimeError(
            f"capture {bad}: a digest column is not lowercase hex; the upgrade stopped "
            "and changed nothing. Run `presswatch verify` on the archive: the row was altered"
        )
    op.execute(
        "ALTER TABLE captures "
        + ", ".join(f"ALTER COLUMN {c} TYPE bytea USING decode({c}, 'hex')" for c in COLUMNS)
    )
    _payload_index(partial=True)


def downgrade() -> None:
    bind = op.get_bind()
    _payload_index(partial=False)
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite(_to_hex)
        return
    op.execute(
        "ALTER TABLE captures "
        + ", ".join(f"ALTER COLUMN {c} TYPE VARCHAR(64) USING encode({c}, 'hex')" for c in COLUMNS)
    )
