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
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import ConfigError
from archive.i18n import translations
from presswatch.commands.common import (
    JsonOpt,
    SourceOpt,
    archive_lock,
    config_exit,
    echo_json,
    fail,
    get_runtime,
    port_problem,
    refuse_unknown_sources,
)
from presswatch.shell import presswatch_command

if TYPE_CHECKING:
    from presswatch.crawling.report import CrawlReport
    from presswatch.crawling.runner import Phase
    from presswatch.runtime import Runtime
    from presswatch.settings import Settings
    from presswatch.sources import SourcesFile

runs_log = logging.getLogger("presswatch.runs")  # one summary line per run, always logged


# -- plumbing ------------------------------------------------------------------------


def _crawl_sources(runtime: Runtime) -> SourcesFile:
    from presswatch.crawling.sources import load_crawl_sources

    try:
        return load_crawl_sources(runtime)
    except ConfigError as exc:
        raise config_exit(exc) from exc


class _Live:
    """A rich live table on stderr: fetched, new, edited, removed, errors, rate."""

    def __init__(self, title: str, lang: str = "en") -> None:
        from rich.console import Console
        from rich.live import Live

        self.title = title
        self._ = translations(lang).gettext
        self.started = time.monotonic()
        self.console = Console(stderr=True)
        self.live = Live(self._render({}), console=self.console, refresh_per_second=4)

    def _render(self, counts: dict[str, int]) -> Any:
        from rich.table import Table

        elapsed = max(time.monotonic() - self.started, 0.001)
        table = Table(title=self.title, show_header=True, header_style="bold")
        _ = self._
        names = (
            _("fetched"),
            _("new"),
            _("edited"),
            _("removed"),
            _("unreachable"),
            _("errors"),
            _("pages/s"),
        )
        for name in names:
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


def _crawl(
    runtime: Runtime, sources: SourcesFile, phases: list[Phase], *, label: str, as_json: bool
) -> CrawlReport:
    """Run the phases, under a live display when a person watches (not with --json)."""
    from presswatch.crawling.context import start_crawl
    from presswatch.crawling.runner import run_phases

    context = start_crawl(runtime, sources)
    if sys.stderr.isatty() and not as_json:
        with _Live(f"presswatch {label}", runtime.settings.lang) as live:
            return run_phases(runtime, context, phases, on_tick=live.update)
    return run_phases(runtime, context, phases)


def _index_and_notify(
    runtime: Runtime, sources: SourcesFile, report: CrawlReport
) -> dict[str, Any]:
    """What `run` does after its crawl, unless interrupted: index the search outbox (a
    failure becomes one of the report's problems), then notify. The fields it adds to
    the JSON document."""
    from presswatch.crawling.indexing import index_outbox
    from presswatch.notify import notify_outbox

    if report.interrupted:
        return {}
    indexed, problem = index_outbox(runtime)
    if problem:
        report.problems.append(problem)
    # After the crawl's writes commit; a notifier's failure is retried later and
    # shown by `status`, never a failed run (presswatch.notify).
    notified, _problem = notify_outbox(runtime, sources)
    done: dict[str, Any] = {"indexed": indexed}
    if notified is not None:
        done["notified"] = notified.as_json()
    return done


def _finish(
    report: CrawlReport,
    *,
    label: str,
    as_json: bool,
    extra: dict[str, Any] | None = None,
    lang: str = "en",
) -> None:
    """Log the summary line (in English), print the JSON document (with `extra`'s
    fields), and exit 1 naming the problems when the crawl failed or was stopped. The
    terminal's summary is in `lang`; the problems are the fetches' own words."""
    line = report.summary(label)
    said = report.summary(label, translations(lang).gettext)
    if report.ok:
        runs_log.info("%s", line)
    else:
        runs_log.warning("%s", line)
        for problem in report.problems:
            runs_log.warning("  %s", problem)
    if as_json:
        doc = report.as_json()
        doc.update(extra or {})
        echo_json(doc)
    if report.stopped_by is not None:
        typer.echo(f"presswatch {label}: {report.stopped_by}", err=True)
        raise typer.Exit(1)
    if not report.ok:
        typer.echo(f"presswatch {said}", err=True)
        for problem in report.problems[:50]:
            typer.echo(f"  {problem}", err=True)
        if report.interrupted:
            typer.echo("  interrupted: run again to continue", err=True)
        raise typer.Exit(1)
    if sys.stderr.isatty() and not as_json:
        typer.echo(said, err=True)


def _check_names(sources: SourcesFile, names: list[str]) -> list[str]:
    """The named sources, or every enabled one (`enabled = false` skips a source unless
    it is named)."""
    refuse_unknown_sources(names, (s.name for s in sources.source))
    if not names:
        enabled = [s.name for s in sources.select()]
        if not enabled:
            raise fail("sources.toml has no enabled source: nothing to crawl", 2)
        return enabled
    return names


# -- commands ------------------------------------------------------------------------


