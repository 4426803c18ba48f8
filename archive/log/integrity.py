"""The evidence log: every capture is a leaf of an append-only Merkle tree (RFC 9162,
archive.log.merkle), so later tampering with the archive is detectable (design rule 5).

A leaf commits to everything a page, API answer or export shows of a capture: the
capture row, its stored WARC bytes (digest and location), the version it saw, the
events it caused and the article's state after it. `seal_capture` computes it inside
the capture's transaction and appends it to the tree in O(log N) through the frontier
kept on `ChainHead`. `verify_archive` rebuilds every leaf from the rows and the WARC
bytes, names the field that no longer matches, recomputes the tree, checks it against
the newest stored signed checkpoint and, given one, an earlier published checkpoint.
Fields derived from many captures (a version's first/last sighting, an article's
status and removal) are recomputed from the leaves. The leaf format is documented in
docs/evidence.md so that others can write their own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, object_session, sessionmaker

from archive.clock import future_date_refusal
from archive.errors import StorageError
from archive.log.leaves import LeafReader, read_leaf, store_leaf
from archive.log.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
)
from archive.log.signing import (
    Checkpoint,
    NoteError,
    Signer,
    checkpoint_body,
    parse_checkpoint,
    verify_note,
)
from archive.log.timestamp import TimestampError, verify_token
from archive.store.models import (
    Article,
    Capture,
    CaptureLeaf,
    ChainHead,
    ChangeEvent,
    LogCheckpoint,
    Version,
)
from archive.warc.records import WarcStore

GENESIS = "0" * 64
LEAF_FORMAT = "presswatch-capture-leaf/1"


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def content_sha256(
    *, title: str | None, byline: str | None, published: str | None, text_sha256: str
) -> str:
    """Hash of everything that makes a version distinct."""
    blob = json.dumps([title, byline, published, text_sha256], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# -- the leaf ---------------------------------------------------------------------------


def encode_leaf(leaf: dict[str, Any]) -> bytes:
    """Canonical bytes: JSON, keys sorted, no whitespace, UTF-8, non-ASCII unescaped.
    For our leaves (ASCII keys, integers only) this is RFC 8785 (JCS) output."""
    return json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _version_part(version: Version | None, seen: bool) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "id": version.id,
        "article_id": version.article_id,
        "n": version.n,
        "title": version.title,
        "byline": version.byline,
        "published": version.published,
        "modified": version.modified,
        "lang": version.lang,
        "text_sha256": version.text_sha256,
        "content_sha256": version.content_sha256,
        "text_chars": version.text_chars,
        "text_words": version.text_words,
        "extractor": version.extractor,
        "normalizer": version.normalizer,
        "seen": seen,
    }


def _event_part(event: ChangeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "article_id": event.article_id,
        "kind": event.kind,
        "how": list(event.how),
        "at": _iso(event.at),
        "from_version_id": event.from_version_id,
        "to_version_id": event.to_version_id,
        "detail": event.detail,
    }


def article_state(article: Article) -> dict[str, Any]:
    """The article's state a leaf commits to (what pages and the API show of it)."""
    return {
        "id": article.id,
        "source_id": article.source_id,
        "url": article.url,
        "status": article.status,
        "removal": article.removal,
        "removed_at": _iso(article.removed_at),
        "first_seen": _iso(article.first_seen),
    }


def capture_leaf(
    capture: Capture,
    version: Version | None,
    events: Sequence[ChangeEvent],
    *,
    version_seen: bool,
    article_after: dict[str, Any] | None,
    legacy: bool = False,
) -> dict[str, Any]:
    """The leaf of one capture, from its rows. `article_after` and `version_seen` are
    facts of the moment the capture was recorded: `verify` takes them from the stored
    leaf and checks them against the rows that derive from them."""
    leaf: dict[str, Any] = {
        "format": LEAF_FORMAT,
        "index": capture.seq - 1,
        "capture": {
            "id": capture.id,
            "seq": capture.seq,
            "fetch_key": capture.fetch_key,
            "source_id": capture.source_id,
            "article_id": capture.article_id,
            "version_id": capture.version_id,
            "requested_url": capture.requested_url,
            "final_url": capture.final_url,
            "redirects": capture.redirects,
            "status": capture.status,
            "error": capture.error,
            "headers": capture.headers,
            "fetched_at": _iso(capture.fetched_at),
            "recorded_at": _iso(capture.recorded_at),
            "payload_sha256": capture.payload_sha256,
            "payload_length": capture.payload_length,
            "outcome": capture.outcome,
            "detail": capture.detail,
            "origin": capture.origin,
            "provenance": capture.provenance,
        },
        "warc": None
        if capture.warc_file is None
        else {
            "file": capture.warc_file,
            "offset": capture.warc_offset,
            "length": capture.warc_length,
            "type": capture.warc_type,
            "record_sha256": capture.record_sha256,
            "request_length": capture.request_length,
            "request_sha256": capture.request_sha256,
        },
        "version": _version_part(version, version_seen),
        "events": [_event_part(e) for e in events],
        "article": article_after,
    }
    if legacy:
        # Sealed from an archive made before the log: it also commits to the old chain.
        leaf["legacy_chain"] = {"prev_chain": capture.prev_chain, "chain_hash": capture.chain_hash}
    return leaf


