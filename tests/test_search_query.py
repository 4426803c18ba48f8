"""The user query language: parsing, FTS5 and Meilisearch rendering, hostile input.

Tables in the style of datasette's `test_escape_fts`, plus a Hypothesis property: any
text either raises `BadQuery` or renders to an FTS5 expression that SQLite accepts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import BadQuery
from search_api.khmer import SEPARATOR as ZW
from search_api.khmer import bigrams, khmer_clusters, query_bigrams, segment, strip_separators
from search_api.query import (
    MAX_QUERY_CHARS,
    AnyOf,
    Atom,
    ParsedQuery,
    fts5_string,
    parse_query,
    to_fts5,
    to_meili,
)


def terms(*clauses: str | tuple[str, ...]) -> tuple[AnyOf, ...]:
    out = []
    for clause in clauses:
        options = (clause,) if isinstance(clause, str) else clause
        out.append(
            AnyOf(
                tuple(Atom(o[1:-1], phrase=True) if o.startswith('"') else Atom(o) for o in options)
            )
        )
    return tuple(out)


@pytest.mark.parametrize(
    ("text", "clauses", "excluded"),
    [
        ("scam compound", terms("scam", "compound"), ()),
        ('"forced labour"', terms('"forced labour"'), ()),
        ('  "forced    labour"  ', terms('"forced labour"'), ()),
        ("raid -casino", terms("raid"), (Atom("casino"),)),
        ('raid -"press release"', terms("raid"), (Atom("press release", phrase=True),)),
        ("raid --casino", terms("raid"), (Atom("casino"),)),
        ("raid OR rescue", terms(("raid", "rescue")), ()),
        ("police raid OR rescue", terms("police", ("raid", "rescue")), ()),
        ("a OR b OR c", terms(("a", "b", "c")), ()),
        ('raid OR "rescue mission"', terms(("raid", '"rescue mission"')), ()),
        ("OR raid", terms("raid"), ()),
        ("raid OR", terms("raid"), ()),
        ("raid OR OR rescue", terms(("raid", "rescue")), ()),
        ("raid or rescue", terms("raid", "or", "rescue"), ()),
        ("raid OR raid", terms(("raid",)), ()),
        ("anti-trafficking", terms("anti-trafficking"), ()),
        ("raid - rescue", terms("raid", "rescue"), ()),
        ('"unbalanced quote', terms('"unbalanced quote"'), ()),
        ('say"hi there', terms("say", '"hi there"'), ()),
        ("NEAR(", terms("NEAR("), ()),
        ("NEAR(a b)", terms("NEAR(a", "b)"), ()),
        ("title:compound", terms("title:compound"), ()),
        ("^compound *", terms("^compound"), ()),
        ("AND NOT", terms("AND", "NOT"), ()),
        ("a\x00b\x1bc", terms("a", "b", "c"), ()),
        ("a\u200bb", terms("ab"), ()),  # an invisible word-break hint is not a separator
        ("\ud800compound\ue000", terms("compound"), ()),
        ("line\nbreak\ttab", terms("line", "break", "tab"), ()),
        ("", (), ()),
        ("   \n\t ", (), ()),
    ],
)
def test_parse(text: str, clauses: tuple[AnyOf, ...], excluded: tuple[Atom, ...]) -> None:
    assert parse_query(text) == ParsedQuery(clauses=clauses, excluded=excluded)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*", "no letters or digits"),
        ("^ * ( ) :", "no letters or digits"),
        ('""', "no letters or digits"),
        ("-", "no letters or digits"),
        ("🙂", "no letters or digits"),
        ("-casino", "only excludes"),
        ('-casino -"press release"', "only excludes"),
        ("raid OR -casino", "OR joins"),
        ("-casino OR raid", "OR joins"),
        ("x" * (MAX_QUERY_CHARS + 1), "at most 1000 characters"),
        ("word " * 2000, "at most 1000 characters"),
        (" ".join(f"w{i}" for i in range(33)), "at most 32"),
    ],
)
def test_parse_refuses_with_a_message(text: str, message: str) -> None:
    with pytest.raises(BadQuery, match=message):
        parse_query(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(BadQuery, match="text"):
        parse_query(b"bytes")  # type: ignore[arg-type]


def test_khmer_is_normalized_like_the_archive() -> None:
    # Register shifter typed after the vowel; OE typed as E + II.
    assert parse_query("ស\u17be\u17caប") == parse_query("ស\u17ca\u17beប")
    assert parse_query("ស\u17ca\u17c1\u17b8ប") == parse_query("ស\u17ca\u17beប")


# -- FTS5 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a""b"'),
        ('""', '""""""'),
        ("NEAR(a b)", '"NEAR(a b)"'),
        ("col:val", '"col:val"'),
        ("x*", '"x*"'),
        ("^x", '"^x"'),
    ],
)
def test_fts5_string(value: str, expected: str) -> None:
    assert fts5_string(value) == expected


KM = "ការជួញដូរ"
# Cluster pairs; the final lone cluster only when the phrase goes on after the run.
KM_PAIRS = ZW + ZW.join(["ការ", "រជួ", "ជួញ", "ញដូ", "ដូរ"]) + ZW
KM_PAIRS_FINAL = ZW + ZW.join(["ការ", "រជួ", "ជួញ", "ញដូ", "ដូរ", "រ"]) + ZW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scam compound", '"scam" AND "compound"'),
        ('raid "forced labour"', '"raid" AND "forced labour"'),
        ("police raid OR rescue", '"police" AND ("raid" OR "rescue")'),
        ('raid -casino -"press release"', '("raid") NOT "casino" NOT "press release"'),
        ("NEAR(a", '"NEAR(a"'),
        ("it's", '"it\'s"'),
        ("title:x", '"title:x"'),
        ("AND OR NOT", '("AND" OR "NOT")'),
        (KM, f'"{KM_PAIRS}"*'),
        (f'"{KM} raid"', f'"{KM_PAIRS_FINAL} raid"'),
        (f"raid {KM}", f'"raid" AND "{KM_PAIRS}"*'),
        ("ក", f'"{ZW}ក{ZW}"*'),
    ],
)
def test_to_fts5(text: str, expected: str) -> None:
    assert to_fts5(parse_query(text)) == expected


def test_to_fts5_refuses_an_empty_query() -> None:
    with pytest.raises(BadQuery):
        to_fts5(parse_query(""))


# -- Meilisearch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scam compound", ["scam compound"]),
        ('"forced labour" -casino', ['"forced labour" -casino']),
        ('raid -"press release"', ['raid -"press release"']),
        ("raid OR rescue workers", ["raid workers", "rescue workers"]),
        ("a OR b c OR d", ["a c", "a d", "b c", "b d"]),
        ("don't", ["don't"]),
        ("x-y", ["x-y"]),
        (KM, ['"' + " ".join(khmer_clusters(KM)) + '"']),
        ("", [""]),
    ],
)
def test_to_meili(text: str, expected: list[str]) -> None:
    assert to_meili(parse_query(text)) == expected


def test_to_meili_limits_or_combinations() -> None:
    text = " ".join(f"a{i} OR b{i}" for i in range(5))  # 2**5 = 32 combinations
    with pytest.raises(BadQuery, match="fewer ORs"):
        to_meili(parse_query(text))


# -- Khmer segmentation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clusters"),
    [
        ("ការជួញដូរ", ["កា", "រ", "ជួ", "ញ", "ដូ", "រ"]),
        ("ស្ត្រី", ["ស្ត្រី"]),
        ("ឆ្នាំ២០១៩", ["ឆ្នាំ", "២០១៩"]),
        ("ពេលនេះ។", ["ពេ", "ល", "នេះ", "។"]),
    ],
)
def test_khmer_clusters(text: str, clusters: list[str]) -> None:
    assert khmer_clusters(text) == clusters
    assert strip_separators(segment(text)) == text


def test_segment_leaves_other_scripts_alone() -> None:
    assert segment("Police raid, 2026") == "Police raid, 2026"
    assert segment("HONDAម៉ូតូ") == f"HONDA{ZW}ម៉ូ{ZW}តូ{ZW}"
    assert bigrams("Police raid, 2026") == query_bigrams("Police raid, 2026") == "Police raid, 2026"


@pytest.mark.parametrize(
    ("text", "indexed", "queried"),
    [
        ("ក", f"{ZW}ក{ZW}", f"{ZW}ក{ZW}"),
        ("ម៉ូតូ", f"{ZW}ម៉ូតូ{ZW}តូ{ZW}", f"{ZW}ម៉ូតូ{ZW}"),
        (
            "HONDA ម៉ូតូ ថ្មី",
            f"HONDA {ZW}ម៉ូតូ{ZW}តូ{ZW} {ZW}ថ្មី{ZW}",
            f"HONDA {ZW}ម៉ូតូ{ZW}តូ{ZW} {ZW}ថ្មី{ZW}",
        ),
        ("ម៉ូតូ ABC", f"{ZW}ម៉ូតូ{ZW}តូ{ZW} ABC", f"{ZW}ម៉ូតូ{ZW}តូ{ZW} ABC"),
    ],
)
def test_cluster_pairs(text: str, indexed: str, queried: str) -> None:
    assert bigrams(text) == indexed
    assert query_bigrams(text) == queried


# -- the property: nothing a user types breaks FTS5 ----------------------------------------


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, body, "
        "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
    )
    conn.execute("INSERT INTO t VALUES ('police raid', ?)", (bigrams("compound ការជួញដូរ near"),))
    yield conn
    conn.close()


def run_fts(conn: sqlite3.Connection, text: str) -> int | None:
    try:
        parsed = parse_query(text)
    except BadQuery:
        return None
    if parsed.is_empty:
        return None
    return len(conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (to_fts5(parsed),)).fetchall())


HOSTILE = [
    '"',
    '"""',
    'a"b"c"d',
    "NEAR(police raid, 2)",
    "police NEAR raid",
    "{title body}: police",
    "title:police",
    "- title : police",
    "police*",
    "*police",
    "^police",
    "police + raid",
    "(police OR raid",
    "police) AND (",
    "police AND",
    "NOT police",
    "\\",
    "'",
    "police\x00",
    "\x7f\x1f",
    "\u202eecilop",
    "\ufeffpolice",
    "\ue000police\ue001",
    "x" * 999,
    ("police " * 200)[:1000],
    "ការ" * 300,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:16]))
