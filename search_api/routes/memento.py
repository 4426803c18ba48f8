"""Memento (RFC 7089): any Memento client can ask what an archived address looked like
at a given time.

- TimeMap `/timemap/link/{URI-R}`: every memento of the article known at URI-R (any of
  its addresses), in link format, with `original`, `self`, `timegate` and
  `first`/`last memento` rels and each memento's datetime.
- TimeGate `/timegate/{URI-R}`: `Accept-Datetime` (an HTTP date; none means "now")
  answers 302 to the nearest memento (pattern 2.2 of the RFC), with `Vary:
  accept-datetime` and a `Link` header naming the original, the TimeMap and the first,
  last, previous and next mementos.
- Memento `/memento/{capture_id}`: the capture's archived page shown in the browser as
  its own media type, sandboxed (no script runs, nothing loads, an opaque origin), or,
  when its type is not one a browser may safely draw, the sandboxed raw download of
  `/api/captures/{id}/raw` (routes/captures.py says which and why); either with
  `Memento-Datetime` and `Link`.

A memento is a capture of the article whose bytes were kept (a WARC record), whatever
its outcome: a 404 or a block page is what the address showed then. URIs in headers
and TimeMaps start with `public_url` when set, else they are relative (never built from
the request's Host header); the URI-R is percent-encoded where link format needs it.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from archive.errors import NotFound
from archive.store import CaptureOutcome, capture_by_id, find_article, mementos_of
from search_api.deps import SessionDep, StateDep, WarcDep
from search_api.routes import (
    ERRORS,
    MAX_CAPTURE_ID,
    MAX_URL_CHARS,
    NOT_FOUND,
    as_utc,
    bad_request,
)
from search_api.routes.captures import DISPLAYABLE_TYPES, display_response, read_payload

router = APIRouter(tags=["memento"], responses=ERRORS)

LINK_FORMAT = "application/link-format"
# Characters that may stay as they are inside `<…>` of a Link header: the URI-R comes
# from the request and must not close the bracket or add a link or parameter (`;` and
# `,` are encoded too: simple link-format parsers split on them even inside `<…>`).
_URI_SAFE = ":/?#[]@!$&'()*+=%~"

CaptureId = Annotated[int, Path(ge=1, le=MAX_CAPTURE_ID)]
AcceptDatetime = Annotated[
    str | None,
    Header(
        alias="Accept-Datetime",
        max_length=100,
        description="An HTTP date, e.g. `Sun, 01 Mar 2026 08:00:00 GMT`; none: now.",
    ),
]
Mementos = list[tuple[int, datetime]]


def http_date(at: datetime) -> str:
    return email.utils.format_datetime(at.astimezone(UTC), usegmt=True)


def parse_accept_datetime(value: str) -> datetime:
    """An RFC 1123 date as RFC 7089 requires, or 400 saying what to send."""
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        at = None
    if at is None or at.tzinfo is None or not value.rstrip().endswith("GMT"):
        raise bad_request(
            f"Accept-Datetime {value[:100]!r} is not an HTTP date; "
            "send e.g. 'Sun, 01 Mar 2026 08:00:00 GMT'"
        )
    # 9999-12-31 23:59:59 -0100 is a date UTC cannot hold: the latest there is.
    return as_utc(at)


def original_url(request: Request, url: str) -> str:
    """The URI-R from the path (and its query, which the router keeps apart). Some
    proxies fold `//` into `/`: `https:/host` is read as `https://host`."""
    for scheme in ("http:/", "https:/"):
        if url.lower().startswith(scheme) and not url.lower().startswith(scheme + "/"):
            url = url[: len(scheme)] + "/" + url[len(scheme) :]
    query = request.url.query
    if query:
        url = f"{url}?{query}"
    if not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL_CHARS:
        raise bad_request(f"{url[:200]!r}: give an absolute http(s) URL after the route")
    return url


class _Links:
    """The URIs of one URI-R, starting at `public_url` or relative."""

    def __init__(self, base: str, uri_r: str) -> None:
        self.base = base
        self.uri_r = quote(uri_r, safe=_URI_SAFE)

    def timemap(self) -> str:
        return f"{self.base}/timemap/link/{self.uri_r}"

    def timegate(self) -> str:
        return f"{self.base}/timegate/{self.uri_r}"

    def memento(self, capture_id: int) -> str:
        return f"{self.base}/memento/{capture_id}"

    def original(self) -> str:
        return f'<{self.uri_r}>; rel="original"'

    def of_memento(self, mementos: Mementos, i: int, *extra: str) -> str:
        """A memento's link, its rels combined as RFC 7089 shows (`first last memento`)."""
        rels = [*extra]
        if i == 0:
            rels.append("first")
        if i == len(mementos) - 1:
            rels.append("last")
        rels.append("memento")
        capture_id, at = mementos[i]
        return f'<{self.memento(capture_id)}>; rel="{" ".join(rels)}"; datetime="{http_date(at)}"'


def _mementos(session: SessionDep, url: str) -> Mementos:
    try:
        article = find_article(session, url)
    except NotFound as exc:
        raise NotFound(f"no mementos of {url[:200]}: {exc}") from exc
    mementos = mementos_of(session, article.id)
    if not mementos:
        raise NotFound(f"no mementos of {url[:200]}: no capture of it kept its bytes")
    return mementos


