"""From the raw bytes of one response to text: what the body is, and how to decode it.

This module owns the byte-level questions asked before any HTML is parsed: is the body
too large, empty, binary or not HTML at all (`screen_body`, giving the `PageKind` of a
body that carries no page), and which encoding turns it into the text its readers saw
(`decode_body`: byte-order mark, Content-Type charset, `<meta>` prescan, strict UTF-8,
charset_normalizer's guess, cp1252 last).

It must not parse HTML or read article fields (`archive.content.extract` does), and like the
rest of extraction it is pure: no database, files, network, clock or environment. It
imports nothing of ours except `archive.errors`.
"""

from __future__ import annotations

import codecs
import re
from enum import StrEnum

import charset_normalizer

from archive.errors import ExtractionError

__all__ = ["PageKind", "decode_body", "screen_body"]


class PageKind(StrEnum):
    """What the body turned out to be. Only `HTML` carries an article."""

    HTML = "html"
    NOT_HTML = "not_html"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    BINARY = "binary"
    UNDECODABLE = "undecodable"
    # Extraction itself failed on the body (it ran out of memory, or killed the worker
    # that ran it alone: crawler.processes): the page is kept, not read, and never
    # judged as an emptied page (design rule 7).
    FAILED = "failed"


# --------------------------------------------------------------------- decoding

# Labels browsers treat as another encoding (WHATWG Encoding Standard): a page that says
# "iso-8859-1" is decoded as windows-1252 by every browser, so its author saw cp1252.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "x-mac-roman": "mac_roman",
    # A bare "utf-16" means little-endian on the web.
    "utf-16": "utf-16-le",
}
# A page cannot declare UTF-16 in an ASCII-compatible <meta>; browsers read it as UTF-8.
_META_WIDE = re.compile(r"utf-?(16|32)", re.IGNORECASE)
# Refused as declarations: UTF-7 decodes '+' runs into garbage and no browser honours it.
_CHARSET_REFUSED = frozenset({"utf-7", "utf_7", "x-user-defined"})
_SINGLE_BYTE_LEGACY = frozenset({"cp1252", "iso8859-1", "ascii", "cp874", "cp1250", "cp1251"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""")
_PRESCAN_BYTES = 4096
# Share of U+FFFD and control characters above which a decoded body is not text.
_GARBAGE_LIMIT = 0.05
# How much more "chaos" (charset_normalizer's mess score, 0..1) cp1252 may have than the
# detector's best guess and still be preferred.
_CP1252_TIE = 0.1


def _codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when it is unknown or refused."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _CHARSET_REFUSED:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
        # bytes.decode refuses codecs that are not text encodings (base64, rot13, zlib).
        b"x".decode(name)
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass
    if name in _CHARSET_REFUSED:
        return None
    return name


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def _meta_charset(body: bytes) -> str | None:
    head = body[:_PRESCAN_BYTES]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML body; return the text and the codec used.

    Order: a byte-order mark; the Content-Type charset; a `<meta charset>` or
    http-equiv (or XML declaration) in the first 4 KB; strict UTF-8; charset_normalizer's
    guess; finally the declared charset or cp1252 with replacement characters. A
    declaration is only believed when the body decodes under it without error, so a
    cp1252 page that claims UTF-8 is still read. One departure from browsers: a body
    declared as a single-byte legacy charset that is valid UTF-8 with non-ASCII bytes is
    read as UTF-8 (servers default to iso-8859-1; valid multi-byte UTF-8 by chance in
    legacy text is vanishingly rare, and mojibake would be archived as the article).

    Raises `ExtractionError` when even the last resort is mostly garbage.
    """
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec

    declared: list[str] = []
    meta_label = _meta_charset(body)
    if meta_label and _META_WIDE.match(meta_label):
        meta_label = "utf-8"
    for label in (_header_charset(content_type), meta_label):
        codec = _codec_for(label)
        if codec is None or codec in declared:
            continue
        declared.append(codec)
        if codec in _SINGLE_BYTE_LEGACY and not body.isascii():
            utf8 = _try_decode(body, "utf-8")
            if utf8 is not None:
                return utf8, "utf-8"
        text = _try_decode(body, codec)
        if text is not None:
            return text, codec

    text = _try_decode(body, "utf-8")
    if text is not None:
        return text, "utf-8"

    guessed = _guess_charset(body)
    if guessed is not None:
        text = _try_decode(body, guessed)
        if text is not None and not _is_garbage(text):
            return text, guessed

    last_resort = declared[0] if declared else "cp1252"
    replaced = body.decode(last_resort, errors="replace")
    if _is_garbage(replaced):
        raise ExtractionError(
            f"body of {len(body)} bytes is not text in {last_resort} or any detected charset"
        )
    return replaced, last_resort


def _guess_charset(body: bytes) -> str | None:
    """charset_normalizer's guess, except that windows-1252 wins a near tie.

    On short Western European text the detector ranks cp1250, cp1252 and cp1257 about
    equal and may pick any (measured: a French latin-1 page came out as cp1250,
    "crème" as "crčme"). windows-1252 is what browsers fall back to for an undeclared
    page, so it is what the outlet's own readers saw.
    """
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if _codec_for(match.encoding) == "cp1252" and match.chaos <= best.chaos + _CP1252_TIE:
            return "cp1252"
    return _codec_for(best.encoding)


def _try_decode(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


_GARBAGE_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")


def _is_garbage(text: str) -> bool:
    if not text:
        return False
    return len(_GARBAGE_CHARS.findall(text)) / len(text) > _GARBAGE_LIMIT


# --------------------------------------------------------------------- screening

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data; the fetcher did not decompress it"),
)
_HTML_MEDIA = frozenset({"", "text/html", "application/xhtml+xml"})
_BINARY_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_MEDIA = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/msword",
        "application/wasm",
    }
)
# Servers send HTML under these too often to believe them without looking.
_SNIFF_MEDIA = frozenset(
    {"application/octet-stream", "binary/octet-stream", "application/xml", "text/xml"}
)
_LOOKS_LIKE_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


