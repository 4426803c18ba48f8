"""The charts, drawn server-side as SVG by pygal: an article's timeline, a source's
captures per day and changes per week, the archive's last 30 days.

Owns how each chart looks and what it says in words: every chart carries a `<title>`
and a `<desc>` (the same sentence the page prints under it), and names a font stack
that reaches a Khmer font, so Khmer titles draw as Khmer.

Archived text is hostile. Each string from the archive is cleaned (`clean`: no
characters XML cannot hold, no bidi overrides, bounded length) before pygal sees it,
and pygal's escaping makes it text. `finish` then removes what pygal adds for its
browser-side tooltips (a `<script>`, comments naming its site) and anything that could
load or run something: the SVG we send holds no script, no event attribute and no
reference outside itself, and its response carries a CSP that forbids them anyway.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pygal
from lxml import etree
from pygal.style import Style

from archive.i18n import N_, format_number, format_when, label, translations
from archive.views import ArticleLife, DayCounts, WeekCounts

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Latin first, then Khmer fonts (fonts-khmeros on Debian, Noto elsewhere): a browser
# falls back per character, so a mixed title draws each script with its own font.
FONT_STACK = (
    "'DejaVu Sans', 'Liberation Sans', Arial, 'Khmer OS', 'Khmer OS System', "
    "'Noto Sans Khmer', 'Noto Sans', sans-serif"
)
MAX_TEXT = 120

# One colour per outcome and per change kind, the same on every chart.
OUTCOME_COLORS = {
    "new": "#1b9e77",
    "edited": "#d95f02",
    "unchanged": "#7f9fb5",
    "not_modified": "#a6bddb",
    "removal_pending": "#e7a1c4",
    "removed": "#c51b7d",
    "restored": "#4daf4a",
    "moved": "#984ea3",
    "unreachable": "#636363",
    "blocked": "#e6ab02",
    "degraded": "#a6761d",
    "not_article": "#bdbdbd",
    "skipped": "#d9d9d9",
    "evidence": "#8c6bb1",
}
KIND_COLORS = {
    "discovered": "#1b9e77",
    "edited": "#d95f02",
    "removed": "#c51b7d",
    "restored": "#4daf4a",
    "moved": "#984ea3",
    "unreachable": "#636363",
    "reachable": "#7f9fb5",
}
OTHER_COLOR = "#999999"

# Characters XML 1.0 cannot carry, and the bidi controls that could make a title read
# as something else (U+202A–U+202E, U+2066–U+2069).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
_SPACE = re.compile(r"\s+")


def clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """Archived text made safe to place in an SVG text node: printable, one line,
    at most `limit` characters (an ellipsis marks the cut)."""
    value = _SPACE.sub(" ", _UNSAFE.sub("", text or "")).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _style(colors: Sequence[str]) -> Style:
    return Style(
        font_family=FONT_STACK,
        title_font_family=FONT_STACK,
        label_font_family=FONT_STACK,
        major_label_font_family=FONT_STACK,
        legend_font_family=FONT_STACK,
        value_font_family=FONT_STACK,
        tooltip_font_family=FONT_STACK,
        no_data_font_family=FONT_STACK,
        title_font_size=15,
        legend_font_size=12,
        label_font_size=11,
        major_label_font_size=11,
        no_data_font_size=20,
        background="white",
        plot_background="white",
        colors=tuple(colors) or (OTHER_COLOR,),
    )


# pygal gives a series' stroke width to its group, but its own id-scoped `.reactive`
# rule on each line wins over that; the timeline's bands (series 0 and 2) need this.
BAND_CSS = (
    "inline:.serie-0 .line,.serie-2 .line{stroke-width:14px !important;"
    "stroke-opacity:.85 !important;stroke-linecap:butt}"
)
BASE_CSS = ["file://style.css", "file://graph.css"]


def _config(**kw: object) -> dict[str, object]:
    # js=[]: pygal's tooltips load a script from its site; we want none.
    # explicit_size: width and height on the <svg>, so an <img> of it has a natural size.
    return {
        "js": [],
        "disable_xml_declaration": False,
        "explicit_size": True,
        "no_data_text": "Nothing yet",
        **kw,
    }


def finish(svg: bytes, title: str, desc: str, lang: str | None = None) -> bytes:
    """pygal's SVG made self-contained and script-free, with `<title>` and `<desc>`
    as the first children (what screen readers and image viewers read)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(svg, parser)
    doomed = root.iter(f"{{{SVG_NS}}}script", f"{{{SVG_NS}}}foreignObject", etree.PI)
    for node in list(doomed):
        node.getparent().remove(node)
    for node in list(root.iter(etree.Element)):
        for name in list(node.attrib):
            local = etree.QName(name).localname
            value = node.attrib[name].strip()
            if local.lower().startswith("on") or (local == "href" and not value.startswith("#")):
                del node.attrib[name]
    for old in root.findall(f"{{{SVG_NS}}}title"):
        root.remove(old)
    head = etree.Element(f"{{{SVG_NS}}}title")
    head.text = clean(title, 300)
    about = etree.Element(f"{{{SVG_NS}}}desc")
    about.text = clean(desc, 2000)
    root.insert(0, about)
    root.insert(0, head)
    root.set("role", "img")
    if lang:
        head.set("{http://www.w3.org/XML/1998/namespace}lang", clean(lang, 20))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


