"""A browser rendering of a capture as WARC records, written in one append.

Layout (each record its own gzip member, as everywhere in our WARC files):

    resource  urn:presswatch:screenshot:<page URL>   image/png   (the located record)
    resource  urn:presswatch:rendered-dom:<page URL> text/html   (first of the trailer)
    response  <sub-resource URL>  +  request <sub-resource URL>   for each page requisite
    metadata  urn:presswatch:rendering:<page URL>   application/json: outcome, reason,
              browser, refused requests

The screenshot is `WARC-Concurrent-To` the page's own response record, as brozzler
writes screenshots; every later record is concurrent to the screenshot as well (the
last such header names it, which a package verifier checks for the record after a
located one). With no screenshot (a rendering cut off before it), the `metadata`
record comes first instead. The located record and the trailer are hashed apart
(`WarcLocation.record_sha256`, `request_sha256`), so the capture's log leaf commits to
every byte of the rendering.

Must not: know what a rendering means (archive.capture does); read the network.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

from archive.warc.records import (
    _BUILDER,
    WarcLocation,
    WarcStore,
    _http_safe,
    _status_and_headers,
    warc_date,
)

SCREENSHOT_PREFIX = "urn:presswatch:screenshot:"
DOM_PREFIX = "urn:presswatch:rendered-dom:"
# Not the page URL: a replay tool must never serve the metadata as the page.
METADATA_PREFIX = "urn:presswatch:rendering:"


@dataclass(frozen=True, slots=True)
class SubExchange:
    """One page requisite as fetched: the request we sent and the response as received."""

    url: str
    method: str
    fetched_at: datetime
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    request_headers: list[tuple[str, str]]
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class RenderingLocation:
    """Where the rendering's records went: `location` as for a capture (the first
    record, and the trailer as its "request"), and the screenshot's and DOM's records
    inside them (offset, length in the file)."""

    location: WarcLocation
    screenshot: tuple[int, int] | None
    dom: tuple[int, int] | None


def write_rendering(
    store: WarcStore,
    *,
    page_url: str,
    page_record_id: str | None,
    rendered_at: datetime,
    screenshot_png: bytes | None,
    dom_html: str | None,
    metadata: dict[str, Any],
    requisites: list[SubExchange],
) -> RenderingLocation:
    date = warc_date(rendered_at)
    members: list[tuple[str, bytes]] = []
    first_id: str | None = None

    def add(name: str, record: Any) -> None:
        nonlocal first_id
        if first_id is None:
            first_id = record.rec_headers.get_header("WARC-Record-ID")
        members.append((name, store._render([record])))

    def concurrent() -> list[tuple[str, str]]:
        ids = [page_record_id] if page_record_id else []
        if first_id:
            ids.append(first_id)
        return [("WARC-Concurrent-To", i) for i in ids]

    def resource(uri: str, kind: str, body: bytes) -> Any:
        record = _BUILDER.create_warc_record(
            uri,
            "resource",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type=kind,
            warc_headers_dict={"WARC-Date": date},
        )
        for name, value in concurrent():
            record.rec_headers.add_header(name, value)
        return record

    meta_body = json.dumps(metadata, sort_keys=True, ensure_ascii=False).encode("utf-8")
    meta = _BUILDER.create_warc_record(
        METADATA_PREFIX + page_url,
        "metadata",
        payload=io.BytesIO(meta_body),
        length=len(meta_body),
        warc_content_type="application/json",
        warc_headers_dict={"WARC-Date": date},
    )
    if screenshot_png is not None:
        add("screenshot", resource(SCREENSHOT_PREFIX + page_url, "image/png", screenshot_png))
    else:
        for name, value in concurrent():
            meta.rec_headers.add_header(name, value)
        add("metadata", meta)
    if dom_html is not None:
        add("dom", resource(DOM_PREFIX + page_url, "text/html; charset=utf-8", dom_html.encode()))
    for sub in requisites:
        response = _BUILDER.create_warc_record(
            sub.url,
            "response",
            payload=io.BytesIO(sub.body),
            length=len(sub.body),
            http_headers=_status_and_headers(sub.status, sub.reason, sub.headers),
            warc_headers_dict={"WARC-Date": warc_date(sub.fetched_at)},
        )
        if sub.ip:
            response.rec_headers.add_header("WARC-IP-Address", sub.ip)
        for name, value in concurrent():
            response.rec_headers.add_header(name, value)
        members.append(("response", store._render([response])))
        parts = urlsplit(sub.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = _BUILDER.create_warc_record(
            sub.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                f"{sub.method} {path} HTTP/1.1",
                _http_safe(sub.request_headers),
                is_http_request=True,
            ),
            warc_headers_dict={
                "WARC-Date": warc_date(sub.fetched_at),
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        members.append(("request", store._render([request])))
    if screenshot_png is not None:
        for name, value in concurrent():
            meta.rec_headers.add_header(name, value)
        members.append(("metadata", store._render([meta])))

    head_name, head = members[0]
    trailer = b"".join(blob for _, blob in members[1:])
    location = store._append(head, "resource" if head_name == "screenshot" else "metadata", trailer)
    places: dict[str, tuple[int, int]] = {}
    offset = location.offset
    for name, blob in members:
        if name in ("screenshot", "dom") and name not in places:
            places[name] = (offset, len(blob))
        offset += len(blob)
    return RenderingLocation(location, places.get("screenshot"), places.get("dom"))


def screenshot_sha256(png: bytes) -> str:
    return hashlib.sha256(png).hexdigest()
