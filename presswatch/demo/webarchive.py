"""A public web archive on 127.0.0.1 holding snapshots of a closed outlet, for the
tests and the demo of `presswatch backfill` (no test ever reaches a real archive).

It speaks what the real ones document:

- the Wayback CDX server, `/cdx/search/cdx`: `url` with `matchType=prefix` (or exact),
  `fl`, `filter=[!]field:regex`, `collapse=digest` (adjacent duplicates per URL),
  `from`/`to`, `limit`, `showResumeKey`/`resumeKey`, `output=json` (an array whose
  first row names the fields) or the plain space-separated lines;
- raw replay, `/web/<timestamp>id_/<url>`: the original status, headers and bytes of
  the snapshot (a redirect snapshot answers its redirect, Location inside the archive);
  a timestamp without its exact snapshot gets a 302 to the nearest one, as Wayback does;
- Save Page Now's plain form, `/save/<url>`: a snapshot stamped now, and a 302 to it;
- Memento TimeMaps in link format, `/timemap/link/<url>` (RFC 7089), paged with
  rel="timemap" links, the mementos at `/web/<timestamp>/<url>` (replayed raw here).

Faults are queued per path (`fail(path, …)`): a 429 with Retry-After, a 5xx, a body cut
short of its Content-Length; `cdx_garbage` adds malformed lines (and a row of another
site) to CDX answers. Every request is logged, so a test can prove that a rerun fetched
no snapshot twice.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Fault", "Stored", "WebArchive"]


# With `cdx_garbage`, a well-formed row for another site: an index answer must not make
# backfill record pages of a host the source does not have.
PLANTED = {
    "urlkey": "example,elsewhere)/planted/",
    "timestamp": "20220505000000",
    "original": "https://elsewhere.example/planted/",
    "mimetype": "text/html",
    "statuscode": "200",
    "digest": "PLANTED",
    "length": "10",
}


@dataclass(frozen=True, slots=True)
class Stored:
    """One snapshot the archive holds."""

    original: str
    timestamp: str  # 14 digits
    status: int = 200
    body: bytes = b""
    mimetype: str = "text/html"
    location: str | None = None  # for a redirect snapshot: the original target URL
    # Replayed by a redirect to this other timestamp of the same URL, as Wayback does
    # when it serves a capture from a neighbouring one.
    served_from: str | None = None

    @property
    def digest(self) -> str:
        raw = hashlib.sha1(self.body + str(self.status).encode()).digest()  # noqa: S324
        return base64.b32encode(raw).decode()

    @property
    def urlkey(self) -> str:
        return _urlkey(self.original)


@dataclass(frozen=True, slots=True)
class Fault:
    status: int = 503
    retry_after: str | None = None
    truncate: bool = False  # a 200 whose body stops short of its Content-Length


def _urlkey(url: str) -> str:
    """A SURT-like key (host reversed, no scheme, no www) so prefixes sort like the
    real CDX server's."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    surt = ",".join(reversed(host.split(".")))
    path = parts.path or "/"
    return f"{surt}){path}" + (f"?{parts.query}" if parts.query else "")


