"""The transparency log: `presswatch verify` exits 1 naming the capture and the field for
each kind of tampering (the issue's list and more), and passes an untouched archive."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from archive.errors import StorageError
from archive.log import capture_proof, encode_leaf, verify_archive
from archive.log.leaves import anchor_of, pack_leaf, read_leaf, store_leaf
from archive.log.merkle import Frontier, leaf_hash
from archive.log.seal import capture_leaf, content_sha256
from archive.log.signing import checkpoint_body, load_or_create_key, verify_note
from archive.store.models import (
    Article,
    Capture,
    CaptureLeaf,
    ChangeEvent,
    LogCheckpoint,
    LogHead,
    Version,
)
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.stories import URL, record_verify_story


def cli_args(rt: Runtime, *args: str) -> list[str]:
    db = ["--database-url", rt.settings.database_url] if rt.settings.database_url else []
    return ["--data-dir", str(rt.settings.data_dir), *db, *args]


def run_verify(rt: Runtime, *extra: str) -> tuple[int, dict[str, Any]]:
    args = cli_args(rt, "verify", "--json", *extra)
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def checkpoint(rt: Runtime, tmp_path: Path | None = None) -> Path | None:
    """`presswatch checkpoint`; with tmp_path, the note is also "published" to a file."""
    result = CliRunner().invoke(app, cli_args(rt, "checkpoint"))
    assert result.exit_code == 0, result.output
    if tmp_path is None:
        return None
    path = tmp_path / "published.checkpoint"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def named(report: dict[str, Any], capture_id: int | None, field: str) -> bool:
    """Whether verify named this capture and a field starting with `field`."""
    return any(
        p["capture_id"] == capture_id and (p["field"] or "").startswith(field)
        for p in report["problems"]
    )


def capture_at(s: Session, seq: int) -> Capture:
    return s.scalars(select(Capture).where(Capture.seq == seq)).one()


def test_untouched_archive_verifies_against_its_checkpoint(
    any_runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_verify_story(any_runtime, at)
    published = checkpoint(any_runtime, tmp_path)
    h.record(any_runtime, h.exchange(URL, "gone", at=at(7), status=404))  # the log grows
    code, report = run_verify(any_runtime, "--against", str(published))
    assert code == 0, report["problems"]
    assert report["tree_size"] == 8 and report["captures_checked"] == 8
    assert report["checkpoints_checked"]


# -- the list: tampering the hash chain missed ------------------------------------


def test_byte_flipped_in_a_stored_warc_record(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions() as s:
        cap = s.scalars(select(Capture).where(Capture.warc_type == "response")).first()
        assert cap is not None and cap.warc_file and cap.warc_offset is not None
    path = runtime.settings.warc_dir / cap.warc_file
    data = bytearray(path.read_bytes())
    data[cap.warc_offset + 40] ^= 0x01
    path.write_bytes(bytes(data))
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, "warc")


def test_a_missing_warc_file_is_named_for_each_capture_in_it(runtime: Runtime, at: Any) -> None:
    """verify keeps one WARC file open while it reads its records: a file that is gone
    is named for every capture whose record it held, not only the first."""
    record_verify_story(runtime, at)
    with runtime.sessions() as s:
        caps = list(s.scalars(select(Capture).where(Capture.warc_file.is_not(None))))
    gone = caps[0].warc_file
    assert gone is not None
    (runtime.settings.warc_dir / gone).unlink()
    in_it = [c.id for c in caps if c.warc_file == gone]
    code, report = run_verify(runtime)
    assert code == 1 and len(in_it) > 1
    for capture_id in in_it:
        assert any(
            p["capture_id"] == capture_id
            and p["field"] == "warc"
            and p["problem"].startswith("cannot read WARC file")
            for p in report["problems"]
        ), capture_id


def test_byte_flipped_in_a_stored_warc_request_record(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions() as s:
        cap = s.scalars(select(Capture).where(Capture.request_length.is_not(None))).first()
        assert cap is not None and cap.warc_file and cap.warc_offset is not None
        assert cap.warc_length and cap.request_length
    path = runtime.settings.warc_dir / cap.warc_file
    data = bytearray(path.read_bytes())
    data[cap.warc_offset + cap.warc_length + cap.request_length // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, "warc")


def test_newest_capture_deleted_with_the_head_rolled_back(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    checkpoint(runtime)
    with runtime.sessions.begin() as s:
        newest = capture_at(s, 7)
        before = newest.prev_chain
        frontier = Frontier()
        for (digest,) in s.execute(select(Capture.leaf_hash).where(Capture.seq < 7)):
            frontier.append(bytes.fromhex(digest))
        s.execute(delete(Capture).where(Capture.id == newest.id))
        s.execute(update(LogHead).values(seq=6, root_hash=before, frontier=frontier.to_hex()))
    code, report = run_verify(runtime)
    assert code == 1 and named(report, None, "tree_size")
    assert any("captures 7..7 were cut" in p["problem"] for p in report["problems"])


@pytest.mark.parametrize(
    ("table", "field"),
    [("event_at", "events[0].at"), ("recorded_at", "capture.recorded_at")],
)
def test_edited_dates(runtime: Runtime, at: Any, table: str, field: str) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        cap = capture_at(s, 3)  # the edit
        if table == "event_at":
            s.execute(
                update(ChangeEvent)
                .where(ChangeEvent.capture_id == cap.id)
                .values(at=at(0) - timedelta(days=30))
            )
        else:
            cap.recorded_at = at(0) - timedelta(days=30)
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, field), report["problems"]


@pytest.mark.parametrize("column", ["first_seen", "last_seen"])
def test_edited_version_sighting_dates(runtime: Runtime, at: Any, column: str) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        v1 = s.scalars(select(Version).where(Version.n == 1)).one()
        setattr(v1, column, at(0) - timedelta(days=365))
        seen_by = capture_at(s, 1 if column == "first_seen" else 2).id
    code, report = run_verify(runtime)
    assert code == 1 and named(report, seen_by, f"version.{column}"), report["problems"]


def test_article_un_removed(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        article = s.scalars(select(Article)).one()
        assert article.status == "removed"
        article.status, article.removal, article.removed_at = "live", None, None
        last = capture_at(s, 6).id
    code, report = run_verify(runtime)
    assert code == 1
    for field in ("article.status", "article.removal", "article.removed_at"):
        assert named(report, last, field), report["problems"]


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("headers", {"content-type": "text/html", "date": "forged"}, "capture.headers"),
        ("detail", {"seen": "content", "note": "forged"}, "capture.detail"),
        ("status", 200, "capture.status"),
        ("final_url", "https://evil.example/", "capture.final_url"),
        ("origin", "import", "capture.origin"),
        ("provenance", {"file": "forged.warc.gz"}, "capture.provenance"),
        ("outcome", "changed", "capture.outcome"),
    ],
)
def test_edited_capture_row(runtime: Runtime, at: Any, column: str, value: Any, field: str) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        cap = capture_at(s, 5)
        s.execute(update(Capture).where(Capture.id == cap.id).values({column: value}))
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, field), report["problems"]


def _forge_history(rt: Runtime) -> None:
    """The attack the old chain let through: forge a version's text, delete a capture,
    and recompute every leaf, the tree, the head and the checkpoints with the project's
    own functions and the key file on the machine."""
    with rt.sessions.begin() as s:
        v2 = s.scalars(select(Version).where(Version.n == 2)).one()
        text = v2.text.replace(h.KM_WORD, "X", 1)
        v2.text_z = Version.compress(text)
        v2.text_sha256 = hashlib.sha256(text.encode()).hexdigest()
        v2.content_sha256 = content_sha256(
            title=v2.title, byline=v2.byline, published=v2.published, text_sha256=v2.text_sha256
        )
        s.execute(delete(ChangeEvent).where(ChangeEvent.capture_id == capture_at(s, 4).id))
        s.execute(delete(Capture).where(Capture.seq == 4))
        s.flush()
        logged = {cap.id: json.loads(read_leaf(s, cap.id)) for cap in s.scalars(select(Capture))}
        s.execute(delete(CaptureLeaf))
        frontier = Frontier()
        for cap in s.scalars(select(Capture).order_by(Capture.seq)):
            stored = logged[cap.id]
            cap.seq = frontier.size + 1
            s.flush()
            version = s.get(Version, cap.version_id) if cap.version_id else None
            events = list(s.scalars(select(ChangeEvent).where(ChangeEvent.capture_id == cap.id)))
            cap.prev_chain = frontier.root().hex()
            leaf = encode_leaf(
                capture_leaf(
                    cap,
                    version,
                    events,
                    version_seen=bool((stored.get("version") or {}).get("seen")),
                    article_after=stored.get("article"),
                )
            )
            store_leaf(s, cap.id, leaf, version.first_capture_id if version else None)
            cap.leaf_hash = leaf_hash(leaf).hex()
            frontier.append(leaf_hash(leaf))
            cap.chain_hash = frontier.root().hex()
        head = s.get(LogHead, 1)
        assert head is not None
        head.seq, head.root_hash, head.frontier = (
            frontier.size,
            frontier.root().hex(),
            frontier.to_hex(),
        )
        signer = rt.log_signer()
        for stored_cp in s.scalars(select(LogCheckpoint)):
            stored_cp.tree_size, stored_cp.root_hash = frontier.size, head.root_hash
            stored_cp.note = signer.sign(
                checkpoint_body(signer.name, frontier.size, frontier.root())
            )


def test_forged_text_and_deleted_capture_recomputed_is_caught_by_a_published_checkpoint(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_verify_story(runtime, at)
    published = checkpoint(runtime, tmp_path)
    _forge_history(runtime)
    # Inside the database alone the forgery is consistent: that is why heads are published.
    code, report = run_verify(runtime)
    assert code == 0, report["problems"]
    code, report = run_verify(runtime, "--against", str(published))
    assert code == 1 and named(report, None, "tree_size"), report["problems"]


# -- more tampering -------------------------------------------------------------------------


def test_reordered_captures(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        a, b = capture_at(s, 2), capture_at(s, 3)
        a.seq, b.seq = 1000, 1001
        s.flush()
        a.seq, b.seq = 3, 2
        ids = (a.id, b.id)
    code, report = run_verify(runtime)
    assert code == 1 and all(named(report, i, "capture.seq") for i in ids), report["problems"]


def test_edited_leaf_hash(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        cap = capture_at(s, 2)
        cap.leaf_hash = hashlib.sha256(b"forged").hexdigest()
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, "leaf_hash")


def test_edited_leaf_with_its_hash_recomputed(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    checkpoint(runtime)
    with runtime.sessions.begin() as s:
        cap = capture_at(s, 2)
        leaf = json.loads(read_leaf(s, cap.id))
        leaf["capture"]["status"] = 451
        data = encode_leaf(leaf)
        stored = s.get(CaptureLeaf, cap.id)
        assert stored is not None
        stored.leaf_z, cap.leaf_hash = pack_leaf(data), leaf_hash(data).hex()
    code, report = run_verify(runtime)
    assert code == 1 and named(report, cap.id, "capture.status")
    assert named(report, cap.id, "chain_hash") and named(report, None, "root_hash")


@pytest.mark.parametrize("what", ["row", "version_text", "version_title"])
def test_edited_version(runtime: Runtime, at: Any, what: str) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        v1 = s.scalars(select(Version).where(Version.n == 1)).one()
        first = v1.first_capture_id
        if what == "version_title":
            v1.title = "forged"
            field = "version.title"
        else:
            text = v1.text.replace(h.KM_WORD, "X", 1)
            v1.text_z = Version.compress(text)
            if what == "row":  # the careful forger rehashes the text too
                v1.text_sha256 = hashlib.sha256(text.encode()).hexdigest()
                field = "version.text_sha256"
            else:
                field = "version.text"
    code, report = run_verify(runtime)
    assert code == 1 and named(report, first, field), report["problems"]


def test_deleted_and_added_events(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        edited = capture_at(s, 3)
        s.execute(delete(ChangeEvent).where(ChangeEvent.capture_id == edited.id))
        unchanged = capture_at(s, 2)
        s.add(
            ChangeEvent(
                article_id=unchanged.article_id,
                capture_id=unchanged.id,
                kind="removed",
                how=["http_404"],
                at=unchanged.fetched_at,
                detail={},
            )
        )
    code, report = run_verify(runtime)
    assert (
        code == 1 and named(report, edited.id, "events") and named(report, unchanged.id, "events")
    )


def test_deleted_capture_in_the_middle(any_runtime: Runtime, at: Any) -> None:
    record_verify_story(any_runtime, at)
    with any_runtime.sessions.begin() as s:
        second = capture_at(s, 2).id
        s.execute(delete(Capture).where(Capture.seq == 2))
        third = capture_at(s, 3).id
    code, report = run_verify(any_runtime)
    assert code == 1 and named(report, third, "seq") and named(report, None, "chain_head")
    # The deleted capture's stored leaf outlives it, and says which capture it was.
    assert named(report, second, "leaf"), report["problems"]


# -- the stored leaves (archive.log.leaves) -------------------------------------------------------


def _damage(blob: bytes, how: str) -> bytes:
    if how == "flipped":
        middle = bytearray(blob)
        middle[len(blob) // 2] ^= 0xFF
        return bytes(middle)
    if how == "cut":
        return blob[: len(blob) // 2]
    if how == "unknown_format":
        return b"\x7f" + blob[1:]
    return b""


@pytest.mark.parametrize("how", ["flipped", "cut", "unknown_format", "emptied", "deleted"])
def test_a_damaged_stored_leaf_is_named_not_a_crash(
    any_runtime: Runtime, at: Any, how: str
) -> None:
    record_verify_story(any_runtime, at)
    with any_runtime.sessions.begin() as s:
        cap = capture_at(s, 2)  # a revisit: stored against the article's first leaf
        stored = s.get(CaptureLeaf, cap.id)
        assert stored is not None
        if how == "deleted":
            s.delete(stored)
        else:
            stored.leaf_z = _damage(stored.leaf_z, how)
    code, report = run_verify(any_runtime)
    assert code == 1 and named(report, cap.id, "leaf"), report["problems"]
    mine = [p["problem"] for p in report["problems"] if p["capture_id"] == cap.id]
    assert any(
        word in text
        for text in mine
        for word in ("cannot be read", "is missing", "does not match its leaf hash")
    ), mine
    with any_runtime.sessions() as s, pytest.raises(StorageError, match=f"capture {cap.id}"):
        capture_proof(s, capture_at(s, 2))  # never hands out bytes the log did not hash


def test_an_altered_anchor_is_named_and_so_are_the_leaves_packed_against_it(
    runtime: Runtime, at: Any
) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        first = capture_at(s, 1)
        leaf = json.loads(read_leaf(s, first.id))
        leaf["capture"]["status"] = 451
        data = encode_leaf(leaf)
        stored = s.get(CaptureLeaf, first.id)
        assert stored is not None
        stored.leaf_z, first.leaf_hash = pack_leaf(data), leaf_hash(data).hex()
        rows = s.execute(select(CaptureLeaf.capture_id, CaptureLeaf.leaf_z))
        later = [cid for cid, blob in rows if anchor_of(blob) == first.id]
        assert capture_at(s, 2).id in later  # the revisit that saw the same version
    code, report = run_verify(runtime)
    assert code == 1 and named(report, first.id, "capture.status"), report["problems"]
    for cid in later:
        assert any(
            p["capture_id"] == cid
            and p["field"] == "leaf"
            and f"capture {first.id}'s leaf, which is no longer" in p["problem"]
            for p in report["problems"]
        ), report["problems"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.integers(min_value=0, max_value=10**9), bit=st.integers(min_value=0, max_value=7))
def test_any_changed_bit_in_a_stored_leaf_is_caught_or_changes_no_leaf(
    runtime: Runtime, at: Any, offset: int, bit: int
) -> None:
    with runtime.sessions() as s:
        empty = s.scalar(select(CaptureLeaf.capture_id)) is None
    if empty:
        record_verify_story(runtime, at)
    with runtime.sessions() as s:
        rows = s.execute(select(CaptureLeaf.capture_id, CaptureLeaf.leaf_z))
        blobs = {capture_id: blob for capture_id, blob in rows}
        original = {cid: read_leaf(s, cid) for cid in blobs}
    cid = sorted(blobs)[offset % len(blobs)]
    blob = bytearray(blobs[cid])
    blob[(offset // len(blobs)) % len(blob)] ^= 1 << bit
    with runtime.sessions.begin() as s:
        s.execute(update(CaptureLeaf).where(CaptureLeaf.capture_id == cid).values(leaf_z=blob))
    try:
        with runtime.sessions() as s:
            try:
                now: dict[int, bytes] | None = {c: read_leaf(s, c) for c in blobs}
            except StorageError:
                now = None
            # A flip in deflate's padding bits changes no leaf; anything else is caught.
            assert verify_archive(s, runtime.warc).ok == (now == original)
    finally:
        with runtime.sessions.begin() as s:
            s.execute(
                update(CaptureLeaf).where(CaptureLeaf.capture_id == cid).values(leaf_z=blobs[cid])
            )


def corrupt_stored_signature(runtime: Runtime) -> None:
    """One character of the stored checkpoint's signature changed."""
    with runtime.sessions.begin() as s:
        cp = s.scalars(select(LogCheckpoint)).one()
        body, _, sig = cp.note.rpartition(" ")
        cp.note = body + " " + ("A" if sig[0] != "A" else "B") + sig[1:]


