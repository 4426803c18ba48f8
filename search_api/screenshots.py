"""A version's screenshot as the pages read it, and the pixel diff of two of them, made
once and kept on disk.

`stored_screenshot` is the one place the pages ask for a version's screenshot (the
browser rendering's, archive.capture); it answers None for a version that has none.
`screenshot_diff` compares two with `archive.views.diff_screenshots` the first time a
page needs them and keeps the result (both marked PNGs and the regions, or the
refusal) in `DATA_DIR/cache/screenshot-diffs/<method>/<old sha256>-<new sha256>/`,
keyed by the two screenshots' digests and the method's version: a page view after the
first reads files (design rule 11), and the same two screenshots under any article or
version number share one entry. Deleting the directory only costs recomputation.

At most one diff is computed at a time in a process (one costs up to about half a GB
at the size limits), and a cache that cannot be written is reported in the log and the
diff shown anyway.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from archive.capture import screenshot_png, version_rendering
from archive.errors import NotFound, ScreenshotRefused, StorageError
from archive.store import version_by_n
from archive.views import DIFF_METHOD, Region, diff_screenshots
from archive.warc import WarcStore

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ONE_AT_A_TIME = threading.Lock()
SIDES = ("old", "new")


@dataclass(frozen=True, slots=True)
class VersionScreenshot:
    """A version's full-page PNG: its SHA-256 (the cache's key) and how to read it."""

    sha256: str
    read_png: Callable[[], bytes]


def stored_screenshot(
    session: Session, warc: WarcStore, article_id: int, n: int
) -> VersionScreenshot | None:
    """The screenshot of version `n` of the article (the first browser rendering of a
    fetch that made it, `archive.capture.version_rendering`), or None: no such version,
    no rendering, or a rendering cut off before its screenshot. Its bytes are read, and
    checked against the digest the log commits to, only when a diff is computed."""
    try:
        version = version_by_n(session, article_id, n)
    except NotFound:
        return None
    row = version_rendering(session, version.id)
    if row is None or row.screenshot_sha256 is None:
        return None
    digest = row.screenshot_sha256

    def read_png() -> bytes:
        png = screenshot_png(warc, row)
        if png is None:
            raise StorageError(f"rendering {row.id} names a screenshot its WARC place lacks")
        return png

    return VersionScreenshot(digest, read_png)


ScreenshotFinder = Callable[[Session, WarcStore, int, int], "VersionScreenshot | None"]


@dataclass(frozen=True, slots=True)
class ShownDiff:
    """What the diff page shows of two screenshots: the regions, or why there are none."""

    old_size: tuple[int, int]
    new_size: tuple[int, int]
    changed: tuple[Region, ...]
    only_old: tuple[Region, ...]
    only_new: tuple[Region, ...]
    changed_fraction: float
    refused: str | None = None

    @property
    def identical(self) -> bool:
        return self.refused is None and not (self.changed or self.only_old or self.only_new)


def cache_dir(data_dir: Path) -> Path:
    return data_dir / "cache" / "screenshot-diffs" / DIFF_METHOD


def _entry(root: Path, old: VersionScreenshot, new: VersionScreenshot) -> Path:
    for shot in (old, new):
        if not _HEX64.match(shot.sha256):
            raise ValueError(f"screenshot digest {shot.sha256[:80]!r} is not a SHA-256")
    return root / f"{old.sha256}-{new.sha256}"


def screenshot_diff(root: Path, old: VersionScreenshot, new: VersionScreenshot) -> ShownDiff:
    """The diff of two screenshots from the cache at `root`, computed and stored the
    first time."""
    entry = _entry(root, old, new)
    shown = _read(entry)
    if shown is not None:
        return shown
    with _ONE_AT_A_TIME:
        shown = _read(entry)  # computed by another request while this one waited
        if shown is not None:
            return shown
        return _compute(entry, old, new)


def marked_png(
    root: Path, old: VersionScreenshot, new: VersionScreenshot, side: str
) -> bytes | None:
    """One side's screenshot with the changed regions marked (computed if the cache
    lost it), or None when the diff was refused."""
    if side not in SIDES:
        raise ValueError(f"side {side[:20]!r}: old or new")
    entry = _entry(root, old, new)
    shown = screenshot_diff(root, old, new)
    if shown.refused is not None:
        return None
    path = entry / f"{side}.png"
    try:
        return path.read_bytes()
    except OSError:
        # Cleared, or the cache is unwritable: compute again (serialised as above).
        with _ONE_AT_A_TIME:
            diff = diff_screenshots(old.read_png(), new.read_png())
        return diff.old_marked_png if side == "old" else diff.new_marked_png


def _read(entry: Path) -> ShownDiff | None:
    try:
        data = json.loads((entry / "regions.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None  # not made yet (or no cache directory: `_compute` says so)
    except (OSError, ValueError) as exc:
        log.warning("screenshot diff cache %s unreadable (%s); computing it again", entry, exc)
        return None

    def regions(key: str) -> tuple[Region, ...]:
        return tuple(Region(*(int(v) for v in box)) for box in data[key])

    try:
        return _shown(data, regions)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        log.warning("screenshot diff cache %s malformed (%s); computing it again", entry, exc)
        return None


def _shown(data: dict[str, Any], regions: Callable[[str], tuple[Region, ...]]) -> ShownDiff:
    return ShownDiff(
        old_size=(int(data["old_size"][0]), int(data["old_size"][1])),
        new_size=(int(data["new_size"][0]), int(data["new_size"][1])),
        changed=regions("changed"),
        only_old=regions("only_old"),
        only_new=regions("only_new"),
        changed_fraction=float(data["changed_fraction"]),
        refused=data.get("refused"),
    )


def _compute(entry: Path, old: VersionScreenshot, new: VersionScreenshot) -> ShownDiff:
    files: dict[str, bytes] = {}
    try:
        diff = diff_screenshots(old.read_png(), new.read_png())
    except ScreenshotRefused as exc:
        shown = ShownDiff((0, 0), (0, 0), (), (), (), 0.0, refused=str(exc))
    else:
        shown = ShownDiff(
            diff.old_size,
            diff.new_size,
            diff.changed,
            diff.only_old,
            diff.only_new,
            diff.changed_fraction,
        )
        files = {"old.png": diff.old_marked_png, "new.png": diff.new_marked_png}
    record = {
        "old_size": shown.old_size,
        "new_size": shown.new_size,
        "changed": [_box(r) for r in shown.changed],
        "only_old": [_box(r) for r in shown.only_old],
        "only_new": [_box(r) for r in shown.only_new],
        "changed_fraction": shown.changed_fraction,
        "refused": shown.refused,
    }
    files["regions.json"] = json.dumps(record).encode()  # last: it marks the entry whole
    try:
        entry.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            partial = entry / f".{name}.{os.getpid()}.{threading.get_ident()}"
            partial.write_bytes(data)
            os.replace(partial, entry / name)
    except OSError as exc:
        log.warning("screenshot diff not cached in %s: %s", entry, exc)
    return shown


def _box(region: Region) -> list[int]:
    return [region.left, region.top, region.right, region.bottom]
