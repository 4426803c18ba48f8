"""Where two screenshots of a page differ: the changed regions, merged into a few boxes,
and each screenshot drawn with them marked, for the diff page.

Pure and bounded: PNG bytes in, boxes and PNG bytes out; no database, file or clock.
A screenshot comes from a page its outlet controls, so it may be huge or malformed:
the bytes, width, height and pixel count are checked from the PNG header before a pixel
is decoded (Pillow's own decompression-bomb guard only warns past 89 million pixels
and raises past twice that), and a refusal is a `ScreenshotRefused` naming the side
and the limit. Within the limits the work is linear in the pixels: Pillow's C routines
compare and draw the images; Python only walks the runs of changed cells in a grid 16
times smaller each way.

Pillow's ImageChops rather than `pixelmatch` (PyPI, 0.3.0): pixelmatch's anti-aliasing
detection and perceptual colour metric are finer, but it is pure Python, a loop per
pixel, and a full-page screenshot has tens of millions of pixels. Two screenshots of
one page by one browser are identical pixel for pixel where nothing changed, so a small
per-channel threshold is enough, and Pillow is already what reads the PNGs.

How: the two images are laid top-left on top-left; in the area both cover, a pixel
changed when a colour channel moved by more than `CHANNEL_THRESHOLD`. Changed pixels
are counted per cell of `CELL` px; cells within one cell of each other join (a
dilation), touching cells form regions, and the regions' boxes are merged until at most
`MAX_BOXES` are left (those nearest one another first, top to bottom). What only one
screenshot has (the taller page's bottom, the wider one's right side) is its own box,
on that side only.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archive.errors import ScreenshotRefused

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "CELL",
    "CHANNEL_THRESHOLD",
    "MAX_BOXES",
    "MAX_HEIGHT",
    "MAX_PIXELS",
    "MAX_PNG_BYTES",
    "MAX_WIDTH",
    "Region",
    "ScreenshotDiff",
    "diff_screenshots",
]

# A full-page screenshot is the viewport's width (about 1280 px) by the page's height.
# These let a very long article through (1280 × 19,500) and refuse what only a hostile
# page makes; two RGB images of MAX_PIXELS are 150 MB while compared.
MAX_PNG_BYTES = 50_000_000
MAX_WIDTH = 4_096
MAX_HEIGHT = 32_768
MAX_PIXELS = 25_000_000
# A channel moving by more than this (of 255) is a change; less is rendering noise.
CHANNEL_THRESHOLD = 16
CELL = 16
MAX_BOXES = 8
# Version of the method: a cache of diffs keys on it, so a change here recomputes them.
DIFF_METHOD = "pillow-cells-1"
_MARK_RGB = (214, 0, 122)
_OUTLINE_PX = 4
_TINT = 0.25
_RUN = re.compile(rb"[^\x00]+")


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle in pixels, `right` and `bottom` exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def area(self) -> int:
        return (self.right - self.left) * (self.bottom - self.top)

    def union(self, other: Region) -> Region:
        return Region(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )


@dataclass(frozen=True, slots=True)
class ScreenshotDiff:
    """What changed between two screenshots, and both drawn with it marked.

    `changed` lies in the area both screenshots cover; `only_old` and `only_new` are
    what one of them has beyond the other's edge. `changed_fraction` is the share of
    the common area's pixels that changed (0 when none did)."""

    old_size: tuple[int, int]
    new_size: tuple[int, int]
    changed: tuple[Region, ...]
    only_old: tuple[Region, ...]
    only_new: tuple[Region, ...]
    changed_fraction: float
    old_marked_png: bytes
    new_marked_png: bytes

    @property
    def identical(self) -> bool:
        return not (self.changed or self.only_old or self.only_new)


