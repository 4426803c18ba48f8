"""Notifications: match committed change events to subscriptions, then send them
through Apprise (email, Telegram, Signal, Matrix, Slack, webhooks…).

Two steps, both after the crawl's writes have committed, so a slow or dead notifier
never holds a capture transaction or the crawl:

1. `queue_matches` reads change events past the cursor and queues one outbox row per
   (subscription, matching event), moving the cursor in the same transaction
   (`archive.notify.outbox` explains why nothing is queued twice or skipped).
2. `send_due` sends each subscription's pending rows: one message per event, or one
   digest when more than `notify_burst_limit` are waiting (a 10,000-event burst is one
   message), or, for `mode = "digest"`, one digest a day: the first send after
   `notify_digest_hour` (UTC) sends what waits once an event seen before that hour does.
   A failed send leaves the rows pending and backs the subscription off (1 min, doubling
   to 6 h: `record_attempt`); the failure shows in `presswatch status`, `/sources` and
   `/api/sources`.

Which events match a subscription (`archive.notify.matching`), what a message says
(`archive.notify.messages`), the outbox and the backoff are the archive's rules; this
module reads the events, queues the matches and sends through Apprise.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archive.notify import (
    NotifierEgress,
    NotifyEvent,
    SubscriptionFilter,
    SubscriptionSpec,
    claim_pending,
    events_after,
    expire_claims,
    finish_claim,
    is_due,
    last_event_id,
    list_subscriptions,
    messages_for,
    notifier_refusal,
    queue_deliveries,
    quiet_apprise,
    read_cursor,
    record_attempt,
    redact_url,
    scrub,
    sync_file_subscriptions,
)
from archive.store import (
    Article,
    ChangeEvent,
    NotifyOutbox,
    NotifySubscription,
    Source,
    StoryEvent,
    Version,
)
from archive.views import event_label, event_via
from presswatch.sources import SourcesFile, TopicMatcher

if TYPE_CHECKING:
    from presswatch.runtime import Runtime

__all__ = [
    "SendReport",
    "file_subscriptions",
    "sync_notify",
    "deliver",
    "notify_outbox",
    "queue_matches",
    "send_due",
]

log = logging.getLogger(__name__)

_BATCH = 1000


# -- subscriptions from sources.toml ------------------------------------------------


def file_subscriptions(sources: SourcesFile) -> list[SubscriptionSpec]:
    """The `[[notify]]` entries, a `topic` resolved to its keywords (and any `keywords`
    of the entry added to them)."""
    specs = []
    for entry in sources.notify:
        keywords = list(entry.keywords)
        if entry.topic is not None:
            keywords = [*sources.topics[entry.topic].keywords, *keywords]
        specs.append(
            SubscriptionSpec(
                name=entry.name,
                url=entry.url,
                sources=tuple(entry.sources),
                topic=entry.topic,
                keywords=tuple(keywords),
                kinds=tuple(entry.kinds),
                min_significance=entry.min_significance,
                mode=entry.mode,
                enabled=entry.enabled,
            )
        )
    return specs


def sync_notify(
    sessions: sessionmaker[Session],
    sources: SourcesFile,
    *,
    egress: NotifierEgress,
    now: datetime | None = None,
) -> None:
    """Make the archive's file subscriptions those of sources.toml (a new or changed
    URL judged by `egress`)."""
    with sessions.begin() as session:
        sync_file_subscriptions(
            session, file_subscriptions(sources), now=now or datetime.now(UTC), egress=egress
        )


# -- matching ------------------------------------------------------------------------


def _filter(sub: NotifySubscription) -> SubscriptionFilter:
    """The subscription's filters, its keywords matched as sources.toml topics are."""
    return SubscriptionFilter(sub, TopicMatcher(sub.keywords) if sub.keywords else None)


def _load_events(
    session: Session, rows: Sequence[ChangeEvent], *, texts: bool
) -> list[NotifyEvent]:
    """Events with their article, source and the version they concern (the new one,
    else the old one, else the article's current one)."""
    article_ids = {e.article_id for e in rows}
    articles = {
        a.id: (a, name)
        for a, name in session.execute(
            select(Article, Source.name)
            .join(Source, Source.id == Article.source_id)
            .where(Article.id.in_(article_ids))
        )
    }
    version_ids: dict[int, int | None] = {}
    for e in rows:
        article = articles[e.article_id][0]
        version_ids[e.id] = e.to_version_id or e.from_version_id or article.current_version_id
    wanted = {v for v in version_ids.values() if v is not None}
    titles: dict[int, str | None] = {
        vid: title
        for vid, title in session.execute(
            select(Version.id, Version.title).where(Version.id.in_(wanted))
        )
    }
    bodies: dict[int, bytes] = {}
    if texts:
        bodies = {
            vid: text_z
            for vid, text_z in session.execute(
                select(Version.id, Version.text_z).where(Version.id.in_(wanted))
            )
        }
    texts_by_version: dict[int, str] = {}
    out = []
    for e in rows:
        article, source = articles[e.article_id]
        version_id = version_ids[e.id]
        via = event_via(e)
        text = None
        if version_id in bodies:
            text = texts_by_version.get(version_id)
            if text is None:  # a burst of events on one version decompresses it once
                text = texts_by_version[version_id] = Version(text_z=bodies[version_id]).text
        out.append(
            NotifyEvent(
                id=e.id,
                kind=e.kind,
                how=list(e.how or []),
                at=e.at,
                detail=dict(e.detail or {}),
                article_id=article.id,
                url=article.url,
                source=source,
                title=titles.get(version_id) if version_id is not None else None,
                version_id=version_id,
                text=text,
                label=event_label(e.kind, via),
                via=via,
            )
        )
    return out


