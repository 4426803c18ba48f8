"""`presswatch` commands of the crawl area: sources, crawl, recheck, run, cron, demo.

Commands parse, call, print. Under cron (stderr not a TTY) they are quiet: nothing on
stdout unless `--json` asks for it, and a summary on stderr only when something failed;
on a TTY a rich live display shows pages fetched, new, edited, removed, errors and the
rate. Every crawl also logs to a rotating file in the data dir (`logs/presswatch.log`),
with one summary line per run whatever the log level.

Exit codes (DESIGN.md): 0 ok, 1 something failed (a capture, a sitemap or feed, the
index), 2 bad usage or config. A second `run` while one holds the lock exits 0 with one
line on stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive import ConfigError

if TYPE_CHECKING:
    from presswatch.crawling import CrawlReport, Phase
    from presswatch.runtime import Runtime
    from presswatch.settings import Settings
    from presswatch.sources import SourcesFile

log = logging.getLogger(__name__)
runs_log = logging.getLogger("presswatch.runs")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
SourceOpt = Annotated[
    list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
]

LOG_FILE_BYTES = 5_000_000
LOG_FILE_COUNT = 5


# -- plumbing ------------------------------------------------------------------------


def _cli() -> Any:
    # Imported late: presswatch.cli imports this module while it is being built.
    from presswatch import cli

    return cli


class _RunsOrLevel(logging.Filter):
    """Let through records at the configured level, and run summaries always."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or record.name == runs_log.name


def setup_crawl_logging(settings: Settings) -> None:
    """Rotating log file in the data dir; stderr stays quiet unless `--verbose`."""
    root = logging.getLogger()
    verbose = root.level and root.level <= logging.INFO
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    level = logging.getLevelName(settings.log_level)
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        file_handler = logging.handlers.RotatingFileHandler(
            settings.log_dir / "presswatch.log",
            maxBytes=LOG_FILE_BYTES,
            backupCount=LOG_FILE_COUNT,
            encoding="utf-8",
        )
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        file_handler.addFilter(_RunsOrLevel(level))
        root.addHandler(file_handler)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            # Cron mails whatever reaches stderr: only our summary may, unless asked.
            handler.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)
    root.setLevel(min(level, logging.INFO))
    # Scrapy's per-request debug lines are never wanted in the file.
    logging.getLogger("scrapy").setLevel(max(level, logging.INFO))


def _load_sources(runtime: Runtime) -> SourcesFile:
    """sources.toml, plus the sources added through the admin API."""
    from sqlalchemy import select

    from archive.db import is_migrated
    from archive.models import Source
    from presswatch.sources import load_sources, with_archive_sources

    sources = load_sources(runtime.settings.sources)
    if not is_migrated(runtime.engine):
        return sources  # `sources --check` works before `init`
    with runtime.read_sessions() as session:
        rows = [
            (s.name, s.base_url, list(s.languages or []), dict(s.config or {}), s.enabled)
            for s in session.scalars(select(Source))
        ]
    return with_archive_sources(sources, rows)


def _config_exit(exc: ConfigError) -> typer.Exit:
    exit_: typer.Exit = _cli().fail(str(exc), 2)
    return exit_


