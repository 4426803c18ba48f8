"""`presswatch backfill`: an outlet's history rebuilt from a public web archive.

Asks the archive which snapshots it holds of the source (the Wayback Machine's CDX
server, or the Memento TimeMaps of any Memento-compliant archive), fetches the original
bytes of each (Wayback's `id_` replay; a Memento archive's memento URL), and records
each through `record_capture` as a capture with origin `web_archive`, its provenance,
and the archive's timestamp as its time. Snapshots are recorded per article in time
order, so versions and edit/removal events come out by the same rules as our own crawls.

Politeness is `presswatch.backfill_client`'s: one request at a time, `backfill_delay_s`
between two requests, a 429 or 503's Retry-After honoured (a longer wait than
`backfill_max_wait_s` stops the run), retries with doubling waits after a 5xx, a
cut-short body or a network error; every connection goes through the egress policy
(`allow_networks`) on the address actually connected to.

Resumable: each snapshot's ledger row (`archive.backfill.ledger`) is written in the
transaction of its capture; a rerun skips settled snapshots, retries failed ones, and
defers an article's later snapshots while an earlier one is still failing (time order).

Which snapshots are wanted and fetched, in which order, is decided by the pure rules of
`archive.backfill` (`SnapshotFilter`, `FetchOrder`); this module asks, fetches, records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy.orm import Session

from archive.backfill import (
    BackfillReport,
    FetchOrder,
    LedgerOutcome,
    Snapshot,
    SnapshotFilter,
    Target,
    article_key,
    cdx_query,
    future_snapshot_problem,
    group_by_article,
    links_in_snapshot,
    mark_snapshot,
    original_headers,
    parse_cdx,
    parse_timemap,
    raw_replay_url,
    replay_original,
    settled_keys,
    spread_over_time,
)
from archive.capture import Exchange, RecordOptions, RedirectHop, record_capture
from archive.content import normalize_url
from archive.egress import parse_networks
from archive.errors import BadInput
from archive.store import article_by_url, known_urls_of, source_by_name
from presswatch.backfill_client import (
    ArchiveBusy,
    ArchiveClient,
    ArchiveRefused,
    ArchiveUnavailable,
)
from presswatch.runtime import Runtime
from presswatch.sources import SourceConfig

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_CDX_PAGES = 1000  # a resume key that never ends is the archive's bug, not a loop
MAX_TIMEMAPS = 200  # pages of one paged TimeMap
MAX_DISCOVERY_COPIES = 12  # archived copies of each home or listing page read for links


# -- what the archive holds ------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    snapshots: list[Snapshot] = field(default_factory=list)  # Memento's; Wayback streams
    problems: list[str] = field(default_factory=list)
    index_requests: int = 0
    stopped: str | None = None  # the index could not be read to its end


def _dated_in_future(snapshot: Snapshot, now: datetime, plan: Plan) -> bool:
    """A snapshot the archive dates after our clock is refused and reported, never
    fetched (`future_snapshot_problem`)."""
    problem = future_snapshot_problem(snapshot, now)
    if problem is not None:
        plan.problems.append(problem)
    return problem is not None


def plan_wayback(
    client: ArchiveClient, target: Target, cfg: SourceConfig,
    since: datetime | None, until: datetime | None, now: datetime, plan: Plan,
) -> Iterator[Snapshot]:  # fmt: skip
    """Every snapshot under the source's base URL (prefix match, 2xx-4xx, adjacent
    duplicates collapsed on digest), following resume keys, yielded page by page as it
    comes (an endless index is never held in memory), when it matches the article
    pattern. The CDX server sorts by URL key, then time: one article's snapshots come
    together, in time order. A resume key seen before (the index loops) and
    MAX_CDX_PAGES pages both end the walk with a problem; a failure to reach the index
    sets `plan.stopped`."""
    wanted = SnapshotFilter.of_source(cfg.base_url, cfg.article_url_pattern, since, until)
    resume: str | None = None
    keys: set[str] = set()
    for _ in range(MAX_CDX_PAGES):
        try:
            response = client.get(cdx_query(target.base, cfg.base_url, since, until, resume))
        except (ArchiveBusy, ArchiveUnavailable, ArchiveRefused) as exc:
            plan.stopped = f"asking {target.name} for its snapshots: {exc}"
            return
        plan.index_requests += 1
        if response.status != 200:
            plan.problems.append(
                f"the CDX server answered HTTP {response.status} for {cfg.base_url}: "
                "check --from-archive / backfill_wayback_url"
            )
            return
        page = parse_cdx(response.body.decode("utf-8", "replace"))
        del response  # one page in memory at a time
        plan.problems.extend(page.problems)
        for snap in page.snapshots:
            if wanted.wants(snap) and not _dated_in_future(snap, now, plan):
                yield snap
        if not page.resume_key:
            return
        if page.resume_key in keys or page.resume_key == resume:
            plan.problems.append(
                f"the CDX server sent resume key {page.resume_key[:80]!r} again after "
                f"{plan.index_requests} pages: its index loops; stopped there"
            )
            return
        keys.add(page.resume_key)
        resume = page.resume_key
    plan.problems.append(
        f"the CDX index of {cfg.base_url} did not end after {MAX_CDX_PAGES} pages; stopped "
        "there (narrow it with --since/--until)"
    )


def _timemap(client: ArchiveClient, target: Target, url: str, plan: Plan) -> list[Snapshot]:
    """Every memento of `url` in the archive, following a paged TimeMap's links."""
    out: list[Snapshot] = []
    queue = [target.base + url]
    fetched: set[str] = set()
    while queue and len(fetched) < MAX_TIMEMAPS:
        tm_url = queue.pop(0)
        if tm_url in fetched:
            continue
        fetched.add(tm_url)
        response = client.get(tm_url)
        plan.index_requests += 1
        if response.status == 404:
            break  # the archive holds nothing of this URL
        if response.status != 200:
            plan.problems.append(f"TimeMap {tm_url}: HTTP {response.status}")
            break
        timemap = parse_timemap(response.body.decode("utf-8", "replace"), url)
        plan.problems.extend(f"{tm_url}: {p}" for p in timemap.problems)
        out.extend(timemap.snapshots)
        queue.extend(urljoin(tm_url, m) for m in timemap.more)
    return out