def _story_notify_events(session: Session, rows: Sequence[StoryEvent]) -> list[NotifyEvent]:
    """Story events as messages tell them: under the copy whose removal reached the
    threshold, with an id of -(story event id), the notification outbox's mark for a
    story event (change events have positive ids)."""
    out = []
    for e in rows:
        found = session.execute(
            select(Article, Source.name)
            .join(Source, Source.id == Article.source_id)
            .where(Article.id == e.article_id)
        ).first()
        if found is None:
            continue
        article, source = found
        version_id = article.current_version_id
        title = session.scalar(select(Version.title).where(Version.id == version_id))
        out.append(
            NotifyEvent(
                id=-e.id,
                kind=e.kind,
                how=[],
                at=e.at,
                detail=dict(e.detail or {}),
                article_id=article.id,
                url=article.fetch_url,
                source=source,
                title=title,
                version_id=version_id,
                label=e.kind,
            )
        )
    return out


def queue_story_events(session: Session, events: Sequence[StoryEvent], *, now: datetime) -> int:
    """Queue new story events (`removed_together`) for the subscriptions that want them,
    in the transaction that created them, so each is queued once or not at all. They
    are not in `change_events`, so the cursor never sees them: they are matched here,
    against the subscriptions that exist when the event is found."""
    if not events:
        return 0
    filters = [_filter(s) for s in list_subscriptions(session) if s.enabled]
    if not filters:
        return 0
    notify_events = _story_notify_events(session, events)
    pairs = [(f.id, e.id) for e in notify_events for f in filters if f.wants(e)]
    cursor = read_cursor(session)
    return queue_deliveries(session, pairs, cursor=cursor, to_event=0, now=now)


def queue_matches(sessions: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """Queue every committed event past the cursor for the subscriptions it matches;
    returns how many outbox rows were queued. Each batch is one transaction."""
    queued = 0
    while True:
        with sessions.begin() as session:
            at = now or datetime.now(UTC)
            cursor = read_cursor(session, lock=True)
            filters = [_filter(s) for s in list_subscriptions(session) if s.enabled]
            if not filters:
                # Nothing to match: the cursor jumps to the newest event.
                newest = last_event_id(session)
                queue_deliveries(session, [], cursor=cursor, to_event=newest, now=at)
                return queued
            # Events a subscription predates are skipped without being read.
            start = max(cursor.event_id, min(f.after for f in filters))
            rows = events_after(session, start, _BATCH)
            if not rows:
                return queued
            events = _load_events(session, rows, texts=any(f.topic for f in filters))
            pairs = [(f.id, e.id) for e in events for f in filters if f.wants(e)]
            queued += queue_deliveries(session, pairs, cursor=cursor, to_event=rows[-1].id, now=at)
        if len(rows) < _BATCH:
            return queued


# -- sending -------------------------------------------------------------------------


def deliver(url: str, title: str, body: str, egress: NotifierEgress) -> str | None:
    """Send one message through Apprise; None when it went, else the reason (Apprise's,
    its secrets masked). The URL is judged by the egress policy now (DNS may have
    changed since it was configured), and every connection Apprise opens is filtered
    by it (`presswatch.egress.guarded`), so a redirect or a changed answer reaches no
    refused address either."""
    import apprise

    from presswatch.egress import guarded

    refusal = notifier_refusal(url, egress)
    if refusal is not None:
        return refusal
    asset = apprise.AppriseAsset()
    # A notifier answers where it was told to be: a webhook's redirect is not followed
    # (Apprise's asset-wide default; a URL's own `redirect=yes` is still guarded below).
    asset.http_redirects = False
    asset.async_mode = False  # sent on this thread, inside the guard below
    notifier = apprise.Apprise(asset=asset)
    # Apprise's own log lines are captured for the reason, never echoed: they may spell
    # out the URL. The caller logs one line per failed send.
    with quiet_apprise() as logs, guarded(egress.networks_for(url)):
        if not notifier.add(url):
            return f"not a usable Apprise URL: {redact_url(url)}"
        ok = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    if ok:
        return None
    reasons = [scrub(line.strip(), url) for line in logs.getvalue().splitlines() if line.strip()]
    return "; ".join(reasons[-3:]) or "the notifier refused the message"


@dataclass
class SendReport:
    """What one `send_due` did."""

    queued: int = 0
    messages: int = 0
    events_sent: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # subscription → error
    unconfirmed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "messages": self.messages,
            "events_sent": self.events_sent,
            "failed": self.failed,
            "unconfirmed": self.unconfirmed,
        }