class _Live:
    """A rich live table on stderr: fetched, new, edited, removed, errors, rate."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.title = title
        self.started = time.monotonic()
        self.console = Console(stderr=True)
        self.live = Live(self._render({}), console=self.console, refresh_per_second=4)

    def _render(self, counts: dict[str, int]) -> Any:
        from rich.table import Table

        elapsed = max(time.monotonic() - self.started, 0.001)
        table = Table(title=self.title, show_header=True, header_style="bold")
        for name in ("fetched", "new", "edited", "removed", "unreachable", "errors", "pages/s"):
            table.add_column(name, justify="right")
        errors = counts.get("fetch_errors", 0) + counts.get("problems", 0)
        table.add_row(
            str(counts.get("fetched", 0)),
            str(counts.get("discovered", 0)),
            str(counts.get("edited", 0)),
            str(counts.get("removed", 0)),
            str(counts.get("unreachable", 0)),
            str(errors),
            f"{counts.get('fetched', 0) / elapsed:.1f}",
        )
        return table

    def __enter__(self) -> _Live:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def update(self, counts: dict[str, int]) -> None:
        self.live.update(self._render(counts))


def _summary_line(label: str, report: CrawlReport) -> str:
    c = report.counts
    return (
        f"{label}: {c.get('fetched', 0)} fetched, {c.get('discovered', 0)} new, "
        f"{c.get('edited', 0)} edited, {c.get('removed', 0)} removed, "
        f"{c.get('unreachable', 0)} unreachable, {len(report.problems)} problem(s) "
        f"in {report.duration_s:.1f}s"
    )


def _execute(
    runtime: Runtime,
    sources: SourcesFile,
    phases: list[Phase],
    *,
    label: str,
    as_json: bool,
    index: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    from presswatch.crawling import build_context, run_phases, sync_sources

    settings = runtime.settings
    setup_crawl_logging(settings)
    sync_sources(runtime, sources, datetime.now(UTC))
    context = build_context(runtime, sources)
    show = sys.stderr.isatty() and not as_json
    if show:
        with _Live(f"presswatch {label}") as live:
            report = run_phases(runtime, context, phases, on_tick=live.update)
    else:
        report = run_phases(runtime, context, phases)
    indexed = None
    if index and not report.interrupted:
        indexed, problem = index_outbox(runtime)
        if problem:
            report.problems.append(problem)
    line = _summary_line(label, report)
    if report.ok:
        runs_log.info("%s", line)
    else:
        runs_log.warning("%s", line)
        for problem in report.problems:
            runs_log.warning("  %s", problem)
    if as_json:
        doc = report.as_json()
        if indexed is not None:
            doc["indexed"] = indexed
        doc.update(extra or {})
        _cli().echo_json(doc)
    if not report.ok:
        typer.echo(f"presswatch {line}", err=True)
        for problem in report.problems[:50]:
            typer.echo(f"  {problem}", err=True)
        if report.interrupted:
            typer.echo("  interrupted: run again to continue", err=True)
        raise typer.Exit(1)
    if show:
        typer.echo(line, err=True)


def index_outbox(runtime: Runtime) -> tuple[int, str | None]:
    """Drain the archive's search outbox into the configured backend."""
    try:
        from search_api.factory import make_backend
        from search_api.indexer import drain_outbox
    except ImportError as exc:
        return 0, f"search index not updated: {exc}"
    try:
        backend = make_backend(runtime.settings)
    except Exception as exc:  # boundary: indexing failure is reported, not fatal
        log.exception("search backend unavailable")
        return 0, f"search index not updated: {exc}"
    try:
        backend.configure()
        return drain_outbox(runtime.sessions, backend), None
    except Exception as exc:  # boundary, as above
        log.exception("indexing failed")
        return 0, f"search index not updated: {type(exc).__name__}: {exc}"
    finally:
        backend.close()


def _check_names(sources: SourcesFile, names: list[str]) -> list[str]:
    """The named sources, or every enabled one (`enabled = false` skips a source unless
    it is named)."""
    known = {s.name for s in sources.source}
    for name in names:
        if name not in known:
            raise _cli().fail(
                f"--source {name!r}: no such source in sources.toml "
                f"(known: {', '.join(sorted(known)) or 'none'})",
                2,
            )
    if not names:
        enabled = [s.name for s in sources.select()]
        if not enabled:
            raise _cli().fail("sources.toml has no enabled source: nothing to crawl", 2)
        return enabled
    return names


# -- commands ------------------------------------------------------------------------


