"""The app's routers, one module per resource, and the few things they all share:
the error responses every JSON route documents, opaque cursor tokens, the bounds on
ids and page sizes, and the parsing of dates given as query parameters.

Each router module also exposes the plain functions its routes call (`load_changes`,
`load_article`, `run_search`, …), so the HTML pages and the Atom feed show exactly
what the JSON API returns.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query
from pydantic import BeforeValidator, StringConstraints

from archive.store import check_source_names, source_names
from search_api.deps import SessionDep
from search_api.schemas import ErrorOut

# Ids are bounded so that no value can overflow a database integer: Article, Version
# and ChangeEvent ids are 32-bit on PostgreSQL, Capture ids 64-bit.
MAX_ID = 2**31 - 1
MAX_CAPTURE_ID = 2**63 - 1
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_CURSOR_CHARS = 200
MAX_URL_CHARS = 4096
MAX_VALUE_CHARS = 200
MAX_VALUES = 50
# An absolute http(s) URL, as a JSON Schema pattern (no inline flags in ECMA regex).
HTTP_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://"

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


def _iso_only(pattern: re.Pattern[str], example: str) -> Any:
    """Refuse what pydantic would otherwise read as a date or time but a person would
    not mean as one (`0`, a Unix timestamp): ISO 8601 text only."""

    def check(value: object) -> object:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"use ISO 8601, e.g. {example}")
        return value

    return BeforeValidator(check)


Day = Annotated[date, _iso_only(_ISO_DAY, "2026-03-01")]
Moment = Annotated[datetime, _iso_only(_ISO_TIME, "2026-03-01T08:00:00Z or 2026-03-01")]

FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_CHARS)]


def filter_param(description: str, max_values: int = MAX_VALUES) -> Any:
    """A repeatable filter (`?source=a&source=b`), empty when absent. An empty list
    rather than null keeps the schema a plain array, as a query string can carry."""
    return Query(default_factory=list, max_length=max_values, description=description)


def known_sources(
    session: SessionDep,
    source: Annotated[list[FilterValue], filter_param("Only these sources (repeatable).")],
) -> list[str]:
    """The `source` filter, refused with a 400 naming the known sources when a name is
    not one of them: a typo would otherwise answer "nothing happened"."""
    if source:
        check_source_names(source, source_names(session).values())  # BadInput → 400
    return source


SourceFilter = Annotated[list[str], Depends(known_sources)]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A parameter cannot be used; `detail` says why."},
    422: {"model": ErrorOut, "description": "A parameter is malformed; `detail` says which."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such record."}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "The database or search engine is unavailable."}
}


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def encode_cursor(*parts: str | int) -> str:
    """An opaque token for the next page. Opaque so clients do not build their own;
    readable when decoded, since it carries no secret."""
    raw = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(token: str, kind: str, arity: int) -> list[str]:
    """The parts of a token from `encode_cursor(kind, …)`; 400 on anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _bad_cursor(token) from exc
    parts = raw.split("|")
    if len(parts) != arity + 1 or parts[0] != kind:
        raise _bad_cursor(token)
    return parts[1:]


def _bad_cursor(token: str) -> HTTPException:
    shown = token if len(token) <= 40 else token[:40] + "…"
    return bad_request(
        f"cursor {shown!r} is not one this endpoint issued: pass the `next_cursor` of the "
        "previous page unchanged, or leave it out to start at the first page"
    )


def as_utc(when: datetime) -> datetime:
    """An aware UTC datetime. A time without a zone is taken as UTC; one that UTC cannot
    hold (year 1 or 9999 with an offset) becomes the smallest or largest there is,
    which filters the same."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return (datetime.max if when.year > 1 else datetime.min).replace(tzinfo=UTC)


def day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def day_end(day: date | None) -> datetime | None:
    """The last moment of a day, so that `to=2026-03-01` keeps all of that day."""
    return None if day is None else datetime.combine(day, time.max, tzinfo=UTC)


def parse_day(name: str, value: str | None) -> date | None:
    """A page's date field (`YYYY-MM-DD`); 400 saying the format otherwise."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise bad_request(f"{name}={value[:40]!r}: use a date such as 2026-03-01") from exc
