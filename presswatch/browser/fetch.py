"""Fetching one sub-request of a page for the browser, under the crawler's rules: the
egress policy on the address actually connected to (`presswatch.egress.connect`),
robots.txt for our User-Agent (Protego, read once per origin and rendering; a
robots.txt that cannot be read disallows, as RFC 9309 and the crawler say), and the
body limit. A redirect is returned as it came: the browser follows it, and its next
hop is asked for, and checked, like any other request.

Never raises for what a server does: the result is a `SubResource` or a `Refusal`.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from protego import Protego

from archive.capture import Refusal, RefusalKind, SubResource
from archive.egress import Networks, url_refusal
from archive.errors import PresswatchError
from presswatch.egress import AddressRefused, connect

__all__ = ["SubFetcher"]

ROBOTS_MAX_BYTES = 512 * 1024
# Request headers the page may set and we pass on; the rest (cookies we never keep,
# hop-by-hop and encoding headers) are ours to choose.
_PASSED_HEADERS = frozenset({"accept", "accept-language", "referer", "range", "origin"})


class SubFetcher:
    """Fetches a page's sub-requests. Thread-safe: the renderer runs a few at once."""

    def __init__(
        self,
        *,
        allow: Networks,
        user_agent: str,
        robots_token: str,
        obey_robots: bool,
        max_body_bytes: int,
        max_total_bytes: int,
        timeout_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.allow = allow
        self.user_agent = user_agent
        self.robots_token = robots_token
        self.obey_robots = obey_robots
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.now = now
        self._robots: dict[str, Protego | str | None] = {}
        self._robots_lock = threading.Lock()
        self._budget_lock = threading.Lock()
        self._left_bytes = max_total_bytes

    def fetch(
        self, url: str, method: str, headers: dict[str, str], resource_type: str, deadline: float
    ) -> SubResource | Refusal:
        def refuse(kind: RefusalKind, reason: str) -> Refusal:
            return Refusal(url=url, resource_type=resource_type, kind=kind, reason=reason)

        if method not in ("GET", "HEAD"):
            return refuse(RefusalKind.METHOD, f"{method} is not fetched (GET and HEAD only)")
        refusal = url_refusal(url, self.allow)
        if refusal is not None:
            return refuse(RefusalKind.EGRESS, refusal)
        if self.obey_robots:
            why = self._robots_refusal(url, deadline)
            if why is not None:
                return refuse(RefusalKind.ROBOTS, why)
        sent = self._headers(url, headers)
        try:
            answer = self._get(url, method, sent, deadline, self.max_body_bytes)
        except AddressRefused as exc:
            return refuse(RefusalKind.EGRESS, str(exc))
        except _TooLarge as exc:
            return refuse(RefusalKind.TOO_LARGE, str(exc))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return refuse(RefusalKind.NETWORK, f"{type(exc).__name__}: {exc}")
        status, reason, version, response_headers, body, ip = answer
        with self._budget_lock:
            if len(body) > self._left_bytes:
                return refuse(
                    RefusalKind.TOO_LARGE,
                    "the page's sub-resources passed their byte budget (browser_max_page_bytes)",
                )
            self._left_bytes -= len(body)
        return SubResource(
            url=url,
            method=method,
            resource_type=resource_type,
            request_headers=tuple(sent.items()),
            status=status,
            reason=reason,
            response_headers=response_headers,
            body=body,
            http_version=version,
            fetched_at=self.now(),
            ip=ip,
        )

    def _headers(self, url: str, page_headers: dict[str, str]) -> dict[str, str]:
        parts = urlsplit(url)
        sent = {"Host": parts.netloc, "User-Agent": self.user_agent}
        for name, value in page_headers.items():
            if name.lower() in _PASSED_HEADERS:
                sent[name] = value
        # Bodies as sent: the browser is handed exactly the bytes the WARC keeps.
        sent["Accept-Encoding"] = "identity"
        sent["Connection"] = "close"
        return sent

    def _get(
        self, url: str, method: str, headers: dict[str, str], deadline: float, limit: int
    ) -> tuple[int, str, str, tuple[tuple[str, str], ...], bytes, str | None]:
        timeout = min(self.timeout_s, deadline - time.monotonic())
        if timeout <= 0:
            raise TimeoutError("the rendering's time was up")
        parts = urlsplit(url)
        host = parts.hostname or ""
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        allow = self.allow
        # http.client's connection hook: its only connection goes through the policy.
        conn._create_connection = lambda address, timeout=None, source=None: connect(  # type: ignore[attr-defined]
            address, timeout, allow
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            raw = conn.getresponse()
            ip = None
            if conn.sock is not None:
                try:
                    ip = str(conn.sock.getpeername()[0])
                except OSError:
                    ip = None
            chunks = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError("the rendering's time was up mid-body")
                chunk = raw.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise _TooLarge(f"the body is larger than {limit} bytes (max_body_bytes)")
            version = "HTTP/1.0" if raw.version == 10 else "HTTP/1.1"
            return (raw.status, raw.reason, version, tuple(raw.getheaders()), b"".join(chunks), ip)
        finally:
            conn.close()

    def _robots_refusal(self, url: str, deadline: float) -> str | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            rules = self._robots.get(origin, "")
            if rules == "":
                rules = self._read_robots(origin, deadline)
                self._robots[origin] = rules
        if isinstance(rules, str):
            return f"robots.txt of {origin} could not be read ({rules}): disallowed for now"
        if rules is not None and not rules.can_fetch(url, self.robots_token):
            return f"forbidden by robots.txt: {url}"
        return None

    def _read_robots(self, origin: str, deadline: float) -> Protego | str | None:
        url = origin + "/robots.txt"
        for _hop in range(5):
            try:
                status, _r, _v, headers, body, _ip = self._get(
                    url, "GET", self._headers(url, {}), deadline, ROBOTS_MAX_BYTES
                )
            except _TooLarge:
                return None  # past 512 KiB it holds no rules we would read: absent
            except (OSError, http.client.HTTPException, ValueError) as exc:
                return f"{type(exc).__name__}: {exc}"
            location = dict((k.lower(), v) for k, v in headers).get("location")
            if 300 <= status < 400 and location:
                url = urljoin(url, location)
                if url_refusal(url, self.allow) is not None:
                    return None
                continue
            if status >= 500 or status == 429:
                return f"HTTP {status}"
            if status >= 400:
                return None  # no robots.txt: everything is allowed
            return Protego.parse(body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace"))
        return None


class _TooLarge(PresswatchError, ValueError):
    """A body passed its limit; it becomes a `too_large` refusal."""