def sources_cmd(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Only validate the file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List sources with article counts; validate sources.toml (exit 2 on errors)."""
    from presswatch.sources import check_sources

    cli = _cli()
    runtime = cli.get_runtime(ctx, initialized=False)
    path = runtime.settings.sources
    parsed, problems = check_sources(path)
    errors = [p for p in problems if not p.warning]
    if not as_json or errors:
        for problem in problems:
            typer.echo(str(problem), err=True)
    if parsed is None:
        if as_json:
            cli.echo_json({"ok": False, "file": str(path), "problems": [str(p) for p in problems]})
        raise typer.Exit(2)
    if check:
        if as_json:
            cli.echo_json(
                {
                    "ok": True,
                    "file": str(path),
                    "sources": len(parsed.source),
                    "topics": sorted(parsed.topics),
                    "problems": [str(p) for p in problems],
                }
            )
        else:
            warn = f", {len(problems)} warning(s)" if problems else ""
            typer.echo(
                f"{path}: {len(parsed.source)} source(s), {len(parsed.topics)} topic(s), "
                f"no errors{warn}"
            )
        return
    counts: dict[str, dict[str, Any]] = {}
    from archive.db import is_migrated

    if is_migrated(runtime.engine):
        from archive.queries import source_stats

        with runtime.sessions() as session:
            counts = {row["name"]: row for row in source_stats(session)}
    rows = []
    for src in parsed.source:
        stat = counts.get(src.name, {})
        rows.append(
            {
                "name": src.name,
                "base_url": src.base_url,
                "enabled": src.enabled,
                "languages": src.languages,
                "topic": src.topic,
                "sitemaps": len(src.sitemaps),
                "feeds": len(src.feeds),
                "listings": len(src.listings),
                "articles": stat.get("articles", 0),
                "live": stat.get("live", 0),
                "edited": stat.get("edited", 0),
                "removed": stat.get("removed", 0),
                "unreachable": stat.get("unreachable", 0),
                "last_crawl": stat.get("last_crawl"),
                "last_error": stat.get("last_error"),
            }
        )
    if as_json:
        cli.echo_json(rows)
        return
    for row in rows:
        flag = "" if row["enabled"] else " (disabled)"
        topic = f" topic={row['topic']}" if row["topic"] else ""
        typer.echo(
            f"{row['name']:<20} {row['articles']:>6} articles ({row['edited']} edited, "
            f"{row['removed']} removed)  {row['base_url']}{topic}{flag}"
        )
        if row["last_error"]:
            typer.echo(f"{'':<20} last error: {row['last_error']}")


def crawl_cmd(
    ctx: typer.Context,
    source: SourceOpt = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many new articles per source.")
    ] = None,
    spider: Annotated[
        list[str] | None,
        typer.Option(help="Only these discovery spiders: sitemap, feed, listing (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Discover new articles (sitemaps, feeds, listing pages) and capture them."""
    from presswatch.crawling import DISCOVERY_SPIDERS, Phase, discovery_jobs

    cli = _cli()
    spiders = spider or list(DISCOVERY_SPIDERS)
    bad = [s for s in spiders if s not in DISCOVERY_SPIDERS]
    if bad:
        raise cli.fail(f"--spider {bad[0]!r}: use sitemap, feed or listing", 2)
    runtime = cli.get_runtime(ctx)
    try:
        sources = _load_sources(runtime)
    except ConfigError as exc:
        raise _config_exit(exc) from exc
    names = _check_names(sources, source or [])
    phases = [Phase(discovery_jobs(names, limit, spiders), name="crawl")]
    _execute(runtime, sources, phases, label="crawl", as_json=as_json)


def recheck_cmd(
    ctx: typer.Context,
    source: SourceOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every archived article, due or not.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many articles.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch archived articles that are due (or all) and record what changed."""
    from presswatch.crawling import CrawlJob, Phase

    cli = _cli()
    runtime = cli.get_runtime(ctx)
    try:
        sources = _load_sources(runtime)
    except ConfigError as exc:
        raise _config_exit(exc) from exc
    names = _check_names(sources, source or [])
    phases = [Phase([CrawlJob("recheck", tuple(names), limit, all_)], name="recheck")]
    _execute(runtime, sources, phases, label="recheck", as_json=as_json)


def run_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Crawl, recheck and index under a lock; quiet unless something failed (for cron)."""
    from presswatch.crawling import CrawlJob, Phase, discovery_jobs
    from presswatch.lock import LockHeld, RunLock

    cli = _cli()
    runtime = cli.get_runtime(ctx)
    try:
        sources = _load_sources(runtime)
    except ConfigError as exc:
        raise _config_exit(exc) from exc
    lock = RunLock(runtime.settings.lock_path, "presswatch run")
    try:
        lock.acquire()
    except LockHeld as exc:
        typer.echo(
            f"presswatch run: another run holds {exc.path} ({exc.holder.describe()}); "
            "nothing to do",
            err=True,
        )
        raise typer.Exit(0) from None
    try:
        names = _check_names(sources, [])
        phases = [
            Phase(discovery_jobs(names, None), name="crawl"),
            Phase([CrawlJob("recheck", tuple(names))], name="recheck"),
        ]
        extra = {}
        if lock.took_over is not None:
            extra["took_over_stale_lock"] = lock.took_over.describe()
        _execute(runtime, sources, phases, label="run", as_json=as_json, index=True, extra=extra)
    finally:
        lock.release()


def cron_cmd(
    ctx: typer.Context,
    every: Annotated[int, typer.Option(min=5, max=60, help="Minutes between runs (5-60).")] = 15,
) -> None:
    """Print a ready crontab block for `presswatch run`."""
    cli = _cli()
    runtime = cli.get_runtime(ctx, initialized=False)
    typer.echo(crontab_block(runtime.settings, every=every, cwd=Path.cwd()), nl=False)


def crontab_block(settings: Settings, *, every: int, cwd: Path) -> str:
    exe = shutil.which("presswatch")
    command = shlex.quote(exe) if exe else f"{shlex.quote(sys.executable)} -m presswatch.cli"
    args = [
        f"--data-dir {shlex.quote(str(settings.data_dir.resolve()))}",
        f"--sources {shlex.quote(str(settings.sources.resolve()))}",
    ]
    minutes = "*" if every == 1 else f"*/{every}"
    return (
        "# Presswatch: discover, recheck and index every "
        f"{every} minutes. Quiet unless something failed:\n"
        "# cron mails the summary it prints on stderr. Logs rotate in "
        f"{settings.log_dir.resolve()}.\n"
        "# A run still going when the next starts exits at once (lock in the data dir).\n"
        'MAILTO=""  # put your address here to be told about failures\n'
        f"{minutes} * * * * cd {shlex.quote(str(cwd.resolve()))} && {command} "
        f"{' '.join(args)} run\n"
        "# Check the archive's hash chain once a day:\n"
        f"17 4 * * * cd {shlex.quote(str(cwd.resolve()))} && {command} "
        f"{' '.join(args[:1])} verify\n"
    )


def demo_cmd(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then leave the web app running on the demo data.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="Keep the demo's data here (default: a temporary dir)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the web app with --serve.")] = 8000,
) -> None:
    """A self-contained demo on a local news site: crawl, edit, take down, detect."""
    from presswatch.demo.run import run_demo

    result = run_demo(data_dir=data_dir, out=typer.echo)
    if not result.ok:
        raise typer.Exit(1)
    if serve:
        from presswatch.demo.run import serve_demo

        serve_demo(result, port=port, out=typer.echo)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("sources")(sources_cmd)
    app.command("crawl")(crawl_cmd)
    app.command("recheck")(recheck_cmd)
    app.command("run")(run_cmd)
    app.command("cron")(cron_cmd)
    app.command("demo")(demo_cmd)
