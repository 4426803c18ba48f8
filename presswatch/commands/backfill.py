"""`presswatch backfill`: rebuild a source's history from a public web archive, and
show how well the archive's snapshots cover each article (`--report`).

The work is `presswatch.backfill`'s; this module parses, calls and prints. Exit codes:
0 ok, 1 a snapshot could not be recorded or the run stopped early (a rerun continues),
2 bad usage or config.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import BadInput, ConfigError
from presswatch.commands.common import (
    ISO_DATE,
    JsonOpt,
    LimitOpt,
    archive_lock,
    archived_source_names,
    config_exit,
    echo_json,
    fail,
    get_runtime,
    parse_iso_option,
    refuse_unknown_sources,
    shown,
)

if TYPE_CHECKING:
    from archive.content import Extracted
    from presswatch.runtime import Runtime


def backfill(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The source's name.")],
    from_archive: Annotated[
        str | None,
        typer.Option(
            "--from-archive",
            metavar="ARCHIVE",
            help="`wayback` (backfill_wayback_url), or a Memento archive's TimeMap prefix "
            "(the URL a page's address is appended to).",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Only snapshots taken at or after.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Only snapshots taken at or before.")
    ] = None,
    limit: LimitOpt = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            metavar="",
            help="Print each article's snapshot coverage and the snapshots not recorded; "
            "fetch nothing.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild an outlet's history from a Wayback-compatible or Memento archive.

    Snapshots become captures marked `web_archive`, dated by the archive, and their
    versions and events are judged as our own crawls are. Polite (one request at a
    time, backfill_delay_s apart) and resumable: run it again to continue."""
    from archive.backfill import Target
    from presswatch.backfill import client_for, run_backfill
    from presswatch.crawling.indexing import index_outbox
    from presswatch.crawling.sources import load_crawl_sources, sync_sources
    from presswatch.settings import user_agent

    runtime = get_runtime(ctx)
    if report:
        _report(runtime, source, as_json)
        return
    if from_archive is None:
        raise fail("give --from-archive wayback|URL (or --report to see coverage)", 2)
    since_at = parse_iso_option("--since", since)
    until_at = parse_iso_option("--until", until)
    try:
        target = Target.parse(from_archive, runtime.settings.backfill_wayback_url)
        sources = load_crawl_sources(runtime)
        cfg = sources.get(source)
    except (BadInput, ConfigError) as exc:
        raise config_exit(ConfigError(str(exc))) from exc
    matcher = sources.matcher_for(cfg)
    options = runtime.record_options()
    if matcher is not None:

        def accept(extracted: Extracted) -> bool:
            return matcher.matches(extracted.title, extracted.text)

        options = runtime.record_options(accept=accept)
    with archive_lock(runtime, "backfill"):
        runtime.space_floor.check()
        sync_sources(runtime, sources, datetime.now(UTC))
        client = client_for(runtime, user_agent(runtime.settings))
        result = run_backfill(
            runtime, cfg, target, client, options=options, since=since_at, until=until_at,
            limit=limit,
        )  # fmt: skip
        _indexed, index_problem = index_outbox(runtime)
    doc = result.as_json()
    doc["index_problem"] = index_problem
    if as_json:
        echo_json(doc)
    else:
        for problem in result.problems:
            typer.echo(f"presswatch backfill: {shown(problem)}", err=True)
        if result.stopped:
            typer.echo(f"presswatch backfill: stopped: {shown(result.stopped)}", err=True)
        if index_problem:
            typer.echo(f"presswatch backfill: {index_problem}", err=True)
        recorded = ", ".join(f"{n} {k}" for k, n in sorted(result.recorded.items())) or "none"
        typer.echo(
            f"{result.source} from {result.archive}: {result.planned} snapshots found, "
            f"{result.already_done} recorded by earlier runs; recorded now: {recorded}; "
            f"failed {result.failed}, gave up {result.gave_up}, refused {result.refused}, "
            f"older than the archive's captures {result.out_of_order}, deferred "
            f"{result.deferred}; {result.requests} requests"
        )
    if not result.ok:
        raise typer.Exit(1)


def _report(runtime: Runtime, name: str, as_json: bool) -> None:
    from archive.backfill import ledger_counts, ledger_problems, snapshot_coverage
    from archive.store import source_by_name

    with runtime.read_sessions() as session:
        refuse_unknown_sources([name], archived_source_names(runtime, session))
        source = source_by_name(session, name)
        if source is None:
            raise fail(f"source {name!r} is not in the archive: backfill it first", 2)
        coverage = [c.as_json() for c in snapshot_coverage(session, source)]
        counts = ledger_counts(session, source.id)
        problems = [
            {
                "url": row.url,
                "timestamp": row.timestamp,
                "archive": row.archive,
                "outcome": row.outcome,
                "attempts": row.attempts,
                "problem": (row.detail or {}).get("problem"),
            }
            for row in ledger_problems(session, source.id)
        ]
    doc: dict[str, Any] = {
        "source": name,
        "snapshots": counts,
        "articles": coverage,
        "not_recorded": problems,
    }
    if as_json:
        echo_json(doc)
        return
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none yet"
    typer.echo(f"{name}: snapshots {summary}")
    for art in coverage:
        gaps = "; ".join(
            f"{g['from'][:10]}..{g['to'][:10]} ({g['days']:g} d)" for g in art["largest_gaps"]
        )
        first = (art["first"] or "")[:10]
        last = (art["last"] or "")[:10]
        typer.echo(
            f"{art['article_id']:>6}  {art['status']:<11} {art['snapshots']:>3} snapshots "
            f"{first}..{last}  {shown(art['url'])}"
        )
        if gaps:
            typer.echo(f"        largest gaps: {gaps}")
    for p in problems:
        typer.echo(
            f"  not recorded: {shown(p['url'])} @ {shown(p['timestamp'])} ({p['outcome']}, "
            f"{p['attempts']} tries): {shown(p['problem'])}"
        )


def save_changes_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Ask the Wayback Machine to save pages whose edit or pending removal was seen.

    Off unless save_to_archive is set; at most save_max_per_run pages, paced by
    backfill_delay_s. Each request and the archive's answer are recorded."""
    from presswatch.backfill import client_for
    from presswatch.backfill_save import save_changes
    from presswatch.settings import user_agent

    runtime = get_runtime(ctx)
    if not runtime.settings.save_to_archive:
        raise fail(
            "save_to_archive is off (env PRESSWATCH_SAVE_TO_ARCHIVE=true turns it on): "
            "nothing was sent",
            2,
        )
    with archive_lock(runtime, "save-changes"):
        result = save_changes(runtime, client_for(runtime, user_agent(runtime.settings)))
    if as_json:
        echo_json(result.as_json())
    else:
        for problem in result.problems:
            typer.echo(f"presswatch save-changes: {shown(problem)}", err=True)
        if result.stopped:
            typer.echo(f"presswatch save-changes: stopped: {shown(result.stopped)}", err=True)
        typer.echo(f"asked {result.asked}, saved {result.saved}, failed {result.failed}")
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("backfill")(backfill)
    app.command("save-changes")(save_changes_cmd)
