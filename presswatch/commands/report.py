"""`presswatch report`: what a watchdog publishes for a period, per outlet: the stories
removed, and the stories materially edited, most significant first, each with links to
the archive's page and API for the change (its diff, for an edit).

Formats: Markdown (to paste into a blog post or a newsletter), CSV (one row per story
and change, for a spreadsheet) and JSON (the same data as the CSV, grouped per outlet).
"Materially edited" means an edit whose significance (archive.content.editclass) is at least
`--min-significance` (default 0.3: a typo fix scores about 0.05, a removed paragraph
naming an official about 0.6).

Links start with `--base-url`, else the `public_url` setting, else they are relative
(`/articles/3/diff?from=1&to=2`) and a warning on stderr says so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from presswatch.commands.common import (
    ISO_DATE,
    JsonOpt,
    SourceOpt,
    archived_source_names,
    fail,
    get_runtime,
    parse_iso_option,
    refuse_unknown_sources,
    shown,
)

if TYPE_CHECKING:
    from archive.store import ChangeRow

# A catalog's `gettext`: the words of the `lang` setting.
Gettext = Callable[[str], str]

FORMATS = ("md", "csv", "json")
MATERIAL = 0.3
CSV_COLUMNS = (
    "source",
    "change",
    "at",
    "article_id",
    "title",
    "url",
    "significance",
    "classes",
    "how",
    "from_version",
    "to_version",
    "page",
    "api",
    # Provenance, added last so that existing columns keep their places: `origin` is
    # crawl, import or web_archive; a web archive's events name its snapshot.
    "label",
    "origin",
    "via_archive",
    "via_snapshot",
    "removed_at",
    # A story removed at several outlets (`removed_together`): one row per copy's
    # removal, under that copy's outlet, with the story and its event.
    "story_id",
    "confirmed_at",
)


def report(
    ctx: typer.Context,
    since: Annotated[
        str,
        typer.Option(metavar=ISO_DATE, help="Start of the period (ISO 8601; required)."),
    ],
    until: Annotated[
        str | None,
        typer.Option(metavar=ISO_DATE, help="End of the period (default: now)."),
    ] = None,
    source: SourceOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="md (default), csv or json.")
    ] = "md",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Where the archive is served, for links (default: PRESSWATCH_PUBLIC_URL).",
        ),
    ] = None,
    min_significance: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            metavar="SCORE",
            help=f"What counts as a material edit (0-1; default {MATERIAL}).",
        ),
    ] = MATERIAL,
    as_json: JsonOpt = False,
) -> None:
    """Stories removed and stories materially edited in a period, per outlet, with
    links to the diffs: Markdown, CSV or JSON (`--json` is `--format json`)."""
    from archive.store import ChangeKind, list_changes
    from archive.views import load_event_rows

    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", 2)
    start = parse_iso_option("--since", since)
    end = parse_iso_option("--until", until) or datetime.now(UTC)
    assert start is not None
    if end < start:
        raise fail(f"--until {until!r} is before --since {since!r}: swap them", 2)
    base = _base(base_url)
    runtime = get_runtime(ctx)
    base = base if base is not None else (runtime.settings.public_url or "")
    with runtime.read_sessions() as session:
        refuse_unknown_sources(source, archived_source_names(runtime, session))
        rows = [
            r
            for r in list_changes(
                session,
                since=start,
                kinds=[
                    ChangeKind.REMOVED.value,
                    ChangeKind.EDITED.value,
                    ChangeKind.REMOVED_TOGETHER.value,
                ],
                sources=source or (),
            )
            if r.event.at <= end
        ]
        # Before `_titles`, which loads versions without the text an edit's detail reads.
        load_event_rows(session, [row.event for row in rows if not row.story])
        titles = _titles(session, rows)
        lang = runtime.settings.lang
        describe = _describer(lang) if fmt == "md" else None
        data = build_report(rows, titles, base, start, end, min_significance, describe)
    if not base:
        # A report is read away from the archive (a blog post, a spreadsheet, a mail):
        # a relative link there leads nowhere, so say so rather than print it silently.
        typer.echo(
            "presswatch report: warning: links are relative (/articles/…) and work only "
            "next to the archive's pages; pass --base-url or set PRESSWATCH_PUBLIC_URL",
            err=True,
        )
    text = render(data, fmt, lang)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}", 1) from exc


def _base(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise fail(f"--base-url {value!r}: give an http(s) URL, e.g. https://watch.example", 2)
    return value.rstrip("/")


def _titles(session: Any, rows: Sequence[ChangeRow]) -> dict[int, str | None]:
    from archive.store import versions_by_id

    versions = versions_by_id(session, (v for r in rows for v in r.version_ids), with_text=False)
    out: dict[int, str | None] = {}
    for r in rows:
        vid = r.event.to_version_id or r.event.from_version_id or r.article.current_version_id
        version = versions.get(vid or 0)
        out[r.event.id] = version.title if version is not None else None
    return out


def build_report(
    rows: Sequence[ChangeRow],
    titles: dict[int, str | None],
    base: str,
    start: datetime,
    end: datetime,
    min_significance: float,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """The report's data: per outlet, removals (newest first) and material edits (most
    significant first). `describe` words an edit class (default: English, as the CSV
    and JSON have it)."""
    from archive.store import ChangeKind
    from archive.views import change_json

    outlets: dict[str, dict[str, list[dict[str, Any]]]] = {}
    together: list[dict[str, Any]] = []
    for row in rows:
        change = change_json(row)
        if change["kind"] == ChangeKind.REMOVED_TOGETHER:
            together.append(_together_item(change, titles.get(row.event.id), base))
            continue
        item = _item(change, titles.get(row.event.id), base, describe)
        group = outlets.setdefault(row.source, {"removed": [], "edited": []})
        if change["kind"] == ChangeKind.REMOVED:
            group["removed"].append(item)
        elif (item["significance"] or 0.0) >= min_significance:
            group["edited"].append(item)
    for group in outlets.values():
        group["edited"].sort(key=lambda i: (-(i["significance"] or 0.0), i["at"]))
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "min_significance": min_significance,
        "outlets": [
            {"source": name, **group}
            for name, group in sorted(outlets.items())
            if group["removed"] or group["edited"]
        ],
        # Stories whose copies were removed at several outlets within days (newest first).
        "together": together,
    }


def _together_item(change: dict[str, Any], title: str | None, base: str) -> dict[str, Any]:
    """A `removed_together` event: the story, when it reached the threshold, and each
    copy's removal with its dates and provenance (our crawl, an import, a web archive)."""
    detail = change["detail"]
    return {
        "change": change["kind"],
        "id": change["id"],
        "at": change["at"],
        "story_id": detail.get("story_id"),
        "outlets": detail.get("outlets"),
        "window_days": detail.get("window_days"),
        "title": title,
        "removals": [
            {
                "source": r.get("source"),
                "article_id": r.get("article_id"),
                "url": r.get("url"),
                "removed_at": r.get("removed_at"),
                "confirmed_at": r.get("confirmed_at"),
                "how": r.get("how"),
                "origin": r.get("origin"),
                "via": r.get("via"),
                "page": f"{base}/articles/{r.get('article_id')}",
                "api": f"{base}/api/articles/{r.get('article_id')}",
            }
            for r in detail.get("removals") or []
        ],
    }


