"""The `presswatch` command line (Typer). Commands parse, call, print.

`--json` prints one JSON document on stdout; logs and diagnostics go to stderr.
Exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage or config.
Archive commands live here; the crawl, search and serve areas register theirs from
`presswatch/commands/`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from archive import ConfigError, NotFound, PresswatchError
from archive.capture import record_capture
from archive.diff import diff_versions, render_html, render_json, render_unified
from archive.export import article_json, change_json, history_json, version_side
from archive.importer import exchanges_from_path
from archive.integrity import verify_archive
from archive.queries import find_article, list_articles, list_changes, source_names, versions_of
from presswatch.commands import crawl as crawl_commands
from presswatch.commands import search as search_commands
from presswatch.commands import serve as serve_commands
from presswatch.runtime import Runtime
from presswatch.settings import load_settings

log = logging.getLogger("presswatch")

app = typer.Typer(
    name="presswatch",
    help="Archive news coverage, detect edits and takedowns, prove what was published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise."""
    typer.echo(f"presswatch: {message}", err=True)
    return typer.Exit(code)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (env PRESSWATCH_DATA_DIR).")
    ] = None,
    sources: Annotated[
        Path | None, typer.Option(help="sources.toml to use (env PRESSWATCH_SOURCES).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Archive database URL (env DATABASE_URL).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = {"data_dir": data_dir, "sources": sources, "database_url": database_url}


def get_runtime(ctx: typer.Context, *, initialized: bool = True) -> Runtime:
    """Settings (flags > env > presswatch.toml > defaults) and the parts built on them."""
    overrides = dict(ctx.find_root().obj or {})
    try:
        runtime = Runtime(load_settings(**overrides))
        if initialized:
            runtime.require_initialized()
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc
    ctx.call_on_close(runtime.close)
    return runtime


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(
            f"--since {value!r}: use ISO 8601, e.g. 2026-03-01 or 2026-03-01T08:00Z", 2
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# -- archive commands ------------------------------------------------------------------


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the data dir and create or upgrade the database (idempotent)."""
    runtime = get_runtime(ctx, initialized=False)
    runtime.init()
    if sys.stderr.isatty():
        typer.echo(f"archive ready in {runtime.settings.data_dir}", err=True)


@app.command()
def articles(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    status: Annotated[
        str | None, typer.Option(help="live, edited, removed or unreachable.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List archived articles."""
    if status and status not in ("live", "edited", "removed", "unreachable"):
        raise fail(f"--status {status!r}: use live, edited, removed or unreachable", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        names = source_names(session)
        rows = [
            article_json(a, names.get(a.source_id, "?"))
            for a in list_articles(session, sources=source or (), status=status, limit=limit)
        ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        extra = f" ({row['removal']})" if row["removal"] else ""
        typer.echo(
            f"{row['id']:>6}  {row['status']:<11}{extra:<16} v{row['versions']:<3} "
            f"{row['source']:<14} {row['url']}"
        )


@app.command()
def history(ctx: typer.Context, url_or_id: str, as_json: JsonOpt = False) -> None:
    """Versions and events of one article."""
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        try:
            article = find_article(session, url_or_id)
        except NotFound as exc:
            raise fail(str(exc)) from exc
        doc = history_json(session, article)
    if as_json:
        echo_json(doc)
        return
    art = doc["article"]
    typer.echo(f"{art['url']}  [{art['status']}]  source {art['source']}, id {art['id']}")
    for v in doc["versions"]:
        typer.echo(f"  v{v['n']}  {v['first_seen']} .. {v['last_seen']}  {v['title']!r}")
    for e in doc["events"]:
        how = ",".join(e["how"])
        typer.echo(f"  {e['at']}  {e['kind']:<11} {how}")


@app.command()
def diff(
    ctx: typer.Context,
    url_or_id: str,
    from_n: Annotated[int | None, typer.Option("--from", help="Older version number.")] = None,
    to_n: Annotated[int | None, typer.Option("--to", help="Newer version number.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="unified, json or html.")] = "unified",
) -> None:
    """Diff two versions of an article (default: the last two)."""
    if fmt not in ("unified", "json", "html"):
        raise fail(f"--format {fmt!r}: use unified, json or html", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        try:
            article = find_article(session, url_or_id)
        except NotFound as exc:
            raise fail(str(exc)) from exc
        versions = {v.n: v for v in versions_of(session, article.id)}
        if len(versions) < 2 and (from_n is None or to_n is None):
            raise fail(f"article {article.id} has {len(versions)} version(s): nothing to diff")
        newest = max(versions)
        to_n = to_n if to_n is not None else newest
        from_n = from_n if from_n is not None else to_n - 1
        for n in (from_n, to_n):
            if n not in versions:
                raise fail(f"article {article.id} has no version {n} (it has 1..{newest})", 2)
        sides = [version_side(versions[from_n]), version_side(versions[to_n])]
    result = diff_versions(sides[0], sides[1])
    if fmt == "json":
        echo_json(render_json(result))
    elif fmt == "html":
        typer.echo(render_html(result))
    else:
        typer.echo(render_unified(result), nl=False)


@app.command()
def changes(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="Only events at or after (ISO 8601).")] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="discovered, edited, removed, restored, moved, unreachable, reachable."),
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edits, removals, restorations… newest first."""
    kinds = kind or []
    allowed = {"discovered", "edited", "removed", "restored", "moved", "unreachable", "reachable"}
    bad = [k for k in kinds if k not in allowed]
    if bad:
        raise fail(f"--kind {bad[0]!r}: use one of {', '.join(sorted(allowed))}", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        rows = [
            change_json(r)
            for r in list_changes(
                session, since=parse_since(since), kinds=kinds, sources=source or (), limit=limit
            )
        ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        how = row["how"] if isinstance(row["how"], str) else ",".join(row["how"])
        versions = ""
        if row["from_version"] or row["to_version"]:
            versions = f" v{row['from_version'] or '-'}→v{row['to_version'] or '-'}"
        typer.echo(f"{row['at']}  {row['kind']:<11} {how:<20}{versions}  {row['url']}")


@app.command()
def verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check every payload hash and the hash chain; exit 1 on any problem."""
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        report = verify_archive(session, runtime.warc)
    if as_json:
        echo_json(report.as_json())
    else:
        for p in report.problems:
            typer.echo(f"capture {p.capture_id}: {p.problem}", err=True)
        if sys.stderr.isatty() or not report.ok:
            state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
            typer.echo(
                f"verify: {state}; {report.captures_checked} captures, "
                f"{report.versions_checked} versions checked",
                err=True,
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A WARC file, a saved page, or a directory of them.")
    ],
    source: Annotated[str | None, typer.Option(help="Record under this source.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record saved pages or a WARC file into the archive."""
    if not path.exists():
        raise fail(f"{path}: no such file or directory", 2)
    runtime = get_runtime(ctx)
    options = runtime.record_options()
    counts: dict[str, int] = {}
    problems: list[str] = []
    for item in exchanges_from_path(path, source=source):
        if item.problem is not None:
            problems.append(item.problem)
            continue
        assert item.exchange is not None
        try:
            with runtime.sessions.begin() as session:
                result = record_capture(session, item.exchange, warc=runtime.warc, options=options)
        except PresswatchError as exc:
            problems.append(f"{item.origin}: {exc}")
            continue
        except Exception as exc:  # boundary: one bad item must not stop the import
            log.exception("import of %s failed", item.origin)
            problems.append(f"{item.origin}: unexpected error {exc.__class__.__name__}: {exc}")
            continue
        key = "duplicate" if result.duplicate else result.outcome.value
        counts[key] = counts.get(key, 0) + 1
    if as_json:
        echo_json({"recorded": counts, "problems": problems})
    else:
        for problem in problems:
            typer.echo(f"presswatch import: {problem}", err=True)
        if sys.stderr.isatty() or problems:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"
            typer.echo(f"imported: {summary}", err=True)
    if problems:
        raise typer.Exit(1)


crawl_commands.register(app)
search_commands.register(app)
serve_commands.register(app)


def main() -> None:
    """Console entry point: turn our errors into exit codes, never tracebacks."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(2)
    except PresswatchError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
