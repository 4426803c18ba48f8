"""The article's images fetched with one capture: what they show (`observed_images`:
each image's hash, a 304 taking the one of its previous fetch), their WARC records
(`store_images`: a response, or a revisit when the bytes are those of the image's
previous fetch), and where the next check finds their validators and hashes
(`previous_images`: the entries of the last capture that saw the article's current
version, `Capture.detail["images"]`, which the capture's log leaf commits to).

Must not: judge whether the pictures changed (`archive.content.edit_images` does), or
fetch anything.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy.orm import Session

from archive.capture.exchange import ImageFetch
from archive.content.image_entries import ArticleImage
from archive.store.models import Article, Capture, Version
from archive.warc.records import WarcStore, sha1_base32, warc_date

log = logging.getLogger(__name__)


def previous_images(session: Session, article: Article | None) -> dict[str, dict[str, Any]]:
    """The image entries of the last capture that saw the article's current version,
    by address (empty for a new article or one whose images were never fetched)."""
    if article is None or article.current_version_id is None:
        return {}
    version = session.get(Version, article.current_version_id)
    if version is None:
        return {}
    capture = session.get(Capture, version.last_capture_id)
    entries = (capture.detail or {}).get("images") if capture is not None else None
    if not isinstance(entries, list):
        return {}
    return {e["src"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("src"), str)}


def observed_images(
    fetches: tuple[ImageFetch, ...], previous: dict[str, dict[str, Any]]
) -> tuple[ArticleImage, ...]:
    """What the capture's images show: the crawler's hash of a 200, the previous hash
    for a 304, else no hash and why."""
    out = []
    for fetch in fetches:
        status = fetch.exchange.status
        phash, reason = fetch.phash, fetch.reason
        if status == 304:
            before = previous.get(fetch.src) or {}
            phash = before.get("phash") if isinstance(before.get("phash"), str) else None
            reason = None if phash is not None else "not modified; never hashed"
        elif status is None:
            phash, reason = None, fetch.exchange.error or "not fetched"
        elif status != 200:
            phash, reason = None, f"HTTP {status}"
        out.append(ArticleImage(fetch.src, fetch.alt, fetch.caption, phash, reason))
    return tuple(out)


def store_images(
    warc: WarcStore,
    fetches: tuple[ImageFetch, ...],
    seen: tuple[ArticleImage, ...],
    previous: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Write each image exchange that got a response to the WARC; the entries the
    capture keeps (`Capture.detail["images"]`)."""
    entries = []
    for fetch, image in zip(fetches, seen, strict=True):
        ex = fetch.exchange
        entry: dict[str, Any] = {
            "src": fetch.src,
            "url": ex.final_url,
            "status": ex.status,
            "error": ex.error,
            "phash": image.phash,
            "reason": image.reason,
            "etag": ex.header("etag"),
            "last_modified": ex.header("last-modified"),
        }
        if ex.status is not None:
            payload = ex.payload
            sha = hashlib.sha256(payload).hexdigest() if ex.status == 200 else None
            entry["sha256"] = sha
            entry["length"] = len(payload)
            entry["cut"] = bool(ex.transmitted_cut or ex.error == "too_large")
            entry["warc"], entry["ref"] = _write(warc, fetch, sha, previous.get(fetch.src) or {})
            if ex.status == 304:
                # It stands for the bytes of the previous fetch, and for its record.
                before = previous.get(fetch.src) or {}
                entry["sha256"], entry["ref"] = before.get("sha256"), before.get("ref")
        # Every unchanged recheck stores these (row and log leaf): what is empty, or
        # the address again, is left out.
        if entry.get("url") == entry["src"]:
            del entry["url"]
        entries.append({k: v for k, v in entry.items() if v not in (None, False)})
    return entries


def _write(
    warc: WarcStore, fetch: ImageFetch, sha: str | None, before: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The record's location, and the URI and date a later revisit refers to."""
    ex = fetch.exchange
    assert ex.status is not None
    common: dict[str, Any] = {
        "url": ex.final_url,
        "fetched_at": ex.fetched_at,
        "status": ex.status,
        "reason": ex.reason,
        "headers": list(ex.headers),
        "request_headers": list(ex.request_headers),
    }
    refers = before.get("ref")
    if sha is not None and sha == before.get("sha256") and isinstance(refers, list):
        # The same bytes as last time: a revisit naming that record, not a copy.
        location = warc.write_revisit(
            **common,
            refers_to_uri=str(refers[0]),
            refers_to_date=str(refers[1]),
            refers_to_record=None,
            payload_digest=sha1_base32(ex.payload),
        )
        ref = refers
    else:
        cut = ex.transmitted_cut or (ex.transmitted is None and ex.error == "too_large")
        location = warc.write_response(
            **common, body=ex.payload, truncated="length" if cut else None
        )
        ref = [ex.final_url, warc_date(ex.fetched_at)]
    where = {
        "file": location.file,
        "offset": location.offset,
        "length": location.length,
        "type": location.warc_type,
        "record_sha256": location.record_sha256,
    }
    return where, [str(r) for r in ref]