def _magic_of(body: bytes) -> str | None:
    if body[8:12] == b"WEBP" and body.startswith(b"RIFF"):
        return "WebP image"
    for magic, what in _MAGIC:
        if body.startswith(magic):
            return what
    if body[:1024].lstrip()[:5] == b"%PDF-":
        return "PDF document"
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def screen_body(
    body: bytes, content_type: str | None, *, max_bytes: int
) -> tuple[PageKind, str] | None:
    """Why this body is not an HTML page (its kind and a note), or None when it should be
    decoded and extracted."""
    # The size check comes first: it is the one check that touches no byte of the body.
    if len(body) > max_bytes:
        return (
            PageKind.TOO_LARGE,
            f"body of {len(body):,} bytes is over the {max_bytes:,}-byte limit; not parsed",
        )
    if not body.strip():
        return PageKind.EMPTY, "empty body; nothing to extract"
    what = _magic_of(body)
    if what is not None:
        return PageKind.BINARY, f"binary body ({what}); not extracted"
    media = _media_type(content_type)
    if media.startswith(_BINARY_MEDIA_PREFIXES) or media in _BINARY_MEDIA:
        return PageKind.BINARY, f"content type {media} is not a page; not extracted"
    looks_html = bool(_LOOKS_LIKE_HTML.search(body[:_PRESCAN_BYTES]))
    if media in _SNIFF_MEDIA and not looks_html:
        kind = PageKind.NOT_HTML if "xml" in media else PageKind.BINARY
        return kind, f"content type {media} and no HTML markup; not extracted"
    if media not in _HTML_MEDIA and media not in _SNIFF_MEDIA:
        return PageKind.NOT_HTML, f"content type {media} is not HTML; not extracted"
    # UTF-16 text is full of NULs; it is binary only when nothing says it is UTF-16.
    wide = any(body.startswith(bom) for bom, _ in _BOMS[1:]) or bool(
        _META_WIDE.match(_header_charset(content_type) or "")
    )
    if b"\x00" in body[:1024] and not wide:
        return PageKind.BINARY, "binary body (NUL bytes near the start); not extracted"
    return None