# -- appending ---------------------------------------------------------------------------


def lock_chain_head(session: Session) -> ChainHead:
    """Take the log head for this transaction (row lock on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers)."""
    head = session.scalars(select(ChainHead).where(ChainHead.id == 1).with_for_update()).first()
    if head is None:
        raise StorageError("the archive has no log head: run `presswatch init` to migrate it")
    if head.frontier is None and head.seq > 0:
        raise StorageError(
            f"the archive's {head.seq} captures are not yet in the transparency log: "
            "run `presswatch init` to seal them"
        )
    return head


def _frontier(head: ChainHead) -> Frontier:
    return Frontier.from_hex(head.seq if head.frontier is not None else 0, head.frontier or [])


def _append(
    session: Session,
    head: ChainHead,
    frontier: Frontier,
    capture: Capture,
    version: Version | None,
    leaf: dict[str, Any],
) -> None:
    data = encode_leaf(leaf)
    digest = leaf_hash(data)
    # Stored against the leaf of the capture that first saw the same version, which
    # most of this leaf repeats (archive.log.leaves).
    store_leaf(session, capture.id, data, version.first_capture_id if version else None)
    capture.leaf_hash = digest.hex()
    frontier.append(digest)
    head.seq = frontier.size
    head.chain_hash = frontier.root().hex()
    head.frontier = frontier.to_hex()


def seal_capture(
    head: ChainHead,
    capture: Capture,
    version: Version | None,
    events: Sequence[ChangeEvent],
    article: Article | None,
) -> None:
    """Append the capture to the log: its leaf and leaf hash, and on the capture the tree
    root before (`prev_chain`) and after it (`chain_hash`)."""
    session = object_session(capture)
    if session is None:
        raise StorageError(f"capture {capture.id} is in no session: it cannot be sealed")
    frontier = _frontier(head)
    if capture.seq != frontier.size + 1:
        raise StorageError(f"capture seq {capture.seq} does not follow a log of {frontier.size}")
    capture.prev_chain = frontier.root().hex()
    seen = version is not None and version.last_capture_id == capture.id
    leaf = capture_leaf(
        capture,
        version,
        events,
        version_seen=seen,
        article_after=article_state(article) if article is not None else None,
    )
    _append(session, head, frontier, capture, version, leaf)
    capture.chain_hash = head.chain_hash


def _legacy_fields(
    capture: Capture, version_sha: str | None, events: Sequence[tuple[str, Sequence[str]]]
) -> dict[str, Any]:
    """The fields the hash chain of archives made before the log covered."""
    return {
        "seq": capture.seq,
        "fetch_key": capture.fetch_key,
        "article_id": capture.article_id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "redirects": capture.redirects,
        "status": capture.status,
        "error": capture.error,
        "fetched_at": _iso(capture.fetched_at),
        "payload_sha256": capture.payload_sha256,
        "payload_length": capture.payload_length,
        "warc_file": capture.warc_file,
        "warc_offset": capture.warc_offset,
        "warc_length": capture.warc_length,
        "warc_type": capture.warc_type,
        "record_sha256": capture.record_sha256,
        "outcome": capture.outcome,
        "version_sha256": version_sha,
        "events": [[kind, list(how)] for kind, how in events],
    }


def legacy_chain_hash(prev: str, fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + blob).encode("utf-8")).hexdigest()


