"""`/feeds/changes.atom`: an Atom feed (RFC 4287) of edits, removals and restorations,
for newsrooms to subscribe to.

Owns the feed's XML and the short summary of each change. Entries come from
`search_api.routes.changes.load_changes`, the query behind `/api/changes`, so the feed
and the API never disagree. Each entry links to the diff page (edits and
restorations with a new version) or the article page (removals).

Links start with the `public_url` setting (PRESSWATCH_PUBLIC_URL), never with what
the request's Host header (or X-Forwarded-Host) claims: anyone can send
`Host: evil.example`, and a cache or a subscriber would keep the links it produced.
Unset, every link is relative (`/articles/3`). RFC 4287 allows that: `href` is an IRI
*reference* (4.2.7.1), resolved against the feed document's own address (section 2,
RFC 3986 5.1.3), which is the URL the subscriber fetched, so a reader resolves it to
the address it already trusts. Entry and feed ids, which must be absolute IRIs (4.2.6),
are `urn:presswatch:…` and need no host.

Everything archived in it is hostile text. ElementTree escapes it as XML; characters
that XML 1.0 cannot carry at all (most control characters) are removed first, or a
single one would make the whole feed unreadable. The HTML `content` is built from
`html.escape`d pieces and then escaped again as XML text, as Atom's `type="html"`
requires.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive.capture import pair_diff
from archive.content import OpKind, VersionDiff, describe_class
from archive.store import ChangeKind, ChangeRow, Version, versions_by_id
from search_api.deps import NowDep, SessionDep, StateDep
from search_api.routes import ERRORS, SourceFilter, filter_param
from search_api.routes.changes import MinSignificanceParam, load_changes
from search_api.schemas import ChangeOut

router = APIRouter(tags=["feeds"])

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_KINDS = (
    ChangeKind.EDITED,
    ChangeKind.REMOVED,
    ChangeKind.RESTORED,
    ChangeKind.REMOVED_TOGETHER,
)
MAX_ENTRIES = 50
EDIT_CLASS_SCHEME = "urn:presswatch:edit-class"
EXCERPT_CHARS = 200
CONTEXT_CHARS = 40

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

REMOVAL_WORDS = {
    "http_404": "the page answers 404 Not Found",
    "http_410": "the page answers 410 Gone",
    "http_451": "the page answers 451 Unavailable For Legal Reasons",
    "redirect_home": "the page now redirects to the outlet's home page",
    "redirect_elsewhere": "the page now redirects to a page that is not the article",
    "soft_404": "the page now shows a 'not found' notice",
    "emptied": "the article's text was emptied",
}


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry: characters it forbids are dropped."""
    return _NOT_XML.sub("", str(value))


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def feed_diffs(
    session: Session, rows: Sequence[ChangeRow], versions: dict[int, Version]
) -> dict[tuple[int, int], VersionDiff]:
    """The diff of each edit and restoration in ``rows``, as stored when its newer
    version was recorded: a feed reader's poll never diffs (design rule 11)."""
    diffs: dict[tuple[int, int], VersionDiff] = {}
    for row in rows:
        old = versions.get(row.event.from_version_id or 0)
        new = versions.get(row.event.to_version_id or 0)
        if old is not None and new is not None and old.id != new.id:
            labels = f"v{old.n}", f"v{new.n}"
            diffs[old.id, new.id] = pair_diff(session, old, new, labels=labels)
    return diffs


def _changed_passage(diff: VersionDiff, old_side: bool) -> str:
    """The first removed (or added) passage of the body. A short one is shown inside
    its surrounding words, the change in [brackets], so it can be read at all."""
    kinds = (OpKind.DELETE, OpKind.REPLACE) if old_side else (OpKind.INSERT, OpKind.REPLACE)
    for i, op in enumerate(diff.body):
        text = op.old if old_side else op.new
        if op.kind not in kinds or not text.strip():
            continue
        if len(text) >= CONTEXT_CHARS:
            return _excerpt(text)
        before = diff.body[i - 1].old[-CONTEXT_CHARS:] if i > 0 else ""
        after = diff.body[i + 1].old[:CONTEXT_CHARS] if i + 1 < len(diff.body) else ""
        # Whole words of context only (none is cut where the window starts or ends).
        if " " in before.strip():
            before = before[before.index(" ", len(before) - len(before.lstrip())) + 1 :]
        if " " in after.strip():
            after = after[: after.rindex(" ", 0, len(after.rstrip()))]
        return _excerpt(f"…{before}[{text}]{after}…")
    return ""


