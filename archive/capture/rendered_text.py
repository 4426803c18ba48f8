"""The text of a `render = true` source's page: read from the DOM the browser rendered,
not from the bytes the server sent (a JavaScript-built outlet sends an empty shell).

Evidence still holds: the server's response is recorded as for any fetch, the rendered
DOM is recorded as the rendering's own WARC record (archive.capture.render_record) in the
same transaction, and the fetch's capture names the DOM's SHA-256 in its detail
(`text_from`), which its leaf commits to. So the version's text can be derived again
from recorded bytes: the DOM record of the capture's rendering, checked against that
digest (`rendered_dom_of`, used by rule 8's re-extraction).

Only a rendering that ended `rendered` is read: a page cut off, killed or never started
gives an extraction of kind `failed` (kept, not read, judged again next check), never
the shell's text and never a half-built page read as an edit.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.exchange import Exchange, extract_exchange
from archive.capture.rendering import Rendering, RenderOutcome
from archive.content.extract import Extracted, failed_extraction
from archive.errors import StorageError
from archive.store.models import Capture
from archive.store.rendering_tables import Rendering as RenderingRow
from archive.warc.records import WarcStore

# The DOM is text the browser serialized: UTF-8 HTML whatever the page's own charset.
RENDERED_CONTENT_TYPE = "text/html; charset=utf-8"


def dom_bytes(rendering: Rendering) -> bytes | None:
    """The rendered DOM as the WARC records it (UTF-8), or None."""
    return rendering.dom_html.encode() if rendering.dom_html is not None else None


def extract_rendered(
    exchange: Exchange, rendering: Rendering, max_body_bytes: int
) -> Extracted | None:
    """The page's extraction from its rendered DOM (None when the fetch has nothing to
    extract, as `extract_exchange`); `failed` when the rendering gave no usable DOM."""
    if exchange.status is None or not (200 <= exchange.status < 300) or exchange.error:
        return None
    dom = dom_bytes(rendering)
    if rendering.outcome is not RenderOutcome.RENDERED or dom is None or rendering.dom_truncated:
        why = "its DOM was cut at the body limit" if rendering.dom_truncated else rendering.reason
        return failed_extraction(
            f"render = true: the rendering ended {rendering.outcome.value} ({why}); not read"
        )
    as_dom = replace(
        exchange,
        body=dom,
        headers=(("Content-Type", RENDERED_CONTENT_TYPE),),
        transmitted=None,
        transmitted_cut=False,
    )
    return extract_exchange(as_dom, max_body_bytes)


def text_from_detail(rendering: Rendering) -> dict[str, Any]:
    """What the fetch's capture says of where its text came from (`detail.text_from`)."""
    dom = dom_bytes(rendering)
    return {
        "rendering": rendering.outcome.value,
        "dom_sha256": hashlib.sha256(dom).hexdigest() if dom is not None else None,
    }


def rendered_dom_of(session: Session, warc: WarcStore, capture: Capture) -> bytes | None:
    """The rendered DOM a capture's text was read from, as recorded and checked against
    the digest its detail commits to; None when its text came from its own bytes."""
    text_from = (capture.detail or {}).get("text_from")
    if not isinstance(text_from, dict) or not text_from.get("dom_sha256"):
        return None
    row = session.scalars(select(RenderingRow).where(RenderingRow.capture_id == capture.id)).first()
    if row is None or row.warc_file is None or row.dom_offset is None or row.dom_length is None:
        raise StorageError(f"capture {capture.id} was read from a rendering that is not recorded")
    dom = warc.read_record(row.warc_file, row.dom_offset, row.dom_length).payload
    if hashlib.sha256(dom).hexdigest() != text_from["dom_sha256"]:
        raise StorageError(
            f"the rendered DOM of capture {capture.id} does not match its SHA-256: run "
            "`presswatch verify`"
        )
    return dom
