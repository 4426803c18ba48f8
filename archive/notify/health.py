"""Each subscription's public shape with its delivery health (what it matched, sent,
left unconfirmed, its last error), for `presswatch notify list`, `status`, `/sources`
and the API. URLs are shown redacted, never whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from archive.notify.notifiers import redact_url
from archive.notify.outbox import outbox_counts
from archive.notify.subscriptions import list_subscriptions
from archive.store.models import NotifySubscription

__all__ = ["notify_health", "subscription_json"]


def subscription_json(
    row: NotifySubscription, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The public shape of a subscription (URL redacted) with its delivery health."""
    counts = counts or {}

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": row.name,
        "url": redact_url(row.url),
        "sources": list(row.sources or []),
        "topic": row.topic,
        "keywords": list(row.keywords or []),
        "kinds": list(row.kinds or []),
        "min_significance": row.min_significance,
        "mode": row.mode,
        "origin": row.origin,
        "enabled": row.enabled,
        "created_at": iso(row.created_at),
        "matched": sum(counts.values()),
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "unconfirmed": counts.get("unconfirmed", 0),
        "failures": row.failures,
        "last_error": row.last_error,
        "last_attempt_at": iso(row.last_attempt_at),
        "last_success_at": iso(row.last_success_at),
        "next_attempt_at": iso(row.next_attempt_at),
    }


def notify_health(session: Session) -> list[dict[str, Any]]:
    """Every subscription as `subscription_json`, for `status`, `/sources` and the API."""
    counts = outbox_counts(session)
    return [subscription_json(r, counts.get(r.id)) for r in list_subscriptions(session)]