def edit_summary(diff: VersionDiff) -> list[str]:
    """A few plain-text lines: what changed, how much, and the first passages."""
    parts = ", ".join(diff.changed_parts) or "nothing visible"
    stats = diff.stats
    size = f" {stats.words_added} words added, {stats.words_removed} removed."
    lines = [f"Changed: {parts}." + (size if "body" in diff.changed_parts else "")]
    for change in diff.fields:
        lines.append(
            f"{change.field.capitalize()} was “{change.old or ''}”, now “{change.new or ''}”."
        )
    removed = _changed_passage(diff, old_side=True)
    added = _changed_passage(diff, old_side=False)
    if removed:
        lines.append(f"Removed: “{removed}”")
    if added:
        lines.append(f"Added: “{added}”")
    return lines


def class_summary(detail: dict[str, Any]) -> list[str]:
    """One line: the edit's significance and what kind of edit it was."""
    if "significance" not in detail:
        return []
    kinds = ", ".join(describe_class(c) for c in detail.get("classes", []))
    return [f"Significance {detail['significance']:.2f} of 1: {kinds or 'no class'}."]


def lives_on_summary(detail: dict[str, Any]) -> list[str]:
    """A line per removed paragraph that another outlet's copy still carries."""
    lines = []
    for item in detail.get("lives_on") or []:
        where = ", ".join(f"{c['source']} ({c['url']})" for c in item.get("copies", []))
        lines.append(f"Removed here, still up at {where}: “{_excerpt(item['passage'])}”")
    return lines


def together_summary(detail: dict[str, Any]) -> list[str]:
    """A `removed_together` event: how many outlets, then each copy's removal with its
    date and where we learned it."""
    lines = [
        f"The same story was removed at {detail.get('outlets')} outlets within "
        f"{detail.get('window_days')} days."
    ]
    for r in detail.get("removals") or []:
        seen = "per web archive" if r.get("via") else f"seen by {r.get('origin') or 'crawl'}"
        lines.append(
            f"{r.get('source')}: removed {str(r.get('removed_at'))[:10]} "
            f"(confirmed {str(r.get('confirmed_at'))[:10]}; {seen}): {r.get('url')}"
        )
    return lines