def _base(state: StateDep) -> str:
    return state.settings.public_url or ""


def nearest(mementos: Mementos, at: datetime) -> int:
    """Index of the memento closest in time to `at` (the earlier one on a tie)."""
    return min(range(len(mementos)), key=lambda i: (abs(mementos[i][1] - at), mementos[i][1]))


@router.get(
    "/timemap/link/{url:path}",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "description": "The TimeMap: every memento of the address, oldest first.",
            "content": {LINK_FORMAT: {"schema": {"type": "string"}}},
        },
    },
)
def timemap_route(url: str, request: Request, session: SessionDep, state: StateDep) -> Response:
    """Memento TimeMap (RFC 7089 §5) of an archived address, in link format."""
    uri_r = original_url(request, url)
    mementos = _mementos(session, uri_r)
    links = _Links(_base(state), uri_r)
    lines = [
        links.original(),
        f'<{links.timemap()}>; rel="self"; type="{LINK_FORMAT}"; '
        f'from="{http_date(mementos[0][1])}"; until="{http_date(mementos[-1][1])}"',
        f'<{links.timegate()}>; rel="timegate"',
        *(links.of_memento(mementos, i) for i in range(len(mementos))),
    ]
    return Response(",\n".join(lines) + "\n", media_type=LINK_FORMAT)


@router.head("/timemap/link/{url:path}", include_in_schema=False)
def timemap_head(url: str, request: Request, session: SessionDep, state: StateDep) -> Response:
    return timemap_route(url, request, session, state)


@router.get(
    "/timegate/{url:path}",
    response_class=Response,
    status_code=302,
    responses={
        **NOT_FOUND,
        302: {"description": "Redirect to the memento nearest `Accept-Datetime`."},
    },
)
def timegate_route(
    url: str,
    request: Request,
    session: SessionDep,
    state: StateDep,
    accept_datetime: AcceptDatetime = None,
) -> Response:
    """Memento TimeGate (RFC 7089 §4, pattern 2.2): 302 to the nearest memento."""
    uri_r = original_url(request, url)
    at = parse_accept_datetime(accept_datetime) if accept_datetime else datetime.now(UTC)
    mementos = _mementos(session, uri_r)
    links = _Links(_base(state), uri_r)
    i = nearest(mementos, at)
    parts = [
        links.original(),
        f'<{links.timemap()}>; rel="timemap"; type="{LINK_FORMAT}"',
        links.of_memento(mementos, i),
    ]
    if i > 0:
        parts.append(links.of_memento(mementos, i - 1, "prev"))
    if i < len(mementos) - 1:
        parts.append(links.of_memento(mementos, i + 1, "next"))
    if i > 1:
        parts.append(links.of_memento(mementos, 0))
    if i < len(mementos) - 2:
        parts.append(links.of_memento(mementos, len(mementos) - 1))
    return Response(
        status_code=302,
        headers={
            "Location": links.memento(mementos[i][0]),
            "Vary": "accept-datetime",
            "Link": ", ".join(parts),
        },
    )


@router.head("/timegate/{url:path}", include_in_schema=False)
def timegate_head(
    url: str,
    request: Request,
    session: SessionDep,
    state: StateDep,
    accept_datetime: AcceptDatetime = None,
) -> Response:
    return timegate_route(url, request, session, state, accept_datetime)


@router.get(
    "/memento/{capture_id}",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "description": "The archived page as its own media type under "
            "`Content-Security-Policy: sandbox` (HTML, plain text, raster images), else "
            "the archived bytes as a sandboxed download; with `Memento-Datetime` and "
            "`Link` headers.",
            "content": {
                media: {"schema": {"type": "string"}}
                for media in sorted(DISPLAYABLE_TYPES | {"application/octet-stream"})
            },
        },
    },
)
def memento_route(
    capture_id: CaptureId, session: SessionDep, warc: WarcDep, state: StateDep
) -> Response:
    """A memento: one capture's archived page, shown sandboxed, or its bytes as a
    download when its type is not safe to show (see the module docstring)."""
    if capture_by_id(session, capture_id).outcome == CaptureOutcome.RENDERED:
        # Our screenshot of an earlier fetch (its TimeMap does not list it either).
        raise NotFound(f"capture {capture_id} is a browser rendering, not a memento")
    capture, payload = read_payload(session, warc, capture_id)
    response = display_response(capture, payload, max_bytes=state.settings.max_body_bytes)
    links = _Links(_base(state), capture.requested_url)
    response.headers["Memento-Datetime"] = http_date(capture.fetched_at)
    response.headers["Link"] = ", ".join(
        [
            links.original(),
            f'<{links.timegate()}>; rel="timegate"',
            f'<{links.timemap()}>; rel="timemap"; type="{LINK_FORMAT}"',
        ]
    )
    return response


@router.head("/memento/{capture_id}", include_in_schema=False)
def memento_head(
    capture_id: CaptureId, session: SessionDep, warc: WarcDep, state: StateDep
) -> Response:
    return memento_route(capture_id, session, warc, state)