# -- an article's timeline ------------------------------------------------------------


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def time_ticks(start: datetime, end: datetime, most: int = 7) -> tuple[list[datetime], str]:
    """Evenly spaced x-axis ticks from `start` to `end` and a strftime format that tells
    each from its neighbours: seconds when they are under a minute apart, minutes under
    a day, days beyond. pygal's own labels, to the minute, once drew 13 identical
    "2026-12-07 09:26" under the versions of an article edited within a minute."""
    span_s = max((end - start).total_seconds(), 0.0)
    count = max(2, min(most, int(span_s) + 1))  # never two ticks within one second
    step_s = span_s / (count - 1)
    ticks = [start + timedelta(seconds=step_s * i) for i in range(count)]
    if step_s < 60:
        fmt = "%H:%M:%S"
    elif step_s < 86400:
        fmt = "%H:%M" if start.date() == end.date() else "%m-%d %H:%M"
    else:
        fmt = "%Y-%m-%d"
    return ticks, fmt


def describe_article(life: ArticleLife, lang: str = "en") -> str:
    """The timeline in words, in `lang`, for the page under the chart and its `<desc>`."""
    tr = translations(lang)
    _, ngettext = tr.gettext, tr.ngettext  # the names `pybabel extract` looks for

    def when(at: datetime) -> str:
        return format_when(at, lang)

    n = len(life.versions)
    parts = [
        ngettext(
            "%(num)s version from %(start)s to %(end)s",
            "%(num)s versions from %(start)s to %(end)s",
            n,
        )
        % {"num": n, "start": when(life.first_seen), "end": when(life.last_checked)}
    ]
    if life.edits:
        scored = [e.significance for e in life.edits if e.significance is not None]
        edits = len(life.edits)
        if scored:
            parts.append(
                ngettext(
                    "%(num)s edit, the most significant %(most)s",
                    "%(num)s edits, the most significant %(most)s",
                    edits,
                )
                % {"num": edits, "most": f"{max(scored):.2f}"}
            )
        else:
            parts.append(ngettext("%(num)s edit", "%(num)s edits", edits) % {"num": edits})
    for mark in life.statuses:
        if mark.kind not in ("discovered", "unreachable", "reachable"):  # spells say these
            parts.append(
                _("%(kind)s %(when)s") % {"kind": label(mark.kind, _), "when": when(mark.at)}
            )
    for spell in life.unreachable:
        if spell.ongoing:
            said = _("unreachable from %(start)s, still unreachable")
            parts.append(said % {"start": when(spell.start)})
        else:
            said = _("unreachable from %(start)s until %(end)s")
            parts.append(said % {"start": when(spell.start), "end": when(spell.end)})
    status = _("Status now: %(status)s.") % {"status": label(life.status, _)}
    return "; ".join(parts) + ". " + status


def edit_radius(significance: float | None) -> float:
    """Dot radius of an edit: 4 px for a typo, 16 px for a rewrite (unscored: 6)."""
    return 6.0 if significance is None else 4.0 + 12.0 * max(0.0, min(1.0, significance))


def article_height(life: ArticleLife) -> int:
    """Pixels: a row per version, up to a page's height."""
    return min(230 + 28 * max((v.n for v in life.versions), default=1), 700)


