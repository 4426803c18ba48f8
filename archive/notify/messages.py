"""What a notification says: one message per event, or a digest of many (a burst, or a
subscription's daily digest), as (title, body) in plain text, in the interface
language it is handed (the `lang` setting) through the catalogs of `archive.i18n`:
kinds, removal signs, edit classes and origins in words, dates in UTC. Pure: events
in, text out; an outlet's title never forges a line of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archive.i18n import label, translations
from archive.notify.matching import NotifyEvent, significance
from archive.store.models import ChangeKind, NotifySubscription

__all__ = ["DIGEST_LINES", "messages_for"]

DIGEST_LINES = 100  # events listed in a digest; the rest are counted and linked
Gettext = Callable[[str], str]


def _clean(text: str, limit: int = 200) -> str:
    """An outlet's title as one plain line: control characters and line breaks (which
    could forge lines of our message) become spaces; long titles are cut."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _class_name(value: Any, _: Gettext) -> str:
    if isinstance(value, dict):
        value = value.get("name") or value.get("class") or value.get("kind") or "?"
    return _clean(label(str(value), _), 60)


def _kind(event: NotifyEvent, _: Gettext) -> str:
    """The kind in words, marked when a web archive told us (never as our own sight)."""
    kind = label(event.kind, _)
    return _("%(kind)s (per web archive)") % {"kind": kind} if event.via is not None else kind


def _link(public_url: str | None, path: str) -> str:
    return f"{public_url}{path}" if public_url else path


def _event_line(event: NotifyEvent, public_url: str | None, _: Gettext) -> str:
    how = ""
    if event.how:
        how = f" ({_clean(', '.join(label(str(h), _) for h in event.how), 80)})"
    sig = ""
    if event.kind == ChangeKind.EDITED and "significance" in event.detail:
        sig = ", " + _("significance %(value)s") % {"value": f"{significance(event.detail):.2f}"}
    title = _clean(event.title or event.url)
    return (
        f"[{event.source}] {_kind(event, _)}{how}{sig}: {title}\n"
        f"  {event.url}\n  {_link(public_url, f'/articles/{event.article_id}')}"
    )


def _single(event: NotifyEvent, public_url: str | None, _: Gettext) -> tuple[str, str]:
    title = _("Presswatch: %(kind)s — %(title)s") % {
        "kind": _kind(event, _),
        "title": _clean(event.title or event.url, 150),
    }
    lines = [
        _event_line(event, public_url, _),
        "  " + _("at %(when)s") % {"when": event.at.isoformat()},
    ]
    if event.via is not None and event.via.get("snapshot"):
        snapshot = _clean(str(event.via["snapshot"]), 500)
        lines.append("  " + _("snapshot: %(url)s") % {"url": snapshot})
    if event.kind == ChangeKind.REMOVED_TOGETHER:
        lines += _removal_lines(event.detail, _)
    classes = event.detail.get("classes")
    if isinstance(classes, list) and classes:
        named = ", ".join(_class_name(c, _) for c in classes[:20])
        lines.append("  " + _("classes: %(classes)s") % {"classes": named})
    if event.kind == ChangeKind.EDITED:
        diff = _link(public_url, f"/articles/{event.article_id}/diff")
        lines.append("  " + _("diff: %(url)s") % {"url": diff})
    if event.id < 0:
        lines.append("  " + _("(story event %(id)s)") % {"id": -event.id})
    else:
        lines.append("  " + _("(event %(id)s)") % {"id": event.id})
    return title, "\n".join(lines)


def _removal_lines(detail: dict[str, Any], _: Gettext) -> list[str]:
    """Each copy's removal named by a `removed_together` event: outlet, date, where the
    archive learned it (our crawl, an import, a web archive's snapshot) and address."""
    removals = detail.get("removals")
    if not isinstance(removals, list):
        return []
    lines = [
        "  "
        + _("removed at %(outlets)s outlets within %(days)s days:")
        % {"outlets": detail.get("outlets", len(removals)), "days": detail.get("window_days", "?")}
    ]
    for r in removals[:20]:
        if not isinstance(r, dict):
            continue
        origin = label(str(r.get("origin") or "crawl"), _)
        via = r.get("via")
        if isinstance(via, dict) and via.get("snapshot"):
            origin = f"{origin} {_clean(str(via['snapshot']), 300)}"
        said = _("removed %(removed)s (confirmed %(confirmed)s; %(origin)s): %(url)s") % {
            "removed": r.get("removed_at"),
            "confirmed": r.get("confirmed_at"),
            "origin": origin,
            "url": _clean(str(r.get("url")), 300),
        }
        lines.append(f"  - [{_clean(str(r.get('source')), 60)}] {said}")
    return lines


def _digest(
    events: Sequence[NotifyEvent], public_url: str | None, _: Gettext, *, daily: bool
) -> tuple[str, str]:
    by_kind: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for e in events:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
        by_source[e.source] = by_source.get(e.source, 0) + 1
    if daily:
        title = _("Presswatch daily digest: %(n)s change(s)") % {"n": len(events)}
    else:
        title = _("Presswatch digest: %(n)s change(s)") % {"n": len(events)}
    count = _("%(count)s %(label)s")
    lines = [
        ", ".join(count % {"count": n, "label": label(k, _)} for k, n in sorted(by_kind.items())),
        _("by source: %(counts)s")
        % {"counts": ", ".join(f"{s} {n}" for s, n in sorted(by_source.items()))},
        "",
    ]
    # Most significant first, then newest: a reader of a long digest sees those first.
    ordered = sorted(events, key=lambda e: (-significance(e.detail), -e.id))
    lines += [_event_line(e, public_url, _) for e in ordered[:DIGEST_LINES]]
    if len(events) > DIGEST_LINES:
        since = min(e.at for e in events).isoformat()
        lines.append(
            _("… and %(n)s more: %(url)s (since %(since)s)")
            % {
                "n": len(events) - DIGEST_LINES,
                "url": _link(public_url, "/changes"),
                "since": since,
            }
        )
    lines.append(_("(events %(first)s–%(last)s)") % {"first": events[0].id, "last": events[-1].id})
    return title, "\n".join(lines)


def messages_for(
    sub: NotifySubscription,
    events: list[NotifyEvent],
    public_url: str | None,
    burst_limit: int,
    lang: str = "en",
) -> list[tuple[str, str, list[int]]]:
    """(title, body, event ids) of each message to send to `sub` for `events`: a daily
    digest for `mode = "digest"`, one digest when more than `burst_limit` wait, else
    one message per event, in `lang` (the `lang` setting). Links start with
    `public_url` when it is set."""
    _ = translations(lang).gettext
    if sub.mode == "digest":
        return [(*_digest(events, public_url, _, daily=True), [e.id for e in events])]
    if len(events) > burst_limit:
        return [(*_digest(events, public_url, _, daily=False), [e.id for e in events])]
    return [(*_single(e, public_url, _), [e.id]) for e in events]
