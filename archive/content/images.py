"""The article's images: which pictures on a page belong to the story, as its HTML
names them (the address, alt text and caption of each).

Read with lxml from the part of the page that holds the article (`article_scope`:
`<article>`, else `<main>`, else `<body>`), skipping the furniture inside it (nav,
aside, footer, noscript, comment, related, sidebar, widget and sharing boxes), images
declared tiny (tracking pixels, icons), non-http sources (`data:` placeholders) and
images whose class, id or address names a logo, icon, avatar, sprite or advert.
Lazy-loaded images give their real address in `data-src` (and kin) or `srcset`, the
`src` being a placeholder. Trafilatura's own image output was measured against this on
the shared real-page fixtures (docs/benchmarks.md#article-images): it needs a second
extraction pass with other options, costing as much again as the text, and keeps more
icons.

Bounded: at most `MAX_IMAGES` images, `MAX_CANDIDATES` `<img>` elements looked at,
addresses and texts cut to fixed lengths (the page is hostile). Pure apart from CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from archive.content.markup import article_scope, one_line, text_of

__all__ = [
    "MAX_IMAGES",
    "ImageRef",
    "find_images",
]

# The first images of the article body that a version keeps (and the crawler fetches):
# a story's photos come first; a gallery of hundreds is cut here.
MAX_IMAGES = 20
# <img> elements looked at before giving up, so a page of 100,000 spacers stays cheap.
MAX_CANDIDATES = 400
MAX_SRC_CHARS = 2000
MAX_TEXT_CHARS = 500
# Images declared this small (width or height attribute, in CSS pixels) are icons,
# bullets or tracking pixels, not photos.
MIN_DECLARED_PX = 50
_NOT_A_PHOTO = re.compile(
    r"logo|icon|avatar|sprite|gravatar|emoji|spinner|placeholder|pixel|spacer|"
    r"(?<![a-z])ads?(?![a-z])|advert|banner|doubleclick|adserver",
    re.IGNORECASE,
)
# Ancestors (up to the article's element) that hold the site's furniture, not the story.
_FURNITURE_TAGS = frozenset({"nav", "aside", "footer", "noscript"})
_FURNITURE_MARKS = re.compile(r"comment|related|sidebar|widget|share|social|promo", re.I)
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image of the article as the HTML names it: `src` absolute http(s)."""

    src: str
    alt: str
    caption: str


def find_images(root: lxml.html.HtmlElement, url: str) -> tuple[ImageRef, ...]:
    """The article's images in page order, each address once, at most `MAX_IMAGES`."""
    scope = article_scope(root)
    found: list[ImageRef] = []
    seen: set[str] = set()
    for n, img in enumerate(scope.iter("img")):
        if n >= MAX_CANDIDATES or len(found) >= MAX_IMAGES:
            break
        if not isinstance(img, lxml.html.HtmlElement) or _tiny(img) or _in_furniture(img, scope):
            continue
        src = _address(img, url)
        if src is None or src in seen:
            continue
        marks = " ".join(img.get(a) or "" for a in ("class", "id")) + " " + urlsplit(src).path
        if _NOT_A_PHOTO.search(marks):
            continue
        seen.add(src)
        found.append(
            ImageRef(
                src=src,
                alt=_short(img.get("alt")),
                caption=_caption(img),
            )
        )
    return tuple(found)


def _in_furniture(img: lxml.html.HtmlElement, scope: lxml.html.HtmlElement) -> bool:
    """Inside nav, aside, footer, <noscript> (tracking pixels) or a
    comment, related, sidebar, widget or sharing box, below the article's element."""
    for depth, node in enumerate(img.iterancestors()):
        if node is scope or depth > 60:
            return False
        if node.tag in _FURNITURE_TAGS:
            return True
        if _FURNITURE_MARKS.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _short(value: str | None) -> str:
    return (one_line(value) or "")[:MAX_TEXT_CHARS]


def _tiny(img: lxml.html.HtmlElement) -> bool:
    for attr in ("width", "height"):
        raw = (img.get(attr) or "").strip().removesuffix("px")
        if raw.isdigit() and int(raw) < MIN_DECLARED_PX:
            return True
    return False


def _address(img: lxml.html.HtmlElement, base: str) -> str | None:
    """The image's real address: a lazy loader's attribute, else `src`, else the first
    candidate of `srcset`; absolute http(s), or None."""
    candidates = [img.get(a) for a in _LAZY_ATTRS] + [img.get("src")]
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        candidates.append(srcset.strip().split(",")[0].strip().split(" ")[0])
    for raw in candidates:
        if not raw or raw.strip().lower().startswith("data:"):
            continue
        raw = raw.strip()[:MAX_SRC_CHARS]
        try:
            absolute = str(urljoin(base, raw))
            parts = urlsplit(absolute)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            return absolute
    return None


def _caption(img: lxml.html.HtmlElement) -> str:
    """The caption of the figure holding the image (<figcaption>), else empty. Only a
    few levels up: a whole article inside one <figure> has no caption for each image."""
    node = img.getparent()
    for _ in range(4):
        if node is None:
            return ""
        if node.tag == "figure":
            for caption in node.iter("figcaption"):
                return (one_line(text_of(caption)) or "")[:MAX_TEXT_CHARS]
            return ""
        node = node.getparent()
    return ""
