"""The notification outbox: a cursor over `change_events` and one row per
(subscription, matching event), from queued to sent. A story event (`removed_together`,
not a change event) is queued by `presswatch.notify.queue_story_events` when it is
found, under the negative of its id.

Events reach the outbox after they commit, by a cursor over `change_events`
(`NotifyCursor`): capture writes events while holding the log head's lock, so event
ids commit in increasing order and a cursor that only moves forward misses none. The
cursor moves in the same transaction as the outbox rows it queues, and (subscription,
event) is unique, so an event is queued once or not at all, whatever crashes.

Delivery is at most once: a sender claims rows (`sending`), sends, then marks them
`sent`. A sender that dies between the send and the mark leaves rows `sending`; once
their claim is older than `CLAIM_TIMEOUT` they become `unconfirmed` and are not sent
again unless the operator asks (`presswatch notify retry`), because the message may
well have arrived. Matching is `archive.notify.matching`'s, sending
`presswatch.notify`'s; this module reads and writes the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from archive.errors import NotFound
from archive.notify.subscriptions import subscription_by_name
from archive.store.models import ChangeEvent, NotifyCursor, NotifyOutbox, NotifySubscription

__all__ = [
    "CLAIM_TIMEOUT",
    "claim_pending",
    "events_after",
    "expire_claims",
    "finish_claim",
    "is_due",
    "outbox_counts",
    "queue_deliveries",
    "read_cursor",
    "requeue_unconfirmed",
]

# Longer than any send can take (Apprise's own timeouts are seconds): a claim this old
# belongs to a sender that died.
CLAIM_TIMEOUT = timedelta(minutes=15)


def read_cursor(session: Session, *, lock: bool = False) -> NotifyCursor:
    """The cursor row (created at 0); `lock` takes it FOR UPDATE so two matchers queue
    one after the other (SQLite writers are serialized by BEGIN IMMEDIATE anyway)."""
    query = select(NotifyCursor).where(NotifyCursor.id == 1)
    if lock:
        query = query.with_for_update()
    cursor = session.scalars(query).first()
    if cursor is None:
        cursor = NotifyCursor(id=1, event_id=0)
        session.add(cursor)
        session.flush()
    return cursor


def events_after(session: Session, event_id: int, limit: int) -> list[ChangeEvent]:
    return list(
        session.scalars(
            select(ChangeEvent)
            .where(ChangeEvent.id > event_id)
            .order_by(ChangeEvent.id)
            .limit(limit)
        )
    )


def queue_deliveries(
    session: Session,
    pairs: Iterable[tuple[int, int]],
    *,
    cursor: NotifyCursor,
    to_event: int,
    now: datetime,
) -> int:
    """Queue (subscription id, event id) pairs and move the cursor, in the caller's
    transaction. Returns how many rows were queued."""
    rows = [
        {"subscription_id": sub_id, "event_id": event_id, "queued_at": now, "state": "pending"}
        for sub_id, event_id in pairs
    ]
    if rows:
        session.execute(insert(NotifyOutbox), rows)
    count = len(rows)
    cursor.event_id = max(cursor.event_id, to_event)
    session.flush()
    return count


def expire_claims(session: Session, now: datetime) -> int:
    """Rows left `sending` by a sender that died: `unconfirmed` (sent or not, we cannot
    know; at most once means not again)."""
    result = session.execute(
        update(NotifyOutbox)
        .where(NotifyOutbox.state == "sending", NotifyOutbox.claimed_at < now - CLAIM_TIMEOUT)
        .values(state="unconfirmed")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_pending(session: Session, subscription_id: int, token: str, now: datetime) -> list[int]:
    """Claim every pending row of a subscription for one send (a row is claimed by one
    sender only: the UPDATE is conditional on `pending`); the claimed event ids."""
    session.execute(
        update(NotifyOutbox)
        .where(NotifyOutbox.subscription_id == subscription_id, NotifyOutbox.state == "pending")
        .values(state="sending", claim=token, claimed_at=now)
    )
    return list(
        session.scalars(
            select(NotifyOutbox.event_id)
            .where(NotifyOutbox.claim == token)
            .order_by(NotifyOutbox.event_id)
        )
    )


def finish_claim(
    session: Session,
    token: str,
    *,
    sent: bool,
    now: datetime,
    event_ids: Sequence[int] | None = None,
) -> None:
    """After a send: the claimed rows (only those of `event_ids` when given) become
    `sent`, or go back to `pending` for the next try."""
    values: dict[str, Any] = (
        {"state": "sent", "sent_at": now}
        if sent
        else {"state": "pending", "claim": None, "claimed_at": None}
    )
    query = update(NotifyOutbox).where(NotifyOutbox.claim == token, NotifyOutbox.state == "sending")
    if event_ids is not None:
        query = query.where(NotifyOutbox.event_id.in_(list(event_ids)))
    session.execute(query.values(**values))


def requeue_unconfirmed(session: Session, name: str | None = None) -> int:
    """The operator's choice after a crash: send the unconfirmed rows again."""
    query = update(NotifyOutbox).where(NotifyOutbox.state == "unconfirmed")
    if name is not None:
        row = subscription_by_name(session, name)
        if row is None:
            raise NotFound(f"no subscription named {name!r}; `presswatch notify list` shows them")
        query = query.where(NotifyOutbox.subscription_id == row.id)
    result = session.execute(query.values(state="pending", claim=None, claimed_at=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def outbox_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per subscription id: rows by state."""
    out: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(NotifyOutbox.subscription_id, NotifyOutbox.state, func.count()).group_by(
            NotifyOutbox.subscription_id, NotifyOutbox.state
        )
    )
    for sub_id, state, count in rows:
        out.setdefault(sub_id, {})[state] = count
    return out


def _digest_boundary(now: datetime, hour: int) -> datetime:
    """The latest time of day `hour`:00 UTC at or before `now`."""
    today = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def is_due(session: Session, sub: NotifySubscription, now: datetime, digest_hour: int) -> bool:
    """Something waits for this subscription and it may be sent now: not backing off,
    and for a daily digest, an event seen before the latest digest hour (so a digest
    holds a day's events, whenever the run after that hour comes)."""
    if not sub.enabled:
        return False
    if sub.next_attempt_at is not None and sub.next_attempt_at > now:
        return False
    query = select(NotifyOutbox.id).where(
        NotifyOutbox.subscription_id == sub.id, NotifyOutbox.state == "pending"
    )
    if sub.mode == "digest":
        boundary = _digest_boundary(now, digest_hour)
        # A story event (negative id, presswatch.notify.queue_story_events) is in no
        # `change_events` row: it counts from when it was queued.
        query = query.outerjoin(ChangeEvent, ChangeEvent.id == NotifyOutbox.event_id).where(
            or_(
                ChangeEvent.at < boundary,
                (NotifyOutbox.event_id < 0) & (NotifyOutbox.queued_at < boundary),
            )
        )
    return session.scalars(query.limit(1)).first() is not None