def seal_legacy_captures(session: Session) -> int:
    """Put the captures of an archive made before the log into it, after checking their
    old hash chain (a broken chain is refused: sealing would launder the tampering).
    Idempotent; returns how many captures it sealed. The article state of a legacy
    capture is known only for each article's newest capture (the current row); the
    version is marked seen by the captures its first/last sighting name."""
    head = session.scalars(select(ChainHead).where(ChainHead.id == 1).with_for_update()).first()
    if head is None:
        raise StorageError("the archive has no log head: run `presswatch init` to migrate it")
    if head.frontier is not None:
        return 0
    frontier = Frontier()
    newest: dict[int, int] = {}
    for article_id, seq in session.execute(
        select(Capture.article_id, Capture.seq).where(Capture.article_id.is_not(None))
    ):
        if article_id is not None:
            newest[article_id] = max(seq, newest.get(article_id, 0))
    events = _events_by_capture(session)
    prev, sealed = GENESIS, 0
    for capture in session.scalars(select(Capture).order_by(Capture.seq)):
        if capture.seq != frontier.size + 1 or capture.prev_chain != prev:
            raise StorageError(
                f"capture {capture.id} (seq {capture.seq}): the archive's old hash chain is "
                "broken, so it cannot be sealed into the log; run `presswatch verify` with "
                "the previous Presswatch and restore from a backup"
            )
        version = session.get(Version, capture.version_id) if capture.version_id else None
        mine = events.get(capture.id, [])
        fields = _legacy_fields(
            capture,
            version.content_sha256 if version is not None else None,
            [(e.kind, e.how) for e in mine],
        )
        if legacy_chain_hash(prev, fields) != capture.chain_hash:
            raise StorageError(
                f"capture {capture.id} (seq {capture.seq}): its row, version or events no "
                "longer match the archive's old hash chain, so it cannot be sealed into the "
                "log; restore from a backup"
            )
        article = session.get(Article, capture.article_id) if capture.article_id else None
        after = (
            article_state(article)
            if article is not None and newest.get(article.id) == capture.seq
            else None
        )
        seen = version is not None and capture.id in (
            version.first_capture_id,
            version.last_capture_id,
        )
        leaf = capture_leaf(
            capture, version, mine, version_seen=seen, article_after=after, legacy=True
        )
        prev = capture.chain_hash
        _append(session, head, frontier, capture, version, leaf)
        sealed += 1
    if head.seq != frontier.size:
        raise StorageError(
            f"the old chain head says {head.seq} captures but {frontier.size} exist: "
            "newest captures were deleted; restore from a backup"
        )
    head.frontier = frontier.to_hex()
    head.chain_hash = frontier.root().hex()
    session.flush()
    return sealed


def _events_by_capture(session: Session) -> dict[int, list[ChangeEvent]]:
    by_capture: dict[int, list[ChangeEvent]] = {}
    for event in session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)):
        by_capture.setdefault(event.capture_id, []).append(event)
    return by_capture


# -- checkpoints and proofs ---------------------------------------------------------------


def log_leaves(session: Session, size: int | None = None) -> list[bytes]:
    """The leaf hashes of the log in order (the first `size` of them)."""
    stmt = select(Capture.leaf_hash).order_by(Capture.seq)
    if size is not None:
        stmt = stmt.limit(size)
    leaves = []
    for (digest,) in session.execute(stmt):
        if digest is None:
            raise StorageError("a capture is not sealed into the log: run `presswatch init`")
        leaves.append(bytes.fromhex(digest))
    return leaves


def current_head(session: Session) -> tuple[int, str]:
    head = session.get(ChainHead, 1)
    if head is None or (head.frontier is None and head.seq > 0):
        raise StorageError("the archive's log is not sealed: run `presswatch init`")
    if head.frontier is None:
        return 0, EMPTY_ROOT.hex()
    return head.seq, head.chain_hash


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalars(
        select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc(), LogCheckpoint.id.desc())
    ).first()


@dataclass(frozen=True, slots=True)
class InclusionProof:
    capture_id: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    root_hash: str
    hashes: tuple[str, ...]
    checkpoint_id: int | None
    leaf: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "leaf_index": self.leaf_index,
            "leaf_hash": self.leaf_hash,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "hashes": list(self.hashes),
            "checkpoint_id": self.checkpoint_id,
            "leaf": self.leaf,
        }


