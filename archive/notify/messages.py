"""What a notification says: one message per event, or a digest of many (a burst, or a
subscription's daily digest), as (title, body) in plain text. Pure: events in, text
out; an outlet's title never forges a line of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archive.notify.matching import NotifyEvent, significance
from archive.store.models import ChangeKind, NotifySubscription

__all__ = ["DIGEST_LINES", "messages_for"]

DIGEST_LINES = 100  # events listed in a digest; the rest are counted and linked


def _clean(text: str, limit: int = 200) -> str:
    """An outlet's title as one plain line: control characters and line breaks (which
    could forge lines of our message) become spaces; long titles are cut."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _class_name(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("name") or value.get("class") or value.get("kind") or "?"
    return _clean(str(value), 60)


def _link(public_url: str | None, path: str) -> str:
    return f"{public_url}{path}" if public_url else path


def _event_line(event: NotifyEvent, public_url: str | None) -> str:
    how = f" ({_clean(', '.join(str(h) for h in event.how), 80)})" if event.how else ""
    sig = ""
    if event.kind == ChangeKind.EDITED and "significance" in event.detail:
        sig = f", significance {significance(event.detail):.2f}"
    title = _clean(event.title or event.url)
    return (
        f"[{event.source}] {event.label or event.kind}{how}{sig}: {title}\n"
        f"  {event.url}\n  {_link(public_url, f'/articles/{event.article_id}')}"
    )


def _single(event: NotifyEvent, public_url: str | None) -> tuple[str, str]:
    title = f"Presswatch: {event.label or event.kind} — {_clean(event.title or event.url, 150)}"
    lines = [_event_line(event, public_url), f"  at {event.at.isoformat()}"]
    if event.via is not None and event.via.get("snapshot"):
        lines.append(f"  snapshot: {_clean(str(event.via['snapshot']), 500)}")
    if event.kind == ChangeKind.REMOVED_TOGETHER:
        lines += _removal_lines(event.detail)
    classes = event.detail.get("classes")
    if isinstance(classes, list) and classes:
        lines.append(f"  classes: {', '.join(_class_name(c) for c in classes[:20])}")
    if event.kind == ChangeKind.EDITED:
        lines.append(f"  diff: {_link(public_url, f'/articles/{event.article_id}/diff')}")
    if event.id < 0:
        lines.append(f"  (story event {-event.id})")
    else:
        lines.append(f"  (event {event.id})")
    return title, "\n".join(lines)


def _removal_lines(detail: dict[str, Any]) -> list[str]:
    """Each copy's removal named by a `removed_together` event: outlet, date, where the
    archive learned it (our crawl, an import, a web archive's snapshot) and address."""
    removals = detail.get("removals")
    if not isinstance(removals, list):
        return []
    lines = [
        f"  removed at {detail.get('outlets', len(removals))} outlets "
        f"within {detail.get('window_days', '?')} days:"
    ]
    for r in removals[:20]:
        if not isinstance(r, dict):
            continue
        origin = str(r.get("origin") or "crawl")
        via = r.get("via")
        if isinstance(via, dict) and via.get("snapshot"):
            origin = f"{origin} {_clean(str(via['snapshot']), 300)}"
        lines.append(
            f"  - [{_clean(str(r.get('source')), 60)}] removed {r.get('removed_at')} "
            f"(confirmed {r.get('confirmed_at')}; {origin}): {_clean(str(r.get('url')), 300)}"
        )
    return lines


def _digest(
    events: Sequence[NotifyEvent], public_url: str | None, *, daily: bool
) -> tuple[str, str]:
    by_kind: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for e in events:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
        by_source[e.source] = by_source.get(e.source, 0) + 1
    what = "daily digest" if daily else "digest"
    title = f"Presswatch {what}: {len(events)} change(s)"
    lines = [
        ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items())),
        "by source: " + ", ".join(f"{s} {n}" for s, n in sorted(by_source.items())),
        "",
    ]
    # Most significant first, then newest: a reader of a long digest sees those first.
    ordered = sorted(events, key=lambda e: (-significance(e.detail), -e.id))
    lines += [_event_line(e, public_url) for e in ordered[:DIGEST_LINES]]
    if len(events) > DIGEST_LINES:
        since = min(e.at for e in events).isoformat()
        lines.append(
            f"… and {len(events) - DIGEST_LINES} more: "
            f"{_link(public_url, '/changes')} (since {since})"
        )
    lines.append(f"(events {events[0].id}–{events[-1].id})")
    return title, "\n".join(lines)


def messages_for(
    sub: NotifySubscription,
    events: list[NotifyEvent],
    public_url: str | None,
    burst_limit: int,
) -> list[tuple[str, str, list[int]]]:
    """(title, body, event ids) of each message to send to `sub` for `events`: a daily
    digest for `mode = "digest"`, one digest when more than `burst_limit` wait, else
    one message per event. Links start with `public_url` when it is set."""
    if sub.mode == "digest":
        return [(*_digest(events, public_url, daily=True), [e.id for e in events])]
    if len(events) > burst_limit:
        return [(*_digest(events, public_url, daily=False), [e.id for e in events])]
    return [(*_single(e, public_url), [e.id]) for e in events]
