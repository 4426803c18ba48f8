"""Compact capture rows (migration 0015, archive.store.models.HexDigest): an archive made
at 0014 upgrades on SQLite and PostgreSQL with every digest the same hex to Python and
`verify` passing, the stored values are 32 bytes, and the way back writes hex again;
what is not a digest reads back as it was written."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from archive.log import verify_archive
from archive.store.db import alembic_config
from archive.store.models import Capture
from presswatch.runtime import Runtime
from tests.stories import record_verify_story

COLUMNS = (
    "fetch_key",
    "payload_sha256",
    "record_sha256",
    "request_sha256",
    "prev_chain",
    "chain_hash",
    "leaf_hash",
)


def _digests(rt: Runtime) -> dict[int, tuple[Any, ...]]:
    with rt.sessions() as s:
        return {
            c.id: tuple(getattr(c, name) for name in COLUMNS)
            for c in s.scalars(select(Capture).order_by(Capture.id))
        }


def _raw(rt: Runtime) -> list[Any]:
    with rt.engine.connect() as conn:
        rows = conn.execute(text(f"select {', '.join(COLUMNS)} from captures")).all()
    return [value for row in rows for value in row if value is not None]


def test_an_archive_made_at_0014_upgrades_and_verifies(any_runtime: Runtime, at: Any) -> None:
    record_verify_story(any_runtime, at)
    before = _digests(any_runtime)
    assert all(len(v) == 64 for row in before.values() for v in row if v is not None)
    stored = _raw(any_runtime)
    assert stored and all(isinstance(v, bytes | memoryview) and len(v) == 32 for v in stored)

    cfg = alembic_config(any_runtime.engine)
    command.downgrade(cfg, "0014")
    assert all(isinstance(v, str) and len(v) == 64 for v in _raw(any_runtime))

    command.upgrade(cfg, "head")
    assert all(len(v) == 32 for v in _raw(any_runtime))
    assert _digests(any_runtime) == before
    with any_runtime.sessions() as s:
        report = verify_archive(s, any_runtime.warc)
    assert report.ok, report.problems


@pytest.mark.parametrize("value", ["rendering-of-1", "", "x" * 31, "ABCD" * 16, "ក" * 20])
def test_a_value_that_is_not_a_digest_reads_back_unchanged(
    any_runtime: Runtime, at: Any, value: str
) -> None:
    """A rendering's fetch_key, an unsealed capture's empty prev_chain or anything else
    that is not a SHA-256 in hex is kept as text, through the ORM and through the
    migration both ways."""
    record_verify_story(any_runtime, at)
    with any_runtime.sessions.begin() as s:
        capture = s.get(Capture, 2)
        assert capture is not None
        capture.fetch_key = value
    assert _digests(any_runtime)[2][0] == value
    cfg = alembic_config(any_runtime.engine)
    command.downgrade(cfg, "0014")
    with any_runtime.engine.connect() as conn:
        assert conn.execute(text("select fetch_key from captures where id = 2")).scalar() == value
    command.upgrade(cfg, "head")
    assert _digests(any_runtime)[2][0] == value


def test_finding_a_revisits_record_uses_the_payload_index(runtime: Runtime, at: Any) -> None:
    """The index on payload_sha256 keeps only captures with a payload; the one lookup by
    payload (a revisit's target) still uses it rather than scanning every capture."""
    from sqlalchemy.dialects import sqlite

    from archive.store.queries import first_response_with_payload

    record_verify_story(runtime, at)
    with runtime.sessions() as s:
        first = s.scalars(select(Capture).order_by(Capture.id)).first()
        assert first is not None and first.payload_sha256 is not None
        assert first_response_with_payload(s, first.payload_sha256) == first
    with runtime.engine.connect() as conn:
        stmt = (
            select(Capture.id)
            .where(Capture.payload_sha256 == "00" * 32, Capture.payload_length > 0)
            .compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": False})
        )
        plan = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {stmt}", tuple(stmt.construct_params().values())
        ).all()
        assert "ix_captures_payload_sha256" in str(plan)
        indexed = conn.exec_driver_sql(
            "select count(*) from captures indexed by ix_captures_payload_sha256 "
            "where payload_length > 0"
        ).scalar()
        with_payload = conn.exec_driver_sql(
            "select count(*) from captures where payload_length > 0"
        ).scalar()
    assert indexed == with_payload