def sources_cmd(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", metavar="", help="Only validate the file.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List sources with article counts; validate sources.toml.

    Exit 2 when the file has errors; `--check` only validates it."""
    from presswatch.browser import browser_status
    from presswatch.sources import check_sources

    runtime = get_runtime(ctx, initialized=False)
    path = runtime.settings.sources
    browser_on, browser_why = browser_status(runtime.settings)
    parsed, problems = check_sources(
        path,
        allow_networks=runtime.settings.allow_networks,
        notify_egress=runtime.notifier_egress(),
        browser_off=None if browser_on else browser_why.removeprefix("screenshots are off: "),
    )
    errors = [p for p in problems if not p.warning]
    if not as_json or errors:
        for problem in problems:
            typer.echo(str(problem), err=True)
    if parsed is None:
        if as_json:
            echo_json({"ok": False, "file": str(path), "problems": [str(p) for p in problems]})
        raise typer.Exit(2)
    if check:
        if as_json:
            echo_json(
                {
                    "ok": True,
                    "file": str(path),
                    "sources": len(parsed.source),
                    "topics": sorted(parsed.topics),
                    "problems": [str(p) for p in problems],
                }
            )
        else:
            _ = translations(runtime.settings.lang).gettext
            numbers = {
                "path": path,
                "sources": len(parsed.source),
                "topics": len(parsed.topics),
                "warnings": len(problems),
            }
            if problems:
                said = _(
                    "%(path)s: %(sources)s source(s), %(topics)s topic(s), no errors, "
                    "%(warnings)s warning(s)"
                )
            else:
                said = _("%(path)s: %(sources)s source(s), %(topics)s topic(s), no errors")
            typer.echo(said % numbers)
        return
    counts: dict[str, dict[str, Any]] = {}
    if runtime.is_initialized():  # before `init` the file alone, and no file created
        from archive.store import source_stats

        with runtime.read_sessions() as session:
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
                "render": src.render,
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
        echo_json(rows)
        return
    _print_sources(rows, runtime.settings.lang)


def _print_sources(rows: list[dict[str, Any]], lang: str) -> None:
    """The outlets for a person, in `lang`. `topic=` and `render` are the keys of
    sources.toml, as written there; a last error is what the fetch said."""
    _ = translations(lang).gettext
    for row in rows:
        flag = "" if row["enabled"] else " " + _("(disabled)")
        topic = f" topic={row['topic']}" if row["topic"] else ""
        render = " render" if row["render"] else ""
        counted = _("%(articles)s articles (%(edited)s edited, %(removed)s removed)") % {
            "articles": f"{row['articles']:>6}",
            "edited": row["edited"],
            "removed": row["removed"],
        }
        typer.echo(f"{row['name']:<20} {counted}  {row['base_url']}{topic}{render}{flag}")
        if row["last_error"]:
            said = _("last error: %(error)s") % {"error": row["last_error"]}
            typer.echo(f"{'':<20} {said}")


def crawl_cmd(
    ctx: typer.Context,
    source: SourceOpt = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="At most this many new articles per source."),
    ] = None,
    spider: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SPIDER",
            help="Only these discovery spiders: sitemap, feed, listing (repeatable).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Discover new articles and capture them.

    Discovery reads the sources' sitemaps, feeds and listing pages."""
    from presswatch.crawling.runner import DISCOVERY_SPIDERS, Phase, discovery_jobs

    spiders = spider or list(DISCOVERY_SPIDERS)
    bad = [s for s in spiders if s not in DISCOVERY_SPIDERS]
    if bad:
        raise fail(f"--spider {bad[0]!r}: use sitemap, feed or listing", 2)
    runtime = get_runtime(ctx, ride_out_outage=True)
    sources = _crawl_sources(runtime)
    names = _check_names(sources, source or [])
    phases = [Phase(discovery_jobs(names, limit, spiders), name="crawl")]
    with archive_lock(runtime, "crawl"):
        report = _crawl(runtime, sources, phases, label="crawl", as_json=as_json)
        _finish(report, label="crawl", as_json=as_json, lang=runtime.settings.lang)


def recheck_cmd(
    ctx: typer.Context,
    source: SourceOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", metavar="", help="Every archived article, due or not.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="At most this many articles.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recheck archived articles and record what changed.

    Fetches the articles that are due (or all with `--all`)."""
    from presswatch.crawling.runner import CrawlJob, Phase

    runtime = get_runtime(ctx, ride_out_outage=True)
    sources = _crawl_sources(runtime)
    names = _check_names(sources, source or [])
    phases = [Phase([CrawlJob("recheck", tuple(names), limit, all_)], name="recheck")]
    with archive_lock(runtime, "recheck"):
        report = _crawl(runtime, sources, phases, label="recheck", as_json=as_json)
        _finish(report, label="recheck", as_json=as_json, lang=runtime.settings.lang)


def run_cmd(
    ctx: typer.Context,
    max_duration: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Report a lock holder older than this, e.g. 2h (setting max_run_duration).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Crawl, recheck, index and notify under a lock (for cron).

    Quiet unless something failed. A run that finds the lock held exits 0 with one line,
    or 1 when the holder is past --max-duration or no run could start for longer than
    lock_stale_after."""
    from datetime import UTC, datetime

    from presswatch.crawling.runner import CrawlJob, Phase, discovery_jobs
    from presswatch.lock import (
        LockHeld,
        RunLock,
        clear_blocked_run,
        judge_busy_run,
        note_blocked_run,
    )
    from presswatch.schedule import parse_duration

    runtime = get_runtime(ctx, ride_out_outage=True)
    settings = runtime.settings
    max_text = max_duration or settings.max_run_duration
    try:
        max_delta = parse_duration(max_text)
        stale_delta = parse_duration(settings.lock_stale_after)
    except ConfigError as exc:
        raise fail(f"--max-duration: {exc}", 2) from exc
    sources = _crawl_sources(runtime)
    lock = RunLock(settings.lock_path, "presswatch run")
    try:
        lock.acquire()
    except LockHeld as exc:
        now = datetime.now(UTC)
        verdict = judge_busy_run(
            exc,
            now=now,
            blocked_since=note_blocked_run(settings.lock_path, now),
            max_duration=max_delta,
            stale_after=stale_delta,
            max_duration_text=max_text,
            stale_after_text=settings.lock_stale_after,
        )
        typer.echo(verdict.message, err=True)
        raise typer.Exit(verdict.exit_code) from None
    clear_blocked_run(settings.lock_path)
    try:
        names = _check_names(sources, [])
        phases = [
            Phase(discovery_jobs(names, None), name="crawl"),
            Phase([CrawlJob("recheck", tuple(names))], name="recheck"),
        ]
        report = _crawl(runtime, sources, phases, label="run", as_json=as_json)
        extra = _index_and_notify(runtime, sources, report)
        if lock.took_over is not None:
            extra["took_over_stale_lock"] = lock.took_over.describe()
        _finish(report, label="run", as_json=as_json, extra=extra, lang=runtime.settings.lang)
    finally:
        lock.release()


def cron_cmd(
    ctx: typer.Context,
    every: Annotated[
        int, typer.Option(min=5, max=60, metavar="MINUTES", help="Minutes between runs.")
    ] = 15,
) -> None:
    """Print a ready crontab block for `presswatch run`."""
    runtime = get_runtime(ctx, initialized=False)
    typer.echo(crontab_block(runtime.settings, every=every, cwd=Path.cwd()), nl=False)


def cron_command(line: str) -> str:
    """A shell command as a crontab command field: cron turns an unescaped `%` into a
    newline (crontab(5)), so a path holding one would be cut; `\\%` passes a `%`."""
    return line.replace("%", "\\%")


def crontab_block(settings: Settings, *, every: int, cwd: Path) -> str:
    command = presswatch_command()
    args = [
        f"--data-dir {shlex.quote(str(settings.data_dir.resolve()))}",
        f"--sources {shlex.quote(str(settings.sources.resolve()))}",
    ]
    minutes = "*" if every == 1 else f"*/{every}"
    cd = f"cd {shlex.quote(str(cwd.resolve()))}"
    run = cron_command(f"{cd} && {command} {' '.join(args)} run")
    daily = cron_command(
        f"{cd} && {command} {args[0]} verify >/dev/null && {command} {args[0]} "
        "checkpoint >/dev/null"
    )
    # No MAILTO line: cron then mails the crontab's owner, as the comment says. (The
    # block once set MAILTO="", which makes cron mail nobody.) A comment cannot share
    # a line with a crontab variable, so the example sits on a line of its own.
    return (
        "# Presswatch: discover, recheck and index every "
        f"{every} minutes. Quiet unless something failed:\n"
        "# cron mails what it prints on stderr to this crontab's owner; to mail someone\n"
        "# else, uncomment MAILTO below and put their address. Logs rotate in "
        f"{settings.log_dir.resolve()}.\n"
        "# A run still going when the next starts exits at once (lock in the data dir).\n"
        "# MAILTO=desk@example.org\n"
        f"{minutes} * * * * {run}\n"
        "# Once a day, check the archive's transparency log (problems go to stderr, so to\n"
        "# mail), then sign a checkpoint of it to publish (docs/evidence.md):\n"
        f"17 4 * * * {daily}\n"
    )


def demo_cmd(
    ctx: typer.Context,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", metavar="", help="Then leave the web app running on the demo data."
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir", metavar="DIR", help="Keep the demo's data here (default: a temporary dir)."
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port of the web app with --serve.")
    ] = 8000,
) -> None:
    """A self-contained demo on a local news site.

    Crawls the site, edits and takes down articles, and shows what was detected."""
    from presswatch.demo.run import run_demo

    if serve:
        # Before the demo, not after it: a busy port once let the whole demo run, print
        # "Serving…", then end in uvicorn's exit 3.
        problem = port_problem("127.0.0.1", port)
        if problem is not None:
            raise fail(problem, 1)
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