@dataclass(frozen=True, slots=True)
class _Pass:
    """One `send_due` pass: its sessions, egress policy, time, message settings and
    report, shared by every subscription it sends to."""

    sessions: sessionmaker[Session]
    egress: NotifierEgress
    now: datetime
    public_url: str | None
    burst_limit: int
    report: SendReport
    lang: str = "en"


def _send_subscription(send: _Pass, sub_id: int) -> None:
    token = uuid.uuid4().hex
    now, report = send.now, send.report
    with send.sessions.begin() as session:
        sub = session.get(NotifySubscription, sub_id)
        if sub is None:
            return
        event_ids = claim_pending(session, sub_id, token, now)
        if not event_ids:
            return
        changes = list(
            session.scalars(
                select(ChangeEvent)
                .join(NotifyOutbox, NotifyOutbox.event_id == ChangeEvent.id)
                .where(NotifyOutbox.claim == token)
                .order_by(ChangeEvent.id)
            )
        )
        events = _load_events(session, changes, texts=False)
        story_ids = [-i for i in event_ids if i < 0]
        if story_ids:
            stories = session.scalars(
                select(StoryEvent).where(StoryEvent.id.in_(story_ids)).order_by(StoryEvent.id)
            )
            events = _story_notify_events(session, list(stories)) + events
        url, name = sub.url, sub.name
        messages = messages_for(sub, events, send.public_url, send.burst_limit, send.lang)
    # The claim is committed. Each message's rows are marked sent as soon as it went;
    # a crash between the send and that commit leaves them `sending`, which
    # `expire_claims` later turns `unconfirmed` (at most once).
    error = None
    for title, body, carried in messages:
        error = deliver(url, title, body, send.egress)
        if error is not None:
            break
        with send.sessions.begin() as session:
            # A digest carries every claimed row: no list of ids needed.
            only = carried if len(messages) > 1 else None
            finish_claim(session, token, sent=True, now=now, event_ids=only)
        report.messages += 1
        report.events_sent += len(carried)
    with send.sessions.begin() as session:
        # What is still claimed was not sent: back to pending for the next try.
        finish_claim(session, token, sent=False, now=now)
        sub = session.get(NotifySubscription, sub_id)
        if sub is None:  # removed meanwhile
            return
        wait = record_attempt(sub, now, error)
        if error is not None:
            report.failed[name] = error
            log.warning("notification %s failed (retry after %s): %s", name, wait, error)


def send_due(
    sessions: sessionmaker[Session],
    *,
    egress: NotifierEgress,
    public_url: str | None = None,
    burst_limit: int = 5,
    digest_hour: int = 7,
    now: datetime | None = None,
    lang: str = "en",
) -> SendReport:
    """Queue new matches, then send what is due to each subscription. Never raises for
    a notifier's failure: it is recorded on the subscription and in the report."""
    report = SendReport()
    report.queued = queue_matches(sessions, now=now)
    at = now or datetime.now(UTC)
    with sessions.begin() as session:
        report.unconfirmed = expire_claims(session, at)
        due = [s.id for s in list_subscriptions(session) if is_due(session, s, at, digest_hour)]
    send = _Pass(sessions, egress, at, public_url, burst_limit, report, lang)
    for sub_id in due:
        _send_subscription(send, sub_id)
    return report


def notify_outbox(
    runtime: Runtime, sources: SourcesFile | None = None
) -> tuple[SendReport | None, str | None]:
    """For `run`, after its writes commit: sync sources.toml's `[[notify]]` (when given),
    then `send_due` with the runtime's settings. Returns (the report, or None; the
    problem that stopped it, or None) and never raises: a notifier never fails a crawl."""
    settings = runtime.settings
    try:
        egress = runtime.notifier_egress()
        if sources is not None:
            sync_notify(runtime.sessions, sources, egress=egress)
        report = send_due(
            runtime.sessions,
            egress=egress,
            public_url=settings.public_url,
            burst_limit=settings.notify_burst_limit,
            digest_hour=settings.notify_digest_hour,
            lang=settings.lang,
        )
    except Exception as exc:  # boundary: notifications must not fail the crawl
        log.exception("notifications failed")
        return None, f"notifications not sent: {type(exc).__name__}: {exc}"
    return report, None
