"""A capture's leaf in the transparency log, and sealing it: every capture is a leaf of
an append-only Merkle tree (RFC 9162, archive.log.merkle), so later tampering with the
archive is detectable (design rule 5).

A leaf commits to everything a page, API answer or export shows of a capture: the
capture row, its stored WARC bytes (digest and location), the version it saw, the
events it caused and the article's state after it. `seal_capture` computes it inside
the capture's transaction and appends it to the tree in O(log N) through the frontier
kept on the log head (`LogHead`). The leaf format is documented in docs/evidence.md
so that others can write their own verifier; archive.log.verify rebuilds leaves with
`capture_leaf` to check them.

Must not: commit or open a transaction (the caller's capture transaction holds it), or
store a leaf other than through archive.log.leaves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from archive.content.image_entries import images_sha256
from archive.errors import StorageError
from archive.log.leaves import store_leaf
from archive.log.merkle import Frontier, leaf_hash
from archive.store.models import Article, Capture, ChangeEvent, LogHead, Version

LEAF_FORMAT = "presswatch-capture-leaf/1"


def iso_utc(at: datetime | None) -> str | None:
    """A time as a leaf, a checkpoint and verify's messages write it (ISO 8601, UTC)."""
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
    part = {
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
    if version.images is not None:
        # Only for versions that know their images: older leaves keep their exact bytes.
        part["images_sha256"] = images_sha256(version.images)
    return part


def _event_part(event: ChangeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "article_id": event.article_id,
        "kind": event.kind,
        "how": list(event.how),
        "at": iso_utc(event.at),
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
        "removed_at": iso_utc(article.removed_at),
        "first_seen": iso_utc(article.first_seen),
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
            "fetched_at": iso_utc(capture.fetched_at),
            "recorded_at": iso_utc(capture.recorded_at),
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


def events_by_capture(session: Session) -> dict[int, list[ChangeEvent]]:
    """Every change event, by the capture that caused it, in id order (a leaf's order)."""
    by_capture: dict[int, list[ChangeEvent]] = {}
    for event in session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)):
        by_capture.setdefault(event.capture_id, []).append(event)
    return by_capture


def locked_head(session: Session) -> LogHead:
    """The log head, locked for this transaction (row lock on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers), whether or not its captures are sealed."""
    head = session.scalars(select(LogHead).where(LogHead.id == 1).with_for_update()).first()
    if head is None:
        raise StorageError("the archive has no log head: run `presswatch init` to migrate it")
    return head


def lock_log_head(session: Session) -> LogHead:
    """Take the log head for this transaction, refusing an archive whose captures are
    not yet sealed into the log (`seal_legacy_captures` does that, at `presswatch init`)."""
    head = locked_head(session)
    if head.frontier is None and head.seq > 0:
        raise StorageError(
            f"the archive's {head.seq} captures are not yet in the transparency log: "
            "run `presswatch init` to seal them"
        )
    return head


def frontier_of(head: LogHead) -> Frontier:
    return Frontier.from_hex(head.seq if head.frontier is not None else 0, head.frontier or [])


def append_leaf(
    session: Session,
    head: LogHead,
    frontier: Frontier,
    capture: Capture,
    version: Version | None,
    leaf: dict[str, Any],
) -> None:
    """Store `leaf` as the capture's, set its leaf hash and append it to the tree."""
    data = encode_leaf(leaf)
    digest = leaf_hash(data)
    # Stored against the leaf of the capture that first saw the same version, which
    # most of this leaf repeats (archive.log.leaves).
    store_leaf(session, capture.id, data, version.first_capture_id if version else None)
    capture.leaf_hash = digest.hex()
    frontier.append(digest)
    head.seq = frontier.size
    head.root_hash = frontier.root().hex()
    head.frontier = frontier.to_hex()


def seal_capture(
    head: LogHead,
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
    frontier = frontier_of(head)
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
    append_leaf(session, head, frontier, capture, version, leaf)
    capture.chain_hash = head.root_hash