def article_chart(life: ArticleLife, lang: str = "en") -> bytes:
    """The timeline drawn, its words in `lang` (the request's, search_api/language.py).
    Edit classes stay codes in English, as the JSON names them; words elsewhere."""
    _, ngettext = translations(lang).gettext, translations(lang).ngettext

    def klass(code: str) -> str:
        return code if lang == "en" else label(code, _)

    title = clean(life.title) or _("Article %(id)s") % {"id": life.article_id}
    top = max((v.n for v in life.versions), default=1)
    ticks, tick_format = time_ticks(life.first_seen, life.last_checked)
    chart = pygal.DateTimeLine(
        **_config(
            title=title,
            width=800,
            height=article_height(life),
            allow_interruptions=True,
            show_y_guides=True,
            range=(-0.5, top + 0.5),
            no_data_text=_("Nothing yet"),
            y_labels=[{"label": _("status"), "value": 0}]
            + [{"label": f"v{n}", "value": n} for n in range(1, top + 1)],
            x_labels=[{"label": f"{t:{tick_format}}", "value": t} for t in ticks],
            x_label_rotation=20,
            x_value_formatter=lambda at: f"{at:%Y-%m-%d %H:%M}",
            legend_at_bottom=True,
            legend_at_bottom_columns=2,
            truncate_legend=-1,
            dots_size=4,
            css=[*BASE_CSS, BAND_CSS],
            style=_style(["#3b6ea5", "#d95f02", "#636363", "#984ea3"]),
        )
    )
    bands: list[object] = []
    for v in life.versions:
        said = f"v{v.n}: {clean(v.title, 80) or _('(no title)')}"
        bands += [
            {"value": (v.first_seen, v.n), "label": said},
            {"value": (v.until, v.n), "label": said},
            None,
        ]
    chart.add(_("versions"), bands, stroke_style={"width": 12})
    edits = [
        {
            "value": (e.at, e.to_n or 0),
            "label": _("edit v%(old)s→v%(new)s, significance %(value)s")
            % {
                "old": e.from_n,
                "new": e.to_n,
                "value": _("unscored") if e.significance is None else f"{e.significance:.2f}",
            }
            + (f": {', '.join(clean(klass(c), 40) for c in e.classes)}" if e.classes else ""),
            "node": {"r": edit_radius(e.significance)},
        }
        for e in life.edits
    ]
    chart.add(_("edits (size: significance)"), edits, stroke=False)
    spells: list[object] = []
    for s in life.unreachable:
        failed = ngettext(
            "unreachable, %(num)s failed fetch", "unreachable, %(num)s failed fetches", s.captures
        )
        said = failed % {"num": s.captures}
        spells += [{"value": (s.start, 0), "label": said}, {"value": (s.end, 0), "label": said}]
        spells.append(None)
    chart.add(label("unreachable", _), spells, stroke_style={"width": 12})
    marks = [
        {
            "value": (m.at, 0),
            "label": klass(m.kind) + (f" ({', '.join(klass(h) for h in m.how)})" if m.how else ""),
        }
        for m in life.statuses
        if m.kind != "unreachable"
    ]
    chart.add(_("status changes"), marks, stroke=False, dots_size=7)
    timeline = _("Timeline: %(title)s") % {"title": title}
    return finish(chart.render(), timeline, describe_article(life, lang), life.lang)


# -- counts per day and per week -----------------------------------------------------------


def _ordered(counts: dict[str, list[int]], palette: dict[str, str]) -> list[str]:
    """Keys with something to show, in the palette's order, unknown ones last."""
    known = [k for k in palette if sum(counts.get(k, [])) > 0]
    return known + sorted(k for k in counts if k not in palette and sum(counts[k]) > 0)


# Whole sentences for the counts the pages print under each bar chart: (none, some).
COUNT_SENTENCES = {
    "summary": (
        N_("No changes in the last %(n)s days."),
        N_("%(total)s changes in the last %(n)s days: %(listed)s."),
    ),
    "captures": (
        N_("No captures in the last %(n)s UTC days."),
        N_("%(total)s captures in the last %(n)s UTC days: %(listed)s."),
    ),
    "captures_until": (
        N_("No captures in the %(n)s UTC days to its newest capture, %(day)s (none since)."),
        N_(
            "%(total)s captures in the %(n)s UTC days to its newest capture, %(day)s "
            "(none since): %(listed)s."
        ),
    ),
    "changes": (
        N_("No changes in the last %(n)s weeks."),
        N_("%(total)s changes in the last %(n)s weeks: %(listed)s."),
    ),
    "captures_span": (
        N_("No captures from %(first)s to %(last)s."),
        N_("%(total)s captures from %(first)s to %(last)s: %(listed)s."),
    ),
    "changes_span": (
        N_("No changes from %(first)s to %(last)s."),
        N_("%(total)s changes from %(first)s to %(last)s: %(listed)s."),
    ),
    "weeks_span": (
        N_("No changes in the weeks starting from %(first)s to %(last)s."),
        N_("%(total)s changes in the weeks starting from %(first)s to %(last)s: %(listed)s."),
    ),
    "changes_until": (
        N_("No changes in the %(n)s weeks to its newest capture, %(day)s (none since)."),
        N_(
            "%(total)s changes in the %(n)s weeks to its newest capture, %(day)s "
            "(none since): %(listed)s."
        ),
    ),
}


