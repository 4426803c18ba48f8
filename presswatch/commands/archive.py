"""`presswatch` commands over the archive itself: init, articles, history, diff,
changes and import (verify and checkpoint: `presswatch.commands.tlog`).

Commands parse, call, print: the queries live in `archive.store.queries`, the JSON shapes in
`archive.views.export`. Exit codes (DESIGN.md): 0 ok, 1 a problem found or an operation
failed, 2 bad usage or config.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import NotFound, PresswatchError
from archive.i18n import N_, translations
from presswatch.commands.common import (
    ISO_DATE,
    JsonOpt,
    LimitOpt,
    SourceOpt,
    archive_lock,
    archived_source_names,
    echo_json,
    fail,
    get_runtime,
    parse_iso_option,
    refuse_unknown_sources,
    shown,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive.store import Article
    from presswatch.runtime import Runtime

log = logging.getLogger(__name__)

STATUSES = ("live", "edited", "removed", "unreachable")
SORTS = ("newest", "significance")
KINDS = (
    "discovered",
    "edited",
    "removed",
    "restored",
    "moved",
    "unreachable",
    "reachable",
    "removed_together",
)


def init(ctx: typer.Context) -> None:
    """Create the data dir and the database, or upgrade it.

    Idempotent: run it again after an upgrade of Presswatch."""
    runtime = get_runtime(ctx, initialized=False)
    with archive_lock(runtime, "init"):
        backup = runtime.init()
    if backup is not None:
        typer.echo(f"presswatch init: database backed up to {backup} before upgrading", err=True)
    # Said whether or not a terminal is watching: a silent init (piped, scripted) once
    # left a newcomer to guess whether it did anything.
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("archive ready in %(dir)s") % {"dir": runtime.settings.data_dir})


def articles(
    ctx: typer.Context,
    source: SourceOpt = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="live, edited, removed or unreachable."),
    ] = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List archived articles."""
    from archive.store import confirming_removals, list_articles, source_names
    from archive.views import article_json

    if status and status not in STATUSES:
        raise fail(f"--status {status!r}: use live, edited, removed or unreachable", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        refuse_unknown_sources(source, archived_source_names(runtime, session))
        names = source_names(session)
        found = list_articles(session, sources=source or (), status=status, limit=limit)
        confirming = confirming_removals(session, found)
        rows = [article_json(a, names.get(a.source_id, "?"), confirming=confirming) for a in found]
    if as_json:
        echo_json(rows)
        return
    _print_articles(rows, runtime.settings.lang)


def _print_articles(rows: list[dict[str, Any]], lang: str) -> None:
    """The listing for a person: in English with the codes `--status` takes (scripts
    read them), in another language with its words for them (as `_print_changes`)."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext

    def word(code: str) -> str:
        return code if lang == "en" else label(code, _)

    for row in rows:
        row = {**row, "status": word(row["status"])}
        extra = f" ({word(row['removal'])})" if row["removal"] else ""
        typer.echo(
            f"{row['id']:>6}  {row['status']:<11}{extra:<16} v{row['versions']:<3} "
            f"{row['source']:<14} {row['url']}"
        )


UrlOrId = Annotated[
    str, typer.Argument(metavar="URL_OR_ID", help="The article's id, or any URL it was seen at.")
]


def _article(session: Session, url_or_id: str) -> Article:
    """The article a URL (any of its addresses) or id names, or exit 1 saying so."""
    from archive.store import find_article

    try:
        return find_article(session, url_or_id)
    except NotFound as exc:
        raise fail(str(exc)) from exc


def history(ctx: typer.Context, url_or_id: UrlOrId, as_json: JsonOpt = False) -> None:
    """Versions and events of one article."""
    from archive.views import history_json

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        article = _article(session, url_or_id)
        doc = history_json(session, article)
    if as_json:
        echo_json(doc)
        return
    _print_history(doc, runtime.settings.lang)


def _print_history(doc: dict[str, Any], lang: str) -> None:
    """The history for a person: in English with the codes as `--json` has them, in
    another language with that language's words (as `_print_changes`)."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext  # the name `pybabel extract` looks for

    def word(code: str) -> str:
        return code if lang == "en" else label(code, _)

    art = doc["article"]
    said = _("%(url)s  [%(status)s]  source %(source)s, id %(id)s") % {
        "url": shown(art["url"]),
        "status": word(art["status"]),
        "source": art["source"],
        "id": art["id"],
    }
    typer.echo(said)
    if art["removed_at"]:
        # The two dates of the removal, named as in docs/json.md and on the page.
        values = {
            "how": word(art["removal"]),
            "removed": art["removed_at"],
            "confirmed": art["removal_confirmed_at"],
        }
        lines = {
            (True, True): _(
                "removed (per web archive): %(how)s, first found gone %(removed)s, "
                "confirmed %(confirmed)s"
            ),
            (True, False): _("removed (per web archive): %(how)s, first found gone %(removed)s"),
            (False, True): _(
                "removed: %(how)s, first found gone %(removed)s, confirmed %(confirmed)s"
            ),
            (False, False): _("removed: %(how)s, first found gone %(removed)s"),
        }
        line = lines[bool(art["removal_via"]), bool(art["removal_confirmed_at"])]
        typer.echo("  " + line % values)
    for v in doc["versions"]:
        typer.echo(f"  v{v['n']}  {v['first_seen']} .. {v['last_seen']}  {v['title']!r}")
    if lang != "en":
        for e in doc["events"]:
            kind = word(e["kind"])
            per_archive = _("%(kind)s (per web archive)") % {"kind": kind}
            e["label"] = per_archive if e.get("via") is not None else kind
    width = _label_width(doc["events"])
    for e in doc["events"]:
        how = ",".join(word(h) for h in e["how"])
        typer.echo(f"  {e['at']}  {e['label']:<{width}} {how}")
    captures = doc["captures"]
    imported = sum(1 for c in captures if c["origin"] == "import")
    held = sum(1 for c in captures if c["outcome"] == "evidence")
    counts = {"n": len(captures), "imported": imported, "held": held}
    if imported:
        line = _("%(n)s capture(s) (%(imported)s imported, %(held)s kept as evidence only)")
    else:
        line = _("%(n)s capture(s)")
    typer.echo("  " + line % counts)
    coverage = doc["web_archive_coverage"]
    if coverage:
        gap = _("%(days)s d from %(day)s")
        gaps = ", ".join(
            gap % {"days": f"{g['days']:g}", "day": g["from"][:10]}
            for g in coverage["largest_gaps"]
        )
        values = {
            "n": coverage["snapshots"],
            "first": coverage["first"][:10],
            "last": coverage["last"][:10],
            "gaps": gaps,
        }
        if gaps:
            line = _("web archive snapshots: %(n)s, %(first)s .. %(last)s; largest gaps: %(gaps)s")
        else:
            line = _("web archive snapshots: %(n)s, %(first)s .. %(last)s")
        typer.echo("  " + line % values)
    story = doc["story"]
    if story:
        typer.echo("  " + _("story %(id)s, also at:") % {"id": story["id"]})
        for c in story["copies"]:
            typer.echo(
                f"    {c['source']}  [{word(c['status'])}]  {shown(c['url'])}  "
                f"(id {c['article_id']})"
            )


def diff(
    ctx: typer.Context,
    url_or_id: UrlOrId,
    from_n: Annotated[
        int | None, typer.Option("--from", metavar="N", help="Older version number.")
    ] = None,
    to_n: Annotated[
        int | None, typer.Option("--to", metavar="N", help="Newer version number.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="unified, json or html.")
    ] = "unified",
) -> None:
    """Diff two versions of an article (default: the last two)."""
    from archive.capture import pair_diff
    from archive.content import render_html, render_json, render_unified
    from archive.store import version_by_n

    if fmt not in ("unified", "json", "html"):
        raise fail(f"--format {fmt!r}: use unified, json or html", 2)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        article = _article(session, url_or_id)
        newest = article.version_count  # versions are numbered 1..version_count
        if newest < 2 and (from_n is None or to_n is None):
            raise fail(f"article {article.id} has {newest} version(s): nothing to diff")
        to_n = to_n if to_n is not None else newest
        from_n = from_n if from_n is not None else to_n - 1
        pair = []
        for n in (from_n, to_n):
            try:
                pair.append(version_by_n(session, article.id, n))
            except NotFound as exc:
                has = f"1..{newest}" if newest else "none"
                raise fail(f"article {article.id} has no version {n} (it has {has})", 2) from exc
        # Stored when the newer version was recorded; another pair within the budget.
        result = pair_diff(session, pair[0], pair[1])
    if fmt == "json":
        echo_json(render_json(result))
    elif fmt == "html":
        typer.echo(render_html(result))
    else:
        words = translations(runtime.settings.lang).gettext
        typer.echo(render_unified(result, words=lambda w: words(DIFF_WORDS.get(w, w))), nl=False)


# What `import` counts besides capture outcomes (archive.i18n.labels has those).
IMPORTED = {"duplicate": N_("already in the archive")}


# The words around a unified diff (its field names and notes), in the `lang` setting;
# the lines of the diff are the archive's text.
DIFF_WORDS = {
    "title": N_("title"),
    "byline": N_("byline"),
    "published": N_("published"),
    "modified": N_("modified"),
    "(none)": N_("(none)"),
    "no changes": N_("no changes"),
}


def changes(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(metavar=ISO_DATE, help="Only events at or after (ISO 8601)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(metavar="KIND", help=f"{', '.join(KINDS)} (repeatable)."),
    ] = None,
    source: SourceOpt = None,
    limit: LimitOpt = None,
    min_significance: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            metavar="SCORE",
            help="Only edits scoring at least this (0-1; see docs/json.md).",
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option(metavar="ORDER", help="newest (default) or significance.")
    ] = "newest",
    as_json: JsonOpt = False,
) -> None:
    """Edits, removals, restorations… newest first (or most significant first)."""
    from archive.store import list_changes
    from archive.views import change_json, load_event_rows

    if sort not in SORTS:
        raise fail(f"--sort {sort!r}: use one of {', '.join(SORTS)}", 2)
    kinds = kind or []
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise fail(f"--kind {bad[0]!r}: use one of {', '.join(sorted(KINDS))}", 2)
    since_at = parse_iso_option("--since", since)
    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        refuse_unknown_sources(source, archived_source_names(runtime, session))
        changes = list_changes(
            session,
            since=since_at,
            kinds=kinds,
            sources=source or (),
            limit=limit,
            min_significance=min_significance,
            by_significance=sort == "significance",
        )
        load_event_rows(session, [row.event for row in changes if not row.story])
        rows = [change_json(r) for r in changes]
    if as_json:
        echo_json(rows)
        return
    _print_changes(rows, runtime.settings.lang)


def _print_changes(rows: list[dict[str, Any]], lang: str) -> None:
    """The listing for a person. In English its columns keep the codes `--kind` takes
    (scripts read them); in another language they are that language's words. The
    lines under an event are sentences from the catalogs."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext  # the name `pybabel extract` looks for

    def word(code: str) -> str:
        return code if lang == "en" else label(code, _)

    if lang != "en":
        for row in rows:
            kind = word(row["kind"])
            via = row.get("via") is not None
            row["label"] = _("%(kind)s (per web archive)") % {"kind": kind} if via else kind
    width = _label_width(rows)
    spans = [
        f"v{row['from_version'] or '-'}→v{row['to_version'] or '-'}"
        if row["from_version"] or row["to_version"]
        else ""
        for row in rows
    ]
    span_width = max((len(s) for s in spans), default=0)
    for row, versions in zip(rows, spans, strict=True):
        hows = [row["how"]] if isinstance(row["how"], str) else list(row["how"])
        how = ",".join(word(h) for h in hows)
        typer.echo(
            f"{row['at']}  {row['label']:<{width}} {how:<20} {versions:<{span_width}}  "
            f"{shown(row['url'])}"
        )
        if "significance" in row["detail"]:
            classes = ", ".join(word(c["class"]) for c in row["detail"].get("classes", []))
            said = _("significance %(value)s: %(classes)s") % {
                "value": f"{row['detail']['significance']:.2f}",
                "classes": classes,
            }
            typer.echo(f"    {said}")
        for item in row["detail"].get("lives_on") or []:
            where = ", ".join(c["source"] for c in item.get("copies", []))
            said = _("still up at %(where)s: %(passage)s") % {
                "where": where,
                "passage": shown(item["passage"][:120]),
            }
            typer.echo(f"    {said}")
        for removal in row["detail"].get("removals") or []:
            if removal.get("via"):
                seen = _("web archive")
            else:
                seen = word(removal.get("origin") or "crawl")
            said = _("%(source)s: removed %(removed)s (confirmed %(confirmed)s; %(seen)s) %(url)s")
            typer.echo(
                "    "
                + said
                % {
                    "source": removal["source"],
                    "removed": removal["removed_at"],
                    "confirmed": removal["confirmed_at"],
                    "seen": seen,
                    "url": shown(removal["url"]),
                }
            )


def _label_width(events: list[dict[str, Any]]) -> int:
    """The column of event labels, as wide as the widest: "removed (per web archive)"
    once pushed its row's later columns out of line with the others."""
    return max([11, *(len(e["label"]) for e in events)])


def import_(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="A WARC file, a saved page, or a directory of them."),
    ],
    source: Annotated[
        str | None, typer.Option(metavar="NAME", help="Record under this source.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record saved pages or a WARC file into the archive.

    Imported captures are marked as imported, with their file, offset and record id. A
    record whose WARC digest does not match, or dated at or before the article's newest
    capture, is kept as evidence only (no version, no event); a record dated in the
    future is refused. Exit 1 on any problem (a digest mismatch, a refused record, a
    truncated or corrupt file), after importing everything that could be read."""
    from archive.store import source_names

    if not path.exists():
        raise fail(f"{path}: no such file or directory", 2)
    runtime = get_runtime(ctx)
    if source is not None:
        # Records go under a source the archive holds (record_capture refuses any
        # other, then once per record): a typo is refused here, once, as everywhere.
        with runtime.read_sessions() as session:
            refuse_unknown_sources([source], source_names(session).values())
    with archive_lock(runtime, "import"):
        report = _import_all(runtime, path, source)
    problems = report["problems"]
    if as_json:
        echo_json(report)
    else:
        for held in report["held"]:
            typer.echo(
                f"presswatch import: {shown(held['origin'])}: capture {held['capture_id']} "
                f"kept as evidence only: {shown(held['why'])}",
                err=True,
            )
        for problem in problems:
            typer.echo(f"presswatch import: {shown(problem)}", err=True)
        # What was recorded, always (it once said nothing on success): on stdout, as
        # `export` says what it wrote; the problems above are on stderr.
        # In English the outcomes are the codes `--json` has; in another language its
        # words for them.
        from archive.i18n import label

        lang = runtime.settings.lang
        _ = translations(lang).gettext
        counts = report["recorded"]
        summary = ", ".join(
            f"{n} {k if lang == 'en' else _(IMPORTED.get(k) or label(k, _))}"
            for k, n in sorted(counts.items())
        )
        typer.echo(_("imported: %(summary)s") % {"summary": summary or _("nothing")})
    if problems:
        raise typer.Exit(1)


def _import_all(runtime: Runtime, path: Path, source: str | None) -> dict[str, Any]:
    """Record every item under `path`: `{recorded, held, problems}` — counts by outcome,
    the captures kept as evidence only and why, and the problems (a digest mismatch is
    one, though its record is kept)."""
    from archive.capture import record_capture
    from archive.formats import exchanges_from_path
    from archive.store import CaptureOutcome, capture_by_id

    options = runtime.record_options()
    counts: dict[str, int] = {}
    held: list[dict[str, Any]] = []
    problems: list[str] = []
    limit = runtime.settings.max_body_bytes
    for item in exchanges_from_path(path, source=source, max_body_bytes=limit):
        if item.problem is not None:
            problems.append(item.problem)
            continue
        assert item.exchange is not None
        try:
            with runtime.sessions.begin() as session:
                result = record_capture(session, item.exchange, warc=runtime.warc, options=options)
                why = None
                if result.outcome is CaptureOutcome.HELD:
                    why = capture_by_id(session, result.capture_id).detail.get("evidence_only")
        except PresswatchError as exc:
            problems.append(f"{item.origin}: {exc}")
            continue
        except Exception as exc:  # boundary: one bad item must not stop the import
            log.exception("import of %s failed", item.origin)
            problems.append(f"{item.origin}: unexpected error {exc.__class__.__name__}: {exc}")
            continue
        key = "duplicate" if result.duplicate else result.outcome.value
        counts[key] = counts.get(key, 0) + 1
        if why is not None:
            held.append({"capture_id": result.capture_id, "origin": item.origin, "why": why})
            if str(why).startswith("digest_mismatch"):
                problems.append(f"{item.origin}: capture {result.capture_id}: {why}")
    return {"recorded": counts, "held": held, "problems": problems}


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("init")(init)
    app.command("articles")(articles)
    app.command("history")(history)
    app.command("diff")(diff)
    app.command("changes")(changes)
    app.command("import")(import_)
