"""Notification subscriptions: what a watchdog wants to hear about (sources, topic
keywords, change kinds, minimum significance), where to send it (an Apprise URL, judged
by `archive.notify.notifiers`), at once or in a daily digest, and each subscription's
delivery health (failures, backoff, last error).

Rows only: which events match is `archive.notify.matching`'s, their queue is
`archive.notify.outbox`'s, sending is `presswatch.notify`'s.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.errors import BadInput, NotFound
from archive.notify.notifiers import NotifierEgress, apprise_url_problem, notifier_refusal
from archive.store.db import insert_or_reread
from archive.store.models import ChangeEvent, ChangeKind, NotifyOutbox, NotifySubscription

__all__ = [
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "DEFAULT_NOTIFY_KINDS",
    "NOTIFY_MODES",
    "SubscriptionSpec",
    "add_subscription",
    "last_event_id",
    "list_subscriptions",
    "record_attempt",
    "remove_subscription",
    "subscription_by_name",
    "sync_file_subscriptions",
]

NOTIFY_MODES = ("immediate", "digest")
# A new subscription hears about edits, takedowns and restorations; `discovered` would
# send every new article, so it is asked for by name.
DEFAULT_NOTIFY_KINDS = (
    ChangeKind.EDITED.value,
    ChangeKind.REMOVED.value,
    ChangeKind.RESTORED.value,
    ChangeKind.REMOVED_TOGETHER.value,
)
# A failed send backs its subscription off: 1 min, doubling to 6 h.
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A subscription as the CLI, the API or sources.toml gives it."""

    name: str
    url: str
    sources: tuple[str, ...] = ()
    topic: str | None = None
    keywords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = DEFAULT_NOTIFY_KINDS
    min_significance: float = 0.0
    mode: str = "immediate"
    enabled: bool = True

    def problems(self, egress: NotifierEgress | None = None) -> list[str]:
        """What is wrong with it, each naming the field and the fix. The URL is judged
        by the egress policy `egress` (default: nothing internal is allowed)."""
        out = []
        if not _SLUG.match(self.name):
            out.append(
                f"name {self.name!r} is not a slug; use lower-case letters, digits, '-' and '_'"
            )
        url_problem = apprise_url_problem(self.url)
        if url_problem is not None:
            out.append(f"url: {url_problem}")
        else:
            refusal = notifier_refusal(self.url, egress or NotifierEgress())
            if refusal is not None:
                out.append(f"url: {refusal}")
        known = {k.value for k in ChangeKind}
        for kind in self.kinds:
            if kind not in known:
                out.append(f"kinds: {kind!r} is not a change kind (use {', '.join(sorted(known))})")
        if not 0.0 <= self.min_significance <= 1.0:
            out.append(f"min_significance {self.min_significance} must be between 0 and 1")
        if self.mode not in NOTIFY_MODES:
            out.append(f"mode {self.mode!r}: use immediate or digest")
        if any(not k.strip() for k in self.keywords):
            out.append("keywords: a keyword is blank; remove it or write the word")
        return out


def _apply(row: NotifySubscription, spec: SubscriptionSpec) -> None:
    if row.url is not None and row.url != spec.url.strip():
        # A new address deserves a try now: the old one's failures are not its own.
        row.failures, row.next_attempt_at, row.last_error = 0, None, None
    row.url = spec.url.strip()
    row.sources = list(spec.sources)
    row.topic = spec.topic
    row.keywords = list(spec.keywords)
    row.kinds = list(spec.kinds)
    row.min_significance = float(spec.min_significance)
    row.mode = spec.mode
    row.enabled = spec.enabled


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(ChangeEvent.id))) or 0


def add_subscription(
    session: Session,
    spec: SubscriptionSpec,
    *,
    origin: str,
    now: datetime,
    egress: NotifierEgress | None = None,
) -> NotifySubscription:
    """A new subscription; it hears about events recorded from now on. `BadInput` when
    the spec is invalid (its URL judged by `egress`) or the name is taken."""
    problems = spec.problems(egress)
    if problems:
        raise BadInput(f"subscription {spec.name!r}: " + "; ".join(problems))
    if subscription_by_name(session, spec.name) is not None:
        raise BadInput(
            f"a subscription named {spec.name!r} exists; remove it first or choose another name"
        )
    row = NotifySubscription(
        name=spec.name, origin=origin, created_at=now, after_event_id=last_event_id(session)
    )
    _apply(row, spec)
    session.add(row)
    session.flush()
    return row


def subscription_by_name(session: Session, name: str) -> NotifySubscription | None:
    return session.scalars(
        select(NotifySubscription).where(NotifySubscription.name == name)
    ).first()


def list_subscriptions(session: Session) -> list[NotifySubscription]:
    return list(session.scalars(select(NotifySubscription).order_by(NotifySubscription.name)))


def remove_subscription(session: Session, name: str) -> None:
    """Delete a subscription and its queue (these are not archive records)."""
    row = subscription_by_name(session, name)
    if row is None:
        raise NotFound(f"no subscription named {name!r}; `presswatch notify list` shows them")
    session.execute(delete(NotifyOutbox).where(NotifyOutbox.subscription_id == row.id))
    session.delete(row)
    session.flush()


def sync_file_subscriptions(
    session: Session,
    specs: Sequence[SubscriptionSpec],
    *,
    now: datetime,
    egress: NotifierEgress | None = None,
) -> None:
    """Make the `origin = "file"` subscriptions those of sources.toml: add, update (the
    delivery health is kept) and remove. The file wins a name clash with a subscription
    added by the CLI or the API (logged). Two runs adding one new entry at once both go
    on: the insert that loses the race updates the winner's row."""
    rows = {r.name: r for r in list_subscriptions(session)}
    wanted = {s.name for s in specs}
    for spec in specs:
        row = rows.get(spec.name)
        if row is None:
            found, inserted = insert_or_reread(
                session,
                partial(add_subscription, session, spec, origin="file", now=now, egress=egress),
                partial(subscription_by_name, session, spec.name),
            )
            if inserted:
                continue
            # Another run (a second machine on the same database) added it first: make
            # its row the file's, as below.
            row = found
        if row.origin != "file":
            logging.getLogger(__name__).warning(
                "subscription %s (%s) is replaced by the one in sources.toml", row.name, row.origin
            )
            row.origin = "file"
        if row.url != spec.url.strip():
            problems = spec.problems(egress)
            if problems:
                raise BadInput(f"subscription {spec.name!r}: " + "; ".join(problems))
        _apply(row, spec)
    for name, row in rows.items():
        if row.origin == "file" and name not in wanted:
            remove_subscription(session, name)
    session.flush()


def record_attempt(sub: NotifySubscription, now: datetime, error: str | None) -> timedelta | None:
    """Note a send to `sub` at `now`: a success clears its failures; a failure (`error`)
    counts one, keeps the error and backs the subscription off. The wait before the
    next try after a failure, else None."""
    sub.last_attempt_at = now
    if error is None:
        sub.failures = 0
        sub.next_attempt_at = None
        sub.last_error = None
        sub.last_success_at = now
        return None
    sub.failures += 1
    wait: timedelta = min(BACKOFF_FIRST * 2 ** (sub.failures - 1), BACKOFF_MAX)
    sub.next_attempt_at = now + wait
    sub.last_error = f"{now.isoformat(timespec='seconds')}: {error}"[:2000]
    return wait
