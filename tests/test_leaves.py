"""The stored form of log leaves (archive.log.leaves): what goes in comes back byte for byte,
a damaged blob is a LeafFormatError and never another exception, an archive's leaves
are stored small and read back as the bytes its log hashed, and migration 0008 moves
leaves from text to the stored form and back without changing a byte."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text

from archive.log import encode_leaf, verify_archive
from archive.log.leaves import (
    DICTIONARIES,
    LeafFormatError,
    anchor_of,
    pack_leaf,
    read_leaf,
    unpack_leaf,
)
from archive.log.merkle import leaf_hash
from archive.store.db import alembic_config
from archive.store.models import Capture, CaptureLeaf, Version
from presswatch.runtime import Runtime
from tests.stories import record_verify_story

# JSON values as leaves hold them: text of any script (and control characters, which
# canonical JSON escapes), integers, booleans, nulls, nested objects and lists.
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
leaves = st.dictionaries(st.text(min_size=1), values, min_size=1, max_size=8).map(encode_leaf)


@given(data=leaves, anchor=leaves, anchor_id=st.integers(1, 2**40))
@settings(max_examples=200, deadline=None)
def test_a_leaf_comes_back_byte_for_byte(data: bytes, anchor: bytes, anchor_id: int) -> None:
    own = pack_leaf(data)
    assert anchor_of(own) is None and unpack_leaf(own) == data
    against = pack_leaf(data, (anchor_id, anchor))
    assert anchor_of(against) == anchor_id
    assert unpack_leaf(against, {anchor_id: anchor}.__getitem__) == data


def test_a_khmer_leaf_and_its_recheck() -> None:
    first = encode_leaf({"title": "ការជួញដូរមនុស្ស", "n": 1, "seen": True})
    second = encode_leaf({"title": "ការជួញដូរមនុស្ស", "n": 2, "seen": True})
    blob = pack_leaf(second, (7, first))
    assert unpack_leaf(blob, {7: first}.__getitem__) == second
    assert len(blob) < len(pack_leaf(second))  # the anchor is what makes it small


def anchors(known: dict[int, bytes]) -> Callable[[int], bytes]:
    """Anchors as LeafReader gives them: an unknown one is a LeafFormatError."""

    def get(capture_id: int) -> bytes:
        if capture_id not in known:
            raise LeafFormatError(f"capture {capture_id}'s leaf is missing")
        return known[capture_id]

    return get


@given(data=leaves, at=st.integers(0, 10_000), bit=st.integers(0, 7), cut=st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_damaged_blob_is_a_format_error_or_harmless(
    data: bytes, at: int, bit: int, cut: bool
) -> None:
    anchor = encode_leaf({"anchor": "x" * 40})
    for blob in (pack_leaf(data), pack_leaf(data, (3, anchor))):
        damaged = bytearray(blob)
        if cut:
            del damaged[at % len(blob) :]
        else:
            damaged[at % len(blob)] ^= 1 << bit
        # Either the bytes still unpack (a flip in deflate's padding bits) or the blob
        # is refused with a message; any other exception would crash verify.
        with contextlib.suppress(LeafFormatError):
            unpack_leaf(bytes(damaged), anchors({3: anchor}))


def test_an_anchor_must_be_the_leaf_the_blob_was_packed_against() -> None:
    anchor = encode_leaf({"a": 1})
    blob = pack_leaf(encode_leaf({"a": 2}), (5, anchor))
    with pytest.raises(LeafFormatError, match="capture 5's leaf, which is no longer"):
        unpack_leaf(blob, {5: encode_leaf({"a": 3})}.__getitem__)
    with pytest.raises(LeafFormatError, match="must be stored on its own"):
        unpack_leaf(blob)  # as an anchor is read: no anchor of its own
    with pytest.raises(LeafFormatError, match="unknown format byte 0x7f"):
        unpack_leaf(b"\x7f" + blob[1:])
    with pytest.raises(LeafFormatError, match="empty"):
        unpack_leaf(b"")


def test_dictionary_1_never_changes() -> None:
    # Every blob marked 1 decompresses only with these exact bytes: a better dictionary
    # is added as 2 (archive.log.leaves.DICTIONARIES), never written over 1.
    digest = hashlib.sha256(DICTIONARIES[1]).hexdigest()
    assert digest == "36f1bf1024e46ca8275ed0d688b4d998a25fa0a96fafeebbd0733a6934cb2246"


# -- in an archive -------------------------------------------------------------------------


def stored(rt: Runtime) -> dict[int, tuple[bytes, bytes]]:
    """Every capture's (stored blob, leaf bytes read back)."""
    with rt.sessions() as s:
        rows = s.execute(select(CaptureLeaf.capture_id, CaptureLeaf.leaf_z)).all()
        return {cid: (blob, read_leaf(s, cid)) for cid, blob in rows}