def plan_memento(
    client: ArchiveClient, target: Target, cfg: SourceConfig, known: Sequence[str],
    since: datetime | None, until: datetime | None, now: datetime,
) -> Plan:  # fmt: skip
    """The mementos of the source's articles. Memento has no prefix search, so the
    articles are the URLs the archive already knows for the source plus those that the
    archived copies of its home page and listings link to (`MAX_DISCOVERY_COPIES` copies
    of each, spread over time); without an article pattern, the home page and listings
    themselves."""
    plan = Plan()
    wanted = SnapshotFilter.of_source(cfg.base_url, cfg.article_url_pattern, since, until)
    pages = [cfg.base_url, *cfg.listings]
    asked: set[str] = set()
    queue = list(dict.fromkeys([*pages, *known]))
    while queue:
        url = queue.pop(0)
        key = article_key(url)
        if key in asked:
            continue
        asked.add(key)
        snapshots = [
            s for s in _timemap(client, target, url, plan) if not _dated_in_future(s, now, plan)
        ]
        plan.snapshots.extend(s for s in snapshots if wanted.wants(s))
        if url not in pages or wanted.pattern is None:
            continue
        for copy in spread_over_time(snapshots, MAX_DISCOVERY_COPIES):
            assert copy.memento_url is not None
            response = client.get(copy.memento_url)
            plan.index_requests += 1
            if response.status != 200:
                continue
            for link in links_in_snapshot(response.body, copy.memento_url):
                if wanted.is_article(link) and article_key(link) not in asked:
                    queue.append(link)
    return plan


# -- fetching one snapshot -------------------------------------------------------------


def fetch_snapshot(
    client: ArchiveClient, target: Target, snapshot: Snapshot, source: str
) -> Exchange:
    """The snapshot as an Exchange: its original bytes, status and headers, redirects
    followed inside the archive (to the archive's nearest snapshot of the target)."""
    url = target.replay_url(snapshot)
    archive_host = urlsplit(url).netloc
    hops: list[RedirectHop] = []
    visited: list[str] = []  # replay URLs the archive sent us on to
    original = snapshot.original
    response = client.get(url)
    while 300 <= response.status < 400 and response.header("location"):
        location = urljoin(response.url, response.header("location") or "")
        next_original = replay_original(location, None, location)
        if urlsplit(location).netloc != archive_host or len(visited) >= MAX_REDIRECTS:
            break  # leaves the archive, or loops: recorded as an unresolved redirect
        visited.append(location)
        # The same page at another timestamp is the archive's doing, not the site's.
        if article_key(next_original) != article_key(original):
            hops.append(RedirectHop(original, response.status, next_original))
        if target.kind == "wayback":
            location = raw_replay_url(location)
        response = client.get(location)
        original = replay_original(location, response.header("link"), next_original)
    error, detail = None, ""
    if response.truncated_at is not None:
        error = "too_large"
        detail = f"body larger than {response.truncated_at} bytes: truncated"
    elif response.decode_error is not None:
        error, detail = "bad_encoding", response.decode_error
    provenance: dict[str, Any] = {
        "archive": target.name,
        "snapshot_url": url,
        "timestamp": snapshot.timestamp,
        "original_status": snapshot.status,
        "digest": snapshot.digest,
        "mimetype": snapshot.mimetype,
        "replay_status": response.status,
    }
    if visited:
        provenance["redirects_in_archive"] = visited
    return Exchange(
        requested_url=snapshot.original,
        final_url=original,
        fetched_at=snapshot.at,
        status=response.status,
        headers=original_headers(response.headers),
        body=response.body,
        redirects=tuple(hops),
        error=error,
        error_detail=detail,
        reason=response.reason,
        source=source,
        origin="web_archive",
        provenance=provenance,
    )


# -- the run ---------------------------------------------------------------------------