def diff_screenshots(old_png: bytes, new_png: bytes) -> ScreenshotDiff:
    """Compare two PNG screenshots (sizes may differ) and mark what changed on each.
    Raises `ScreenshotRefused` for a screenshot that is unreadable or over a limit."""
    old = _load(old_png, "old")
    new = _load(new_png, "new")
    width = min(old.width, new.width)
    height = min(old.height, new.height)
    changed, fraction = _changed_boxes(old, new, width, height)
    only_old = _beyond(old.size, width, height)
    only_new = _beyond(new.size, width, height)
    return ScreenshotDiff(
        old_size=old.size,
        new_size=new.size,
        changed=changed,
        only_old=only_old,
        only_new=only_new,
        changed_fraction=fraction,
        old_marked_png=_marked(old, changed + only_old),
        new_marked_png=_marked(new, changed + only_new),
    )


def _load(data: bytes, side: str) -> Image:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if len(data) > MAX_PNG_BYTES:
        raise ScreenshotRefused(
            f"{side} screenshot: {len(data):,} bytes is over the {MAX_PNG_BYTES:,}-byte limit"
        )
    try:
        # open() reads the header only: the size is known before any pixel is decoded.
        image = PILImage.open(io.BytesIO(data), formats=["PNG"])
    except PILImage.DecompressionBombError as exc:
        raise ScreenshotRefused(
            f"{side} screenshot: over the limits ({MAX_PIXELS:,} pixels): {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ScreenshotRefused(f"{side} screenshot: not a readable PNG ({exc})") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ScreenshotRefused(f"{side} screenshot: empty ({width}×{height})")
    if width > MAX_WIDTH or height > MAX_HEIGHT or width * height > MAX_PIXELS:
        raise ScreenshotRefused(
            f"{side} screenshot: {width}×{height} px is over the limits "
            f"({MAX_WIDTH} wide, {MAX_HEIGHT} high, {MAX_PIXELS:,} pixels)"
        )
    try:
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Truncated or corrupt data (a bad CRC, a cut IDAT stream).
        raise ScreenshotRefused(f"{side} screenshot: broken PNG data ({exc})") from exc


def _changed_boxes(
    old: Image, new: Image, width: int, height: int
) -> tuple[tuple[Region, ...], float]:
    from PIL import Image as PILImage
    from PIL import ImageChops, ImageFilter

    area = (0, 0, width, height)
    # Crop copies the pixels: only the larger of two different sizes needs it.
    old_common = old if old.size == (width, height) else old.crop(area)
    new_common = new if new.size == (width, height) else new.crop(area)
    difference = ImageChops.difference(old_common, new_common)
    red, green, blue = difference.split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    mask = strongest.point([255 if v > CHANNEL_THRESHOLD else 0 for v in range(256)])
    histogram = mask.histogram()
    changed_pixels = histogram[255]
    if changed_pixels == 0:
        return (), 0.0
    # One grey level per cell: its share of changed pixels (the mask padded with
    # unchanged pixels to whole cells, then each cell averaged).
    cols = -(-width // CELL)
    rows = -(-height // CELL)
    padded = PILImage.new("L", (cols * CELL, rows * CELL), 0)
    padded.paste(mask, (0, 0))
    cells = padded.reduce(CELL)
    # A cell with any changed pixel counts; its neighbours join it so that a changed
    # paragraph is one region, not a box per word.
    cells = cells.point([0 if v == 0 else 255 for v in range(256)])
    grown = cells.filter(ImageFilter.MaxFilter(3))
    regions = _regions(grown.tobytes(), cols, rows)
    boxes = [
        Region(
            left * CELL,
            top * CELL,
            min(right * CELL, width),
            min(bottom * CELL, height),
        )
        for left, top, right, bottom in regions
    ]
    return tuple(_few(boxes, MAX_BOXES)), changed_pixels / (width * height)


def _regions(grid: bytes, cols: int, rows: int) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (in cells, right and bottom exclusive) of the 4-connected sets of
    non-zero cells. Works on runs of cells within a row (found by `re`, in C), joined to
    the runs they touch in the row above (union-find): linear in the runs, so a wholly
    changed page costs one run per row, not a visit per cell."""
    parent: list[int] = []
    boxes: list[list[int]] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above: list[tuple[int, int, int]] = []
    for y in range(rows):
        row: list[tuple[int, int, int]] = []
        k = 0
        for match in _RUN.finditer(grid, y * cols, (y + 1) * cols):
            start, end = match.start() - y * cols, match.end() - y * cols
            run = len(parent)
            parent.append(run)
            boxes.append([start, y, end, y + 1])
            # Runs above that overlap this one; both lists are in column order.
            while k < len(above) and above[k][1] <= start:
                k += 1
            j = k
            while j < len(above) and above[j][0] < end:
                a, b = root(above[j][2]), root(run)
                if a != b:
                    parent[b] = a
                j += 1
            row.append((start, end, run))
        above = row
    merged: dict[int, list[int]] = {}
    for run, box in enumerate(boxes):
        top = root(run)
        have = merged.get(top)
        if have is None:
            merged[top] = list(box)
        else:
            have[0], have[1] = min(have[0], box[0]), min(have[1], box[1])
            have[2], have[3] = max(have[2], box[2]), max(have[3], box[3])
    return [(b[0], b[1], b[2], b[3]) for b in merged.values()]


def _few(boxes: list[Region], limit: int) -> list[Region]:
    """At most `limit` boxes covering `boxes`: overlapping ones merged, then bands top
    to bottom, the bands nearest one another merged first."""
    bands: list[Region] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        # Boxes that share rows form one band when there are too many to show apart.
        if bands and box.top < bands[-1].bottom and len(boxes) > limit:
            bands[-1] = bands[-1].union(box)
        else:
            bands.append(box)
    if len(bands) <= limit:
        return _merge_overlapping(bands)
    gaps = sorted((bands[i + 1].top - bands[i].bottom, i) for i in range(len(bands) - 1))
    # Merging the len - limit smallest gaps leaves `limit` bands.
    joined = {i for _gap, i in gaps[: len(bands) - limit]}
    merged = [bands[0]]
    for i, band in enumerate(bands[1:]):
        merged[-1:] = [merged[-1].union(band)] if i in joined else [merged[-1], band]
    return merged


def _merge_overlapping(boxes: list[Region]) -> list[Region]:
    """Boxes that overlap merged until none does (few boxes: quadratic is fine)."""
    result = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(result)):
            for j in range(i + 1, len(result)):
                a, b = result[i], result[j]
                if a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom:
                    result[i] = a.union(b)
                    del result[j]
                    changed = True
                    break
            if changed:
                break
    return sorted(result, key=lambda b: (b.top, b.left))


def _beyond(size: tuple[int, int], width: int, height: int) -> tuple[Region, ...]:
    """What an image of `size` has past the common `width` × `height`."""
    w, h = size
    boxes = []
    if h > height:
        boxes.append(Region(0, height, w, h))
    if w > width:
        boxes.append(Region(width, 0, w, height))
    return tuple(boxes)


def _marked(out: Image, boxes: tuple[Region, ...]) -> bytes:
    """`out` with `boxes` tinted and outlined, as PNG. Draws on `out` itself (a copy
    would be another full-page image in memory)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    draw = ImageDraw.Draw(out)
    for box in boxes:
        area = (box.left, box.top, box.right, box.bottom)
        region = out.crop(area)
        tint = PILImage.new("RGB", region.size, _MARK_RGB)
        out.paste(PILImage.blend(region, tint, _TINT), area[:2])
        draw.rectangle(
            (box.left, box.top, box.right - 1, box.bottom - 1),
            outline=_MARK_RGB,
            width=_OUTLINE_PX,
        )
    buffer = io.BytesIO()
    # Level 1: encoding is most of the time a diff costs (6 of 11 s for two pages of
    # 25 million pixels at the default level), for files a third larger.
    out.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
