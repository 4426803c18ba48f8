"""The article's images as pure steps: which <img> belong to the story, the perceptual
hash and its threshold (measured on pictures made here), hostile image bytes, and the
`images_changed` edit class."""

from __future__ import annotations

import io

import pytest

from archive.content import (
    PHASH_MAX_DISTANCE,
    ArticleImage,
    VersionSide,
    hash_image,
    images_from_json,
    judge_edit,
    phash_distance,
)
from archive.content.edit_images import images_changed
from archive.content.images import MAX_IMAGES, find_images
from archive.content.markup import parse_html
from benchmarks.image_distances import jpeg, measure, photo_like

BASE = "https://news.example/en/2026/story/"


def found(html: str) -> list[tuple[str, str, str]]:
    return [(i.src, i.alt, i.caption) for i in find_images(parse_html(html), BASE)]


def test_the_article_photos_with_alt_and_caption_not_the_furniture() -> None:
    html = (
        "<html><body><header><img src='/logo.png' alt='Ledger'></header>"
        "<nav><img src='/nav.jpg'></nav><main><article><h1>T</h1>"
        "<figure><img src='/img/a.jpg' alt='Police &amp; workers'>"
        "<figcaption> Workers leave  the compound. </figcaption></figure>"
        "<p>text <img src='https://cdn.example/b.jpg' alt='Map'></p>"
        "<img src='/pixel.gif' width='1' height='1'>"
        "<img src='data:image/gif;base64,R0lGOD' data-src='/img/lazy.jpg' alt='Lazy'>"
        "<img src='/img/a.jpg' alt='again'>"
        "<img class='site-logo' src='/brand.png'><img src='/ads/banner.jpg'>"
        "<noscript><img src='/b.gif?v=noscript'></noscript>"
        "<div class='related'><img src='/other-story.jpg'></div>"
        "<aside><img src='/aside.jpg'></aside></article></main>"
        "<footer><img src='/footer.jpg'></footer></body></html>"
    )
    assert found(html) == [
        ("https://news.example/img/a.jpg", "Police & workers", "Workers leave the compound."),
        ("https://cdn.example/b.jpg", "Map", ""),
        ("https://news.example/img/lazy.jpg", "Lazy", ""),
    ]


@pytest.mark.parametrize(
    "img",
    [
        "<img>",
        "<img src=''>",
        "<img src='javascript:alert(1)'>",
        "<img src='file:///etc/passwd'>",
        "<img src='http://[::1'>",
        "<img srcset=' , ,'>",
    ],
)
def test_hostile_addresses_are_left_out(img: str) -> None:
    assert found(f"<html><body><article>{img}</article></body></html>") == []


def test_a_page_of_many_images_keeps_the_first_ones_and_stays_cheap() -> None:
    imgs = "".join(f"<img src='/i/{n}.jpg' alt='{'x' * 5000}'>" for n in range(5000))
    refs = find_images(parse_html(f"<html><body><article>{imgs}</article></body></html>"), BASE)
    assert len(refs) == MAX_IMAGES
    assert refs[0].src.endswith("/i/0.jpg") and len(refs[0].alt) <= 500


def test_the_threshold_separates_reencoded_from_different_pictures() -> None:
    """The measured table behind PHASH_MAX_DISTANCE (docs/benchmarks.md#image-hashes)."""
    d = measure(4)
    assert max(d.recompressed) <= PHASH_MAX_DISTANCE
    assert max(d.resized) <= PHASH_MAX_DISTANCE
    assert d.different_min > PHASH_MAX_DISTANCE


def test_same_photo_recompressed_or_resized_is_near_another_is_far() -> None:
    original = jpeg(photo_like(4), 95)
    h = hash_image(original).phash
    assert h is not None
    near = [hash_image(jpeg(original, 40)).phash, hash_image(jpeg(original, 85, 0.5)).phash]
    far = hash_image(jpeg(photo_like(5), 95)).phash
    assert all(n is not None and (phash_distance(h, n) or 0) <= PHASH_MAX_DISTANCE for n in near)
    assert far is not None and (phash_distance(h, far) or 0) > PHASH_MAX_DISTANCE


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a not really", "not a decodable image"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "not a decodable image"),
        (_png(8_000, 8_000), "pixels, over"),  # 64 megapixels in a few kilobytes
        (_png(20_000, 20_000), "decompression bomb"),  # past Pillow's own limit
    ],
)
def test_hostile_bytes_give_no_hash_and_a_reason(data: bytes, reason: str) -> None:
    got = hash_image(data)
    assert got.phash is None and reason in (got.reason or "")


def test_too_many_bytes_are_not_read() -> None:
    got = hash_image(jpeg(photo_like(1), 95), max_bytes=1000)
    assert got.phash is None and "larger than 1000 bytes" in (got.reason or "")


# -- the edit class ---------------------------------------------------------------------

A = ArticleImage("https://n.example/a.jpg", "Raid", "", "c3a5e1f00f1e5a3c")
B = ArticleImage("https://n.example/b.jpg", "Minister", "", "0f0f0f0f0f0f0f0f")


def side(*images: ArticleImage, unknown: bool = False) -> VersionSide:
    return VersionSide("T", None, None, None, "Same text.", "", None if unknown else images)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # the same photo re-encoded (2 bits): nothing
        ((A,), (ArticleImage(A.src, A.alt, "", "c3a5e1f00f1e5a3f"),), None),
        # another photo under the same address
        ((A,), (ArticleImage(A.src, A.alt, "", "3c5a1e0ff0e1a5c3"),), ("replaced", A.src)),
        ((A, B), (A,), ("removed", B.src)),
        ((A,), (A, B), ("added", B.src)),
        # the same picture at a new address (a CDN renamed it): nothing
        ((A,), (ArticleImage("https://cdn.example/x.jpg", "", "", A.phash),), None),
        # no hash on one side (not fetched): never "replaced"
        ((A,), (ArticleImage(A.src, A.alt, "", None, "timeout"),), None),
    ],
)
def test_images_changed(
    old: tuple[ArticleImage, ...],
    new: tuple[ArticleImage, ...],
    expected: tuple[str, str] | None,
) -> None:
    got = images_changed(old, new)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        kind, src = expected
        assert [e["src"] for e in got[kind]] == [src]


def test_unknown_images_are_never_an_edit() -> None:
    """A version recorded before images were kept (rule 8: an upgrade is no edit)."""
    assert judge_edit(side(unknown=True), side(A)) == {"classes": [], "significance": 0.0}
    assert images_from_json(None) is None and images_from_json([]) == ()


def test_a_swapped_photo_is_classed_and_weighs() -> None:
    swapped = ArticleImage(A.src, "Raid (new)", "", "3c5a1e0ff0e1a5c3")
    judged = judge_edit(side(A), side(swapped))
    (cls,) = judged["classes"]
    assert cls["class"] == "images_changed"
    assert cls["replaced"][0]["old_phash"] == A.phash
    assert cls["replaced"][0]["new_phash"] == swapped.phash
    assert cls["replaced"][0]["alt"] == "Raid (new)" and cls["replaced"][0]["old_alt"] == "Raid"
    assert judged["significance"] == 0.3
