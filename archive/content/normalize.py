"""Canonical forms of URLs and article text, and the hashes and counts built on them.

This module owns the answer to "are these two the same?": two URLs that lead to the same
article get the same key (`normalize_url`), and two texts that differ only in ways a
reader cannot see (Unicode composition, Khmer code-point order, invisible word-break
hints, whitespace) get the same normalized text and therefore the same `text_sha256`.
Change detection (design rule 2) depends on that, so every function here is
deterministic and idempotent, and `NORMALIZER_VERSION` is bumped whenever any output
changes (design rule 8).

It is pure: values in, values out. It must not touch the network, files, the clock or a
database, and must not import anything of ours except `archive.errors`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

import idna

from archive.errors import BadInput

__all__ = [
    "NORMALIZER_VERSION",
    "count_words",
    "line_hashes",
    "normalize_khmer",
    "normalize_text",
    "normalize_url",
    "script_of",
    "text_sha256",
    "uri_of_iri",
    "url_has_forbidden_chars",
]

NORMALIZER_VERSION = "2"  # 2: joiners that reordering brings next to Khmer are removed too

# --------------------------------------------------------------------------- URLs

# Query keys that only say how a reader arrived, never which article they read.
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        # `?amp=1` asks for the AMP rendering of the same article.
        "amp",
    }
)
_TRACKING_PREFIXES = ("utm_",)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/")
# `&` and `=` never reach this set's users literally: query pairs are split on them
# first, and a literal `=` inside a value is kept by `_normalize_query`.
_QUERY_SAFE = (_UNRESERVED | _SUB_DELIMS | frozenset(":@/?")) - frozenset("&=")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_HOST_LABEL = re.compile(r"[a-z0-9_-]+")
# Full stops that UTS 46 treats as label separators in internationalized host names.
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def normalize_url(url: str) -> str:
    """Return the canonical key of an article URL.

    The same article reached over http or https, with or without `www.`, with tracking
    parameters, a fragment, a default port, differently ordered query parameters,
    differently escaped characters, or as its `/amp/` rendering gets one key. The path
    is otherwise kept as found (trailing slash included): outlets differ in whether
    `/a` and `/a/` are the same page, so merging them is not ours to guess.

    Raises `BadInput` for relative, schemeless, non-http(s) or malformed URLs.
    """
    if not isinstance(url, str):
        raise BadInput(f"URL must be a string, got {type(url).__name__}")
    raw = url.strip()
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise BadInput(
            f"URL {url!r} cannot be parsed ({exc}); give an absolute http(s) URL"
        ) from exc
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        hint = f"https:{raw}" if raw.startswith("//") else f"https://{raw.lstrip('/')}"
        raise BadInput(
            f"URL {url!r} is relative or has no scheme; give an absolute URL such as {hint!r}"
        )
    if scheme not in ("http", "https"):
        raise BadInput(f"URL {url!r} has scheme {scheme!r}; only http and https URLs are archived")

    host = _normalize_host(parts, url)
    port = _port_of(parts, url)
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"

    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_SAFE)) or "/"
    path = _strip_amp_suffix(path)
    query = _normalize_query(parts.query)
    # Userinfo is dropped on purpose: it never identifies an article, and a key must
    # not carry a password into the archive.
    return urlunsplit(("https", netloc, path, query, ""))


def _normalize_host(parts: SplitResult, url: str) -> str:
    hostname = parts.hostname
    if not hostname:
        raise BadInput(
            f"URL {url!r} has no host name; give an absolute URL such as https://example.com/"
        )
    if ":" in hostname:  # an IPv6 literal; urlsplit already removed the brackets
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError as exc:
            raise BadInput(f"URL {url!r} has an invalid IPv6 host {hostname!r}") from exc
    host = hostname.translate(_IDEOGRAPHIC_DOTS).rstrip(".")
    labels = host.split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise BadInput(f"URL {url!r} has an empty label in host {hostname!r}")
        if label.isascii():
            label = label.lower()
        else:
            try:
                label = idna.encode(label, uts46=True).decode("ascii")
            except idna.IDNAError as exc:
                raise BadInput(
                    f"URL {url!r} has host label {label!r} that is not a valid IDN ({exc})"
                ) from exc
        if not _HOST_LABEL.fullmatch(label):
            raise BadInput(
                f"URL {url!r} has host {hostname!r} with characters not allowed in a host name"
            )
        out.append(label)
    # `www.` is the same site on every outlet we watch; keep it when it is all there is
    # to the name (`www.com`), where it is not a prefix but the domain.
    while len(out) > 2 and out[0] == "www":
        out = out[1:]
    return ".".join(out)


def _port_of(parts: SplitResult, url: str) -> int | None:
    try:
        return parts.port
    except ValueError as exc:
        raise BadInput(f"URL {url!r} has an invalid port; ports are numbers 0-65535") from exc


def _normalize_escapes(component: str, safe: frozenset[str]) -> str:
    """Percent-encoding in one canonical form: escapes of unreserved characters are
    decoded, other escapes get uppercase hex, and characters that may not appear
    literally (spaces, non-ASCII, a stray `%`) are escaped as UTF-8."""
    out: list[str] = []
    i = 0
    n = len(component)
    while i < n:
        ch = component[i]
        if ch == "%" and _is_hex2(component[i + 1 : i + 3]):
            byte = int(component[i + 1 : i + 3], 16)
            decoded = chr(byte)
            out.append(decoded if decoded in _UNRESERVED else f"%{byte:02X}")
            i += 3
            continue
        if ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _is_hex2(s: str) -> bool:
    return len(s) == 2 and s[0] in _HEXDIGITS and s[1] in _HEXDIGITS


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: `/a/./b/../c` is `/a/c` for every server."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:] if path.startswith("/") else segments:
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    trailing = segments[-1] in (".", "..")
    result = "/" + "/".join(out)
    if trailing and not result.endswith("/"):
        result += "/"
    return result


def _strip_amp_suffix(path: str) -> str:
    """`/story/amp/` and `/story/amp` are the AMP renderings of `/story/` and `/story`."""
    while True:
        if path.endswith("/amp/"):
            path = path[: -len("amp/")]
        elif path.endswith("/amp"):
            path = path[: -len("/amp")] or "/"
        else:
            return path


def _normalize_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key = _normalize_escapes(key, _QUERY_SAFE)
        value = _normalize_escapes(value, _QUERY_SAFE | frozenset("="))
        plain_key = unquote(key).lower()
        if plain_key in _TRACKING_KEYS or plain_key.startswith(_TRACKING_PREFIXES):
            continue
        kept.append((key, f"{key}{sep}{value}"))
    # Sort by key only: a stable sort keeps the order of repeated keys (`a=2&a=1`),
    # which some applications read as a list.
    kept.sort(key=lambda kv: kv[0])
    return "&".join(text for _, text in kept)


# -------------------------------------------------------------------------- Khmer

_COENG = "\u17d2"
_RO = "\u179a"
_VOWEL_E = "\u17c1"
# Split vowels typed as two code points, and the single code point Unicode defines.
_COMPOSITIONS = {
    (_VOWEL_E, "\u17b8"): "\u17be",  # E + II -> OE
    (_VOWEL_E, "\u17b6"): "\u17c4",  # E + AA -> OO
}

# The canonical order of what follows a base inside one syllable.
_RANK_COENG = 0
_RANK_COENG_RO = 1
_RANK_SHIFTER = 2
_RANK_ROBAT = 3
_RANK_VOWEL = 4
_RANK_SIGN = 5


def _khmer_mark_rank(cp: int) -> int | None:
    if 0x17B4 <= cp <= 0x17C5:
        return _RANK_VOWEL
    if cp in (0x17C9, 0x17CA):
        return _RANK_SHIFTER
    if cp == 0x17CC:
        return _RANK_ROBAT
    if 0x17C6 <= cp <= 0x17D1 or cp in (0x17D3, 0x17DD):
        return _RANK_SIGN
    return None


def _is_khmer_base(ch: str) -> bool:
    return "\u1780" <= ch <= "\u17b3"


# Editors add and remove these invisible word-break hints without changing a word.
_ALWAYS_INVISIBLE = re.compile("[\u200b\ufeff]+")
# ZWNJ/ZWJ change rendering only in scripts that join; in emoji and Indic text outside
# Khmer they carry meaning, so only runs touching a Khmer character go.
_KHMER_JOINERS = re.compile(
    "(?<=[\u1780-\u17ff\u19e0-\u19ff])[\u200c\u200d]+|[\u200c\u200d]+(?=[\u1780-\u17ff\u19e0-\u19ff])"
)
_HAS_KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")


def _strip_invisibles(text: str) -> str:
    text = _ALWAYS_INVISIBLE.sub("", text)
    if _HAS_KHMER.search(text):
        text = _KHMER_JOINERS.sub("", text)
    return text


def normalize_khmer(text: str) -> str:
    """Put Khmer text into one code-point order, so that spellings that render the same
    hash the same.

    Khmer keyboards and editors let the dependents of a syllable be typed in any order;
    the canonical order here is: coeng+consonant pairs (coeng+RO last among them),
    register shifters, robat, dependent vowels, then the remaining signs, each class in
    the order found. Split vowels typed as E+II or E+AA become the single code points
    OE and OO, repeated identical marks in one syllable are dropped, and ZWSP, U+FEFF
    and ZWNJ/ZWJ inside Khmer are removed.

    A coeng with no consonant after it is a typing slip that fonts show as a dotted
    circle or not at all; it is dropped, because keeping it would let the same syllable have two
    orders that Unicode normalization (which moves coeng, combining class 9) disagrees on.
    Combining marks of other scripts that follow a Khmer syllable are ordered by their
    combining class, so the output is already in Unicode canonical order and NFC
    leaves it alone.
    """
    text = _strip_invisibles(text)
    if not _HAS_KHMER.search(text):
        return text
    # Reordering can bring a joiner next to Khmer (a mark of another script moves past
    # it), and removing that joiner merges two clusters that may then need ordering:
    # repeat until stable. Each further pass removes a joiner, so this ends.
    while True:
        ordered = _reorder_khmer(text)
        text = _strip_invisibles(ordered)
        if text == ordered:
            return ordered


def _reorder_khmer(text: str) -> str:
    out: list[str] = []
    cluster: list[tuple[int, int, str]] = []  # (rank, combining class, code points)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == _COENG:
            if i + 1 < n and _is_khmer_base(text[i + 1]):
                pair_rank = _RANK_COENG_RO if text[i + 1] == _RO else _RANK_COENG
                cluster.append((pair_rank, 0, ch + text[i + 1]))
                i += 2
            else:
                i += 1  # dangling coeng, see the docstring
            continue
        rank = _khmer_mark_rank(ord(ch))
        if rank is not None:
            cluster.append((rank, unicodedata.combining(ch), ch))
        elif unicodedata.combining(ch):
            cluster.append((_RANK_SIGN, unicodedata.combining(ch), ch))
        else:
            if cluster:
                out.append(_order_cluster(cluster))
                cluster = []
            out.append(ch)
        i += 1
    if cluster:
        out.append(_order_cluster(cluster))
    return "".join(out)


def _order_cluster(cluster: list[tuple[int, int, str]]) -> str:
    # A stable sort: within a class, marks keep the order they were typed in.
    items = [text for _, _, text in sorted(cluster, key=lambda item: (item[0], item[1]))]
    items = _dedupe_marks(items)
    composed: list[str] = []
    for item in items:
        if composed and (composed[-1], item) in _COMPOSITIONS:
            composed[-1] = _COMPOSITIONS[(composed[-1], item)]
        else:
            composed.append(item)
    # Composition can make a second OE/OO; dedupe again so a second pass finds nothing.
    return "".join(_dedupe_marks(composed))


def _dedupe_marks(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if len(item) == 1 and _khmer_mark_rank(ord(item)) is not None:
            if item in seen:
                continue
            seen.add(item)
        out.append(item)
    return out


# --------------------------------------------------------------------------- text

_SPACE_RUN = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Return the text as change detection compares it.

    Invisible word-break hints removed, NFC, Khmer in canonical order, every kind of
    whitespace inside a line (tabs, NBSP, thin and ideographic spaces) as one space,
    lines trimmed, and paragraphs separated by exactly one `\\n` with no empty lines.
    Quotes, dashes and letter case are kept: changing them is an edit a reader sees.
    """
    # Invisibles go before NFC: "e", ZWSP, U+0301 must compose to "é" in this pass, or
    # the second pass would compose it and the function would not be idempotent.
    text = _strip_invisibles(text)
    text = unicodedata.normalize("NFC", text)
    if _HAS_KHMER.search(text):
        text = _reorder_khmer(text)
    lines = (_SPACE_RUN.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the normalized text, UTF-8 encoded."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def line_hashes(text: str) -> list[str]:
    """Hex SHA-256 of each normalized line, in order (boilerplate shows up as lines
    that recur across many articles of one source)."""
    normalized = normalize_text(text)
    if not normalized:
        return []
    return [hashlib.sha256(line.encode("utf-8")).hexdigest() for line in normalized.split("\n")]


# Khmer is written without spaces between words, so whitespace counts nothing. A real
# segmenter (khmer-nltk's CRF) costs tens of milliseconds per article; instead we count
# orthographic syllables (a base consonant or independent vowel not written as a
# subscript) and divide by the mean syllables per word, which khmer-nltk's
# word_tokenize gives as 2.6 on the 20 Khmer fixture articles (2.0 to 3.2 per article).
# Good to about 20% on news prose, which is all a size comparison between versions of
# one article needs.
_KHMER_SYLLABLES_PER_WORD = 2.6
_KHMER_SYLLABLE = re.compile("(?<!\u17d2)[\u1780-\u17b3]")
_KHMER_CHARS = re.compile("[\u1780-\u17ff\u19e0-\u19ff]+")
_WORDLIKE = re.compile(r"\w")


def count_words(text: str) -> int:
    """Approximate number of words: whitespace-separated tokens containing a letter or
    digit, plus Khmer syllables divided by `_KHMER_SYLLABLES_PER_WORD` (rounded, at
    least one when there is any Khmer)."""
    normalized = normalize_text(text)
    syllables = len(_KHMER_SYLLABLE.findall(normalized))
    khmer_words = 0
    if syllables:
        khmer_words = max(1, int(syllables / _KHMER_SYLLABLES_PER_WORD + 0.5))
        normalized = _KHMER_CHARS.sub(" ", normalized)
    other_words = sum(1 for token in normalized.split() if _WORDLIKE.search(token))
    return other_words + khmer_words


def script_of(text: str) -> str | None:
    """`"km"` when at least 30% of the letters are Khmer, else None. A hint for the
    language when a page does not say, or says its template's default."""
    # str.isalpha is exactly the Unicode categories L*; counted by map in C, because a
    # Python loop over every character of an article cost more than its extraction.
    letters = sum(map(str.isalpha, text))
    khmer = sum(map(str.isalpha, "".join(_KHMER_CHARS.findall(text))))
    if letters and khmer / letters >= 0.3:
        return "km"
    return None


def parse_iso_utc(value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime (as Versions store `published`, and as sitemaps
    and feeds write W3C dates) as an aware UTC datetime. A date alone is midnight UTC,
    a time without an offset is taken as UTC; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


# Characters no URL holds raw (RFC 3986 wants them percent-encoded): controls, format
# characters (bidi overrides), line and paragraph separators, spaces. An index that
# sends them is forging lines of our output, not naming a page.
_NOT_IN_URL = ("Cc", "Cf", "Zl", "Zp", "Zs")


def url_has_forbidden_chars(url: str) -> bool:
    """True when `url` holds a character no URL holds raw (a control, a bidi override,
    a line break, a space)."""
    return any(unicodedata.category(ch) in _NOT_IN_URL for ch in url)


# Every printable ASCII character: `quote` then encodes only what lies outside ASCII.
_ASCII_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def uri_of_iri(url: str) -> str:
    """An IRI (a URL with non-ASCII characters, as some tools write WARC-Target-URI) as
    the URI it stands for (RFC 3987): the host in IDNA, the rest percent-encoded UTF-8.
    BadInput when the host is not a valid international name or the URL holds
    characters no URL holds raw."""
    if url_has_forbidden_chars(url):
        raise BadInput(f"{url[:200]!r} holds control or blank characters")
    if url.isascii():
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        ascii_host = idna.encode(host, uts46=True).decode("ascii") if host else ""
        port = f":{parts.port}" if parts.port is not None else ""
    except (ValueError, idna.IDNAError) as exc:
        raise BadInput(f"{url[:200]!r} is not a URL with a valid host ({exc})") from exc
    if parts.username is not None or parts.password is not None:
        raise BadInput(f"{url[:200]!r}: a non-ASCII URL with a user name is not accepted")
    host_part = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    return urlunsplit(
        (
            parts.scheme,
            host_part + port,
            quote(parts.path, safe=_ASCII_SAFE),
            quote(parts.query, safe=_ASCII_SAFE),
            quote(parts.fragment, safe=_ASCII_SAFE),
        )
    )
