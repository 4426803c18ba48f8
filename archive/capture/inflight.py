"""One capture being recorded: what `record_capture` knows of it once the fetch is
located and read, handed to the steps that judge and persist it (instead of each step
taking a long list of the same arguments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from archive.capture.detect import ContentKey, Observation
from archive.capture.exchange import Exchange, RecordOptions
from archive.capture.locate import Place
from archive.content.extract import Extracted
from archive.store.models import LogHead, Source
from archive.warc.records import WarcStore


@dataclass(frozen=True, slots=True)
class InFlight:
    """One fetch on its way into the archive, inside the caller's transaction."""

    session: Session
    warc: WarcStore
    options: RecordOptions
    exchange: Exchange
    key: str  # `fetch_key(exchange)`: recording the same fetch again is a no-op
    head: LogHead  # the log head, locked: the capture is next after it
    recorded_at: datetime
    place: Place
    source: Source
    # SHA-256 of the payload (the body as transmitted); None when no response arrived.
    payload_sha: str | None
    # Why an imported record is kept as evidence only (`import_hold`), else None.
    held: str | None
    # The current version's content when this payload is one it was captured with
    # (the unchanged path: no extraction, no full judging), or when a 304's pictures
    # differ from that version's, else None. `observation.content` is the same with
    # the pictures this capture fetched.
    known: ContentKey | None
    extracted: Extracted | None
    observation: Observation