def capture_proof(session: Session, capture: Capture) -> InclusionProof:
    """Inclusion proof of the capture against the newest signed checkpoint that covers
    it, else against the current head (unsigned: `checkpoint_id` is null)."""
    if capture.leaf_hash is None:
        raise StorageError(
            f"capture {capture.id} is not sealed into the log: run `presswatch init`"
        )
    checkpoint = latest_checkpoint(session)
    if checkpoint is not None and checkpoint.tree_size >= capture.seq:
        size, root_hex, checkpoint_id = checkpoint.tree_size, checkpoint.root_hash, checkpoint.id
    else:
        size, root_hex = current_head(session)
        checkpoint_id = None
    data = read_leaf(session, capture.id)
    if leaf_hash(data).hex() != capture.leaf_hash:
        raise StorageError(
            f"capture {capture.id}: its stored log leaf does not match its leaf hash "
            "(run `presswatch verify`)"
        )
    leaves = log_leaves(session, size)
    path = inclusion_proof(leaves, capture.seq - 1)
    return InclusionProof(
        capture_id=capture.id,
        leaf_index=capture.seq - 1,
        leaf_hash=capture.leaf_hash,
        tree_size=size,
        root_hash=root_hex,
        hashes=tuple(h.hex() for h in path),
        checkpoint_id=checkpoint_id,
        leaf=data.decode("utf-8"),
    )


def log_consistency(session: Session, old_size: int) -> list[str]:
    """Consistency proof from the first `old_size` leaves to the current tree (hex)."""
    return [h.hex() for h in consistency_proof(log_leaves(session), old_size)]


# -- verifying ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    capture_id: int | None
    problem: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyReport:
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


