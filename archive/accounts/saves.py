"""Saving a page now: the per-person quota and the audit entry of a save.

A save is counted from the audit log itself (`page.save` entries of the same actor in
the last hour), so the quota needs no table of its own and cannot be reset by anything
short of rewriting the log.

Must not: fetch, commit, or read the clock (the caller hands in `now`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.accounts.audit import record_audit
from archive.accounts.roles import Actor, Role
from archive.errors import Throttled
from archive.store import AuditEntry

SAVE_ACTION = "page.save"
SAVE_WINDOW = timedelta(hours=1)


def saves_in_window(session: Session, actor_name: str, *, now: datetime) -> int:
    """How many pages `actor_name` saved in the hour before `now`."""
    stmt = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == SAVE_ACTION)
        .where(AuditEntry.actor == actor_name)
        .where(AuditEntry.at > now - SAVE_WINDOW)
    )
    return int(session.scalar(stmt) or 0)


def require_save_quota(session: Session, actor: Actor, *, now: datetime, per_hour: int) -> None:
    """Raise Throttled when `actor` has saved `per_hour` pages in the last hour (0: no
    limit). Needs the editor role (NotAllowed below it)."""
    actor.require(Role.EDITOR)
    if per_hour <= 0:
        return
    done = saves_in_window(session, actor.name, now=now)
    if done >= per_hour:
        raise Throttled(
            f"{actor.name} saved {done} pages in the last hour, the most allowed "
            f"(save_per_hour = {per_hour}): try again later"
        )


def record_save(
    session: Session,
    actor: Actor,
    url: str,
    *,
    article_id: int | None,
    capture_id: int | None,
    note: str,
    now: datetime,
) -> AuditEntry:
    """The audit entry (a leaf of the transparency log) of one save: who, the address,
    the note, and what it became."""
    detail: dict[str, Any] = {"url": url[:2000], "note": note[:1000]}
    if capture_id is not None:
        detail["capture_id"] = capture_id
    object_id: str | int = article_id if article_id is not None else url[:200]
    return record_audit(
        session,
        actor,
        SAVE_ACTION,
        "article" if article_id is not None else "url",
        object_id,
        now=now,
        detail=detail,
    )
