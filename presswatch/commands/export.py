"""`presswatch` commands that hand the archive to other tools: `export wacz`,
`export evidence` and `index-warcs`.

Commands parse, call, print: the package layout lives in `archive.formats.wacz`, the
selection in `archive.formats.packages`, the indexes in `archive.warc.cdxj`. Exit codes
(DESIGN.md): 0 ok, 1 a problem found or an operation failed, 2 bad usage or config.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archive.errors import ConfigError, NotFound, PresswatchError
from archive.i18n import translations
from presswatch.commands.common import (
    ISO_DATE,
    SourceOpt,
    check_output_file,
    cli_actor,
    fail,
    get_runtime,
    parse_iso_option,
    refuse_unknown_sources,
)

if TYPE_CHECKING:
    from presswatch.runtime import Runtime


OutOpt = Annotated[
    Path, typer.Option("--output", "-o", metavar="FILE.wacz", help="Where to write the package.")
]

export_app = typer.Typer(
    help="Write the archive, or one article's evidence, as a WACZ package.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@export_app.command("wacz")
def wacz(
    ctx: typer.Context,
    output: OutOpt,
    source: SourceOpt = None,
    since: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Captures fetched at or after this.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Captures fetched before this.")
    ] = None,
) -> None:
    """The archive (or the captures of some sources, in a date window) as a WACZ 1.1.1
    package: WARC records copied byte for byte, a CDXJ index, one page per capture."""
    from archive.formats import export_wacz
    from archive.store import source_names

    check_output_file(output)
    start = parse_iso_option("--since", since)
    end = parse_iso_option("--until", until)
    if start and end and end <= start:
        raise fail(f"--until {until} is not after --since {since}", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        refuse_unknown_sources(source, source_names(session).values())
        try:
            summary = export_wacz(
                session,
                runtime.settings.warc_dir,
                output,
                sources=source or (),
                since=start,
                until=end,
            )
        except PresswatchError as exc:
            raise fail(f"export wacz: {exc}") from exc
    _ = translations(runtime.settings.lang).gettext
    said = _(
        "wrote %(file)s: %(records)s WARC records in %(files)s file(s), %(pages)s pages, "
        "%(bytes)s bytes"
    )
    counts = {
        "file": summary.path,
        "records": summary.records,
        "files": summary.warc_files,
        "pages": summary.pages,
        "bytes": f"{summary.bytes:,}",
    }
    typer.echo(said % counts)


@export_app.command("evidence")
def evidence(
    ctx: typer.Context,
    url_or_id: Annotated[
        str, typer.Argument(metavar="URL_OR_ID", help="The article: its id or any of its URLs.")
    ],
    output: OutOpt,
) -> None:
    """One article's evidence package: a WACZ with its WARC records, versions, diffs and
    events, each capture's log leaf and inclusion proof, and the signed checkpoint
    (signed now if the newest one does not cover the article). Check it with
    `python -m presswatch.verify_package FILE.wacz --public-key presswatch-log.pub`, the
    file `presswatch checkpoint --public-key` wrote."""
    from archive.formats import export_evidence

    check_output_file(output)
    runtime = get_runtime(ctx)
    try:
        signer = runtime.log_signer()
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc
    try:
        summary = export_evidence(
            runtime.sessions,
            runtime.settings.warc_dir,
            output,
            url_or_id=url_or_id,
            signer=signer,
            timestamp=runtime.timestamper(),
        )
    except NotFound as exc:
        raise fail(str(exc)) from exc
    except PresswatchError as exc:
        raise fail(f"export evidence: {exc}") from exc
    _audit_export(runtime, summary.article_id, summary.wacz.path)
    _ = translations(runtime.settings.lang).gettext
    if summary.checkpoint_issued:
        said = _("signed a new checkpoint of %(leaves)s leaves to cover the article")
        typer.echo(said % {"leaves": summary.tree_size}, err=True)
    said = _(
        "wrote %(file)s: article %(id)s, %(captures)s captures, %(versions)s versions, "
        "%(events)s events, proven against the checkpoint of %(leaves)s leaves "
        "(%(bytes)s bytes)"
    )
    counts = {
        "file": summary.wacz.path,
        "id": summary.article_id,
        "captures": summary.captures,
        "versions": summary.versions,
        "events": summary.events,
        "leaves": summary.tree_size,
        "bytes": f"{summary.wacz.bytes:,}",
    }
    typer.echo(said % counts)


def _audit_export(runtime: Runtime, article_id: int, path: Path) -> None:
    """Who exported which article's evidence, with the package's SHA-256, as an audit
    entry (a log leaf after the checkpoint the package was proven against)."""
    import hashlib
    from datetime import UTC, datetime

    from archive.accounts import record_audit

    digest = hashlib.sha256()
    with path.open("rb") as package:
        for block in iter(lambda: package.read(1 << 20), b""):
            digest.update(block)
    with runtime.sessions.begin() as session:
        record_audit(
            session,
            cli_actor(),
            "article.export",
            "article",
            article_id,
            now=datetime.now(UTC),
            detail={"package_sha256": digest.hexdigest()},
        )


def index_warcs(
    ctx: typer.Context,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", metavar="", help="Rebuild every index, fresh or not.")
    ] = False,
) -> None:
    """Write the CDXJ index of every WARC file that lacks one or whose index is stale
    (data_dir/indexes/<file>.cdxj). Exit 1 if a file could not be indexed."""
    from archive.warc import index_missing

    runtime = get_runtime(ctx)
    settings = runtime.settings
    report = index_missing(settings.warc_dir, settings.indexes_dir, rebuild=rebuild)
    for name, why in report.failed.items():
        typer.echo(f"{name}: {why}", err=True)
    _ = translations(settings.lang).gettext
    said = _("indexes in %(dir)s: %(built)s built, %(fresh)s already fresh, %(failed)s failed")
    counts = {
        "dir": settings.indexes_dir,
        "built": len(report.built),
        "fresh": len(report.fresh),
        "failed": len(report.failed),
    }
    typer.echo(said % counts)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(export_app, name="export")
    app.command("index-warcs")(index_warcs)