def test_edited_checkpoint_signature(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    checkpoint(runtime)
    corrupt_stored_signature(runtime)
    code, report = run_verify(runtime)
    assert code == 1 and named(report, None, "checkpoint.signature"), report["problems"]


def test_swapped_key_is_caught_by_the_published_key_and_checkpoint(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_verify_story(runtime, at)
    published_key = runtime.log_signer().verifier_key
    published = checkpoint(runtime, tmp_path)
    key_file = runtime.settings.resolved_log_key_file
    key_file.unlink()
    signer = load_or_create_key(key_file, runtime.settings.log_origin, create=True)
    with runtime.sessions.begin() as s:
        for cp in s.scalars(select(LogCheckpoint)):
            cp.note = signer.sign(
                checkpoint_body(signer.name, cp.tree_size, bytes.fromhex(cp.root_hash))
            )
    code, report = run_verify(runtime, "--key", published_key)
    assert code == 1 and named(report, None, "checkpoint.signature"), report["problems"]
    code, report = run_verify(runtime, "--against", str(published))
    assert code == 1 and named(report, None, "checkpoint.signature"), report["problems"]


def test_inserted_version_row(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        v1 = s.scalars(select(Version).where(Version.n == 1)).one()
        s.add(
            Version(
                **{
                    c: getattr(v1, c)
                    for c in Version.__table__.columns.keys()  # noqa: SIM118
                    if c not in ("id", "n")
                },
                n=9,
            )
        )
    code, report = run_verify(runtime)
    assert code == 1 and any(p["field"] == "version" for p in report["problems"])


# -- the rest of the archive ------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.integers(min_value=0, max_value=10**9), bit=st.integers(min_value=0, max_value=7))
def test_any_changed_byte_in_the_warc_store_is_detected(
    runtime: Runtime, at: Any, offset: int, bit: int
) -> None:
    if not any(runtime.settings.warc_dir.glob("*.warc.gz")):
        record_verify_story(runtime, at)
    with runtime.sessions() as s:
        caps = list(s.scalars(select(Capture).where(Capture.warc_file.is_not(None))))
    # Each capture's record and the request record stored after it.
    ranges = [(c.warc_file, c.warc_offset, c.warc_length) for c in caps] + [
        (c.warc_file, (c.warc_offset or 0) + (c.warc_length or 0), c.request_length)
        for c in caps
        if c.request_length
    ]
    file, start, length = ranges[offset % len(ranges)]
    assert file and start is not None and length
    path = runtime.settings.warc_dir / file
    original = path.read_bytes()
    data = bytearray(original)
    data[start + (offset // len(ranges)) % length] ^= 1 << bit
    path.write_bytes(bytes(data))
    try:
        with runtime.sessions() as s:
            assert not verify_archive(s, runtime.warc).ok, "a flipped bit went unnoticed"
    finally:
        path.write_bytes(original)


def test_verify_reads_a_bad_published_checkpoint_as_a_problem(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_verify_story(runtime, at)
    bad = tmp_path / "bad.checkpoint"
    bad.write_text("presswatch-log\nnot a number\n\n", encoding="utf-8")
    code, report = run_verify(runtime, "--against", str(bad))
    assert code == 1 and named(report, None, "checkpoint")


def test_verify_text_output_names_capture_and_field(runtime: Runtime, at: Any) -> None:
    record_verify_story(runtime, at)
    with runtime.sessions.begin() as s:
        cap = capture_at(s, 1)
        cap.error = "forged"
    args = ["--data-dir", str(runtime.settings.data_dir), "verify"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"capture {cap.id}: capture.error: capture.error differs" in result.stderr


def test_public_key_checks_the_printed_checkpoint_and_the_key_file_is_private(
    runtime: Runtime, at: Any
) -> None:
    record_verify_story(runtime, at)
    key = CliRunner().invoke(app, cli_args(runtime, "checkpoint", "--public-key", "--json"))
    assert key.exit_code == 0, key.output
    shown = json.loads(key.stdout)
    assert shown["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    note = CliRunner().invoke(app, cli_args(runtime, "checkpoint")).stdout
    head = verify_note(note, shown["verifier_key"])
    assert head.tree_size == 7 and head.origin == runtime.settings.log_origin
    key_file = runtime.settings.resolved_log_key_file
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent == runtime.settings.data_dir
    key_file.chmod(0o644)
    refused = CliRunner().invoke(app, cli_args(runtime, "checkpoint"))
    assert refused.exit_code == 2 and "chmod 600" in refused.stderr


@pytest.mark.parametrize("key_state", ["missing", "readable by others"])
def test_verify_without_a_usable_key_does_not_say_ok(
    runtime: Runtime, at: Any, key_state: str
) -> None:
    """The review's case: the key file gone (or too open) and the stored checkpoint's
    signature corrupted. verify must not print ok and exit 0 as if it had checked."""
    record_verify_story(runtime, at)
    checkpoint(runtime)
    corrupt_stored_signature(runtime)
    key_file = runtime.settings.resolved_log_key_file
    if key_state == "missing":
        key_file.unlink()
    else:
        key_file.chmod(0o644)
    code, report = run_verify(runtime)
    assert code == 1 and report["signatures_checked"] is False
    assert named(report, None, "checkpoint.signature"), report["problems"]
    problem = next(p["problem"] for p in report["problems"] if p["field"] == "checkpoint.signature")
    assert problem.startswith("signatures not checked: ") and "--no-signature" in problem

    text = CliRunner().invoke(app, cli_args(runtime, "verify"))
    assert text.exit_code == 1 and "signatures not checked" in text.stderr

    # Told so, it checks everything else and says in its summary what it skipped.
    told = CliRunner().invoke(app, cli_args(runtime, "verify", "--no-signature"))
    assert told.exit_code == 0, told.output
    assert told.stdout.startswith("ok: ") and "signatures NOT checked" in told.stdout


def test_verify_takes_the_published_key_file(runtime: Runtime, at: Any, tmp_path: Path) -> None:
    """`--key` takes the file `checkpoint --public-key` wrote, as verify_package does."""
    record_verify_story(runtime, at)
    checkpoint(runtime)
    published = CliRunner().invoke(app, cli_args(runtime, "checkpoint", "--public-key"))
    key_file = tmp_path / "presswatch-log.pub"
    key_file.write_text(published.stdout)
    runtime.settings.resolved_log_key_file.unlink()
    code, report = run_verify(runtime, "--key", str(key_file))
    assert code == 0 and report["signatures_checked"], report["problems"]
