"""Signed checkpoints of the transparency log: the log's current head, signing it
(C2SP signed notes, archive.log.signing) with an optional RFC 3161 timestamp, storing,
listing and showing the checkpoints.

Must not: talk to a timestamp authority itself (the caller hands in its client), or hold
the archive's write lock while one answers.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archive.errors import StorageError
from archive.log.merkle import EMPTY_ROOT
from archive.log.seal import iso_utc
from archive.log.signing import Signer, checkpoint_body
from archive.store.models import LogCheckpoint, LogHead


def current_head(session: Session) -> tuple[int, str]:
    """(tree size, root hash hex) of the log as it is now, unsigned."""
    head = session.get(LogHead, 1)
    if head is None or (head.frontier is None and head.seq > 0):
        raise StorageError("the archive's log is not sealed: run `presswatch init`")
    if head.frontier is None:
        return 0, EMPTY_ROOT.hex()
    return head.seq, head.root_hash


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    """The stored checkpoint of the largest tree, the newest of those."""
    return session.scalars(
        select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc(), LogCheckpoint.id.desc())
    ).first()


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
    """Keep a signed tree head (and its RFC 3161 token) as the log's checkpoint."""
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
        "issued_at": iso_utc(checkpoint.issued_at),
        "note": checkpoint.note,
        "tsa_token": base64.b64encode(checkpoint.tsa_token).decode()
        if checkpoint.tsa_token
        else None,
    }


def list_checkpoints(session: Session, *, limit: int = 100) -> list[LogCheckpoint]:
    """The stored checkpoints, largest tree first."""
    return list(
        session.scalars(
            select(LogCheckpoint)
            .order_by(LogCheckpoint.tree_size.desc(), LogCheckpoint.id.desc())
            .limit(limit)
        )
    )
