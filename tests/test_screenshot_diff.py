"""The pixel diff of two screenshots (archive/views/screenshot_diff.py), on PNGs drawn
here with Pillow: what it finds, how it merges, what it draws, and what it refuses."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from archive.errors import ScreenshotRefused
from archive.views import screenshot_diff as sd
from archive.views.screenshot_diff import MAX_BOXES, Region, diff_screenshots

WHITE = (255, 255, 255)


def page(
    width: int = 400, height: int = 600, blocks: tuple[tuple[int, ...], ...] = ()
) -> Image.Image:
    """A white page with grey 'text' lines and the given filled rectangles
    (left, top, right, bottom, r, g, b)."""
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    for y in range(20, height - 20, 24):
        draw.rectangle((20, y, width - 20, y + 8), fill=(90, 90, 90))
    for left, top, right, bottom, *rgb in blocks:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=tuple(rgb))
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def covers(boxes: tuple[Region, ...], left: int, top: int, right: int, bottom: int) -> bool:
    return any(
        b.left <= left and b.top <= top and b.right >= right and b.bottom >= bottom for b in boxes
    )


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def test_identical_screenshots_have_nothing_marked() -> None:
    shot = png(page())
    diff = diff_screenshots(shot, shot)
    assert diff.identical and diff.changed == () and diff.changed_fraction == 0.0
    assert decoded(diff.old_marked_png).tobytes() == decoded(shot).tobytes()


def test_a_changed_block_is_one_box_around_it_and_is_drawn_on_both() -> None:
    old = page(blocks=((100, 200, 260, 260, 200, 0, 0),))
    new = page(blocks=((100, 200, 260, 260, 0, 0, 200),))  # same place, another colour
    diff = diff_screenshots(png(old), png(new))
    assert len(diff.changed) == 1
    box = diff.changed[0]
    assert covers(diff.changed, 100, 200, 260, 260)
    # Tight: at most two cells of margin on each side.
    assert box.left >= 100 - 2 * sd.CELL and box.right <= 260 + 2 * sd.CELL
    assert box.top >= 200 - 2 * sd.CELL and box.bottom <= 260 + 2 * sd.CELL
    assert diff.changed_fraction == pytest.approx(160 * 60 / (400 * 600))
    for marked, original in ((diff.old_marked_png, old), (diff.new_marked_png, new)):
        shown = decoded(marked)
        assert shown.size == original.size
        assert shown.getpixel((180, 230)) != original.getpixel((180, 230))  # tinted
        assert shown.getpixel((box.left, 230)) == sd._MARK_RGB  # outlined
        assert shown.getpixel((5, 5)) == original.getpixel((5, 5))  # untouched outside


def test_far_apart_changes_are_separate_boxes() -> None:
    old = page()
    new = page(blocks=((30, 40, 90, 70, 0, 150, 0), (250, 480, 380, 560, 0, 150, 0)))
    diff = diff_screenshots(png(old), png(new))
    assert len(diff.changed) == 2
    assert covers(diff.changed, 30, 40, 90, 70) and covers(diff.changed, 250, 480, 380, 560)


def test_many_scattered_changes_merge_into_a_few_boxes_covering_all() -> None:
    spots = tuple(
        (20 + (i * 37) % 340, 10 + i * 29, 26 + (i * 37) % 340, 14 + i * 29, 0, 0, 0)
        for i in range(40)
    )
    diff = diff_screenshots(png(page(height=1200)), png(page(height=1200, blocks=spots)))
    assert 1 <= len(diff.changed) <= MAX_BOXES
    for left, top, right, bottom, *_ in spots:
        assert covers(diff.changed, left, top, right, bottom), (left, top)


def test_one_pixel_counts_and_rendering_noise_does_not() -> None:
    old = page()
    one_pixel = old.copy()
    one_pixel.putpixel((333, 444), (0, 0, 0))
    assert covers(diff_screenshots(png(old), png(one_pixel)).changed, 333, 444, 334, 445)
    noisy = old.copy()
    noisy.paste((250, 245, 255), (0, 0, 400, 10))  # white moved by ≤ CHANNEL_THRESHOLD
    assert diff_screenshots(png(old), png(noisy)).identical


def test_screenshots_of_different_sizes() -> None:
    old = page(400, 600)
    new = page(440, 900, blocks=((50, 100, 150, 150, 0, 0, 0),))
    diff = diff_screenshots(png(old), png(new))
    assert diff.old_size == (400, 600) and diff.new_size == (440, 900)
    assert covers(diff.changed, 50, 100, 150, 150)
    assert diff.only_old == ()
    assert Region(0, 600, 440, 900) in diff.only_new and Region(400, 0, 440, 600) in diff.only_new
    shown = decoded(diff.new_marked_png)
    assert shown.size == (440, 900) and shown.getpixel((200, 800)) != new.getpixel((200, 800))
    # The other way round, the old screenshot is the longer one.
    back = diff_screenshots(png(new), png(old))
    assert Region(0, 600, 440, 900) in back.only_old and back.only_new == ()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 95), st.integers(0, 95), st.integers(1, 30), st.integers(1, 30)),
        max_size=12,
    )
)
def test_every_changed_pixel_lies_in_a_box(rects: list[tuple[int, int, int, int]]) -> None:
    old = Image.new("RGB", (96, 96), WHITE)
    new = old.copy()
    draw = ImageDraw.Draw(new)
    for x, y, w, h in rects:
        draw.rectangle((x, y, min(x + w, 95), min(y + h, 95)), fill=(0, 0, 0))
    diff = diff_screenshots(png(old), png(new))
    assert len(diff.changed) <= MAX_BOXES
    changed = [
        (x, y) for y in range(96) for x in range(96) if old.getpixel((x, y)) != new.getpixel((x, y))
    ]
    assert bool(changed) == (not diff.identical)
    for x, y in changed:
        assert covers(diff.changed, x, y, x + 1, y + 1), (x, y)


def _png_claiming(width: int, height: int) -> bytes:
    """A valid 1×1 PNG whose header claims `width` × `height`: what a decompression bomb
    looks like before its pixels are decoded."""
    data = bytearray(png(Image.new("RGB", (1, 1), WHITE)))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize(
    ("old", "why"),
    [
        (_png_claiming(100_000, 100_000), "over the limits"),  # Pillow's own bomb guard
        (_png_claiming(sd.MAX_WIDTH + 1, 10), "over the limits"),
        (_png_claiming(1280, sd.MAX_HEIGHT + 1), "over the limits"),
        (_png_claiming(4000, 7000), "over the limits"),  # 28 million pixels
        (b"GIF89a not a png", "not a readable PNG"),
        (png(page())[:400], "broken PNG data"),
        (b"", "not a readable PNG"),
    ],
)
def test_what_is_refused_is_named(old: bytes, why: str) -> None:
    with pytest.raises(ScreenshotRefused, match=f"old screenshot: .*{why}"):
        diff_screenshots(old, png(page()))


def test_a_png_past_the_byte_limit_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sd, "MAX_PNG_BYTES", 100)
    with pytest.raises(ScreenshotRefused, match="new screenshot: .* over the 100-byte limit"):
        diff_screenshots(png(Image.new("RGB", (1, 1), WHITE)), b"\x89PNG" + b"\0" * 200)


def test_a_jpeg_is_not_read_as_a_screenshot() -> None:
    out = io.BytesIO()
    page().save(out, "JPEG")
    with pytest.raises(ScreenshotRefused, match="new screenshot: not a readable PNG"):
        diff_screenshots(png(page()), out.getvalue())
