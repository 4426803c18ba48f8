"""Verifying the archive against its transparency log (`presswatch verify`).

`verify_archive` re-reads every WARC record (a capture's images' too,
archive.log.image_records), rebuilds every leaf from the rows
(archive.log.seal) and names the field that no longer matches, recomputes the tree, and
checks it against the log head, the newest stored signed checkpoint and, given one, an
earlier published checkpoint (with an RFC 9162 consistency proof). Fields derived from
many captures (a version's first/last sighting, an article's status and removal) are
recomputed from the leaves.

Must not: write anything, or stop at the first problem (it reports them all).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from archive.clock import future_date_refusal
from archive.errors import StorageError
from archive.log.audit import audit_entries_in_order, audit_entry_problems
from archive.log.image_records import ImageRecordCheck
from archive.log.leaves import LeafReader
from archive.log.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    consistency_proof,
    leaf_hash,
    verify_consistency,
)
from archive.log.seal import (
    article_state,
    capture_leaf,
    content_sha256,
    encode_leaf,
    events_by_capture,
    iso_utc,
)
from archive.log.signing import Checkpoint, NoteError, parse_checkpoint, verify_note
from archive.log.timestamp import TimestampError, verify_token
from archive.store.account_tables import AuditEntry, CaseNote
from archive.store.models import (
    Article,
    Capture,
    CaptureLeaf,
    ChangeEvent,
    LogCheckpoint,
    LogHead,
    Version,
)
from archive.store.rendering_tables import Rendering, rendering_problems
from archive.warc.records import WarcStore


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that no longer matches: the capture it concerns (None for the log as a
    whole), what is wrong, and the field (a leaf path, a column or a checkpoint part)."""

    capture_id: int | None
    problem: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify_archive` found; `as_json` is what `presswatch verify --json` prints."""

    ok: bool
    captures_checked: int
    versions_checked: int
    problems: tuple[Problem, ...]
    tree_size: int = 0
    root_hash: str = EMPTY_ROOT.hex()
    checkpoints_checked: tuple[int, ...] = field(default=())
    signatures_checked: bool = True

    def signatures_unchecked(self, why: str | None) -> VerifyReport:
        """This report when no signature could be checked: a problem saying `why`,
        or, with `why` None (the user chose not to check them), a note in its JSON."""
        if why is None:
            return replace(self, signatures_checked=False)
        problem = Problem(None, why, "checkpoint.signature")
        return replace(self, ok=False, problems=(*self.problems, problem), signatures_checked=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signatures_checked": self.signatures_checked,
            "captures_checked": self.captures_checked,
            "versions_checked": self.versions_checked,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoints_checked": list(self.checkpoints_checked),
            "problems": [
                {"capture_id": p.capture_id, "field": p.field, "problem": p.problem}
                for p in self.problems
            ],
        }


def _version_problems(version: Version, text_z: bytes) -> Iterator[tuple[str, str]]:
    try:
        text = zlib.decompress(text_z).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as exc:
        yield (
            "version.text",
            f"version {version.id} (article {version.article_id}): text unreadable: {exc}",
        )
        return
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != version.text_sha256:
        yield (
            "version.text",
            f"version {version.id} (article {version.article_id}): text does not match its SHA-256",
        )
    expected = content_sha256(
        title=version.title,
        byline=version.byline,
        published=version.published,
        text_sha256=version.text_sha256,
    )
    if expected != version.content_sha256:
        yield (
            "version.content_sha256",
            f"version {version.id} (article {version.article_id}): title, byline or date "
            "does not match its content hash",
        )


def _warc_problems(capture: Capture, read: Callable[[str, int, int], bytes]) -> Iterator[str]:
    """What is wrong with the WARC records of a capture, read with `read` (WarcStore's
    `read_raw` or `reader()`)."""
    if capture.warc_file is None:
        return
    assert capture.warc_offset is not None and capture.warc_length is not None
    request_length = capture.request_length if capture.request_sha256 is not None else None
    try:
        # The record and the request stored right after it, in one read.
        both = read(
            capture.warc_file, capture.warc_offset, capture.warc_length + (request_length or 0)
        )
    except StorageError as exc:
        yield str(exc)
        return
    raw, request = both[: capture.warc_length], both[capture.warc_length :]
    if len(raw) != capture.warc_length:
        yield f"WARC record {capture.warc_file}@{capture.warc_offset} is truncated"
        return
    if hashlib.sha256(raw).hexdigest() != capture.record_sha256:
        yield (
            f"WARC record {capture.warc_file}@{capture.warc_offset} does not match its "
            "SHA-256 (bytes changed in the WARC file)"
        )
        return
    # Bytes that hash to the digest the leaf commits to are the record that was sealed.
    # Parsing them (a fifth of a millisecond with warcio, over a third of verify's time) only
    # adds a check where something parsed is compared: a response's payload; a
    # revisit carries none.
    if capture.warc_type != "revisit":
        try:
            record = WarcStore.parse_record(raw, capture.warc_file, capture.warc_offset)
        except StorageError as exc:
            yield str(exc)
            return
        if record.warc_type == "response":
            if hashlib.sha256(record.payload).hexdigest() != capture.payload_sha256:
                yield f"WARC payload of capture {capture.id} does not match its SHA-256"
    if request_length is not None:
        start = capture.warc_offset + capture.warc_length
        if hashlib.sha256(request).hexdigest() != capture.request_sha256:
            yield (
                f"WARC request record {capture.warc_file}@{start} does not match its "
                "SHA-256 (bytes changed in the WARC file)"
            )


def _diff_fields(stored: Any, rebuilt: Any, path: str) -> Iterator[str]:
    """Paths (dotted, with [i] for list items) where two leaf values differ."""
    if isinstance(stored, dict) and isinstance(rebuilt, dict):
        for key in sorted(set(stored) | set(rebuilt)):
            sub = f"{path}.{key}" if path else key
            if key not in stored or key not in rebuilt:
                yield sub
            else:
                yield from _diff_fields(stored[key], rebuilt[key], sub)
    elif isinstance(stored, list) and isinstance(rebuilt, list) and len(stored) == len(rebuilt):
        for i, (a, b) in enumerate(zip(stored, rebuilt, strict=True)):
            yield from _diff_fields(a, b, f"{path}[{i}]")
    elif stored != rebuilt:
        yield path or "leaf"


@dataclass(slots=True)
class _Seen:
    """What the leaves say about one version's sightings."""

    first: tuple[int, datetime] | None = None
    last: tuple[int, datetime] | None = None


@dataclass(slots=True)
class _Walk:
    """What verify gathers while it reads the log in order: the rows leaves are rebuilt
    from, the problems found, and the leaves' word on what spans many captures (each
    version's sightings, each article's state after its newest capture), checked against
    the rows once every leaf is read."""

    versions: dict[int, Version]
    events: dict[int, list[ChangeEvent]]
    problems: list[Problem]
    sightings: dict[int, _Seen] = field(default_factory=dict)
    article_after: dict[int, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)


def _derived_problems(session: Session, walk: _Walk) -> Iterator[Problem]:
    """Fields derived from many captures (a version's first/last sighting, an article's
    status and removal), recomputed from the leaves."""
    for vid, version in walk.versions.items():
        seen = walk.sightings.get(vid)
        if seen is None or seen.first is None or seen.last is None:
            yield Problem(
                version.first_capture_id,
                f"version {vid} (article {version.article_id}) is in no capture of the log "
                "(a row added?)",
                "version",
            )
            continue
        for label, (cid, at), fid, fat in (
            ("first", seen.first, version.first_capture_id, version.first_seen),
            ("last", seen.last, version.last_capture_id, version.last_seen),
        ):
            if fid != cid:
                yield Problem(
                    cid,
                    f"version {vid}: {label}_capture_id says {fid}, the log says {cid}",
                    f"version.{label}_capture_id",
                )
            if fat != at:
                yield Problem(
                    cid,
                    f"version {vid}: {label}_seen says {iso_utc(fat)}, the log says {iso_utc(at)}",
                    f"version.{label}_seen",
                )
    for article in session.scalars(select(Article).order_by(Article.id)):
        newest = walk.article_after.get(article.id)
        if newest is None:
            yield Problem(None, f"article {article.id} has no capture in the log", "article")
            continue
        capture_id, state = newest
        if state is None:
            continue  # sealed from an older archive without its state; nothing to compare
        for key, (value, logged) in {
            k: (v, state.get(k)) for k, v in article_state(article).items()
        }.items():
            if value != logged:
                yield Problem(
                    capture_id,
                    f"article {article.id}: {key} is {value!r} but the log's newest capture "
                    f"of it says {logged!r}",
                    f"article.{key}",
                )


def verify_archive(
    session: Session,
    store: WarcStore,
    *,
    public_key: str | None = None,
    against: Sequence[str] = (),
    batch: int = 500,
) -> VerifyReport:
    """Re-read every WARC record, rebuild every leaf, recompute the tree, and check it
    against the head, the newest stored checkpoint (its signature when `public_key`, a
    signed-note verifier key, is given) and each published checkpoint in `against`."""
    problems: list[Problem] = []
    # Version rows stay in memory for the leaves, their texts only one at a time.
    versions = {v.id: v for v in session.scalars(select(Version).options(defer(Version.text_z)))}
    texts = select(Version.id, Version.text_z).order_by(Version.id)
    for vid, text_z in session.execute(texts.execution_options(yield_per=batch)):
        stored = versions[vid]
        for fld, text in _version_problems(stored, text_z):
            problems.append(Problem(stored.first_capture_id, text, fld))
    walk = _Walk(versions, events_by_capture(session), problems)

    checkpoints = list(
        session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size, LogCheckpoint.id))
    )
    published: list[tuple[str, Checkpoint]] = []
    for text in against:
        try:
            published.append((text, parse_checkpoint(text)))
        except NoteError as exc:
            problems.append(Problem(None, f"published checkpoint: {exc}", "checkpoint"))
    wanted = {c.tree_size for c in checkpoints}
    roots_at: dict[int, str] = {0: EMPTY_ROOT.hex()}

    frontier = Frontier()
    # Every leaf hash (32 bytes a capture) for the consistency proofs of `against`.
    leaves: list[bytes] = []
    checked = 0
    seen_captures: set[int] = set()
    reader = LeafReader(session)
    images = ImageRecordCheck(store)
    # Captures whose text was read from their rendering's DOM (a `render = true` source):
    # the DOM's SHA-256 each one's leaf commits to, matched with its rendering below.
    read_from_dom: dict[int, str] = {}
    # Plain rows with a Capture's columns, not ORM objects (a third of verify's time
    # once the rest was cut): the loop only reads their attributes, named as the columns.
    stmt = (
        select(*Capture.__table__.columns, CaptureLeaf.leaf_z)
        .outerjoin(CaptureLeaf, CaptureLeaf.capture_id == Capture.id)
        .order_by(Capture.seq)
        .execution_options(yield_per=batch)
    )
    # Audit entries share the log with the captures (archive.log.audit): merged in by seq.
    audits = audit_entries_in_order(session)
    pending = 0

    def take_audits(before: int | None) -> None:
        nonlocal pending
        while pending < len(audits) and (before is None or audits[pending].seq < before):
            entry = audits[pending]
            pending += 1
            _audit_into(entry, frontier, problems)
            if published:
                leaves.append(leaf_hash(entry.leaf.encode("utf-8")))
            if frontier.size in wanted:
                roots_at[frontier.size] = frontier.root().hex()

    # The tree's root (size, hex) when last asked: a capture's root after it is the
    # next one's root before it, and each costs O(log N) hashes.
    known_root = (0, EMPTY_ROOT.hex())

    def root_now() -> str:
        nonlocal known_root
        if known_root[0] != frontier.size:
            known_root = (frontier.size, frontier.root().hex())
        return known_root[1]

    with store.reader() as read:
        for row in session.execute(stmt):
            capture, blob = cast(Capture, row), row.leaf_z
            take_audits(capture.seq)
            checked += 1
            seen_captures.add(capture.id)
            index = frontier.size
            if capture.seq != index + 1:
                problems.append(
                    Problem(
                        capture.id,
                        f"log gap: captures {index + 1}..{capture.seq - 1} of the log are missing "
                        "(rows deleted?)",
                        "seq",
                    )
                )
            future = future_date_refusal(capture.fetched_at, capture.recorded_at)
            if future is not None:
                # Recorded before such dates were refused: it heads its article for ever.
                problems.append(Problem(capture.id, f"{future} (recorded then)", "fetched_at"))
            for text in _warc_problems(capture, read):
                problems.append(Problem(capture.id, text, "warc"))
            for fld, text in images.problems(capture.detail):
                problems.append(Problem(capture.id, text, fld))
            dom_sha = _text_from_dom(capture)
            if dom_sha is not None:
                read_from_dom[capture.id] = dom_sha
            digest, roots_kept = _leaf_problems(
                walk, capture, _stored_bytes(reader, capture, blob, problems)
            )
            root_before = root_now()
            frontier.append(digest)
            if published:
                leaves.append(digest)
            if roots_kept:
                if capture.prev_chain != root_before:
                    problems.append(
                        Problem(
                            capture.id, "prev_chain is not the log root before it", "prev_chain"
                        )
                    )
                if capture.chain_hash != root_now():
                    problems.append(
                        Problem(capture.id, "chain_hash is not the log root after it", "chain_hash")
                    )
            if frontier.size in wanted:
                roots_at[frontier.size] = root_now()

    take_audits(None)
    problems.extend(_note_problems(session))
    for capture_id in sorted(set(walk.events) - seen_captures):
        problems.append(
            Problem(capture_id, f"events of capture {capture_id} exist but it does not", "events")
        )
    orphans = select(CaptureLeaf.capture_id).where(
        CaptureLeaf.capture_id.not_in(select(Capture.id))
    )
    for capture_id in session.scalars(orphans.order_by(CaptureLeaf.capture_id)):
        problems.append(
            Problem(capture_id, f"a leaf of capture {capture_id} is stored but it does not", "leaf")
        )
    problems.extend(_derived_problems(session, walk))
    for rendering in session.scalars(select(Rendering).order_by(Rendering.id)):
        logged = session.get(Capture, rendering.log_capture_id)
        for problem in rendering_problems(rendering, logged):
            problems.append(Problem(rendering.log_capture_id, problem, "rendering"))
        dom_sha = read_from_dom.pop(rendering.capture_id, None)
        if dom_sha is not None:
            for problem in _dom_problems(rendering.capture_id, dom_sha, logged, store):
                problems.append(Problem(rendering.capture_id, problem, "text_from"))
    for capture_id in sorted(read_from_dom):
        problems.append(
            Problem(
                capture_id,
                f"capture {capture_id} says its text was read from a rendered DOM, but no "
                "rendering of it is recorded",
                "text_from",
            )
        )

    size, root_hex = frontier.size, frontier.root().hex()
    head = session.get(LogHead, 1)
    if head is not None and (head.seq != size or head.root_hash != root_hex):
        problems.append(
            Problem(
                None,
                f"the log head says {head.seq} captures with root {head.root_hash[:16]}… but "
                f"the captures make a tree of {size} with root {root_hex[:16]}…",
                "chain_head",  # the head's table: verify's JSON has always named it so
            )
        )
    checked_ids: list[int] = []
    if checkpoints:
        newest = checkpoints[-1]
        checked_ids.append(newest.id)
        problems.extend(_checkpoint_problems(newest, roots_at, size, public_key))
    for text, checkpoint in published:
        problems.extend(_published_problems(text, checkpoint, leaves, frontier.root(), public_key))
    return VerifyReport(
        not problems, checked, len(versions), tuple(problems), size, root_hex, tuple(checked_ids)
    )


def _text_from_dom(capture: Capture) -> str | None:
    """The rendered DOM's SHA-256 a capture says its text was read from, if it does."""
    text_from = (capture.detail or {}).get("text_from")
    if isinstance(text_from, dict) and isinstance(text_from.get("dom_sha256"), str):
        return str(text_from["dom_sha256"])
    return None


def _dom_problems(
    capture_id: int, dom_sha: str, logged: Capture | None, store: WarcStore
) -> Iterator[str]:
    """Where the DOM a capture's text was read from is not the one its rendering
    recorded: both leaves commit to their half, this checks that the halves meet."""
    dom = ((logged.detail or {}).get("rendering") or {}).get("dom") if logged else None
    if logged is None or logged.warc_file is None or not dom:
        yield f"capture {capture_id} was read from a rendered DOM its rendering did not record"
        return
    try:
        record = store.read_record(logged.warc_file, dom["offset"], dom["length"])
    except StorageError as exc:
        yield str(exc)
        return
    if hashlib.sha256(record.payload).hexdigest() != dom_sha:
        yield (
            f"capture {capture_id} was read from a rendered DOM with SHA-256 {dom_sha[:16]}…, "
            f"but its rendering recorded another ({logged.warc_file}@{dom['offset']})"
        )


def _note_problems(session: Session) -> Iterator[Problem]:
    """Each case note against the audit entry whose leaf commits to its text."""
    stmt = select(CaseNote, AuditEntry).outerjoin(
        AuditEntry, AuditEntry.id == CaseNote.audit_entry_id
    )
    for note, entry in session.execute(stmt.order_by(CaseNote.id)):
        digest = hashlib.sha256(note.text.encode("utf-8")).hexdigest()
        if entry is None or entry.detail.get("text_sha256") != digest:
            yield Problem(
                None,
                f"case note {note.id}: its text no longer matches the audit entry that "
                "logged it (changed after it was written?)",
                "case_note.text",
            )


def _audit_into(entry: AuditEntry, frontier: Frontier, problems: list[Problem]) -> None:
    """Check one audit entry against its leaf and append the leaf hash to the tree."""
    if entry.seq != frontier.size + 1:
        problems.append(
            Problem(
                None,
                f"log gap before audit entry {entry.id}: leaves {frontier.size + 1}.."
                f"{entry.seq - 1} of the log are missing (rows deleted?)",
                "audit.seq",
            )
        )
    for fld, text in audit_entry_problems(entry):
        problems.append(Problem(None, text, fld))
    frontier.append(leaf_hash(entry.leaf.encode("utf-8")))


def _stored_bytes(
    reader: LeafReader, capture: Capture, blob: bytes | None, problems: list[Problem]
) -> bytes | None:
    """The capture's stored leaf, or None with the problem noted (none stored, or it
    cannot be read back)."""
    if capture.leaf_hash is None:
        return None  # not sealed: _leaf_problems says so
    if blob is None:
        problems.append(
            Problem(capture.id, "the capture's stored leaf is missing (row deleted?)", "leaf")
        )
        return None
    try:
        return reader.read(capture.id, blob)
    except StorageError as exc:
        problems.append(Problem(capture.id, str(exc), "leaf"))
        return None


def _stored_leaf(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _leaf_problems(walk: _Walk, capture: Capture, data: bytes | None) -> tuple[bytes, bool]:
    """Check one capture's leaf; return the leaf hash the tree gets (the stored one) and
    whether its row keeps the tree's roots before and after it (`prev_chain`,
    `chain_hash`): not when it was sealed from an archive made before the log, whose
    row keeps its old chain. `data` is its stored leaf (None when it is missing or
    unreadable: that problem is noted already, and the roots go unchecked, since
    whether it is such a capture is unknown)."""
    if capture.leaf_hash is None:
        walk.problems.append(Problem(capture.id, "capture is not sealed into the log", "leaf_hash"))
        return leaf_hash(b""), True
    try:
        digest = bytes.fromhex(capture.leaf_hash)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        walk.problems.append(
            Problem(capture.id, "leaf_hash is not a SHA-256 hex digest", "leaf_hash")
        )
        digest = leaf_hash(b"")
    if data is None:
        return digest, False
    if leaf_hash(data) != digest:
        walk.problems.append(
            Problem(capture.id, "the stored leaf does not match its leaf hash", "leaf_hash")
        )
    stored = _stored_leaf(data)
    if not stored:
        walk.problems.append(Problem(capture.id, "the stored leaf is not a JSON object", "leaf"))
        return digest, True
    version = walk.versions.get(capture.version_id) if capture.version_id else None
    if capture.version_id and version is None:
        walk.problems.append(
            Problem(capture.id, f"version {capture.version_id} is missing", "version_id")
        )
    logged_version = stored.get("version") if isinstance(stored.get("version"), dict) else None
    seen = bool(logged_version and logged_version.get("seen"))
    logged_article = stored.get("article") if isinstance(stored.get("article"), dict) else None
    rebuilt = capture_leaf(
        capture,
        version,
        walk.events.get(capture.id, []),
        version_seen=seen,
        article_after=logged_article,
        legacy="legacy_chain" in stored,
    )
    encoded = encode_leaf(rebuilt)
    if encoded != data:  # the same bytes have no field that differs (most leaves)
        for path in _diff_fields(stored, json.loads(encoded), ""):
            walk.problems.append(
                Problem(capture.id, f"{path} differs from what the log recorded", path)
            )
    if seen and logged_version is not None:
        vid = logged_version.get("id")
        if isinstance(vid, int):
            entry = walk.sightings.setdefault(vid, _Seen())
            if entry.first is None:
                entry.first = (capture.id, capture.fetched_at)
            entry.last = (capture.id, capture.fetched_at)
    if capture.article_id is not None:
        walk.article_after[capture.article_id] = (capture.id, logged_article)
    return digest, "legacy_chain" not in stored


def _checkpoint_problems(
    checkpoint: LogCheckpoint, roots_at: dict[int, str], size: int, public_key: str | None
) -> Iterator[Problem]:
    label = f"checkpoint {checkpoint.id}"
    try:
        parsed = parse_checkpoint(checkpoint.note)
    except NoteError as exc:
        yield Problem(None, f"{label}: {exc}", "checkpoint.note")
        return
    if (parsed.tree_size, parsed.root_hash.hex()) != (checkpoint.tree_size, checkpoint.root_hash):
        yield Problem(
            None, f"{label}: its row does not match its signed note", "checkpoint.tree_size"
        )
    if public_key is not None:
        try:
            verify_note(checkpoint.note, public_key)
        except NoteError as exc:
            yield Problem(None, f"{label}: {exc}", "checkpoint.signature")
    if checkpoint.tsa_token is not None:
        try:
            verify_token(checkpoint.tsa_token, checkpoint.note.encode("utf-8"))
        except TimestampError as exc:
            yield Problem(None, f"{label}: RFC 3161 timestamp: {exc}", "checkpoint.tsa_token")
    yield from _tree_problems(label, parsed, roots_at, size)


def _tree_problems(
    label: str, checkpoint: Checkpoint, roots_at: dict[int, str], size: int
) -> Iterator[Problem]:
    if checkpoint.tree_size > size:
        yield Problem(
            None,
            f"{label} signed {checkpoint.tree_size} captures but the log has {size}: captures "
            f"{size + 1}..{checkpoint.tree_size} were cut",
            "tree_size",
        )
    elif roots_at.get(checkpoint.tree_size) != checkpoint.root_hash.hex():
        yield Problem(
            None,
            f"{label}: the first {checkpoint.tree_size} captures no longer make its root hash: "
            "history before it was rewritten",
            "root_hash",
        )


def _published_problems(
    text: str,
    checkpoint: Checkpoint,
    leaves: Sequence[bytes],
    root_hash: bytes,
    public_key: str | None,
) -> Iterator[Problem]:
    """An earlier head someone kept: the log must extend it. Checked as an outsider
    holding both heads would, with an RFC 9162 consistency proof."""
    label = f"published checkpoint ({checkpoint.tree_size} captures)"
    if public_key is not None:
        try:
            verify_note(text, public_key)
        except NoteError as exc:
            yield Problem(None, f"{label}: {exc}", "checkpoint.signature")
    size = len(leaves)
    if checkpoint.tree_size > size:
        yield from _tree_problems(label, checkpoint, {}, size)
        return
    try:
        proof = consistency_proof(leaves, checkpoint.tree_size)
        verify_consistency(checkpoint.tree_size, size, checkpoint.root_hash, root_hash, proof)
    except ProofError as exc:
        yield Problem(
            None,
            f"{label}: today's log is not an extension of it ({exc}): history before it "
            "was rewritten",
            "root_hash",
        )