@dataclass
class WebArchive:
    snapshots: list[Stored] = field(default_factory=list)
    page_size: int = 1000  # the server's own cap on CDX rows per answer
    timemap_page: int = 1000  # mementos per TimeMap page
    force_text: bool = False  # answer CDX in plain lines even when JSON is asked for
    cdx_garbage: bool = False
    gzip: bool = False  # replay bodies with Content-Encoding: gzip, as archives may
    # Hostile indexes: after the last page, a resume key sent before (a loop), or
    # always one more (empty) page.
    cdx_loop: bool = False
    cdx_endless: bool = False
    requests: list[str] = field(default_factory=list)
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Self:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                archive._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the archive first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def timemap_prefix(self) -> str:
        return f"{self.base_url}/timemap/link/"

    # -- control -----------------------------------------------------------------------
    def add(self, snapshot: Stored) -> None:
        with self._lock:
            self.snapshots.append(snapshot)

    def fail(self, path: str, *faults: Fault) -> None:
        """Answer the next requests for `path` (exact, without query) with `faults`."""
        with self._lock:
            self._faults.setdefault(path, []).extend(faults)

    def replay_path(self, snapshot: Stored) -> str:
        return f"/web/{snapshot.timestamp}id_/{snapshot.original}"

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.split("?", 1)[0] == path)

    # -- serving -----------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(handler.path)
            path = handler.path.split("?", 1)[0]
            queue = self._faults.get(path)
            fault = queue.pop(0) if queue else None
        if fault is not None and not fault.truncate:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(handler, fault.status, b"busy", "text/plain", headers)
            return
        try:
            if path == "/cdx/search/cdx":
                self._cdx(handler)
            elif path.startswith("/timemap/link/"):
                self._timemap(handler)
            elif path.startswith("/save/"):
                self._save(handler)
            elif path.startswith("/web/"):
                self._replay(handler, truncate=fault is not None and fault.truncate)
            else:
                self._send(handler, 404, b"not here", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        truncate: bool = False,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2] if truncate else body)
        handler.wfile.flush()
        handler.close_connection = True

    def _ordered(self) -> list[Stored]:
        with self._lock:
            return sorted(self.snapshots, key=lambda s: (s.urlkey, s.timestamp))

    def _cdx(self, handler: BaseHTTPRequestHandler) -> None:
        q = {k: v for k, v in parse_qs(urlsplit(handler.path).query).items()}
        one = {k: v[-1] for k, v in q.items()}
        url = one.get("url", "")
        key = _urlkey(url if "://" in url else f"http://{url}")
        prefix = one.get("matchType") == "prefix" or url.endswith("*")
        fields = one.get("fl", "urlkey,timestamp,original,mimetype,statuscode,digest,length")
        names = [f for f in fields.split(",") if f]
        rows: list[dict[str, str]] = []
        for snap in self._ordered():
            if not (snap.urlkey.startswith(key.rstrip("*")) if prefix else snap.urlkey == key):
                continue
            if "from" in one and snap.timestamp < one["from"].ljust(14, "0"):
                continue
            if "to" in one and snap.timestamp > one["to"].ljust(14, "9"):
                continue
            values = {
                "urlkey": snap.urlkey,
                "timestamp": snap.timestamp,
                "original": snap.original,
                "mimetype": snap.mimetype if 200 <= snap.status < 300 else "text/html",
                "statuscode": str(snap.status),
                "digest": snap.digest,
                "length": str(len(snap.body)),
            }
            if not all(_passes(f, values) for f in q.get("filter", [])):
                continue
            if (
                one.get("collapse") == "digest"
                and rows
                and rows[-1]["urlkey"] == values["urlkey"]
                and rows[-1]["digest"] == values["digest"]
            ):
                continue
            rows.append(values)
        start = (
            int(base64.urlsafe_b64decode(one["resumeKey"]).decode()) if "resumeKey" in one else 0
        )
        size = min(int(one.get("limit", "1000000")), self.page_size)
        page = rows[start : start + size]
        more = start + size < len(rows)
        following = start + size
        if not more and self.cdx_loop:
            more, following = True, size  # back to the second page
        elif self.cdx_endless:
            more = True
        resume = base64.urlsafe_b64encode(str(following).encode()).decode() if more else None
        show_key = one.get("showResumeKey") == "true"
        if one.get("output") == "json" and not self.force_text:
            doc: list[list[str]] = [names, *([r[n] for n in names] for r in page)]
            text = json.dumps(doc)
            if self.cdx_garbage:
                planted = [PLANTED.get(n, "") for n in names]
                text = text[:-1] + f', ["only-two", "fields"], {json.dumps(planted)}]'
            if show_key and resume:
                text = text[:-1] + f", [], [{json.dumps(resume)}]]"
            self._send(handler, 200, text.encode(), "application/json")
            return
        lines = [" ".join(r[n] for n in names) for r in page]
        if self.cdx_garbage:
            lines[1:1] = [
                "garbage line",
                "com,x)/ notatime http://x.example/ text/html 200 D 1",
                " ".join(PLANTED.get(n, "-") for n in names),
            ]
        text = "\n".join(lines) + "\n"
        if show_key and resume:
            text += f"\n{resume}\n"
        self._send(handler, 200, text.encode(), "text/plain")

    def _nearest(self, original: str, timestamp: str) -> Stored | None:
        key = _urlkey(original)
        candidates = [s for s in self._ordered() if s.urlkey == key]
        if not candidates:
            return None
        return min(candidates, key=lambda s: abs(int(s.timestamp) - int(timestamp.ljust(14, "0"))))

    def _replay(self, handler: BaseHTTPRequestHandler, *, truncate: bool) -> None:
        match = re.match(r"^/web/(\d{4,14})(id_)?/(.+)$", handler.path)
        if match is None:
            self._send(handler, 404, b"bad replay URL", "text/plain")
            return
        timestamp, raw, original = match.group(1), match.group(2), unquote(match.group(3))
        snap = self._nearest(original, timestamp)
        if snap is None:
            self._send(handler, 404, b"Wayback has not archived that URL.", "text/plain")
            return
        mode = "id_" if raw else ""
        if snap.timestamp != timestamp:
            location = f"{self.base_url}/web/{snap.timestamp}{mode}/{snap.original}"
            self._send(handler, 302, b"", "text/plain", {"Location": location})
            return
        if snap.served_from is not None:
            location = f"{self.base_url}/web/{snap.served_from}{mode}/{snap.original}"
            self._send(handler, 302, b"", "text/plain", {"Location": location})
            return
        at = datetime.strptime(snap.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        headers = {
            "Memento-Datetime": format_datetime(at, usegmt=True),
            "Link": f'<{snap.original}>; rel="original"',
            # The outlet's own headers, as Wayback keeps them.
            "X-Archive-Orig-Date": format_datetime(at, usegmt=True),
            "X-Archive-Orig-Server": "ledger-cms/1.0",
        }
        if snap.location is not None:
            target = self._nearest(snap.location, snap.timestamp)
            stamp = target.timestamp if target is not None else snap.timestamp
            headers["Location"] = f"{self.base_url}/web/{stamp}{mode}/{snap.location}"
        body = snap.body
        if self.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(handler, snap.status, body, snap.mimetype, headers, truncate=truncate)

    def _save(self, handler: BaseHTTPRequestHandler) -> None:
        """Save Page Now's plain form: a snapshot taken now (of a page this archive
        cannot fetch, so a stand-in body), and a redirect to it."""
        original = unquote(handler.path[len("/save/") :])
        if not original.startswith(("http://", "https://")):
            self._send(handler, 400, b"not a URL", "text/plain")
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.add(Stored(original, stamp, body=b"<html><body>saved</body></html>"))
        location = f"{self.base_url}/web/{stamp}/{original}"
        self._send(handler, 302, b"", "text/plain", {"Location": location})

    def _timemap(self, handler: BaseHTTPRequestHandler) -> None:
        rest = handler.path[len("/timemap/link/") :]
        page = 1
        paged = re.match(r"^p(\d+)/(.+)$", rest)
        if paged:
            page, rest = int(paged.group(1)), paged.group(2)
        original = unquote(rest)
        key = _urlkey(original)
        mementos = [s for s in self._ordered() if s.urlkey == key]
        if not mementos:
            self._send(handler, 404, b"no mementos", "text/plain")
            return
        chunk = mementos[(page - 1) * self.timemap_page : page * self.timemap_page]
        links = [
            f'<{original}>; rel="original"',
            f'<{self.base_url}{handler.path}>; rel="self"; type="application/link-format"',
        ]
        for s in chunk:
            at = datetime.strptime(s.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            links.append(
                f'<{self.base_url}/web/{s.timestamp}/{s.original}>; rel="memento"; '
                f'datetime="{format_datetime(at, usegmt=True)}"'
            )
        if page * self.timemap_page < len(mementos):
            links.append(
                f'<{self.base_url}/timemap/link/p{page + 1}/{original}>; rel="timemap"; '
                'type="application/link-format"'
            )
        self._send(handler, 200, ",\n".join(links).encode(), "application/link-format")


def _passes(expression: str, values: dict[str, str]) -> bool:
    """One CDX `filter`: `[!]field:regex`, the regex matched against the whole field."""
    negate = expression.startswith("!")
    name, _, pattern = expression.lstrip("!").partition(":")
    matched = re.fullmatch(pattern, values.get(name, "")) is not None
    return matched != negate
