"""Tables of hostile input and Hypothesis properties for archive.content.normalize."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from archive.content.normalize import (
    NORMALIZER_VERSION,
    count_words,
    line_hashes,
    normalize_khmer,
    normalize_text,
    normalize_url,
    script_of,
    text_sha256,
)
from archive.errors import BadInput

# ---------------------------------------------------------------- normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme, case, www
        ("http://example.com/a", "https://example.com/a"),
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://WWW.Example.com/a", "https://example.com/a"),
        ("https://www.com/a", "https://www.com/a"),  # www is the domain here
        ("https://www.www.example.com/", "https://example.com/"),
        ("https://example.com.", "https://example.com/"),
        # ports
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8080/a", "https://example.com:8080/a"),
        # fragments, empty path, trailing slash kept as found
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com#top", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/", "https://example.com/a/"),
        ("https://example.com/a", "https://example.com/a"),
        # tracking params, sorting, repeated keys keep their order
        ("https://example.com/a?utm_source=fb&utm_medium=x", "https://example.com/a"),
        ("https://example.com/a?UTM_Campaign=x&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?fbclid=abc&gclid=def&p=2", "https://example.com/a?p=2"),
        ("https://example.com/a?mc_cid=1&mc_eid=2&ref=home", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"),
        ("https://example.com/a?a=2&a=1", "https://example.com/a?a=2&a=1"),
        ("https://example.com/a?&&a=1&", "https://example.com/a?a=1"),
        ("https://example.com/a?flag&a=", "https://example.com/a?a=&flag"),
        ("https://example.com/a?%75tm_source=x", "https://example.com/a"),
        ("https://example.com/a?q=a%3Db%26c", "https://example.com/a?q=a%3Db%26c"),
        ("https://example.com/a?x=1=2", "https://example.com/a?x=1=2"),
        ("https://example.com/a?referrer=x", "https://example.com/a?referrer=x"),
        # AMP renderings
        ("https://example.com/news/story/amp/", "https://example.com/news/story/"),
        ("https://example.com/news/story/amp", "https://example.com/news/story"),
        ("https://example.com/news/story/?amp=1", "https://example.com/news/story/"),
        ("https://example.com/news/story?amp", "https://example.com/news/story"),
        ("https://example.com/amp/", "https://example.com/"),
        ("https://example.com/news/ampere/", "https://example.com/news/ampere/"),
        # percent-encoding
        ("https://example.com/%7euser/%61", "https://example.com/~user/a"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/%zz", "https://example.com/%25zz"),
        (
            "https://example.com/ព័ត៌មាន",
            "https://example.com/%E1%9E%96%E1%9F%90%E1%9E%8F%E1%9F%8C%E1%9E%98%E1%9E%B6%E1%9E%93",
        ),
        ("https://example.com/%e1%9e%96", "https://example.com/%E1%9E%96"),
        ("https://example.com/?q=caf%C3%A9", "https://example.com/?q=caf%C3%A9"),
        ("https://example.com/?q=café", "https://example.com/?q=caf%C3%A9"),
        # dot segments
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a/%2E%2E/b", "https://example.com/b"),
        ("https://example.com/../../a", "https://example.com/a"),
        # IDN
        ("https://Bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("https://xn--bcher-kva.example/a", "https://xn--bcher-kva.example/a"),
        ("https://ព័ត៌មាន.example/", "https://" + "ព័ត៌មាន".encode("idna").decode() + ".example/"),
        ("https://example。com/", "https://example.com/"),
        # userinfo, IPs, underscores
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("http://127.0.0.1:8000/a", "https://127.0.0.1:8000/a"),
        ("http://[::1]:8000/a", "https://[::1]:8000/a"),
        ("http://[0:0:0:0:0:0:0:1]/a", "https://[::1]/a"),
        ("https://my_site.example.com/", "https://my_site.example.com/"),
        # surrounding whitespace from copy-paste
        ("  https://example.com/a \n", "https://example.com/a"),
    ],
)
def test_normalize_url_table(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
    assert normalize_url(expected) == expected


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("/news/1", "absolute"),
        ("news/1", "absolute"),
        ("example.com/news/1", "https://example.com/news/1"),
        ("//example.com/news/1", "https://example.com/news/1"),
        ("", "absolute"),
        ("ftp://example.com/a", "only http and https"),
        ("mailto:desk@example.com", "absolute"),
        ("javascript:alert(1)", "absolute"),
        ("https://", "absolute"),
        ("https://example.com:99999/", "port"),
        ("https://example.com:abc/", "port"),
        ("https://exa mple.com/", "not allowed"),
        ("https://a..b/", "empty label"),
        ("http://[::zz]/", "IPv6"),
    ],
)
def test_normalize_url_rejects(url: str, fix: str) -> None:
    with pytest.raises(BadInput) as info:
        normalize_url(url)
    assert fix in str(info.value)
    assert repr(url) in str(info.value) or url == ""


_label = st.text(alphabet="abcXYZ019-_ü", min_size=1, max_size=8).filter(
    lambda s: not s.startswith("-")
)
_hosts = st.builds(
    lambda www, labels: www + ".".join(labels),
    st.sampled_from(["", "www.", "WWW."]),
    st.lists(_label, min_size=1, max_size=3),
)
_component = st.lists(
    st.sampled_from(
        list("aZ09-._~!$&'()*+,;=:@/?% #é\u1780\u17d2") + ["%2e", "%7E", "%zz", "%2F", "amp"]
    ),
    max_size=12,
).map("".join)
_urls = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query is not None else "") + fragment
    ),
    st.sampled_from(["http", "https", "HTTP", "hTTps"]),
    _hosts,
    st.sampled_from(["", ":80", ":443", ":8080"]),
    _component,
    st.one_of(
        st.none(),
        _component,
        st.lists(
            st.tuples(
                st.sampled_from(["utm_source", "a", "B", "fbclid", "amp", "ref", "x%3D"]),
                _component,
            ),
            max_size=4,
        ).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)),
    ),
    st.sampled_from(["", "#", "#frag"]),
)


@settings(max_examples=300, deadline=None)
@given(_urls)
@example("https://example.com/a/amp/amp/")
@example("https://example.com/%2e%2e/amp")
def test_normalize_url_idempotent(url: str) -> None:
    try:
        once = normalize_url(url)
    except BadInput:
        assume(False)
        return
    assert normalize_url(once) == once
    assert once.startswith("https://")
    assert "#" not in once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalize_url_any_path_idempotent(tail: str) -> None:
    try:
        once = normalize_url("http://Example.com/" + tail)
    except BadInput:
        assume(False)
        return
    assert normalize_url(once) == once
    assert once.isascii()


# --------------------------------------------------------------- normalize_khmer

KA, KHA, RO, TA = "\u1780", "\u1781", "\u179a", "\u178f"
COENG = "\u17d2"
AA, VOWEL_I, II, U, E, OE, OO = "\u17b6", "\u17b7", "\u17b8", "\u17bb", "\u17c1", "\u17be", "\u17c4"
MUUSIKATOAN, TRIISAP, ROBAT, NIKAHIT, REAHMUK, BANTOC = (
    "\u17c9",
    "\u17ca",
    "\u17cc",
    "\u17c6",
    "\u17c7",
    "\u17cb",
)
ZWSP, ZWNJ, ZWJ, BOM = "\u200b", "\u200c", "\u200d", "\ufeff"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        # vowel typed before the subscript consonant: ស្រី typed as ស ី ្ រ
        ("\u179f" + II + COENG + RO, "\u179f" + COENG + RO + II),
        # coeng+RO typed before another coeng pair: ស្ត្រី
        ("\u179f" + COENG + RO + COENG + TA + II, "\u179f" + COENG + TA + COENG + RO + II),
        # register shifter after the vowel
        (KA + VOWEL_I + MUUSIKATOAN, KA + MUUSIKATOAN + VOWEL_I),
        (KA + U + TRIISAP, KA + TRIISAP + U),
        # robat after the vowel, before the coeng
        (KA + AA + ROBAT, KA + ROBAT + AA),
        (KA + ROBAT + COENG + KA, KA + COENG + KA + ROBAT),
        # sign before vowel
        (KA + NIKAHIT + AA, KA + AA + NIKAHIT),
        (KA + REAHMUK + U + COENG + KHA, KA + COENG + KHA + U + REAHMUK),
        # split vowels typed as two code points
        (KA + E + II, KA + OE),
        (KA + E + AA, KA + OO),
        (KA + E + COENG + RO + AA, KA + COENG + RO + OO),
        # duplicated marks
        (KA + AA + AA, KA + AA),
        (KA + NIKAHIT + AA + NIKAHIT, KA + AA + NIKAHIT),
        (KA + OE + E + II, KA + OE),
        # invisible hints
        (KA + ZWSP + KHA, KA + KHA),
        (KA + BOM + KHA, KA + KHA),
        (KA + ZWNJ + KHA, KA + KHA),
        (KA + ZWJ + ZWNJ + "a", KA + "a"),
        ("a" + ZWSP + "b", "ab"),
        # dangling coeng dropped
        (KA + COENG, KA),
        (KA + COENG + " " + KHA, KA + " " + KHA),
        # already canonical text is untouched
        ("ប្រជាធិបតេយ្យ", "ប្រជាធិបតេយ្យ"),
        ("ស្ត្រី", "ស្ត្រី"),
        ("Hello, world", "Hello, world"),
    ],
)
def test_normalize_khmer_table(typed: str, canonical: str) -> None:
    assert normalize_khmer(typed) == canonical
    assert normalize_khmer(canonical) == canonical


def test_zwj_outside_khmer_is_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_khmer(family) == family
    assert normalize_text("ភ្នំពេញ " + family) == "ភ្នំពេញ " + family


def test_misordered_syllables_hash_the_same() -> None:
    canonical = "ស្ត្រី" + "ក្រុម"
    misordered = "\u179f" + II + COENG + RO + COENG + TA + ZWSP + "ក" + "ុ" + COENG + RO + "ម"
    assert text_sha256(misordered) == text_sha256(canonical)


_khmer_block = st.characters(min_codepoint=0x1780, max_codepoint=0x17FF)
_khmer_strings = st.text(
    alphabet=st.one_of(_khmer_block, st.sampled_from([ZWSP, ZWNJ, ZWJ, BOM, " ", "a", "\u0301"])),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(_khmer_strings)
@example("\u200c\u0301\u17b4")  # the acute moves behind the vowel, next to the joiner
def test_normalize_khmer_idempotent(text: str) -> None:
    once = normalize_khmer(text)
    assert normalize_khmer(once) == once
    assert ZWSP not in once and BOM not in once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_khmer_block, max_size=30))
def test_normalize_khmer_keeps_bases(text: str) -> None:
    # Reordering never adds, loses or reorders a base consonant or independent vowel
    # that is not written as a subscript.
    def bases(s: str) -> list[str]:
        return [
            c
            for j, c in enumerate(s)
            if "\u1780" <= c <= "\u17b3" and (j == 0 or s[j - 1] != COENG)
        ]

    assert bases(normalize_khmer(text)) == bases(text)


# ----------------------------------------------------------------- normalize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("  \n\t \n", ""),
        ("a\u00a0b", "a b"),
        ("a\u2009\u2009b\tc", "a b c"),
        ("a\u3000b", "a b"),
        ("  lead and trail  ", "lead and trail"),
        ("p1\n\n\n p2 \r\n\r\np3", "p1\np2\np3"),
        ("p1\u2028p2\u2029p3", "p1\np2\np3"),
        ("e\u0301", "\u00e9"),  # NFC
        ("“quoted” — dash", "“quoted” — dash"),  # typography is kept
        ("Ｆｕｌｌ", "Ｆｕｌｌ"),  # no compatibility folding
        ("ហុង\u200bកុង", "ហុងកុង"),
    ],
)
def test_normalize_text_table(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
@example("\u17dd\u17b6\u17d2\u0300")
@example("\u1780\u17dd\u0323\u17b6")
@example("a\u200b\u0301")
def test_normalize_text_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\n\n" not in once


@settings(max_examples=300, deadline=None)
@given(_khmer_strings)
def test_normalize_text_idempotent_khmer(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


# ------------------------------------------------------------ hashes and counts


def test_text_sha256_is_of_normalized_text() -> None:
    assert text_sha256("a  b\n\n") == hashlib.sha256(b"a b").hexdigest()
    assert text_sha256("a\u00a0b") == text_sha256("a b")
    assert text_sha256("a b") != text_sha256("a c")


def test_line_hashes() -> None:
    assert line_hashes("") == []
    hashes = line_hashes(" one \n\n two\n")
    assert hashes == [hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two").hexdigest()]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("one two  three", 3),
        ("one — two", 2),  # a lone dash is not a word
        ("ក", 1),
        # 13 syllables (ប្រ ជា ធិ ប តេ យ្យ, ...) at 2.6 per word
        ("ប្រជាធិបតេយ្យ ប្រជាធិបតេយ្យ", 5),
        ("Yuen Long ភ្នំពេញ", 3),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("", None),
        ("12345 !!!", None),
        ("Hello world", None),
        ("ប្រជាធិបតេយ្យ", "km"),
        ("ព័ត៌មានថ្មីៗ Phnom Penh", "km"),  # 7 Khmer letters of 16
        ("Phnom Penh Post, the capital's news ភ្នំ", None),
    ],
)
def test_script_of(text: str, script: str | None) -> None:
    assert script_of(text) == script


def test_normalizer_version_is_a_string() -> None:
    assert isinstance(NORMALIZER_VERSION, str) and NORMALIZER_VERSION
