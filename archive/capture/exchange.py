"""What a fetch is when it reaches the archive, and what recording it gives back.

`Exchange` is one raw fetch as the crawler or an importer saw it; `RecordOptions` what
the archive needs beyond it; `CaptureJob` one fetch of a group (`record_captures`);
`CaptureResult` the answer. Also the checks and the identity of one exchange, and its
extraction (done before any database statement, here or in the crawler's process pool).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from archive.capture.detect import Policy
from archive.capture.rendering import Rendering
from archive.content.extract import Extracted, extract_page
from archive.errors import BadInput
from archive.store.models import CaptureOutcome


@dataclass(frozen=True, slots=True)
class RedirectHop:
    """One hop of a redirect chain, in the order followed."""

    url: str
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class Exchange:
    """One raw fetch as the crawler (or an importer) saw it.

    `status` is None and `error` names the failure (``timeout``, ``dns``,
    ``connection_refused``, ``connection_lost``, ``tls``, ``too_many_redirects``…) when no
    HTTP response arrived. With a status, ``too_large`` says `body` holds only the first
    bytes (up to the size limit; `error_detail` says how many of how many) and
    ``bad_encoding`` that it could not be decoded whole; either is judged like a page
    that could not be read. `fetched_at` must be an aware datetime.
    """

    requested_url: str
    final_url: str
    fetched_at: datetime
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    redirects: tuple[RedirectHop, ...] = ()
    error: str | None = None
    error_detail: str = ""
    reason: str = ""
    request_headers: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    # The body as transmitted (before Content-Encoding was undone), when it differs from
    # `body`: the WARC keeps these bytes, extraction reads `body`.
    transmitted: bytes | None = None
    # The transmitted bytes were cut at the size limit (the WARC record says
    # WARC-Truncated: length). Without `transmitted`, `too_large` says it.
    transmitted_cut: bool = False
    # `crawl`, `import` or `web_archive`, and where an import or snapshot came from
    # (file and record, or archive and snapshot URL): stored on the Capture as is.
    origin: str = "crawl"
    provenance: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def payload(self) -> bytes:
        """The WARC payload: the body as transmitted. `Capture.payload_sha256`,
        `payload_length` and revisit detection all mean these bytes, as
        `WARC-Payload-Digest` does."""
        return self.body if self.transmitted is None else self.transmitted


@dataclass(frozen=True, slots=True)
class ImageFetch:
    """One of the article's images (`archive.content.images`) as the crawler fetched it
    for this capture: `exchange` is the image's own fetch (a network failure or a
    refusal by the egress policy or robots.txt has `status` None and `error`), `phash`
    the perceptual hash of a 200's body, computed by the crawler off its reactor thread,
    or None with `reason`. A 304 carries no hash: the archive takes the one of the
    image's previous fetch."""

    src: str
    alt: str
    caption: str
    exchange: Exchange
    phash: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """What the archive needs to know beyond the exchange; built by the caller from
    Settings (the archive never reads the environment)."""

    policy: Policy = field(default_factory=Policy)
    boilerplate_min_articles: int = 3
    max_body_bytes: int = 20_000_000
    # Called on the extraction of a NEW article; False means "outside the topic".
    accept: Callable[[Extracted], bool] | None = None


@dataclass(frozen=True, slots=True)
class CaptureResult:
    capture_id: int
    article_id: int | None
    outcome: CaptureOutcome
    events: tuple[str, ...]
    version_n: int | None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """One fetch for `record_captures`; `then` runs after it in the same savepoint (the
    crawler sets the article's next check there, so schedule and capture commit together)."""

    exchange: Exchange
    options: RecordOptions | None = None
    extracted: Extracted | None = None
    payload_known: bool = False
    then: Callable[[Session, CaptureResult], None] | None = None
    # The article's images fetched with it; None: not looked at (images unknown).
    images: tuple[ImageFetch, ...] | None = None
    # The page rendered in the browser before it is judged (a `render = true` source).
    rendering: Rendering | None = None


def check_exchange(exchange: Exchange) -> None:
    if exchange.fetched_at.tzinfo is None:
        raise BadInput(f"{exchange.requested_url}: fetched_at must be timezone-aware (UTC)")
    for url in (exchange.requested_url, exchange.final_url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadInput(f"{url!r}: need an absolute http(s) URL")
    if exchange.status is None and exchange.error is None:
        raise BadInput(f"{exchange.requested_url}: give an HTTP status or a network error")


def fetch_key(exchange: Exchange) -> str:
    """Identity of one fetch, so recording it again is a no-op."""
    payload = hashlib.sha256(exchange.body).hexdigest()
    parts = [
        exchange.requested_url,
        exchange.fetched_at.astimezone(UTC).isoformat(),
        str(exchange.status),
        exchange.error or "",
        payload,
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def extract_exchange(exchange: Exchange, max_body_bytes: int) -> Extracted | None:
    """Extract the page of a 2xx exchange; None when there is nothing to extract."""
    if exchange.status is None or not (200 <= exchange.status < 300) or exchange.error:
        return None
    return extract_page(
        exchange.body,
        url=exchange.final_url,
        content_type=exchange.header("content-type"),
        max_bytes=max_body_bytes,
    )
