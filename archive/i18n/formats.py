"""Dates and numbers as a reader of each language writes them (Babel's CLDR data).
Times stay in UTC and say so: two readers comparing pages must see the same moment."""

from __future__ import annotations

from datetime import UTC, datetime

from archive.i18n.catalogs import DEFAULT_LANG, known_lang


def _locale(lang: str | None) -> str:
    return known_lang(lang) or DEFAULT_LANG


def format_when(at: datetime | None, lang: str | None) -> str:
    """To the second, in UTC: two versions fetched a minute apart must not read as one
    moment. English keeps the ISO form the pages always showed."""
    if at is None:
        return "—"
    at = at.astimezone(UTC)
    locale = _locale(lang)
    if locale == "en":
        return at.strftime("%Y-%m-%d %H:%M:%S UTC")
    from babel.dates import format_date, format_time

    day = format_date(at, format="medium", locale=locale)
    clock = format_time(at, format="HH:mm:ss", locale=locale)
    return f"{day} {clock} UTC"


def format_day(at: datetime | None, lang: str | None) -> str:
    if at is None:
        return "—"
    locale = _locale(lang)
    if locale == "en":
        return at.astimezone(UTC).strftime("%Y-%m-%d")
    from babel.dates import format_date

    return format_date(at.astimezone(UTC), format="medium", locale=locale)


def format_number(value: float | int | None, lang: str | None) -> str:
    if value is None:
        return "—"
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_locale(lang))
