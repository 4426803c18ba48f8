"""The entry a version stores for each of its images, and its JSON form (what
`history --json`, the API and the log leaf carry). Light on purpose: no lxml or Pillow,
so reading versions does not load the image finder or the hasher."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["ArticleImage", "images_from_json", "images_sha256", "images_to_json"]


@dataclass(frozen=True, slots=True)
class ArticleImage:
    """One image as a version stores it: its reference and the perceptual hash of the
    bytes fetched for it (`archive.content.image_hash`), or None with `reason` (not
    fetched, refused, not an image, too large…)."""

    src: str
    alt: str
    caption: str
    phash: str | None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "alt": self.alt,
            "caption": self.caption,
            "phash": self.phash,
            "reason": self.reason,
        }


def images_to_json(images: tuple[ArticleImage, ...] | None) -> list[dict[str, Any]] | None:
    return None if images is None else [image.as_json() for image in images]


def images_from_json(value: Any) -> tuple[ArticleImage, ...] | None:
    """A version's stored images; None (unknown) for a version recorded before images
    were kept, or a value that is not a list."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("src"), str):
            phash = item.get("phash")
            out.append(
                ArticleImage(
                    src=item["src"],
                    alt=str(item.get("alt") or ""),
                    caption=str(item.get("caption") or ""),
                    phash=phash if isinstance(phash, str) else None,
                    reason=item.get("reason") if isinstance(item.get("reason"), str) else None,
                )
            )
    return tuple(out)


def images_sha256(value: list[dict[str, Any]]) -> str:
    """Digest of a version's stored images (canonical JSON), for its log leaf."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