def _warc_problems(capture: Capture, store: WarcStore) -> Iterator[str]:
    if capture.warc_file is None:
        return
    assert capture.warc_offset is not None and capture.warc_length is not None
    request_length = capture.request_length if capture.request_sha256 is not None else None
    try:
        # The record and the request stored right after it, in one read.
        both = store.read_raw(
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
    try:
        record = store.parse_record(raw, capture.warc_file, capture.warc_offset)
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


def _derived_problems(
    session: Session,
    versions: dict[int, Version],
    sightings: dict[int, _Seen],
    article_after: dict[int, tuple[int, dict[str, Any] | None]],
) -> Iterator[Problem]:
    for vid, version in versions.items():
        seen = sightings.get(vid)
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
                    f"version {vid}: {label}_seen says {_iso(fat)}, the log says {_iso(at)}",
                    f"version.{label}_seen",
                )
    for article in session.scalars(select(Article).order_by(Article.id)):
        newest = article_after.get(article.id)
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
    events = _events_by_capture(session)
    sightings: dict[int, _Seen] = {}
    article_after: dict[int, tuple[int, dict[str, Any] | None]] = {}

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
    stmt = (
        select(Capture, CaptureLeaf.leaf_z)
        .outerjoin(CaptureLeaf, CaptureLeaf.capture_id == Capture.id)
        .order_by(Capture.seq)
        .execution_options(yield_per=batch)
    )
    for capture, blob in session.execute(stmt):
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
        for text in _warc_problems(capture, store):
            problems.append(Problem(capture.id, text, "warc"))
        digest, roots_kept = _leaf_problems(
            capture,
            _stored_bytes(reader, capture, blob, problems),
            versions,
            events,
            problems,
            sightings,
            article_after,
        )
        root_before = frontier.root().hex()
        frontier.append(digest)
        if published:
            leaves.append(digest)
        if roots_kept:
            if capture.prev_chain != root_before:
                problems.append(
                    Problem(capture.id, "prev_chain is not the log root before it", "prev_chain")
                )
            if capture.chain_hash != frontier.root().hex():
                problems.append(
                    Problem(capture.id, "chain_hash is not the log root after it", "chain_hash")
                )
        if frontier.size in wanted:
            roots_at[frontier.size] = frontier.root().hex()

    for capture_id in sorted(set(events) - seen_captures):
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
    problems.extend(_derived_problems(session, versions, sightings, article_after))

    size, root_hex = frontier.size, frontier.root().hex()
    head = session.get(ChainHead, 1)
    if head is not None and (head.seq != size or head.chain_hash != root_hex):
        problems.append(
            Problem(
                None,
                f"the log head says {head.seq} captures with root {head.chain_hash[:16]}… but "
                f"the captures make a tree of {size} with root {root_hex[:16]}…",
                "chain_head",
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


def _leaf_problems(
    capture: Capture,
    data: bytes | None,
    versions: dict[int, Version],
    events: dict[int, list[ChangeEvent]],
    problems: list[Problem],
    sightings: dict[int, _Seen],
    article_after: dict[int, tuple[int, dict[str, Any] | None]],
) -> tuple[bytes, bool]:
    """Check one capture's leaf; return the leaf hash the tree gets (the stored one) and
    whether its row keeps the tree's roots before and after it (`prev_chain`,
    `chain_hash`): not when it was sealed from an archive made before the log, whose
    row keeps its old chain. `data` is its stored leaf (None when it is missing or
    unreadable: that problem is noted already, and the roots go unchecked, since
    whether it is such a capture is unknown)."""
    if capture.leaf_hash is None:
        problems.append(Problem(capture.id, "capture is not sealed into the log", "leaf_hash"))
        return leaf_hash(b""), True
    try:
        digest = bytes.fromhex(capture.leaf_hash)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        problems.append(Problem(capture.id, "leaf_hash is not a SHA-256 hex digest", "leaf_hash"))
        digest = leaf_hash(b"")
    if data is None:
        return digest, False
    if leaf_hash(data) != digest:
        problems.append(
            Problem(capture.id, "the stored leaf does not match its leaf hash", "leaf_hash")
        )
    stored = _stored_leaf(data)
    if not stored:
        problems.append(Problem(capture.id, "the stored leaf is not a JSON object", "leaf"))
        return digest, True
    version = versions.get(capture.version_id) if capture.version_id else None
    if capture.version_id and version is None:
        problems.append(
            Problem(capture.id, f"version {capture.version_id} is missing", "version_id")
        )
    logged_version = stored.get("version") if isinstance(stored.get("version"), dict) else None
    seen = bool(logged_version and logged_version.get("seen"))
    logged_article = stored.get("article") if isinstance(stored.get("article"), dict) else None
    rebuilt = capture_leaf(
        capture,
        version,
        events.get(capture.id, []),
        version_seen=seen,
        article_after=logged_article,
        legacy="legacy_chain" in stored,
    )
    for path in _diff_fields(stored, json.loads(encode_leaf(rebuilt)), ""):
        problems.append(Problem(capture.id, f"{path} differs from what the log recorded", path))
    if seen and logged_version is not None:
        vid = logged_version.get("id")
        if isinstance(vid, int):
            entry = sightings.setdefault(vid, _Seen())
            if entry.first is None:
                entry.first = (capture.id, capture.fetched_at)
            entry.last = (capture.id, capture.fetched_at)
    if capture.article_id is not None:
        article_after[capture.article_id] = (capture.id, logged_article)
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


def sign_head(session: Session, signer: Signer) -> tuple[int, str, str]:
    """(tree size, root hash hex, signed note) of the log's current head; writes nothing."""
    size, root_hex = current_head(session)
    return size, root_hex, signer.sign(checkpoint_body(signer.name, size, bytes.fromhex(root_hex)))


def store_checkpoint(
    session: Session,
    *,
    tree_size: int,
    root_hash: str,
    note: str,
    now: datetime,
    tsa_token: bytes | None = None,
) -> LogCheckpoint:
    checkpoint = LogCheckpoint(
        tree_size=tree_size, root_hash=root_hash, issued_at=now, note=note, tsa_token=tsa_token
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def issue_checkpoint(
    sessions: sessionmaker[Session],
    signer: Signer,
    *,
    timestamp: Callable[[bytes], bytes] | None = None,
    now: datetime | None = None,
) -> LogCheckpoint:
    """Sign the log's current head, have `timestamp` (an RFC 3161 TSA client) stamp the
    note, and store it; returns the stored checkpoint, detached. The one way a checkpoint
    is made (`presswatch checkpoint`, an evidence export). The TSA is asked between two
    transactions, so a slow one never holds the archive's write lock; if it fails, its
    error propagates and nothing is stored."""
    with sessions() as session:
        size, root_hex, note = sign_head(session, signer)
    token = timestamp(note.encode("utf-8")) if timestamp is not None else None
    with sessions.begin() as session:
        issued = store_checkpoint(
            session,
            tree_size=size,
            root_hash=root_hex,
            note=note,
            now=now or datetime.now(UTC),
            tsa_token=token,
        )
        session.expunge(issued)
    return issued


def checkpoint_json(checkpoint: LogCheckpoint) -> dict[str, Any]:
    """A stored signed tree head as the CLI and the API show it (docs/json.md)."""
    return {
        "id": checkpoint.id,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "issued_at": _iso(checkpoint.issued_at),
        "note": checkpoint.note,
        "tsa_token": base64.b64encode(checkpoint.tsa_token).decode()
        if checkpoint.tsa_token
        else None,
    }


def list_checkpoints(session: Session, *, limit: int = 100) -> list[LogCheckpoint]:
    return list(
        session.scalars(
            select(LogCheckpoint)
            .order_by(LogCheckpoint.tree_size.desc(), LogCheckpoint.id.desc())
            .limit(limit)
        )
    )
