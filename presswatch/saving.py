"""Saving one page now (`presswatch save URL`): the address checked against the egress
policy, the source chosen, the per-person quota, then the page fetched by the `save`
spider in the crawl's own machinery (Scrapy with the egress policy, robots.txt rules,
size caps and recording; the browser renders the new version when it is on), and the
save sealed as an audit entry naming who, the address and the note.

The article is then watched like any other: recording plans its next check.

A saved page is kept even when it is off its source's topic: a person asked for it.

Must not: run inside the web server's process (Twisted's reactor runs once per process
and would fight uvicorn's loop); the web pages run `presswatch save` as a command
(`presswatch.save_runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from archive.errors import BadInput, PresswatchError

if TYPE_CHECKING:
    from archive.accounts import Actor
    from presswatch.crawling.report import CrawlReport
    from presswatch.runtime import Runtime
    from presswatch.sources import SourceConfig, SourcesFile


class SaveFailed(PresswatchError):
    """The page could not be saved (robots.txt forbids it, the fetch was refused or got
    nothing to record, the crawl failed); nothing was recorded as a save."""


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    url: str
    source: str
    capture_id: int
    outcome: str  # the capture's outcome: new, edited, unchanged, unreachable…
    http_status: int | None
    article_id: int | None
    article_status: str | None
    versions: int
    next_check: datetime | None
    audit_leaf_index: int
    rendered: bool

    problem: str | None = None  # why no article came of it (the capture is kept)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.problem is None,
            "url": self.url,
            "source": self.source,
            "capture_id": self.capture_id,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "article_id": self.article_id,
            "status": self.article_status,
            "versions": self.versions,
            "next_check": self.next_check.isoformat() if self.next_check else None,
            "audit_leaf_index": self.audit_leaf_index,
            "rendered": self.rendered,
        }
        if self.problem is not None:
            doc["kind"] = "failed"
            doc["error"] = self.problem
        return doc


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def choose_source(sources: SourcesFile, url: str, name: str | None) -> SourceConfig:
    """`name` when given, else the one source whose article pattern matches `url` or,
    without a pattern, whose base URL is on the same host."""
    import re

    from archive.errors import ConfigError

    if name is not None:
        try:
            return sources.get(name)
        except ConfigError as exc:
            known = ", ".join(sorted(s.name for s in sources.source)) or "none"
            raise BadInput(f"--source {name!r}: no such source (known: {known})") from exc
    host = _host(url)
    by_pattern = [
        s
        for s in sources.source
        if s.article_url_pattern and re.search(s.article_url_pattern, url) is not None
    ]
    matches = by_pattern or [s for s in sources.source if _host(s.base_url) == host]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BadInput(
            f"no source in sources.toml is on {host or url[:200]!r}: pass --source NAME, "
            "or add the outlet to sources.toml ([[source]] with its base_url)"
        )
    names = ", ".join(s.name for s in matches)
    raise BadInput(f"{url[:200]} matches several sources ({names}): pass --source NAME")


def check_address(url: str, allow_networks: list[str]) -> None:
    """Refuse (BadInput) an address the egress policy would not let the crawler reach:
    a scheme other than http(s), a blocked IP literal or loopback name, or a host whose
    every address is blocked. Checked before anything runs, so a refused save records
    nothing; the crawler checks again at connect time."""
    from archive.egress import parse_networks, resolved_refusal, url_refusal
    from presswatch.egress import resolve_addresses

    allow = parse_networks(allow_networks)
    refusal = url_refusal(url, allow)
    host = urlsplit(url.strip()).hostname or ""
    if refusal is None and host:
        refusal = resolved_refusal(host, resolve_addresses(host), allow)
    if refusal is not None:
        raise BadInput(f"not saved: {url[:300]}: {refusal}")


def _topic_free(sources: SourcesFile, name: str) -> SourcesFile:
    """The sources with `name`'s topic filter off: a page a person saves is kept."""
    changed = [
        s.model_copy(update={"topic": None}) if s.name == name else s for s in sources.source
    ]
    return sources.model_copy(update={"source": changed})


