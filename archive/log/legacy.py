"""Sealing an archive made before the transparency log into it (`presswatch init`).

Such an archive kept a hash chain instead: each capture row held the SHA-256 of the
previous one's hash and its own fields (`prev_chain`, `chain_hash`). Its captures are
sealed into the log only after that old chain is checked, since sealing a broken one
would launder the tampering; each leaf then also commits to the old chain
(`legacy_chain`, docs/evidence.md).

Must not: seal an archive whose old chain is broken, or run on a sealed one (it returns 0).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.log.merkle import Frontier
from archive.log.seal import (
    append_leaf,
    article_state,
    capture_leaf,
    events_by_capture,
    iso_utc,
    locked_head,
)
from archive.store.models import Article, Capture, Version

# The old chain's hash before its first capture.
GENESIS = "0" * 64


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
        "fetched_at": iso_utc(capture.fetched_at),
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
    head = locked_head(session)
    if head.frontier is not None:
        return 0
    frontier = Frontier()
    newest: dict[int, int] = {}
    for article_id, seq in session.execute(
        select(Capture.article_id, Capture.seq).where(Capture.article_id.is_not(None))
    ):
        if article_id is not None:
            newest[article_id] = max(seq, newest.get(article_id, 0))
    events = events_by_capture(session)
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
        append_leaf(session, head, frontier, capture, version, leaf)
        sealed += 1
    if head.seq != frontier.size:
        raise StorageError(
            f"the old chain head says {head.seq} captures but {frontier.size} exist: "
            "newest captures were deleted; restore from a backup"
        )
    head.frontier = frontier.to_hex()
    head.root_hash = frontier.root().hex()
    session.flush()
    return sealed
