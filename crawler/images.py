"""Fetching an article's images with its capture, through Scrapy's engine.

Each image is requested with `crawler.engine.download_async`, as Scrapy's own media
pipelines do: the request goes through the downloader and its middlewares, so the
egress policy (an `<img>` pointing at an internal address is refused and never sent),
robots.txt, the per-host politeness, retries and the body-size limit apply as to any
article; it skips the scheduler and the spider, so it is never deduplicated or
recorded as an article. Redirects are followed by hand (the crawler's redirect
middleware is off), each hop going through the policy again.

A recheck asks conditionally (If-None-Match / If-Modified-Since from the image's last
fetch), so an unchanged photo costs a 304. A 200's bytes are hashed off the reactor
thread, in the crawl's extraction pool when there is one
(`archive.content.image_hash.hash_image`, bounded in bytes and pixels). A failure is a
fetch with an error, never an exception: one image must not cost the capture.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.capture import Exchange, ImageFetch, RedirectHop
from archive.content import ImageHash, hash_image
from archive.egress import ALLOWED_SCHEMES
from crawler.context import CrawlContext
from crawler.failures import failure_kind
from crawler.middlewares import RobotsForbidden

log = logging.getLogger(__name__)

# Bytes of one image kept and hashed; a larger one is cut (recorded, not hashed).
IMAGE_MAX_BYTES = 10_000_000
IMAGE_MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    def text(value: Any) -> str:
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)

    return tuple((text(k), text(v)) for k, values in headers.items() for v in values)


class ImageFetcher:
    """Fetches the images of one capture; built by the pipeline."""

    def __init__(self, crawler: Crawler, ctx: CrawlContext) -> None:
        self.crawler = crawler
        self.ctx = ctx

    async def fetch_all(
        self,
        refs: Sequence[dict[str, Any]],
        *,
        source: str,
        min_delay_s: float | None = None,
    ) -> tuple[ImageFetch, ...]:
        """Each of `refs` (`src`, `alt`, `caption`, and `etag` / `last_modified` of its
        last fetch), fetched; in the same order."""
        return tuple(await asyncio.gather(*(self._fetch(ref, source, min_delay_s) for ref in refs)))

    async def _fetch(
        self, ref: dict[str, Any], source: str, min_delay_s: float | None
    ) -> ImageFetch:
        src = str(ref["src"])
        alt, caption = str(ref.get("alt") or ""), str(ref.get("caption") or "")
        headers = {"User-Agent": self.ctx.user_agent, "Accept": "image/*"}
        if ref.get("etag"):
            headers["If-None-Match"] = str(ref["etag"])
        if ref.get("last_modified"):
            headers["If-Modified-Since"] = str(ref["last_modified"])
        url, hops = src, []
        while True:
            request = Request(
                url,
                headers=headers,
                dont_filter=True,
                meta={
                    "handle_httpstatus_all": True,
                    "pw_source": source,
                    "pw_min_delay_s": min_delay_s,
                    "pw_max_body": IMAGE_MAX_BYTES,
                },
            )
            try:
                assert self.crawler.engine is not None
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:  # boundary: one image must not cost the capture
                return self._failed(src, url, alt, caption, hops, request, exc)
            location = response.headers.get(b"Location")
            if response.status in _REDIRECTS and location and len(hops) < IMAGE_MAX_REDIRECTS:
                target = urljoin(url, location.decode("latin-1").strip())
                if urlsplit(target).scheme in ALLOWED_SCHEMES:
                    hops.append(RedirectHop(url=url, status=response.status, location=target))
                    headers.pop("If-None-Match", None)  # validators belong to the first URL
                    headers.pop("If-Modified-Since", None)
                    url = target
                    continue
            return await self._fetched(src, alt, caption, hops, response)

    async def _fetched(
        self,
        src: str,
        alt: str,
        caption: str,
        hops: list[RedirectHop],
        response: Response,
    ) -> ImageFetch:
        meta = response.meta
        cut = bool(meta.get("pw_truncated"))
        sent = meta.get("pw_sent_headers")
        try:
            reason = http.HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        request = response.request
        exchange = Exchange(
            requested_url=src,
            final_url=response.url,
            fetched_at=self._now(),
            status=response.status,
            headers=_pairs(response.headers) if sent is None else _pairs_list(sent),
            body=response.body,
            transmitted=meta.get("pw_transmitted"),
            transmitted_cut=bool(meta.get("pw_transmitted_cut")),
            redirects=tuple(hops),
            error="too_large" if cut else None,
            reason=reason,
            request_headers=_pairs(request.headers) if request is not None else (),
        )
        if response.status != 200:
            return ImageFetch(src, alt, caption, exchange)
        if cut:
            return ImageFetch(src, alt, caption, exchange, None, "too large: not hashed")
        found = await self._hash(response.body)
        return ImageFetch(src, alt, caption, exchange, found.phash, found.reason)

    async def _hash(self, body: bytes) -> ImageHash:
        pool = self.ctx.extract_pool()
        if pool is not None:
            try:
                found: ImageHash = await asyncio.wrap_future(
                    pool.submit(partial(hash_image, max_bytes=IMAGE_MAX_BYTES), body)
                )
                return found
            except Exception as exc:  # boundary: a worker lost on it; no hash, no loss
                log.warning("hashing an image failed in its worker: %r", exc)
                return ImageHash(None, f"hashing failed ({type(exc).__name__})")
        return await asyncio.to_thread(hash_image, body, max_bytes=IMAGE_MAX_BYTES)

    def _failed(
        self,
        src: str,
        url: str,
        alt: str,
        caption: str,
        hops: list[RedirectHop],
        request: Request,
        exc: Exception,
    ) -> ImageFetch:
        kind = "robots_forbidden" if isinstance(exc, RobotsForbidden) else failure_kind(exc)
        log.info("image %s not fetched: %s (%s)", url, kind, exc)
        self.ctx.counters.add(f"images.{kind}")
        exchange = Exchange(
            requested_url=src,
            final_url=url,
            fetched_at=self._now(),
            status=None,
            redirects=tuple(hops),
            error=kind,
            error_detail=f"{type(exc).__name__}: {exc}"[:500],
            request_headers=_pairs(request.headers),
        )
        return ImageFetch(src, alt, caption, exchange, None, kind)

    def _now(self) -> datetime:
        return self.ctx.now() if self.ctx.now is not None else datetime.now(UTC)


def _pairs_list(pairs: Any) -> tuple[tuple[str, str], ...]:
    def text(value: Any) -> str:
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)

    return tuple((text(k), text(v)) for k, v in pairs)
