"""Recording what people do: one audit entry per action, sealed into the transparency
log (archive.log.seal_audit_entry) in the action's own transaction, so an action and
its entry commit together or not at all.

Actions (`action`): `account.create`, `account.invite`, `account.accept_invite`,
`account.disable`, `account.role`, `account.password`, `token.create`, `token.revoke`,
`source.add`, `source.update`, `source.disable`, `recheck.request`, `case.create`,
`case.add`, `case.tag`, `case.note`, `case.export`, `page.save`, `article.export` (an
article's evidence package). `detail` holds names, ids and
digests only: never a password, a token or a session secret.

Must not: commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.accounts.roles import Actor
from archive.log import seal_audit_entry
from archive.store import AuditEntry


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    object_kind: str,
    object_id: str | int,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    return seal_audit_entry(
        session,
        actor=actor.name,
        action=action,
        object_kind=object_kind,
        object_id=str(object_id),
        detail=dict(detail or {}),
        at=now,
    )


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "object_kind": entry.object_kind,
        "object_id": entry.object_id,
        "detail": entry.detail,
        "leaf_hash": entry.leaf_hash,
    }


def list_audit(
    session: Session, *, object_kind: str | None = None, object_id: str | None = None
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq)
    if object_kind is not None:
        stmt = stmt.where(AuditEntry.object_kind == object_kind)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    return list(session.scalars(stmt))


def audit_page(session: Session, *, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
    """One page of the audit log, newest first, and how many entries it holds."""
    total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)
    return list(session.scalars(stmt)), total
