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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from archive.backfill import (
    CDX_FIELDS,
    LedgerOutcome,
    Snapshot,
    links_in_snapshot,
    mark_snapshot,
    original_of_replay,
    parse_cdx,
    parse_timemap,
    settled_keys,
    snapshot_key,
    wayback_timestamp,
)
from archive.capture import Exchange, RecordOptions, RedirectHop, record_capture
from archive.clock import future_date_refusal
from archive.content import compile_url_pattern, normalize_url
from archive.egress import parse_networks
from archive.errors import BadInput
from archive.store import article_by_url, known_urls_of, source_by_name
from presswatch.backfill_client import (
    ArchiveBusy,
    ArchiveClient,
    ArchiveRefused,
    ArchiveUnavailable,
    Response,
)
from presswatch.runtime import Runtime
from presswatch.sources import SourceConfig

log = logging.getLogger(__name__)

WAYBACK = "wayback"
MAX_REDIRECTS = 5
CDX_PAGE = 1000  # rows asked per CDX request (`limit`); the server may send fewer
MAX_CDX_PAGES = 1000  # a resume key that never ends is the archive's bug, not a loop
MAX_TIMEMAPS = 200  # pages of one paged TimeMap
MAX_DISCOVERY_COPIES = 12  # archived copies of each home or listing page read for links


@dataclass(frozen=True, slots=True)
class Target:
    """Which archive to ask: the Wayback Machine (CDX + `id_` replay) at `base`, or a
    Memento archive whose TimeMap of URL X is at `base` + X."""

    name: str  # "wayback", or the Memento TimeMap prefix as given
    kind: str  # "wayback" | "memento"
    base: str

    @staticmethod
    def parse(value: str, wayback_url: str) -> Target:
        if value == WAYBACK:
            return Target(WAYBACK, "wayback", wayback_url.rstrip("/"))
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput(
                f"--from-archive {value!r}: give `wayback`, or the TimeMap prefix of a "
                "Memento archive (the URL that a page's address is appended to), e.g. "
                "https://archive.example/timemap/link/"
            )
        if parts.path in ("", "/") and not parts.query:
            # A page's address is appended to the prefix: the archive's bare root would
            # make `http://host:8080https://…`, which no client can parse.
            raise BadInput(
                f"--from-archive {value!r} names an archive's root, not its TimeMap prefix "
                "(the URL that a page's address is appended to), e.g. "
                f"{value.rstrip('/')}/timemap/link/"
            )
        if not value.endswith(("/", "=")):
            value += "/"  # `…/timemap/link` and `…/timemap/link/` name one prefix
        return Target(value, "memento", value)

    def replay_url(self, snapshot: Snapshot) -> str:
        if snapshot.memento_url:
            return snapshot.memento_url
        return f"{self.base}/web/{snapshot.timestamp}id_/{snapshot.original}"


# -- what the archive holds ------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    snapshots: list[Snapshot] = field(default_factory=list)  # Memento's; Wayback streams
    problems: list[str] = field(default_factory=list)
    index_requests: int = 0
    stopped: str | None = None  # the index could not be read to its end


def _forms(url: str) -> tuple[str, ...]:
    try:
        return (url, normalize_url(url))
    except BadInput:
        return (url,)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _is_article(url: str, pattern: str | None, host: str) -> bool:
    """Whether `url` is on the source's host and (with a pattern) an article URL.
    Older snapshots keep the URL as then linked (http://, :80, www.): the pattern is
    tried on it and on its normalized form."""
    if _host(url) != host:
        return False  # an index answer is hostile too: only the source's own pages
    if pattern is None:
        return True
    compiled = compile_url_pattern(pattern)
    return any(compiled.search(u) is not None for u in _forms(url))


def _wanted(snapshot: Snapshot, pattern: str | None, since: datetime | None,
            until: datetime | None, host: str) -> bool:  # fmt: skip
    at = snapshot.at
    if (since is not None and at < since) or (until is not None and at > until):
        return False
    if not _is_article(snapshot.original, pattern, host):
        return False
    if pattern is not None:
        return True
    # No article pattern: pages, not images or scripts; errors and redirects have no type.
    mimetype = (snapshot.mimetype or "").lower()
    return "html" in mimetype or (snapshot.status_code or 0) >= 300 or not mimetype


def cdx_query(
    base: str, url: str, since: datetime | None, until: datetime | None, resume: str | None
) -> str:
    params: list[tuple[str, str]] = [
        ("url", url),
        ("matchType", "prefix"),
        ("output", "json"),
        ("fl", ",".join(CDX_FIELDS)),
        ("filter", "statuscode:[234].."),
        ("collapse", "digest"),
        ("showResumeKey", "true"),
        ("limit", str(CDX_PAGE)),
    ]
    if since is not None:
        params.append(("from", wayback_timestamp(since)))
    if until is not None:
        params.append(("to", wayback_timestamp(until)))
    if resume is not None:
        params.append(("resumeKey", resume))
    return f"{base}/cdx/search/cdx?{urlencode(params)}"


