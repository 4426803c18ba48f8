"""`/api/captures/{id}`: what was recorded about one fetch, and `/raw`: the archived
bytes themselves.

Archived pages are hostile content: an outlet (or whoever controls it) wrote them, and
they may carry scripts. They must never run on our origin, where they could read
our pages or call our API as the visitor. So `/raw` is served as a download
(`Content-Disposition: attachment`), as `application/octet-stream` with
`X-Content-Type-Options: nosniff` so no browser guesses HTML, and with
`Content-Security-Policy: sandbox` so that even a client that ignored the rest would
render it in a unique origin without scripts. The stored content type travels in
`X-Archived-Content-Type`, for tools. The bytes are the payload as transmitted (what
`payload_sha256` covers): a page sent gzip-encoded downloads gzip-encoded, and
`X-Archived-Content-Encoding` says so.

A memento (`/memento/{id}`, routes/memento.py) is meant for a person's browser, so
`display_response` shows the page instead, when its archived type is one a browser
can draw without running anything of the page's (`DISPLAYABLE_TYPES`): as that type,
decoded, under `DISPLAY_CSP` (a sandbox with no `allow-*` token, loading nothing) and
`nosniff`. Any other body stays the download above.

A `revisit` record holds no body (it was identical to an earlier fetch); its bytes
are read from the response record it refers to, found the way `archive.capture.persist`
chose it. The payload's SHA-256 is recomputed on every read and sent as
`X-Payload-SHA256`; a mismatch with the archive's record is refused (`verify` tells
the rest).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.content import decode_bounded
from archive.errors import NotFound, StorageError
from archive.store import (
    Capture,
    Rendering,
    capture_by_id,
    first_response_with_payload,
    versions_by_id,
)
from archive.views import rendering_json
from archive.warc import WarcStore
from search_api.deps import SessionDep, WarcDep
from search_api.routes import ERRORS, MAX_CAPTURE_ID, NOT_FOUND, UNAVAILABLE
from search_api.schemas import CaptureOut

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/captures", tags=["captures"], responses=ERRORS)

CaptureId = Annotated[int, Path(ge=1, le=MAX_CAPTURE_ID, examples=[1])]
_SAFE_HEADER_VALUE = re.compile(r"[^\x20-\x7e]")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)

# What a memento may be shown as, in the browser, rather than downloaded: the media
# types whose renderers `Content-Security-Policy: sandbox` fully covers, or that have no
# active content. HTML and XHTML run no script and get an opaque origin under the
# sandbox; plain text and raster images are drawn, never run. Everything else stays a
# download: SVG and XML (a scriptable document parsed by another engine, with XSLT and
# foreign namespaces), PDF (Chromium's viewer is an extension a sandbox refuses anyway),
# JavaScript, CSS and JSON (code or data, not what the page showed), and anything
# without a declared type (nosniff forbids a guess, and so do we).
DISPLAYABLE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
    }
)
# The archived page may load nothing (no image, font, stylesheet or frame from its
# outlet or from us, so showing it neither tells the outlet who looked nor reaches our
# API), submit no form and be framed by nobody; its inline styles and `data:` images
# still draw. `sandbox` with no `allow-*` token: no script, plugin, popup, modal, top
# navigation or automatic feature, and an opaque origin, so neither our cookies nor our
# storage are within its reach. ArchiveBox learnt why (advisory GHSA-cr45-98w9-gwqx:
# archived scripts served on the archive's own origin acted as its logged-in admin);
# replay tools serve archives from an origin of their own and block live-web loads.
# The sandbox's opaque origin gives us the first on our one origin; `default-src
# 'none'` the second, as we show the original bytes, not a rewritten replay.
DISPLAY_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; media-src data:; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def raw_url(capture_id: int) -> str:
    return f"/api/captures/{capture_id}/raw"


def load_capture(session: Session, capture_id: int) -> CaptureOut:
    capture = capture_by_id(session, capture_id)
    version = versions_by_id(session, [capture.version_id], with_text=False).get(
        capture.version_id or 0
    )
    version_n = version.n if version is not None else None
    rendering = session.scalars(select(Rendering).where(Rendering.capture_id == capture.id)).first()
    numbers = {version.id: version.n} if version is not None else {}
    out = CaptureOut.model_validate(
        {
            **{c.key: getattr(capture, c.key) for c in Capture.__table__.columns},
            "version_n": version_n,
            "raw_url": raw_url(capture.id) if capture.warc_file else None,
            "rendering": rendering_json(rendering, numbers),
        }
    )
    return out


def _response_record_of(session: Session, capture: Capture) -> Capture:
    if capture.warc_type != "revisit":
        return capture
    original = first_response_with_payload(session, capture.payload_sha256 or "")
    if original is None:
        raise StorageError(
            f"capture {capture.id} is a revisit of a payload no stored response holds; "
            "run `presswatch verify`"
        )
    return original


def read_payload(session: Session, warc: WarcStore, capture_id: int) -> tuple[Capture, bytes]:
    """The archived body of a fetch, checked against its recorded SHA-256."""
    capture = capture_by_id(session, capture_id)
    if not capture.warc_file:
        why = capture.error or "no response"
        raise NotFound(f"capture {capture_id} kept no bytes: the fetch failed ({why})")
    holder = _response_record_of(session, capture)
    if not holder.warc_file or holder.warc_offset is None or holder.warc_length is None:
        raise StorageError(f"capture {holder.id} has no WARC location; run `presswatch verify`")
    record = warc.read_record(holder.warc_file, holder.warc_offset, holder.warc_length)
    payload = record.payload
    if capture.payload_sha256 and hashlib.sha256(payload).hexdigest() != capture.payload_sha256:
        log.error("payload of capture %s does not match its recorded SHA-256", capture_id)
        raise StorageError(
            f"the stored bytes of capture {capture_id} do not match their recorded SHA-256; "
            "run `presswatch verify`"
        )
    return capture, payload


def _archived_header(capture: Capture, name: str) -> str:
    headers = {str(k).lower(): v for k, v in (capture.headers or {}).items()}
    value = headers.get(name)
    text = value if isinstance(value, str) else ""
    # Stored headers come from the outlet: keep them printable and short on the way out.
    return _SAFE_HEADER_VALUE.sub("?", text)[:200]


def displayable_type(archived_type: str) -> str | None:
    """The Content-Type to display an archived body with (its media type, and its
    charset when it names one plainly), or None when it must stay a download."""
    media = archived_type.split(";", 1)[0].strip().lower()
    if media not in DISPLAYABLE_TYPES:
        return None
    charset = _CHARSET.search(archived_type)
    return f"{media}; charset={charset.group(1)}" if charset else media


def display_response(capture: Capture, payload: bytes, *, max_bytes: int) -> Response:
    """The archived body shown in the browser as its own media type (see
    `DISPLAYABLE_TYPES`), sandboxed by `DISPLAY_CSP`; any other body is the download of
    `raw_response`. A body sent with a Content-Encoding is decoded here, within
    `max_bytes` (a bomb or an encoding we cannot undo stays a download), since
    browsers undo only some encodings, and brotli only over HTTPS.
    `X-Payload-SHA256` stays the digest of the payload as archived."""
    archived_type = _archived_header(capture, "content-type")
    media = displayable_type(archived_type)
    if media is None:
        return raw_response(capture, payload)
    encoding = _archived_header(capture, "content-encoding")
    body = payload
    if encoding:
        decoded = decode_bounded(payload, [encoding.encode("ascii")], max_bytes)
        if decoded.over or decoded.error or decoded.kept_encodings:
            return raw_response(capture, payload)
        body = decoded.body
    extra = {"X-Archived-Content-Encoding": encoding} if encoding else {}
    return Response(
        body,
        # Set as a header, not as media_type: Starlette would add `charset=utf-8` to a
        # text type that names none, overriding the page's own `<meta charset>`.
        headers={
            **extra,
            "Content-Type": media,
            "Content-Disposition": f'inline; filename="capture-{capture.id}.{_extension(media)}"',
            "Content-Security-Policy": DISPLAY_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Referrer-Policy": "no-referrer",
            "X-Archived-Content-Type": archived_type,
            "X-Payload-SHA256": hashlib.sha256(payload).hexdigest(),
        },
    )


def _extension(media: str) -> str:
    sub = media.split(";", 1)[0].split("/", 1)[1]
    return {"xhtml+xml": "xhtml", "plain": "txt", "jpeg": "jpg"}.get(sub, sub)


def raw_response(capture: Capture, payload: bytes) -> Response:
    archived_type = _archived_header(capture, "content-type")
    encoding = _archived_header(capture, "content-encoding")
    ext = "html" if "html" in archived_type.lower() and not encoding else "bin"
    extra = {"X-Archived-Content-Encoding": encoding} if encoding else {}
    return Response(
        payload,
        media_type="application/octet-stream",
        headers={
            **extra,
            "Content-Disposition": f'attachment; filename="capture-{capture.id}.{ext}"',
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
            "X-Archived-Content-Type": archived_type,
            "X-Payload-SHA256": hashlib.sha256(payload).hexdigest(),
        },
    )


@router.get("/{capture_id}", response_model=CaptureOut, responses=NOT_FOUND)
def capture_route(capture_id: CaptureId, session: SessionDep) -> CaptureOut:
    """What was recorded about one fetch: URLs, redirects, status, headers, WARC place,
    payload hashes, its place in the transparency log, outcome."""
    return load_capture(session, capture_id)


@router.get(
    "/{capture_id}/raw",
    response_class=Response,
    responses={
        **NOT_FOUND,
        **UNAVAILABLE,
        200: {
            "description": "The archived body as a download; never rendered on this origin.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
    },
)
def raw_route(capture_id: CaptureId, session: SessionDep, warc: WarcDep) -> Response:
    """The archived bytes of one fetch, as an attachment (see the module docstring)."""
    capture, payload = read_payload(session, warc, capture_id)
    return raw_response(capture, payload)