def _crawl_one(runtime: Runtime, sources: SourcesFile, url: str, source: str) -> CrawlReport:
    from datetime import UTC

    from presswatch.crawling.context import build_context
    from presswatch.crawling.logfile import setup_crawl_logging
    from presswatch.crawling.runner import CrawlJob, Phase, run_phases
    from presswatch.crawling.sources import sync_sources

    runtime.space_floor.check()
    setup_crawl_logging(runtime.settings)
    sync_sources(runtime, sources, datetime.now(UTC))
    context = build_context(runtime, _topic_free(sources, source))
    phase = Phase([CrawlJob("save", (source,), url=url)], name="save")
    return run_phases(runtime, context, [phase], use_jobdir=False)


def save_page(
    runtime: Runtime,
    sources: SourcesFile,
    url: str,
    *,
    actor: Actor,
    source: str | None,
    note: str,
    now: datetime,
) -> SaveOutcome:
    """Save `url` now in `actor`'s name. Raises BadInput (a refused address, no
    source), NotAllowed / Throttled (the role, the hourly quota) before fetching, and
    SaveFailed when the fetch left nothing to record. A fetch that gave no article (an
    outlet's 404, a timeout) is recorded like any fetch, and the outcome says why
    (`problem`)."""
    from sqlalchemy import func, select

    from archive.accounts import record_save, require_save_quota
    from archive.store import Article, Capture, Version

    url = url.strip()
    if len(url) > 2000:
        raise BadInput("the address is longer than 2000 characters")
    check_address(url, runtime.settings.allow_networks)
    chosen = choose_source(sources, url, source)
    with runtime.read_sessions() as session:
        require_save_quota(session, actor, now=now, per_hour=runtime.settings.save_per_hour)
        before = session.scalar(select(func.max(Capture.id))) or 0

    report = _crawl_one(runtime, sources, url, chosen.name)

    if report.counts.get("save_refused"):
        reason = next((p for p in report.problems if "not fetched" in p), "refused")
        raise BadInput(f"not saved: {reason}")
    if report.counts.get("robots_forbidden"):
        raise SaveFailed(f"not saved: {_host(url)}'s robots.txt forbids fetching {url[:300]}")
    with runtime.sessions.begin() as session:
        capture = session.scalars(
            select(Capture)
            .where(Capture.id > before, Capture.requested_url == url)
            .order_by(Capture.id.desc())
        ).first()
        if capture is None:
            why = "; ".join(report.problems[:3]) or "the fetch recorded nothing"
            raise SaveFailed(f"not saved: {url[:300]}: {why}")
        article = session.get(Article, capture.article_id) if capture.article_id else None
        versions = 0
        if article is not None:
            versions = int(
                session.scalar(
                    select(func.count())
                    .select_from(Version)
                    .where(Version.article_id == article.id)
                )
                or 0
            )
        entry = record_save(
            session,
            actor,
            url,
            article_id=article.id if article is not None else None,
            capture_id=capture.id,
            note=note,
            now=now,
        )
        browser = report.stats.get("browser") or {}
        problem = None
        if article is None:
            got = f"HTTP {capture.status}" if capture.status else (capture.error or "no answer")
            problem = (
                f"{url[:300]} gave no article ({capture.outcome}: {got}); the fetch is kept "
                f"as capture {capture.id} and the save in the audit log"
            )
        return SaveOutcome(
            url=url,
            source=chosen.name,
            capture_id=capture.id,
            outcome=capture.outcome,
            http_status=capture.status,
            article_id=article.id if article is not None else None,
            article_status=article.status if article is not None else None,
            versions=versions,
            next_check=article.next_check if article is not None else None,
            audit_leaf_index=entry.seq - 1,
            rendered=bool(browser.get("rendered")),
            problem=problem,
        )