def _dated_in_future(snapshot: Snapshot, now: datetime, plan: Plan) -> bool:
    """A snapshot the archive dates after our clock (2099, 9999…) is refused and reported,
    never fetched: recorded, it would be the article's newest capture for ever."""
    refusal = future_date_refusal(snapshot.at, now)
    if refusal is None:
        return False
    plan.problems.append(
        f"{snapshot.original} @ {snapshot.timestamp}: {refusal}; the archive's index is wrong"
    )
    return True


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
            if _wanted(snap, cfg.article_url_pattern, since, until, _host(cfg.base_url)):
                if not _dated_in_future(snap, now, plan):
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


def _spread(snapshots: Sequence[Snapshot], count: int) -> list[Snapshot]:
    """At most `count` snapshots spread evenly over time, the first and last included."""
    ordered = sorted(snapshots, key=lambda s: s.timestamp)
    if len(ordered) <= count:
        return ordered
    step = (len(ordered) - 1) / (count - 1)
    return [ordered[round(i * step)] for i in range(count)]


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
    host = _host(cfg.base_url)
    pattern = cfg.article_url_pattern
    pages = [cfg.base_url, *cfg.listings]
    asked: set[str] = set()
    queue = list(dict.fromkeys([*pages, *known]))
    while queue:
        url = queue.pop(0)
        key = _forms(url)[-1]
        if key in asked:
            continue
        asked.add(key)
        snapshots = [
            s for s in _timemap(client, target, url, plan) if not _dated_in_future(s, now, plan)
        ]
        plan.snapshots.extend(s for s in snapshots if _wanted(s, pattern, since, until, host))
        if url not in pages or pattern is None:
            continue
        for copy in _spread(snapshots, MAX_DISCOVERY_COPIES):
            assert copy.memento_url is not None
            response = client.get(copy.memento_url)
            plan.index_requests += 1
            if response.status != 200:
                continue
            for link in links_in_snapshot(response.body, copy.memento_url):
                if _is_article(link, pattern, host) and _forms(link)[-1] not in asked:
                    queue.append(link)
    return plan


# -- fetching one snapshot -------------------------------------------------------------


def _original_of(replay_url: str, response: Response | None, fallback: str) -> str:
    """The original URL an archive's replay URL (or its Link rel=original) stands for."""
    if response is not None:
        link = response.header("link") or ""
        match = re.search(r'<([^>]+)>\s*;[^,]*rel="?[^",]*\boriginal\b', link)
        if match:
            return match.group(1)
    return original_of_replay(replay_url) or fallback


def _raw_form(url: str) -> str:
    """A Wayback replay URL in its raw form (`id_`), so no banner or rewriting is added."""
    return re.sub(r"/(\d{4,14})(?:[a-z]{2}_)?/(https?:)", r"/\1id_/\2", url, count=1)


_ORIG = "x-archive-orig-"
# The archive's own answer headers that describe the page itself (Wayback's `id_`
# replay sends the original Content-Type); the rest (Date, Server, Link…) are the
# archive's, and the original's come prefixed with X-Archive-Orig-.
_PAGE_HEADERS = {"content-type", "location"}


def _original_headers(response: Response) -> tuple[tuple[str, str], ...]:
    """The headers the outlet sent, as far as the archive kept them."""
    original = [(k[len(_ORIG) :], v) for k, v in response.headers if k.lower().startswith(_ORIG)]
    named = {k.lower() for k, _ in original}
    own = [
        (k, v) for k, v in response.headers if k.lower() in _PAGE_HEADERS and k.lower() not in named
    ]
    return tuple(own + original)


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
        next_original = _original_of(location, None, location)
        if urlsplit(location).netloc != archive_host or len(visited) >= MAX_REDIRECTS:
            break  # leaves the archive, or loops: recorded as an unresolved redirect
        visited.append(location)
        # The same page at another timestamp is the archive's doing, not the site's.
        if _forms(next_original)[-1] != _forms(original)[-1]:
            hops.append(RedirectHop(original, response.status, next_original))
        if target.kind == "wayback":
            location = _raw_form(location)
        response = client.get(location)
        original = _original_of(location, response, next_original)
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
        headers=_original_headers(response),
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


@dataclass(slots=True)
class BackfillReport:
    source: str
    archive: str
    planned: int = 0
    already_done: int = 0
    recorded: dict[str, int] = field(default_factory=dict)  # capture outcome → count
    failed: int = 0
    gave_up: int = 0
    refused: int = 0
    out_of_order: int = 0
    deferred: int = 0
    requests: int = 0
    waited_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.gave_up or self.refused or self.problems or self.stopped)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "archive": self.archive,
            "planned": self.planned,
            "already_done": self.already_done,
            "recorded": dict(sorted(self.recorded.items())),
            "failed": self.failed,
            "gave_up": self.gave_up,
            "refused": self.refused,
            "out_of_order": self.out_of_order,
            "deferred": self.deferred,
            "requests": self.requests,
            "waited_s": round(self.waited_s, 1),
            "problems": self.problems,
            "stopped": self.stopped,
        }


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