def test_hostile_input_never_breaks_fts5(fts: sqlite3.Connection, text: str) -> None:
    run_fts(fts, text)


def test_quoted_terms_still_match(fts: sqlite3.Connection) -> None:
    assert run_fts(fts, "title:police") == 0  # a word "title police" phrase, not a column filter
    assert run_fts(fts, "police") == 1
    assert run_fts(fts, "NEAR") == 1  # "near" is in the body: an ordinary word
    assert run_fts(fts, "ការជួញ") == 1
    assert run_fts(fts, "ជួញដូ") == 1  # inside the run, cut inside a cluster
    assert run_fts(fts, "ការជួញដូរ near") == 1
    assert run_fts(fts, '"ដូរ near"') == 1
    assert run_fts(fts, '"ជួញ near"') == 0  # the run does not end there
    assert run_fts(fts, "police -compound") == 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_refused_or_runs(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, "
        "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
    )
    run_fts(conn, text)
    conn.close()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(['"', "-", "OR", "NEAR(", "*", "a", "ក", " ", "^", ":", "\\"]), max_size=30
    )
)
def test_operator_soup_is_refused_or_runs(parts: list[str]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    conn.execute("INSERT INTO t VALUES ('a b near')")
    run_fts(conn, "".join(parts))
    run_fts(conn, " ".join(parts))
    conn.close()
