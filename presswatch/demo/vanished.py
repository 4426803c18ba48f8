"""The demo's last act: a vanished outlet rebuilt from a web archive.

"The Phnom Penh Voice" (fictional, at voice.example, never contacted) went dark in March
2023. A public web archive on 127.0.0.1 (`presswatch.demo.webarchive`, speaking the
Wayback CDX and `id_` replay formats) holds its snapshots: one story published, later
edited (a paragraph naming a company disappears), then gone (two 404 snapshots); another
sent to the home page at the end. `presswatch backfill` turns them into versions and
events labelled "(per web archive)", with each article's snapshot coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from archive.backfill import Target, snapshot_coverage
from archive.egress import parse_networks
from archive.store import events_of, source_by_name
from archive.views import event_label, event_via
from presswatch.backfill import run_backfill
from presswatch.backfill_client import ArchiveClient
from presswatch.crawling.indexing import index_outbox
from presswatch.crawling.sources import sync_sources
from presswatch.demo import pages
from presswatch.demo.content import bulk_articles
from presswatch.demo.webarchive import Stored, WebArchive
from presswatch.runtime import Runtime
from presswatch.settings import user_agent
from presswatch.sources import SourceConfig, SourcesFile

VOICE = "phnom-penh-voice"
VOICE_BASE = "https://voice.example/"
VOICE_PATTERN = r"^https://voice\.example/news/[a-z0-9-]+/$"
OUTLET = pages.Outlet(name="The Phnom Penh Voice", nav=(("/news/", "News"),))
CUT_PARAGRAPH = (
    "Land records seen by the Voice list the compound's buildings under Golden Crane "
    "Development, a company whose directors include a provincial adviser."
)


def _page(title: str, paragraphs: tuple[str, ...], url: str, published: str) -> bytes:
    article = pages.ArticlePage(
        title=title,
        paragraphs=paragraphs,
        byline="By Voice reporters",
        published=published,
        canonical=url,
    )
    return pages.article_page(OUTLET, article).encode("utf-8")


def voice_snapshots() -> list[Stored]:
    first, second = bulk_articles(2, seed=2023)
    story = f"{VOICE_BASE}news/{first.slug}/"
    other = f"{VOICE_BASE}news/{second.slug}/"
    full = (*first.paragraphs[:3], CUT_PARAGRAPH, *first.paragraphs[3:])
    gone = pages.not_found_page(OUTLET).encode("utf-8")
    home = pages.page(OUTLET, title="The Phnom Penh Voice", main="<p>Latest news</p>")
    edited = _page(first.title, first.paragraphs, story, "2022-11-01")
    other_page = _page(second.title, second.paragraphs, other, "2022-12-01")
    return [
        Stored(VOICE_BASE, "20221101000000", body=home.encode("utf-8")),
        Stored(story, "20221101093000", body=_page(first.title, full, story, "2022-11-01")),
        Stored(story, "20221215120000", body=edited),
        Stored(story, "20230220080000", status=404, body=gone),
        Stored(story, "20230301080000", status=404, body=gone + b"\n"),
        Stored(other, "20221201100000", body=other_page),
        Stored(other, "20230225000000", status=301, body=b"", location=VOICE_BASE),
        Stored(other, "20230302000000", status=301, body=b"Moved", location=VOICE_BASE),
    ]  # fmt: skip


def voice_source() -> SourceConfig:
    return SourceConfig(
        name=VOICE,
        base_url=VOICE_BASE,
        languages=["en"],
        article_url_pattern=VOICE_PATTERN,
        enabled=False,  # it is gone: nothing to crawl, only to backfill
    )


def append_source(sources_path: Path) -> None:
    """Add the vanished outlet to the demo's sources.toml, disabled, so the commands
    printed at the end know it."""
    with open(sources_path, "a", encoding="utf-8") as out:
        out.write(
            "\n# Gone since March 2023: rebuilt with `presswatch backfill` (enabled = false).\n"
            f'[[source]]\nname = "{VOICE}"\nbase_url = "{VOICE_BASE}"\nlanguages = ["en"]\n'
            f"article_url_pattern = '{VOICE_PATTERN}'\nenabled = false\n"
        )


def run_vanished_act(runtime: Runtime, sources_path: Path, out: Callable[[str], None]) -> list[str]:
    """Backfill the vanished outlet from the local archive and print what came out;
    the problems, if any."""
    cfg = voice_source()
    append_source(sources_path)
    with WebArchive(snapshots=voice_snapshots()) as archive:
        sync_sources(runtime, SourcesFile(source=[cfg]), datetime.now(UTC))
        client = ArchiveClient(
            allow=parse_networks(runtime.settings.allow_networks),
            user_agent=user_agent(runtime.settings),
            delay_s=0.0,  # a local archive; a public one gets backfill_delay_s
            retries=runtime.settings.backfill_retries,
            max_wait_s=runtime.settings.backfill_max_wait_s,
            timeout_s=10.0,
            max_body_bytes=runtime.settings.max_body_bytes,
        )
        target = Target.parse("wayback", archive.base_url)
        report = run_backfill(runtime, cfg, target, client, options=runtime.record_options())
    index_outbox(runtime)
    out(f'5. A vanished outlet: "{OUTLET.name}" went dark in March 2023; a public web')
    out("   archive kept it. `presswatch backfill phnom-penh-voice --from-archive wayback`,")
    out("   here against a local archive speaking the Wayback CDX and replay formats,")
    recorded = sum(report.recorded.values())
    out(f"   recorded {recorded} snapshots as captures dated by the archive, and found:")
    problems = list(report.problems)
    if report.stopped:
        problems.append(report.stopped)
    with runtime.read_sessions() as session:
        source = source_by_name(session, VOICE)
        assert source is not None
        coverage = snapshot_coverage(session, source)
        for cov in coverage:
            for event in events_of(session, cov.article_id):
                if event.kind == "discovered":
                    continue
                label = event_label(event.kind, event_via(event))
                how = ",".join(str(h) for h in event.how)
                out(f"  {event.at:%Y-%m-%d}  {label:<28} {how:<14} {cov.url}")
        out("   Snapshot coverage (gaps are when a change could go unseen):")
        for cov in coverage:
            c = cov.coverage
            gap = c.gaps[0] if c.gaps else None
            widest = f", largest gap {(gap[1] - gap[0]).days} days" if gap else ""
            out(f"  {c.count} snapshots {c.first:%Y-%m-%d}..{c.last:%Y-%m-%d}{widest}: {cov.url}")
    return problems