def _grouped(snapshots: Sequence[Snapshot]) -> Iterator[list[Snapshot]]:
    """Snapshots per article URL (normalized: http and https, www or not, are one
    article), each group in time order."""
    groups: dict[str, list[Snapshot]] = {}
    for snap in snapshots:
        groups.setdefault(_forms(snap.original)[-1], []).append(snap)
    for url in sorted(groups):
        yield sorted(groups[url], key=lambda s: s.timestamp)


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
        source_id = source.id
        done = settled_keys(session, source_id, target.name)
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
        snapshots = (snap for group in _grouped(plan.snapshots) for snap in group)
    fetched = 0
    article: str | None = None
    blocked = False  # an earlier snapshot of this article failed: keep time order
    seen: set[str] = set()  # a snapshot listed twice is fetched once
    for snap in snapshots:
        key = snapshot_key(target.name, snap)
        if key in seen:
            continue
        seen.add(key)
        report.planned += 1
        url = _forms(snap.original)[-1]
        if url != article:
            article, blocked = url, False
        if key in done:
            report.already_done += 1
            continue
        if blocked:
            report.deferred += 1
            continue
        if limit is not None and fetched >= limit:
            report.deferred += 1
            continue
        if _older_than_archive(runtime, source_id, target, snap, now):
            report.out_of_order += 1
            continue
        fetched += 1
        try:
            outcome = _one(runtime, source_id, target, client, snap, cfg.name, options, now)
        except ArchiveBusy as exc:
            report.stopped = str(exc)
            break
        if outcome.startswith("failed:") or outcome.startswith("gave_up:"):
            kind, _, message = outcome.partition(":")
            report.problems.append(f"{snap.original} @ {snap.timestamp}: {message}")
            if kind == "failed":
                report.failed += 1
                blocked = True
            else:
                report.gave_up += 1
        elif outcome.startswith("refused:"):
            report.refused += 1
            report.problems.append(f"{snap.original} @ {snap.timestamp}: {outcome[8:]}")
        else:
            report.recorded[outcome] = report.recorded.get(outcome, 0) + 1
    # The index's own problems first: they say why the list may be short.
    report.problems[:0] = plan.problems
    report.stopped = report.stopped or plan.stopped
    report.requests, report.waited_s = client.requests, client.waited_s
    return report


def _older_than_archive(
    runtime: Runtime, source_id: int, target: Target, snap: Snapshot,
    now: Callable[[], datetime],
) -> bool:  # fmt: skip
    """True (and the ledger says so) when the snapshot's article was already checked
    after the snapshot was taken: versions are judged in time order only."""
    try:
        key = normalize_url(snap.original)
    except BadInput:
        return False
    with runtime.read_sessions() as session:
        article = article_by_url(session, key)
        last_checked = article.last_checked if article is not None else None
    if last_checked is None or last_checked <= snap.at:
        return False
    with runtime.sessions.begin() as session:
        mark_snapshot(
            session,
            source_id=source_id,
            archive=target.name,
            snapshot=snap,
            snapshot_url=target.replay_url(snap),
            outcome=LedgerOutcome.OUT_OF_ORDER,
            at=now(),
            detail={
                "problem": f"older than the article's last check ({last_checked:%Y-%m-%d}"
                "): not fetched, so no old text reads as a new edit"
            },
        )
        return True


def _one(
    runtime: Runtime,
    source_id: int,
    target: Target,
    client: ArchiveClient,
    snap: Snapshot,
    source: str,
    options: RecordOptions,
    now: Callable[[], datetime],
) -> str:
    """Fetch and record one snapshot with its ledger row; the capture outcome, or
    `failed:…` / `gave_up:…` / `refused:…` with the reason."""
    snapshot_url = target.replay_url(snap)
    give_up = runtime.settings.backfill_give_up_after
    try:
        exchange = fetch_snapshot(client, target, snap, source)
    except (ArchiveUnavailable, ArchiveRefused) as exc:
        refused = isinstance(exc, ArchiveRefused)
        with runtime.sessions.begin() as session:
            row = mark_snapshot(
                session,
                source_id=source_id,
                archive=target.name,
                snapshot=snap,
                snapshot_url=snapshot_url,
                outcome=LedgerOutcome.REFUSED if refused else LedgerOutcome.FAILED,
                at=now(),
                detail={"problem": str(exc)},
                give_up_after=give_up,
            )
            return f"{row.outcome}:{exc}"
    with runtime.sessions.begin() as session:
        result = record_capture(session, exchange, warc=runtime.warc, options=options)
        mark_snapshot(
            session,
            source_id=source_id,
            archive=target.name,
            snapshot=snap,
            snapshot_url=snapshot_url,
            outcome=LedgerOutcome.RECORDED,
            at=now(),
            capture_id=result.capture_id,
            detail={"capture_outcome": result.outcome.value, "duplicate": result.duplicate},
        )
    return "duplicate" if result.duplicate else result.outcome.value


__all__ = [
    "BackfillReport",
    "Target",
    "client_for",
    "fetch_snapshot",
    "plan_memento",
    "plan_wayback",
    "run_backfill",
]