def entry_summary(
    row: ChangeRow,
    change: ChangeOut,
    versions: dict[int, Version],
    diffs: dict[tuple[int, int], VersionDiff],
) -> tuple[list[str], VersionDiff | None]:
    """``diffs``: the stored diffs of the feed's version pairs (``feed_diffs``)."""
    event = row.event
    old = versions.get(event.from_version_id or 0)
    new = versions.get(event.to_version_id or 0)
    if event.kind == ChangeKind.EDITED and old is not None and new is not None:
        diff = diffs[old.id, new.id]
        return [
            f"Edited: v{old.n} → v{new.n}.",
            *class_summary(change.detail),
            *edit_summary(diff),
            *lives_on_summary(change.detail),
        ], diff
    if event.kind == ChangeKind.REMOVED_TOGETHER:
        return together_summary(change.detail), None
    if event.kind == ChangeKind.REMOVED:
        how = [str(h) for h in event.how]
        said = "; ".join(REMOVAL_WORDS.get(h, h) for h in how) or "the article is gone"
        last = old or versions.get(row.article.current_version_id or 0)
        lines = [f"Removed ({', '.join(how) or 'unknown'}): {said}."]
        if last is not None:
            lines.append(
                f"The last version online was v{last.n}, first seen {last.first_seen:%Y-%m-%d}."
            )
        return lines, None
    if event.kind == ChangeKind.RESTORED:
        lines = ["Restored: the article is back online."]
        if old is not None and new is not None and old.id != new.id:
            diff = diffs[old.id, new.id]
            lines += edit_summary(diff)
            return lines, diff
        return lines, None
    parts = ", ".join(str(h) for h in event.how)
    return [f"{change.kind.value.capitalize()}{f' ({parts})' if parts else ''}."], None


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def build_feed(
    *,
    base: str,
    self_url: str,
    filters: dict[str, list[str]],
    rows: Sequence[ChangeRow],
    changes: Sequence[ChangeOut],
    versions: dict[int, Version],
    diffs: dict[tuple[int, int], VersionDiff],
    now: datetime,
) -> bytes:
    query = urlencode([(k, v) for k, values in filters.items() for v in values])
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    described = ", ".join(f"{k} {'/'.join(v)}" for k, v in filters.items() if v)
    _sub(
        feed, "title", "Presswatch: edits and takedowns" + (f" ({described})" if described else "")
    )
    _sub(feed, "subtitle", "Edits, removals and restorations of archived news articles.")
    _sub(feed, "id", "urn:presswatch:feed:changes" + (f"?{query}" if query else ""))
    _sub(feed, "updated", _stamp(changes[0].at if changes else now))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(
        feed,
        "link",
        rel="alternate",
        type="text/html",
        href=f"{base}/changes" + (f"?{query}" if query else ""),
    )
    author = _sub(feed, "author")
    _sub(author, "name", "Presswatch")
    _sub(feed, "generator", "Presswatch")

    for row, change in zip(rows, changes, strict=True):
        lines, _diff = entry_summary(row, change, versions, diffs)
        article_url = f"{base}/articles/{change.article_id}"
        if change.from_version and change.to_version and change.from_version != change.to_version:
            link = f"{article_url}/diff?from={change.from_version}&to={change.to_version}"
        else:
            link = article_url
        entry = _sub(feed, "entry")
        if change.lang and _LANG_TAG.match(change.lang):
            entry.set(XML_LANG, change.lang)
        # `label` says "removed (per web archive)" when a third party's snapshot told us.
        label = (change.label or change.kind.value).capitalize()
        _sub(entry, "title", f"{label}: {change.title or change.url} ({change.source})")
        # Story events count their own ids: their entries are named apart.
        kind_urn = "story-event" if change.kind == ChangeKind.REMOVED_TOGETHER else "change"
        _sub(entry, "id", f"urn:presswatch:{kind_urn}:{change.id}")
        _sub(entry, "updated", _stamp(change.at))
        _sub(entry, "published", _stamp(change.at))
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
        _sub(entry, "link", rel="related", type="text/html", href=change.url)
        _sub(entry, "category", term=change.kind.value)
        for item in change.detail.get("classes", []) if change.kind == ChangeKind.EDITED else []:
            _sub(entry, "category", term=str(item.get("class")), scheme=EDIT_CLASS_SCHEME)
        _sub(entry, "summary", " ".join(lines), type="text")
        body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        body += f'<p><a href="{html.escape(link)}">See the change in the archive</a></p>'
        _sub(entry, "content", body, type="html")
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml


KindFilter = Annotated[
    list[ChangeKind],
    filter_param("Default: edited, removed, restored, removed_together (repeatable).", 8),
]


@router.get(
    "/feeds/changes.atom",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "description": "An Atom feed, newest change first.",
            "content": {"application/atom+xml": {"schema": {"type": "string"}}},
        },
    },
)
def changes_feed(
    *,
    state: StateDep,
    session: SessionDep,
    now: NowDep,
    kind: KindFilter,
    source: SourceFilter,
    min_significance: MinSignificanceParam = None,
) -> Response:
    """The latest edits, removals and restorations as Atom, each with a short summary
    of what changed (for an edit, its classes and significance) and a link to its diff.
    With `min_significance`, only edits scoring at least that."""
    kinds = [k.value for k in kind] if kind else [k.value for k in FEED_KINDS]
    sources = list(source)
    page, rows = load_changes(
        session,
        kinds=kinds,
        sources=sources,
        limit=MAX_ENTRIES,
        min_significance=min_significance,
    )
    base = state.settings.public_url or ""  # validated, no trailing slash; "" → relative
    filters = {
        "kind": [k.value for k in kind] if kind else [],
        "source": sources,
        "min_significance": [] if min_significance is None else [f"{min_significance:g}"],
    }
    query = urlencode([(k, v) for k, values in filters.items() for v in values])
    versions = versions_by_id(session, (vid for row in rows for vid in row.version_ids))
    body = build_feed(
        base=base,
        self_url=f"{base}/feeds/changes.atom" + (f"?{query}" if query else ""),
        filters=filters,
        rows=rows,
        changes=page.data,
        versions=versions,
        diffs=feed_diffs(session, rows, versions),
        now=now,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")
