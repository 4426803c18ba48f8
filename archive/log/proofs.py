"""Inclusion proofs of captures (RFC 9162): which leaf a capture is and the path from it
to a signed checkpoint's root, as the API and evidence packages hand them out.

Must not: write anything.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.log.checkpoints import current_head, latest_checkpoint
from archive.log.leaves import read_leaf
from archive.log.merkle import inclusion_proof, leaf_hash
from archive.store.account_tables import AuditEntry
from archive.store.models import Capture


def log_leaves(session: Session, size: int | None = None) -> list[bytes]:
    """The leaf hashes of the log in order (the first `size` of them)."""
    # Audit entries share the log with the captures (archive.log.audit). Read apart and
    # merged by seq: a capture's digest is stored as bytes, an audit entry's as hex, and
    # PostgreSQL refuses a UNION of `bytea` and `varchar`.
    parts = []
    for seq, digest in (
        (Capture.seq, Capture.leaf_hash),
        (AuditEntry.seq, AuditEntry.leaf_hash),
    ):
        stmt = select(seq, digest).order_by(seq)
        if size is not None:
            stmt = stmt.limit(size)
        parts.append((row_seq, leaf) for row_seq, leaf in session.execute(stmt))
    leaves = []
    for _seq, leaf in islice(heapq.merge(*parts), size):
        if leaf is None:
            raise StorageError("a capture is not sealed into the log: run `presswatch init`")
        leaves.append(bytes.fromhex(leaf))
    return leaves


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """A capture's leaf and its audit path to the root of a tree of `tree_size` leaves."""

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


def audit_proof(session: Session, entry: AuditEntry, size: int, root_hex: str) -> dict[str, Any]:
    """Inclusion proof of an audit entry's leaf in the tree of `size` leaves whose root
    is `root_hex` (a signed checkpoint's), in the shape evidence packages hand out."""
    if entry.seq > size:
        raise StorageError(f"audit entry {entry.id} is not covered by a tree of {size} leaves")
    path = inclusion_proof(log_leaves(session, size), entry.seq - 1)
    return {
        "audit_id": entry.id,
        "leaf_index": entry.seq - 1,
        "leaf_hash": entry.leaf_hash,
        "tree_size": size,
        "root_hash": root_hex,
        "hashes": [h.hex() for h in path],
        "leaf": entry.leaf,
    }
