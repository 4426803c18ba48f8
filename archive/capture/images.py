"""The article's images fetched with one capture: what they show (`observed_images`:
each image's hash, a 304 taking the one of its previous fetch), their WARC records
(`store_images`: a response, or a revisit when the bytes are those of the image's
previous fetch; nothing for a 304), and where the next check finds their validators
and hashes (`previous_images`: the entries of the capture that last fetched the
current version's images, `Capture.detail["images"]`, which its log leaf commits to).

Images are not fetched with every check: an unchanged page (a 304, or the bytes its
version was captured with) leaves them alone until `images_due` says their last fetch
is older than the image interval. Such a capture names the capture whose entries still
stand for the version's images (`detail["images_from"]`, one hop, committed to by its
leaf), so the next fetch finds their validators and hashes.

Must not: judge whether the pictures changed (`archive.content.edit_images` does), or
fetch anything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from archive.capture.exchange import ImageFetch
from archive.content.image_entries import ArticleImage
from archive.store.models import Article, Capture, Version
from archive.warc.records import WarcStore, sha1_base32, warc_date

log = logging.getLogger(__name__)


def images_capture_of(detail: Any) -> int | None:
    """The capture whose image entries a capture's `detail` stands on: None when it
    holds entries itself or names none."""
    if not isinstance(detail, dict) or isinstance(detail.get("images"), list):
        return None
    pointer = detail.get("images_from")
    return pointer if isinstance(pointer, int) and not isinstance(pointer, bool) else None


def images_capture(session: Session, article: Article | None) -> Capture | None:
    """The capture that last fetched the images of the article's current version: the
    last capture that saw the version, or the one it names (`detail["images_from"]`);
    None for a new article or one whose images were never fetched."""
    if article is None or article.current_version_id is None:
        return None
    version = session.get(Version, article.current_version_id)
    if version is None:
        return None
    capture = session.get(Capture, version.last_capture_id)
    if capture is None:
        return None
    pointer = images_capture_of(capture.detail)
    if pointer is not None:
        capture = session.get(Capture, pointer)
    if capture is None or not isinstance((capture.detail or {}).get("images"), list):
        return None
    return capture


def previous_images(session: Session, article: Article | None) -> dict[str, dict[str, Any]]:
    """The image entries of the capture that last fetched the images of the article's
    current version, by address (empty for a new article or one whose images were
    never fetched)."""
    capture = images_capture(session, article)
    entries = (capture.detail or {}).get("images") if capture is not None else None
    if not isinstance(entries, list):
        return {}
    return {e["src"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("src"), str)}


def images_due(refs: Sequence[dict[str, Any]], at: datetime, every: timedelta) -> bool:
    """Whether a check at `at` of a page that did not change fetches the version's
    images again: when one of them was never fetched (`fetched_at` None) or the last
    fetch is `every` old. A photo swapped under its address is found within `every`."""
    for ref in refs:
        fetched = ref.get("fetched_at")
        if not isinstance(fetched, datetime) or at - fetched >= every:
            return True
    return False


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
    *,
    page_record_id: str = "",
) -> list[dict[str, Any]]:
    """Write each image exchange that got a response to the WARC, each record
    `WARC-Concurrent-To` the page's record (`page_record_id`, its WARC-Record-ID); the
    entries the capture keeps (`Capture.detail["images"]`)."""
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
        if ex.status == 304:
            # No record: a 304 has no bytes, so a record of it would prove nothing about
            # the picture. The entry stands for the bytes of the previous fetch: their
            # digest and the record that holds them, which `verify` re-reads.
            before = previous.get(fetch.src) or {}
            for key in ("sha256", "length", "warc", "ref"):
                entry[key] = before.get(key)
        elif ex.status is not None:
            payload = ex.payload
            sha = hashlib.sha256(payload).hexdigest() if ex.status == 200 else None
            entry["sha256"] = sha
            entry["length"] = len(payload)
            entry["cut"] = bool(ex.transmitted_cut or ex.error == "too_large")
            entry["warc"], entry["ref"] = _write(
                warc, fetch, sha, previous.get(fetch.src) or {}, page_record_id
            )
        # Every unchanged recheck stores these (row and log leaf): what is empty, or
        # the address again, is left out.
        if entry.get("url") == entry["src"]:
            del entry["url"]
        entries.append({k: v for k, v in entry.items() if v not in (None, False)})
    return entries


def _write(
    warc: WarcStore, fetch: ImageFetch, sha: str | None, before: dict[str, Any], page: str
) -> tuple[dict[str, Any], list[str]]:
    """The record's location, and the URI and date a later revisit refers to."""
    ex = fetch.exchange
    assert ex.status is not None
    common: dict[str, Any] = {
        "concurrent_to": page or None,
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
