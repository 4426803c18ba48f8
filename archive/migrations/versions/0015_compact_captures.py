"""compact captures: the seven digests of a capture row (`fetch_key`, `payload_sha256`,
`record_sha256`, `request_sha256`, `prev_chain`, `chain_hash`, `leaf_hash`) are kept as
their raw bytes instead of 64 hex characters (issue #27: they were 448 B of a row, and
`fetch_key` and `payload_sha256` are indexed). Python still sees hex
(archive.store.models.HexDigest; a value that is not a digest, such as a rendering's
`fetch_key` or the empty `prev_chain` of a capture not yet sealed, is kept as tagged
text), so the log's leaves, and `presswatch verify`, do not
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

from collections.abc import Callable

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


def _to_bytes(value: object) -> object:
    from archive.store.models import digest_to_db

    return digest_to_db(value) if isinstance(value, str) else value  # NULL, or done


def _to_text(value: object) -> object:
    from archive.store.models import digest_from_db

    return digest_from_db(bytes(value)) if isinstance(value, bytes | memoryview) else value


def _rewrite_sqlite(convert: Callable[[object], object]) -> None:
    bind = op.get_bind()
    after = -1
    while True:
        rows = bind.execute(
            sa.select(captures).where(captures.c.id > after).order_by(captures.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            values = {c: convert(getattr(row, c)) for c in COLUMNS}
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
    # As archive.store.models.digest_to_db: a SHA-256 in hex as its bytes, anything
    # else as UTF-8 after one 0xFF byte (two when one would make 32 bytes).
    op.execute(
        "ALTER TABLE captures "
        + ", ".join(
            f"ALTER COLUMN {c} TYPE bytea USING CASE "
            f"WHEN {c} ~ '^[0-9a-f]{{64}}$' THEN decode({c}, 'hex') "
            f"WHEN octet_length({c}) = 31 THEN '\\xffff'::bytea || convert_to({c}, 'UTF8') "
            f"ELSE '\\xff'::bytea || convert_to({c}, 'UTF8') END"
            for c in COLUMNS
        )
    )
    _payload_index(partial=True)


def downgrade() -> None:
    bind = op.get_bind()
    _payload_index(partial=False)
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite(_to_text)
        return
    op.execute(
        "ALTER TABLE captures "
        + ", ".join(
            f"ALTER COLUMN {c} TYPE VARCHAR(64) USING CASE "
            f"WHEN octet_length({c}) = 32 THEN encode({c}, 'hex') "
            f"WHEN octet_length({c}) = 1 THEN '' "
            f"WHEN get_byte({c}, 1) = 255 THEN convert_from(substring({c} from 3), 'UTF8') "
            f"ELSE convert_from(substring({c} from 2), 'UTF8') END"
            for c in COLUMNS
        )
    )
