"""Whether two versions show different pictures, and the evidence of `images_changed`.

Pure. Images are matched by address first:

- same address, both hashed, hashes more than `PHASH_MAX_DISTANCE` bits apart: the
  photo was **replaced** under its address (re-encoding or resizing stays within it);
- an address only in the old version: **removed**, unless one of the new version's
  new addresses shows the same picture (within the threshold): then it only moved
  (a CDN renaming its files is no edit); the same for **added**.

An image with no hash on either side (not fetched, refused, undecodable) is judged by
its address alone: it can be removed or added, never replaced. A side whose images are
unknown (None: a version recorded before images were kept, or a capture whose images
were not looked at) is never compared: an upgrade must not read as a wave of edits
(design rule 8).
"""

from __future__ import annotations

from typing import Any

from archive.content.image_entries import ArticleImage
from archive.content.image_hash import PHASH_MAX_DISTANCE, phash_distance

__all__ = ["images_changed", "images_differ"]


def _same_picture(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    distance = phash_distance(a, b)
    return distance is not None and distance <= PHASH_MAX_DISTANCE


def _entry(image: ArticleImage) -> dict[str, Any]:
    return {"src": image.src, "alt": image.alt, "phash": image.phash}


def images_changed(
    old: tuple[ArticleImage, ...] | None, new: tuple[ArticleImage, ...] | None
) -> dict[str, Any] | None:
    """The `images_changed` class (``removed``, ``added``, ``replaced``), or None when
    the pictures are the same or either side is unknown."""
    if old is None or new is None:
        return None
    old_by_src = {image.src: image for image in old}
    new_by_src = {image.src: image for image in new}
    replaced = []
    for src, before in old_by_src.items():
        after = new_by_src.get(src)
        if after is None or before.phash is None or after.phash is None:
            continue
        if not _same_picture(before.phash, after.phash):
            replaced.append(
                {
                    "src": src,
                    "alt": after.alt or before.alt,
                    "old_alt": before.alt,
                    "old_phash": before.phash,
                    "new_phash": after.phash,
                    "distance": phash_distance(before.phash, after.phash),
                }
            )
    gone = [image for src, image in old_by_src.items() if src not in new_by_src]
    fresh = [image for src, image in new_by_src.items() if src not in old_by_src]
    # A picture that only changed address is the same picture: pair them off.
    moved_new: set[int] = set()
    removed = []
    for before in gone:
        match = next(
            (
                i
                for i, after in enumerate(fresh)
                if i not in moved_new and _same_picture(before.phash, after.phash)
            ),
            None,
        )
        if match is None:
            removed.append(_entry(before))
        else:
            moved_new.add(match)
    added = [_entry(after) for i, after in enumerate(fresh) if i not in moved_new]
    if not (removed or added or replaced):
        return None
    return {"class": "images_changed", "removed": removed, "added": added, "replaced": replaced}


def images_differ(
    old: tuple[ArticleImage, ...] | None, new: tuple[ArticleImage, ...] | None
) -> bool:
    """True when the two sides show different pictures (`images_changed` finds some)."""
    return images_changed(old, new) is not None