def _describer(lang: str) -> Callable[[dict[str, Any]], str] | None:
    """How the Markdown report words an edit class: None (English, as in the CSV) for
    English, else the language's words."""
    if lang == "en":
        return None
    from archive.i18n import describe_edit_class, translations

    t = translations(lang).gettext
    return lambda item: describe_edit_class(item, t)


def _item(
    change: dict[str, Any],
    title: str | None,
    base: str,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    from archive.content import describe_class
    from archive.store import ChangeKind

    describe = describe or describe_class

    article = f"{base}/articles/{change['article_id']}"
    detail = change["detail"]
    item: dict[str, Any] = {
        "change": change["kind"],
        "at": change["at"],
        "article_id": change["article_id"],
        "title": title,
        "url": change["url"],
        "significance": detail.get("significance"),
        "classes": [describe(c) for c in detail.get("classes", [])],
        "how": change["how"] if isinstance(change["how"], str) else ",".join(change["how"]),
        "from_version": change["from_version"],
        "to_version": change["to_version"],
        "page": article,
        "api": f"{base}/api/articles/{change['article_id']}",
        # Where we learned it: a web archive's snapshot is never our own observation.
        "label": change["label"],
        "origin": change["origin"],
        "via": change["via"],
        # A removal's `at` is the check that confirmed it; `removed_at`, as in
        # `articles`, the first check that found the story gone.
        "removed_at": detail.get("first_seen_missing") if change["kind"] == "removed" else None,
    }
    if change["kind"] == ChangeKind.EDITED and change["from_version"] and change["to_version"]:
        versions = f"from={change['from_version']}&to={change['to_version']}"
        item["page"] = f"{article}/diff?{versions}"
        item["api"] = f"{base}/api/articles/{change['article_id']}/diff?{versions}"
    return item


def render(data: dict[str, Any], fmt: str, lang: str = "en") -> str:
    """The report as text. Markdown is for people, in `lang`; CSV and JSON are for
    programs and spreadsheets, so their column names and values stay codes, in English,
    whatever the language (docs/json.md)."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(data)
    return _markdown(data, lang)


def _csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for outlet in data["outlets"]:
        for item in [*outlet["removed"], *outlet["edited"]]:
            writer.writerow(
                {
                    **{k: item.get(k) for k in CSV_COLUMNS if k != "source"},
                    "source": outlet["source"],
                    "title": _cell(item["title"]),
                    "classes": "; ".join(item["classes"]),
                    "via_archive": (item["via"] or {}).get("archive"),
                    "via_snapshot": (item["via"] or {}).get("snapshot"),
                }
            )
    for story in data["together"]:
        for r in story["removals"]:
            via = r["via"] or {}
            writer.writerow(
                {
                    "source": r["source"],
                    "change": story["change"],
                    "at": story["at"],
                    "article_id": r["article_id"],
                    "title": _cell(story["title"]),
                    "url": r["url"],
                    "how": r["how"],
                    "page": r["page"],
                    "api": r["api"],
                    "label": story["change"],
                    "origin": r["origin"],
                    "via_archive": via.get("archive"),
                    "via_snapshot": via.get("snapshot"),
                    "removed_at": r["removed_at"],
                    "story_id": story["story_id"],
                    "confirmed_at": r["confirmed_at"],
                }
            )
    return out.getvalue()


def _cell(value: str | None) -> str | None:
    """A spreadsheet runs a cell starting with = + - @ as a formula: archived titles are
    hostile, so such a cell is prefixed with an apostrophe (OWASP's CSV injection)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _md(text: str | None) -> str:
    """Archived text inside Markdown: characters that could become markup mid-line
    (emphasis, code, links, HTML, table cells) are escaped."""
    if text is None:
        return "(no title)"
    flat = shown(" ".join(text.split()))  # and no escape sequence reaches a terminal
    return "".join("\\" + ch if ch in "\\`*_[]<>|" else ch for ch in flat)


def _link(url: str) -> str:
    """A URL as a Markdown autolink target: what would end or break it is escaped."""
    return "<" + url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20") + ">"


def _minute(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _per(item: dict[str, Any], _: Gettext) -> str:
    """A change learned from a web archive, as the reader must see it: " (per web
    archive), snapshot <…>"; nothing for what we fetched ourselves."""
    if item["via"] is None:
        return ""
    snapshot = item["via"].get("snapshot")
    if snapshot:
        return " " + _("(per web archive), snapshot %(url)s") % {"url": _link(snapshot)}
    return " " + _("(per web archive)")


def _provenance(removal: dict[str, Any], _: Gettext) -> str:
    """Where a copy's removal was learned, as the reader must see it."""
    if removal["via"] is not None:
        return _per(removal, _)
    return " " + (_("(from an import)") if removal["origin"] == "import" else _("(our crawl)"))


def _markdown(data: dict[str, Any], lang: str = "en") -> str:
    """The report in `lang` (the `lang` setting). In English the removal signs stay
    codes (`http_404`), as the CSV and JSON have them; another language has its words.
    Titles, outlets and addresses are the archive's data, never translated."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext  # the name `pybabel extract` looks for

    def how(codes: str) -> str:
        return codes if lang == "en" else ",".join(label(c, _) for c in codes.split(","))

    def title(text: str | None) -> str:
        return _("(no title)") if text is None else _md(text)

    def utc(iso: str | None) -> str:
        return f"{_minute(iso or '')} UTC"  # a name every language writes so

    period = {"since": data["since"][:10], "until": data["until"][:10]}
    lines = [
        "# " + _("Presswatch report: %(since)s to %(until)s") % period,
        "",
        _(
            "Stories removed, and stories materially edited (significance of at least "
            "%(min)s of 1), per outlet."
        )
        % {"min": f"{data['min_significance']:g}"},
    ]
    if not data["outlets"] and not data["together"]:
        lines += ["", _("Nothing was removed or materially edited in this period.")]
    if data["together"]:
        n = {"n": len(data["together"])}
        lines += ["", "## " + _("Stories removed at several outlets (%(n)s)") % n]
    for story in data["together"]:
        said = _(
            "%(when)s: %(title)s (story %(story)s), removed at %(outlets)s outlets within "
            "%(days)s days:"
        ) % {
            "when": utc(story["at"]),
            "title": title(story["title"]),
            "story": story["story_id"],
            "outlets": story["outlets"],
            "days": story["window_days"],
        }
        lines += ["", f"- {said}"]
        for r in story["removals"]:
            said = _(
                "%(source)s: first found gone %(removed)s, confirmed %(confirmed)s"
                "%(provenance)s: %(page)s; was at %(url)s"
            ) % {
                "source": _md(r["source"]),
                "removed": utc(r["removed_at"]),
                "confirmed": utc(r["confirmed_at"]),
                "provenance": _provenance(r, _),
                "page": _link(r["page"]),
                "url": _link(r["url"]),
            }
            lines.append(f"  - {said}")
    for outlet in data["outlets"]:
        lines += ["", f"## {_md(outlet['source'])}"]
        if outlet["removed"]:
            n = {"n": len(outlet["removed"])}
            lines += ["", "### " + _("Removed (%(n)s)") % n, ""]
            for item in outlet["removed"]:
                when = utc(item["at"])
                if item["removed_at"]:
                    when = _("confirmed %(confirmed)s, first found gone %(removed)s") % {
                        "confirmed": when,
                        "removed": utc(item["removed_at"]),
                    }
                said = _("%(when)s%(per)s: [%(title)s](%(page)s) (%(how)s); was at %(url)s") % {
                    "when": when,
                    "per": _per(item, _),
                    "title": title(item["title"]),
                    "page": _link(item["page"]),
                    "how": _md(how(item["how"])),
                    "url": _link(item["url"]),
                }
                lines.append(f"- {said}")
        if outlet["edited"]:
            n = {"n": len(outlet["edited"])}
            lines += ["", "### " + _("Materially edited (%(n)s)") % n, ""]
            for item in outlet["edited"]:
                said = _("%(when)s%(per)s: [%(title)s](%(page)s), v%(old)s → v%(new)s: %(classes)s")
                said %= {
                    "when": utc(item["at"]),
                    "per": _per(item, _),
                    "title": title(item["title"]),
                    "page": _link(item["page"]),
                    "old": item["from_version"],
                    "new": item["to_version"],
                    "classes": _md("; ".join(item["classes"])),
                }
                lines.append(f"- **{item['significance']:.2f}** {said}")
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    app.command("report")(report)
