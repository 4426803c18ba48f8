"""The charts as SVG images: `/charts/articles/{id}.svg`, `/charts/sources/{name}/captures.svg`,
`/charts/sources/{name}/changes.svg`, `/charts/summary.svg`.

Owns the URLs, the time windows (read against the app's clock) and the response
headers; the pages embed these URLs in `<img>` and print the same words beside them
(`load_*` below give the pages the data and sentences). Every SVG response carries
a CSP that lets it style itself and nothing else: no script, no request, sandboxed
when opened on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive.errors import NotFound
from archive.store import Source, find_article, source_by_name
from archive.views import (
    ArticleLife,
    DayCounts,
    WeekCounts,
    article_life,
    captures_per_day,
    changes_per_day,
    last_capture_at,
    per_week,
)
from search_api import charts
from search_api.deps import NowDep, SessionDep
from search_api.language import request_lang
from search_api.routes import MAX_ID, MAX_VALUE_CHARS

router = APIRouter(include_in_schema=False)

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
SVG_TYPE = "image/svg+xml"
SUMMARY_DAYS = 30
MAX_DAYS = 366
MAX_WEEKS = 104


def svg(body: bytes) -> Response:
    return Response(
        body,
        media_type=SVG_TYPE,
        headers={
            "Content-Security-Policy": SVG_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
            # A chart's words follow the reader's language, as the pages' do.
            "Vary": "Accept-Language, Cookie",
        },
    )


def _source(session: Session, name: str) -> Source:
    source = source_by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}; /sources lists them")
    return source


def _window(now: datetime, days: int) -> tuple[date, date]:
    last = now.date()
    return last - timedelta(days=days - 1), last


def _source_end(session: Session, source: Source, now: datetime, days: int) -> datetime:
    """Where a source's chart window ends: now, unless the source has no capture in
    the `days` before it; then its newest capture. A backfilled outlet (dark since
    2023) once showed two empty charts beside its edits and takedowns."""
    last = last_capture_at(session, source)
    if last is None or last.date() >= _window(now, days)[0]:
        return now
    return last


def _say_span(
    sentence: str, counts: dict[str, list[int]], end: datetime, now: datetime, n: int, lang: str
) -> str:
    if end is now:
        return charts.say_counts(sentence, counts, lang, n=n)
    return charts.say_counts(f"{sentence}_until", counts, lang, n=n, day=f"{end:%Y-%m-%d}")


# -- what the pages show beside each chart --------------------------------------------


@dataclass(frozen=True)
class SourceCharts:
    name: str
    captures: DayCounts
    changes: WeekCounts
    captures_text: str
    changes_text: str

    @property
    def captures_href(self) -> str:
        return f"/charts/sources/{quote(self.name, safe='')}/captures.svg"

    @property
    def changes_href(self) -> str:
        return f"/charts/sources/{quote(self.name, safe='')}/changes.svg"


def load_article_life(
    session: Session, article_id: int, lang: str = "en"
) -> tuple[ArticleLife, str]:
    life = article_life(session, find_article(session, article_id))
    return life, charts.describe_article(life, lang)


def load_source_charts(
    session: Session,
    source: Source,
    now: datetime,
    days: int = SUMMARY_DAYS,
    weeks: int = 12,
    lang: str = "en",
) -> SourceCharts:
    days_end = _source_end(session, source, now, days)
    weeks_end = _source_end(session, source, now, weeks * 7)
    captures = captures_per_day(session, source, *_window(days_end, days))
    changes = per_week(changes_per_day(session, *_window(weeks_end, weeks * 7), source=source))
    return SourceCharts(
        source.name,
        captures,
        changes,
        _say_span("captures", captures.counts, days_end, now, days, lang),
        _say_span("changes", changes.counts, weeks_end, now, weeks, lang),
    )


@dataclass(frozen=True)
class Summary:
    days: DayCounts
    text: str

    @property
    def kinds(self) -> list[str]:
        return [k for k in self.days.counts if self.days.total(k)]

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        """The table under the chart: days with any change, one column per kind."""
        kinds = self.kinds
        out = []
        for i, day in enumerate(self.days.days):
            row = [self.days.counts[k][i] for k in kinds]
            if any(row):
                out.append((day.isoformat(), row))
        return out


def load_summary(session: Session, now: datetime, lang: str = "en") -> Summary:
    days = changes_per_day(session, *_window(now, SUMMARY_DAYS))
    return Summary(days, charts.say_counts("summary", days.counts, lang, n=SUMMARY_DAYS))


# -- the images ----------------------------------------------------------------------


@router.get("/charts/articles/{article_id}.svg")
def article_svg(
    request: Request, session: SessionDep, article_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    lang = request_lang(request)
    life, _ = load_article_life(session, article_id, lang)
    return svg(charts.article_chart(life, lang))


SourceName = Annotated[str, Path(min_length=1, max_length=MAX_VALUE_CHARS)]


@router.get("/charts/sources/{name}/captures.svg")
def source_captures_svg(
    request: Request,
    session: SessionDep,
    now: NowDep,
    name: SourceName,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = SUMMARY_DAYS,
) -> Response:
    source = _source(session, name)
    end = _source_end(session, source, now, days)
    return svg(
        charts.captures_chart(
            source.name,
            captures_per_day(session, source, *_window(end, days)),
            request_lang(request),
        )
    )


@router.get("/charts/sources/{name}/changes.svg")
def source_changes_svg(
    request: Request,
    session: SessionDep,
    now: NowDep,
    name: SourceName,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = 12,
) -> Response:
    source = _source(session, name)
    end = _source_end(session, source, now, weeks * 7)
    days = changes_per_day(session, *_window(end, weeks * 7), source=source)
    return svg(charts.changes_chart(source.name, per_week(days), request_lang(request)))


@router.get("/charts/summary.svg")
def summary_svg(request: Request, session: SessionDep, now: NowDep) -> Response:
    lang = request_lang(request)
    return svg(charts.summary_chart(load_summary(session, now, lang).days, lang))