def client_for(runtime: Runtime, user_agent: str) -> ArchiveClient:
    s = runtime.settings
    return ArchiveClient(
        allow=parse_networks(s.allow_networks),
        user_agent=user_agent,
        delay_s=s.backfill_delay_s,
        retries=s.backfill_retries,
        max_wait_s=s.backfill_max_wait_s,
        timeout_s=s.download_timeout_s,
        max_body_bytes=s.max_body_bytes,
    )


@dataclass(frozen=True, slots=True)
class _Run:
    """What each snapshot of one run is fetched, recorded and marked in the ledger with."""

    runtime: Runtime
    source_id: int
    source: str
    target: Target
    client: ArchiveClient
    options: RecordOptions
    now: Callable[[], datetime]


def run_backfill(
    runtime: Runtime,
    cfg: SourceConfig,
    target: Target,
    client: ArchiveClient,
    *,
    options: RecordOptions,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackfillReport:
    """Plan, then fetch and record every snapshot not settled by an earlier run."""
    report = BackfillReport(source=cfg.name, archive=target.name)
    with runtime.read_sessions() as session:
        source = source_by_name(session, cfg.name)
        if source is None:
            raise BadInput(f"source {cfg.name!r} is not in the archive")
        run = _Run(runtime, source.id, cfg.name, target, client, options, now)
        done = settled_keys(session, source.id, target.name)
        known = sorted(known_urls_of(session, cfg.name))
    plan = Plan()
    snapshots: Iterable[Snapshot]
    if target.kind == "wayback":
        snapshots = plan_wayback(client, target, cfg, since, until, now(), plan)
    else:
        try:
            plan = plan_memento(client, target, cfg, known, since, until, now())
        except (ArchiveBusy, ArchiveUnavailable, ArchiveRefused) as exc:
            plan.stopped = f"asking {target.name} for its snapshots: {exc}"
        snapshots = (snap for group in group_by_article(plan.snapshots) for snap in group)
    order = FetchOrder(report, done, limit)
    for snap in snapshots:
        if not order.admit(snap):
            continue
        if _older_than_archive(run, snap):
            order.out_of_order()
            continue
        try:
            order.settle(snap, *_one(run, snap))
        except ArchiveBusy as exc:
            report.stopped = str(exc)
            break
    # The index's own problems first: they say why the list may be short.
    report.problems[:0] = plan.problems
    report.stopped = report.stopped or plan.stopped
    report.requests, report.waited_s = client.requests, client.waited_s
    return report


def _mark(session: Session, run: _Run, snap: Snapshot, outcome: str, **row: Any) -> str:
    """Write the snapshot's ledger row (in the caller's transaction); its outcome, which
    is `gave_up` for a failure that has used its last attempt."""
    return mark_snapshot(
        session,
        source_id=run.source_id,
        archive=run.target.name,
        snapshot=snap,
        snapshot_url=run.target.replay_url(snap),
        outcome=outcome,
        at=run.now(),
        give_up_after=run.runtime.settings.backfill_give_up_after,
        **row,
    ).outcome


def _older_than_archive(run: _Run, snap: Snapshot) -> bool:
    """True (and the ledger says so) when the snapshot's article was already checked
    after the snapshot was taken: versions are judged in time order only."""
    try:
        key = normalize_url(snap.original)
    except BadInput:
        return False
    with run.runtime.read_sessions() as session:
        article = article_by_url(session, key)
        last_checked = article.last_checked if article is not None else None
    if last_checked is None or last_checked <= snap.at:
        return False
    with run.runtime.sessions.begin() as session:
        problem = (
            f"older than the article's last check ({last_checked:%Y-%m-%d}"
            "): not fetched, so no old text reads as a new edit"
        )
        _mark(session, run, snap, LedgerOutcome.OUT_OF_ORDER, detail={"problem": problem})
        return True


def _one(run: _Run, snap: Snapshot) -> tuple[str, str | None]:
    """Fetch and record one snapshot with its ledger row: (the capture outcome, None),
    or (`failed` / `gave_up` / `refused`, the reason)."""
    try:
        exchange = fetch_snapshot(run.client, run.target, snap, run.source)
    except (ArchiveUnavailable, ArchiveRefused) as exc:
        refused = isinstance(exc, ArchiveRefused)
        outcome = LedgerOutcome.REFUSED if refused else LedgerOutcome.FAILED
        with run.runtime.sessions.begin() as session:
            return _mark(session, run, snap, outcome, detail={"problem": str(exc)}), str(exc)
    with run.runtime.sessions.begin() as session:
        result = record_capture(session, exchange, warc=run.runtime.warc, options=run.options)
        _mark(
            session,
            run,
            snap,
            LedgerOutcome.RECORDED,
            capture_id=result.capture_id,
            detail={"capture_outcome": result.outcome.value, "duplicate": result.duplicate},
        )
    return ("duplicate" if result.duplicate else result.outcome.value), None


__all__ = [
    "client_for",
    "fetch_snapshot",
    "plan_memento",
    "plan_wayback",
    "run_backfill",
]
