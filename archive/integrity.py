"""The evidence chain: hashes that make later tampering with the archive detectable.

Every Capture carries the SHA-256 of its payload and of its stored WARC record, and a
chain hash over the previous capture's chain hash and its own fields, including the
hash of the version it produced and the events it caused. `verify_archive` recomputes
all of it: a flipped byte in a WARC file, an edited Version row, a deleted or altered
Capture row each surface as a problem (design rule 5).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.models import Capture, ChainHead, ChangeEvent, Version
from archive.warc import WarcStore

GENESIS = "0" * 64


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def content_sha256(
    *, title: str | None, byline: str | None, published: str | None, text_sha256: str
) -> str:
    """Hash of everything that makes a version distinct."""
    blob = json.dumps([title, byline, published, text_sha256], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def capture_fields(
    capture: Capture, version_sha: str | None, events: Sequence[tuple[str, Sequence[str]]]
) -> dict[str, Any]:
    """The canonical fields a capture's chain hash covers."""
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


def chain_hash(prev: str, fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + blob).encode("utf-8")).hexdigest()


def lock_chain_head(session: Session) -> ChainHead:
    """Take the chain head for this transaction (row lock on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers)."""
    head = session.scalars(select(ChainHead).where(ChainHead.id == 1).with_for_update()).first()
    if head is None:
        raise StorageError("the archive has no chain head: run `presswatch init` to migrate it")
    return head


@dataclass(frozen=True, slots=True)
class Problem:
    capture_id: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    captures_checked: int
    versions_checked: int
    problems: tuple[Problem, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "captures_checked": self.captures_checked,
            "versions_checked": self.versions_checked,
            "problems": [{"capture_id": p.capture_id, "problem": p.problem} for p in self.problems],
        }


def _version_problems(version: Version) -> Iterator[str]:
    try:
        text = zlib.decompress(version.text_z).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as exc:
        yield f"version {version.id} (article {version.article_id}): text unreadable: {exc}"
        return
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != version.text_sha256:
        yield (
            f"version {version.id} (article {version.article_id}): text does not match its SHA-256"
        )
    expected = content_sha256(
        title=version.title,
        byline=version.byline,
        published=version.published,
        text_sha256=version.text_sha256,
    )
    if expected != version.content_sha256:
        yield (
            f"version {version.id} (article {version.article_id}): title, byline or date "
            "does not match its content hash"
        )


def _warc_problems(capture: Capture, store: WarcStore) -> Iterator[str]:
    if capture.warc_file is None:
        return
    assert capture.warc_offset is not None and capture.warc_length is not None
    try:
        raw = store.read_raw(capture.warc_file, capture.warc_offset, capture.warc_length)
    except StorageError as exc:
        yield str(exc)
        return
    if len(raw) != capture.warc_length:
        yield f"WARC record {capture.warc_file}@{capture.warc_offset} is truncated"
        return
    if hashlib.sha256(raw).hexdigest() != capture.record_sha256:
        yield f"WARC record {capture.warc_file}@{capture.warc_offset} does not match its SHA-256"
        return
    try:
        record = store.read_record(capture.warc_file, capture.warc_offset, capture.warc_length)
    except StorageError as exc:
        yield str(exc)
        return
    if record.warc_type == "response":
        if hashlib.sha256(record.payload).hexdigest() != capture.payload_sha256:
            yield f"WARC payload of capture {capture.id} does not match its SHA-256"


def verify_archive(session: Session, store: WarcStore, *, batch: int = 500) -> VerifyReport:
    """Re-read every WARC record and recompute every hash and the chain."""
    problems: list[Problem] = []
    versions: dict[int, Version] = {}
    for stored in session.scalars(select(Version).order_by(Version.id)):
        versions[stored.id] = stored
        for text in _version_problems(stored):
            problems.append(Problem(stored.first_capture_id, text))

    events_by_capture: dict[int, list[tuple[str, list[str]]]] = {}
    for event in session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)):
        events_by_capture.setdefault(event.capture_id, []).append((event.kind, list(event.how)))

    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    stmt = select(Capture).order_by(Capture.seq).execution_options(yield_per=batch)
    for capture in session.scalars(stmt):
        checked += 1
        if capture.seq != expected_seq:
            problems.append(
                Problem(
                    capture.id,
                    f"chain gap: captures {expected_seq}..{capture.seq - 1} of the chain are "
                    "missing (rows deleted?)",
                )
            )
        if capture.prev_chain != prev:
            problems.append(Problem(capture.id, "chain broken: previous hash does not match"))
        version = versions.get(capture.version_id) if capture.version_id else None
        version_sha = version.content_sha256 if version is not None else None
        if capture.version_id and version is None:
            problems.append(Problem(capture.id, f"version {capture.version_id} is missing"))
        fields = capture_fields(capture, version_sha, events_by_capture.get(capture.id, []))
        if chain_hash(capture.prev_chain, fields) != capture.chain_hash:
            problems.append(
                Problem(capture.id, "capture row, its version or its events were altered")
            )
        for text in _warc_problems(capture, store):
            problems.append(Problem(capture.id, text))
        prev = capture.chain_hash
        expected_seq = capture.seq + 1
        last_seq = capture.seq

    head = session.get(ChainHead, 1)
    if head is not None and (head.seq != last_seq or head.chain_hash != prev):
        problems.append(
            Problem(
                None,
                f"chain head says {head.seq} captures but the chain ends at {last_seq}: "
                "newest captures deleted?",
            )
        )
    return VerifyReport(not problems, checked, len(versions), tuple(problems))