def say_counts(sentence: str, counts: dict[str, list[int]], lang: str, **values: object) -> str:
    """Counts by kind or outcome as one of `COUNT_SENTENCES`, in `lang`."""
    _ = translations(lang).gettext
    none, some = COUNT_SENTENCES[sentence]
    totals = {k: sum(v) for k, v in counts.items() if sum(v)}
    if not totals:
        return _(none) % values
    ordered = sorted(totals.items(), key=lambda kv: -kv[1])
    count = _("%(count)s %(label)s")
    listed = ", ".join(
        count % {"count": format_number(n, lang), "label": label(k, _)} for k, n in ordered
    )
    total = format_number(sum(totals.values()), lang)
    return _(some) % {**values, "total": total, "listed": listed}


def _bars(
    title: str,
    labels: list[str],
    counts: dict[str, list[int]],
    palette: dict[str, str],
    desc: str,
    lang: str = "en",
) -> bytes:
    _ = translations(lang).gettext
    keys = _ordered(counts, palette)
    chart = pygal.StackedBar(
        **_config(
            title=title,
            width=800,
            height=320,
            x_labels=labels,
            # pygal fails on fixed ticks without a series; then it says "Nothing yet".
            no_data_text=_("Nothing yet"),
            y_labels=count_ticks(counts) if keys else None,
            x_label_rotation=30,
            show_minor_x_labels=len(labels) <= 14,
            x_labels_major_every=max(1, len(labels) // 7),
            legend_at_bottom=True,
            legend_at_bottom_columns=5,
            truncate_legend=-1,
            print_values=False,
            style=_style([palette.get(k, OTHER_COLOR) for k in keys]),
        )
    )
    for key in keys:
        chart.add(clean(label(key, _), 40), counts[key])
    return finish(chart.render(), title, desc)


def count_ticks(counts: dict[str, list[int]]) -> list[int]:
    """Whole numbers up the y axis (pygal's own ticks would read 0.1, 0.2… for a
    day with one capture), about eight of them."""
    top = max((sum(column) for column in zip(*counts.values(), strict=True)), default=0)
    step = max(1, math.ceil(top / 8))
    return list(range(0, max(top, 1) + step, step))


def _day_labels(days: Sequence[date]) -> list[str]:
    """Month and day; with the year when the window reaches back across one."""
    fmt = "%m-%d" if days and days[0].year == days[-1].year else "%Y-%m-%d"
    return [d.strftime(fmt) for d in days]


def _span(first: date, last: date) -> dict[str, object]:
    return {"first": first.isoformat(), "last": last.isoformat()}


def captures_chart(source: str, days: DayCounts, lang: str = "en") -> bytes:
    name = clean(source, 60)
    _ = translations(lang).gettext
    return _bars(
        _("%(name)s: captures per day by outcome") % {"name": name},
        _day_labels(days.days),
        days.counts,
        OUTCOME_COLORS,
        say_counts("captures_span", days.counts, lang, **_span(days.days[0], days.days[-1])),
        lang,
    )


def changes_chart(source: str, weeks: WeekCounts, lang: str = "en") -> bytes:
    name = clean(source, 60)
    _ = translations(lang).gettext
    week = _("wk %(day)s")
    return _bars(
        _("%(name)s: changes per week by kind") % {"name": name},
        [week % {"day": day} for day in _day_labels(weeks.weeks)],
        weeks.counts,
        KIND_COLORS,
        say_counts("weeks_span", weeks.counts, lang, **_span(weeks.weeks[0], weeks.weeks[-1])),
        lang,
    )


def summary_chart(days: DayCounts, lang: str = "en") -> bytes:
    _ = translations(lang).gettext
    return _bars(
        _("The last 30 days: changes per day by kind"),
        _day_labels(days.days),
        days.counts,
        KIND_COLORS,
        say_counts("changes_span", days.counts, lang, **_span(days.days[0], days.days[-1])),
        lang,
    )