def test_an_archive_reads_back_the_leaves_its_log_hashed(any_runtime: Runtime, at: Any) -> None:
    record_verify_story(any_runtime, at)
    leaves = stored(any_runtime)
    with any_runtime.sessions() as s:
        caps = list(s.scalars(select(Capture).order_by(Capture.seq)))
        first_saw = {v.id: v.first_capture_id for v in s.scalars(select(Version))}
    assert len(leaves) == len(caps) == 7
    for cap in caps:
        blob, data = leaves[cap.id]
        assert leaf_hash(data).hex() == cap.leaf_hash
        assert json.loads(data)["capture"]["id"] == cap.id
        # The leaf of a version's first capture is stored on its own, the leaves of the
        # later captures that saw it against that one, at a fraction of their size.
        anchor = first_saw.get(cap.version_id) if cap.version_id is not None else None
        assert anchor_of(blob) == (anchor if anchor != cap.id else None)
        if anchor_of(blob) is not None:
            assert len(blob) < len(data) / 4, (len(blob), len(data))


def test_migration_0008_moves_leaves_to_the_stored_form_and_back(
    any_runtime: Runtime, at: Any
) -> None:
    record_verify_story(any_runtime, at)
    before = stored(any_runtime)
    cfg = alembic_config(any_runtime.engine)

    command.downgrade(cfg, "0007")
    with any_runtime.engine.connect() as conn:
        assert "capture_leaves" not in inspect(conn).get_table_names()
        as_text = {cid: leaf for cid, leaf in conn.execute(text("select id, leaf from captures"))}
    assert {cid: leaf.encode("utf-8") for cid, leaf in as_text.items()} == {
        cid: data for cid, (_blob, data) in before.items()
    }

    command.upgrade(cfg, "head")
    with any_runtime.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("captures")}
    assert "leaf" not in columns
    # The same blobs store_leaf wrote, read back as the same bytes; the log still holds.
    assert stored(any_runtime) == before
    with any_runtime.sessions() as s:
        report = verify_archive(s, any_runtime.warc)
    assert report.ok, report.problems


def test_migration_0008_on_a_sqlite_that_cannot_drop_a_column(
    runtime: Runtime, at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_verify_story(runtime, at)
    before = stored(runtime)
    cfg = alembic_config(runtime.engine)
    command.downgrade(cfg, "0007")
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    command.upgrade(cfg, "head")
    with runtime.engine.connect() as conn:
        left = conn.execute(text("select count(*) from captures where leaf is not null"))
        assert left.scalar() == 0  # the old column stays, emptied
    assert stored(runtime) == before
    command.downgrade(cfg, "0007")  # and the way back fills it again
    with runtime.engine.connect() as conn:
        as_text = {cid: leaf for cid, leaf in conn.execute(text("select id, leaf from captures"))}
    assert {cid: leaf.encode("utf-8") for cid, leaf in as_text.items()} == {
        cid: data for cid, (_blob, data) in before.items()
    }
