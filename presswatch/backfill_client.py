"""The polite HTTP client `presswatch backfill` and `save-changes` talk to web archives
with: one request at a time, a pause between requests, Retry-After honoured, bounded
retries, and the egress policy applied to the address actually connected to."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from archive.content import decode_bounded
from archive.egress import Networks, url_refusal
from archive.errors import PresswatchError
from presswatch.egress import AddressRefused, connect

__all__ = [
    "ArchiveBusy",
    "ArchiveClient",
    "ArchiveRefused",
    "ArchiveUnavailable",
    "Response",
    "retry_after",
]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding"}


class ArchiveRefused(PresswatchError):
    """The egress policy forbids the address (or the URL is not fetchable)."""


class ArchiveUnavailable(PresswatchError):
    """The archive did not answer usefully after every retry."""


class ArchiveBusy(PresswatchError):
    """The archive asked us to wait longer than `backfill_max_wait_s`."""


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated_at: int | None = None  # body cut at the size limit (of a larger body)
    decode_error: str | None = None  # its Content-Encoding could not be undone whole

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


class ArchiveClient:
    """A polite HTTP client for one archive: one request at a time, a pause between
    requests, Retry-After honoured, bounded retries, and the egress policy applied to
    the address connected to. Built on the standard library's http.client because
    backfill is sequential by design and its connection hook lets the policy check the
    resolved address (no DNS-rebinding gap) without patching a third-party client."""

    def __init__(
        self,
        *,
        allow: Networks,
        user_agent: str,
        delay_s: float,
        retries: int,
        max_wait_s: float,
        timeout_s: float,
        max_body_bytes: int,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow = allow
        self.user_agent = user_agent
        self.delay_s = delay_s
        self.retries = retries
        self.max_wait_s = max_wait_s
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None
        self.requests = 0
        self.waited_s = 0.0

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            self._sleep(seconds)

    def _connect(
        self, address: tuple[str, int], timeout: float | None = None, source: Any = None
    ) -> socket.socket:
        try:
            return connect(address, timeout, self.allow)
        except AddressRefused as exc:
            raise ArchiveRefused(f"{address[0]}: {exc}") from exc

    def _once(self, url: str) -> Response:
        parts = urlsplit(url)
        refusal = url_refusal(url, self.allow)
        if refusal is not None:
            raise ArchiveRefused(refusal)
        assert parts.hostname is not None
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=self.timeout_s)
        # http.client's documented-by-source hook: every connection it opens goes
        # through the egress policy's connect (the address connected to is checked).
        conn._create_connection = self._connect  # type: ignore[attr-defined]
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request(
                "GET",
                path,
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"},
            )
            raw = conn.getresponse()
            body = raw.read(self.max_body_bytes + 1)
            # read(n) returns what arrived when the server closes early: compare with
            # the promised length, so a cut-short body is retried, never recorded.
            promised = raw.getheader("content-length") or ""
            if promised.isdigit() and len(body) < min(int(promised), self.max_body_bytes):
                raise http.client.IncompleteRead(body, int(promised) - len(body))
            truncated_at = None
            if len(body) > self.max_body_bytes:
                body = body[: self.max_body_bytes]
                truncated_at = self.max_body_bytes
            headers = tuple(raw.getheaders())
            encodings = [
                v.encode("latin-1", "replace")
                for k, v in headers
                if k.lower() == "content-encoding" and v.strip().lower() != "identity"
            ]
            decode_error = None
            if encodings:
                decoded = decode_bounded(body, encodings, self.max_body_bytes)
                body = decoded.body
                # Decompressed past the limit: cut as a plain body would be, never
                # judged as the page (a cut page reads as an edit).
                if decoded.over:
                    truncated_at = self.max_body_bytes
                decode_error = decoded.error
            return Response(
                url=url,
                status=raw.status,
                reason=raw.reason,
                headers=tuple((k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP),
                body=body,
                truncated_at=truncated_at,
                decode_error=decode_error,
            )
        finally:
            conn.close()

    def get(self, url: str) -> Response:
        """GET `url` politely; the archive's answer (any status but 429/5xx), or
        `ArchiveUnavailable` / `ArchiveBusy` / `ArchiveRefused`."""
        problem = ""
        for attempt in range(self.retries + 1):
            if self._last is not None:
                self._pause(self._last + self.delay_s - self._clock())
            wait: float | None = None
            try:
                self.requests += 1
                response = self._once(url)
            except ArchiveRefused:
                raise
            except http.client.IncompleteRead as exc:
                problem = f"body cut short ({len(exc.partial)} bytes of {exc.expected} more)"
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
            else:
                if response.status != 429 and response.status < 500:
                    return response
                problem = f"HTTP {response.status}"
                if response.status in (429, 503):
                    wait = retry_after(response.header("retry-after"), datetime.now(UTC))
                    if wait is not None and wait > self.max_wait_s:
                        raise ArchiveBusy(
                            f"{urlsplit(url).netloc} answered {response.status} and asks to "
                            f"wait {wait:.0f}s, longer than backfill_max_wait_s "
                            f"({self.max_wait_s:g}s): run backfill again later; it continues "
                            "where it stopped"
                        )
            finally:
                self._last = self._clock()
            if attempt < self.retries:
                backoff = max(self.delay_s, 0.5) * 2**attempt
                self._pause(wait if wait is not None else backoff)
        raise ArchiveUnavailable(f"{url}: {problem} after {self.retries + 1} tries")


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
