"""Dates as pages write them, read into one form: "YYYY-MM-DD", or an ISO datetime with
its UTC offset when the page gives both a time and an offset.

This module owns date parsing: ISO 8601, Khmer dates (Khmer digits and month names, the
visarga typed many ways), and dateparser for the written dates of other languages, with
a cache because a site repeats the same strings on every page. It must not look at HTML
(which element holds the article's date is `archive.content.extract`'s question) and must stay
pure: only absolute dates, never "3 hours ago", so the clock is never read. It imports
nothing of ours except `archive.content.normalize`.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

from archive.content.normalize import normalize_khmer

__all__ = ["iso_date"]

_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_KHMER_MONTHS = {
    normalize_khmer(name): number
    for number, name in enumerate(
        [
            "មករា",
            "កុម្ភៈ",
            "មីនា",
            "មេសា",
            "ឧសភា",
            "មិថុនា",
            "កក្កដា",
            "សីហា",
            "កញ្ញា",
            "តុលា",
            "វិច្ឆិកា",
            "ធ្នូ",
        ],
        start=1,
    )
}
# "ថ្ងៃទី៥ ខែកញ្ញា ឆ្នាំ២០២២", "៥ កញ្ញា ២០២២", "ទី05 ខែ កុម្ភះ 2022": the day, an optional
# "month" word, the month name (the final visarga of កុម្ភៈ is often left off or typed
# as a colon), an optional "year" word, the year.
_KHMER_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s*(?:ខែ\s*)?("
    + "|".join(sorted((re.escape(m.rstrip("ៈ")) for m in _KHMER_MONTHS), key=len, reverse=True))
    + r")[ៈះ:]?\s*(?:,\s*)?(?:ឆ្នាំ\s*)?(\d{4})(?!\d)"
)
_KHMER_MONTH_BY_STEM = {name.rstrip("ៈ"): number for name, number in _KHMER_MONTHS.items()}
# Date-shaped pieces of free text that dateparser is then asked to read.
_DATE_CHUNKS = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}\.? [^\W\d_]{3,10}\.? \d{4}"
    r"|[^\W\d_]{3,10}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4}"
)
_DATEPARSER_SETTINGS = {
    # Only absolute dates: "3 hours ago" would read the clock and break purity, and
    # a date missing its day or year would be completed from today.
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}


# Cached: a site repeats the same date strings (its clock, related-story dates) on
# every page, and dateparser is a tenth of extraction time when it runs.
@functools.lru_cache(maxsize=8192)
def iso_date(value: str | None) -> str | None:
    """A machine-readable or written date as "YYYY-MM-DD", or as a datetime with offset
    when the source gives both a time and an offset (a time without an offset is dropped:
    we cannot say which instant it was)."""
    if not value or not value.strip():
        return None
    raw = value.strip()
    parsed = _parse_iso(raw)
    if parsed is None:
        parsed = _parse_khmer_date(raw)
    if parsed is None:
        parsed = _parse_with_dateparser(raw)
    if parsed is None:
        return None
    if isinstance(parsed, datetime):
        if parsed.tzinfo is not None and parsed.utcoffset() is not None:
            return parsed.isoformat()
        parsed = parsed.date()
    # Web news postdates 1990; earlier dates in article markup are placeholders
    # (0001-01-01, the Unix epoch), and far-future ones are Buddhist Era years (the
    # Khmer calendar's ២៥៦៦ is 2022-23) or typos.
    if not 1990 <= parsed.year <= 2200:
        return None
    return parsed.isoformat()


def _parse_iso(raw: str) -> date | datetime | None:
    candidate = raw.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", raw) else raw
    try:
        if len(candidate) == 10:
            return date.fromisoformat(candidate)
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _parse_khmer_date(raw: str) -> date | None:
    text = normalize_khmer(raw).translate(_KHMER_DIGITS)
    match = _KHMER_DATE.search(text)
    if match is None:
        return None
    day, month_name, year = match.groups()
    try:
        return date(int(year), _KHMER_MONTH_BY_STEM[month_name], int(day))
    except ValueError:
        return None


def _parse_with_dateparser(raw: str) -> date | datetime | None:
    # Imported here: dateparser loads its language data on first use, and most pages
    # carry a machine-readable date and never need it.
    import dateparser

    text = raw.translate(_KHMER_DIGITS)
    for candidate in (text, *(m.group(0) for m in _DATE_CHUNKS.finditer(text))):
        if len(candidate) > 80:
            continue
        try:
            parsed = dateparser.parse(
                candidate, languages=["km", "en"], settings=_DATEPARSER_SETTINGS
            )
        except (ValueError, TypeError, OverflowError, LookupError):
            continue
        if isinstance(parsed, datetime):
            return parsed
    return None
