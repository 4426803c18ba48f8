"""Audit entries as leaves of the transparency log: who did what to which object, when.

Each entry (`AuditEntry`, archive.store.account_tables) takes the next place in the one
log the captures are in (its `seq`, leaf index `seq - 1`), so a signed checkpoint
commits to the audit trail as it does to the captures, and `presswatch verify`
rebuilds each entry's leaf from its row: a changed, removed or inserted entry fails.
What an entry's `detail` holds is its caller's word (archive.accounts); secrets never
go in it, only names, ids and digests (a case note's text is committed to by its
SHA-256 in `detail.text_sha256`).

Leaf (canonical JSON as archive.log.seal.encode_leaf writes it):

    {"format": "presswatch-audit-leaf/1", "index": seq - 1,
     "audit": {"id", "seq", "at", "actor", "action", "object_kind", "object_id", "detail"}}

Must not: commit or open a transaction (the caller's holds the log head's lock).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.log.merkle import leaf_hash
from archive.log.seal import encode_leaf, frontier_of, iso_utc, lock_log_head
from archive.store.account_tables import AuditEntry

AUDIT_LEAF_FORMAT = "presswatch-audit-leaf/1"


def audit_leaf(entry: AuditEntry) -> dict[str, Any]:
    """The leaf of one audit entry, from its row."""
    return {
        "format": AUDIT_LEAF_FORMAT,
        "index": entry.seq - 1,
        "audit": {
            "id": entry.id,
            "seq": entry.seq,
            "at": iso_utc(entry.at),
            "actor": entry.actor,
            "action": entry.action,
            "object_kind": entry.object_kind,
            "object_id": entry.object_id,
            "detail": entry.detail,
        },
    }


def seal_audit_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str,
    detail: dict[str, Any],
    at: datetime,
) -> AuditEntry:
    """Record one audit entry and append its leaf to the log, in the caller's
    transaction (which then holds the log head until it commits, as a capture's does)."""
    head = lock_log_head(session)
    frontier = frontier_of(head)
    entry = AuditEntry(
        seq=frontier.size + 1,
        at=at,
        actor=actor,
        action=action,
        object_kind=object_kind,
        object_id=str(object_id),
        detail=detail,
        leaf_hash="",
        leaf="",
    )
    session.add(entry)
    session.flush()  # its id is part of its leaf
    data = encode_leaf(audit_leaf(entry))
    digest = leaf_hash(data)
    entry.leaf = data.decode("utf-8")
    entry.leaf_hash = digest.hex()
    frontier.append(digest)
    head.seq = frontier.size
    head.root_hash = frontier.root().hex()
    head.frontier = frontier.to_hex()
    session.flush()
    return entry


def audit_entry_problems(entry: AuditEntry) -> Iterator[tuple[str, str]]:
    """(field, problem) for an audit entry whose row no longer matches its leaf, or whose
    leaf no longer matches its leaf hash."""
    where = f"audit entry {entry.id} (log seq {entry.seq})"
    if leaf_hash(entry.leaf.encode("utf-8")).hex() != entry.leaf_hash:
        yield "audit.leaf", f"{where}: its stored leaf does not match its leaf hash"
    try:
        stored = json.loads(entry.leaf)
    except ValueError:
        yield "audit.leaf", f"{where}: its stored leaf is not JSON"
        return
    rebuilt = audit_leaf(entry)
    if stored != rebuilt:
        old = stored.get("audit", {}) if isinstance(stored, dict) else {}
        for key, value in rebuilt["audit"].items():
            if not isinstance(old, dict) or old.get(key) != value:
                yield f"audit.{key}", f"{where}: {key} no longer matches its log leaf"
        if stored.get("index") != rebuilt["index"]:
            yield "audit.seq", f"{where}: seq no longer matches its log leaf"


def audit_entries_in_order(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def audit_entry_by_id(session: Session, entry_id: int) -> AuditEntry:
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise StorageError(f"audit entry {entry_id} is missing (row deleted?)")
    return entry
