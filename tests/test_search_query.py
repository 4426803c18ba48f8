"""The user query language: parsing, FTS5 and Meilisearch rendering, hostile input.

Tables in the style of datasette's `test_escape_fts`: hostile queries with their exact
FTS5 MATCH expression, Meilisearch `q` strings and matches, or their exact `BadQuery`
message; hostile filter values with their exact Meilisearch filter or message. A
Hypothesis property checks that every MATCH expression runs in FTS5 and matches exactly
the documents the parsed query describes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import BadQuery
from search_api.backends.base import SearchQuery
from search_api.backends.meili_query import build_filter
from search_api.backends.sqlite_tables import TOKENIZER
from search_api.khmer import SEPARATOR as ZW
from search_api.khmer import bigrams, khmer_clusters, query_bigrams, segment, strip_separators
from search_api.query import (
    MAX_QUERY_CHARS,
    AnyOf,
    Atom,
    ParsedQuery,
    fts5_string,
    meili_queries,
    parse_query,
    to_fts5,
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


def test_meili_queries_limit_or_combinations() -> None:
    text = " ".join(f"a{i} OR b{i}" for i in range(5))  # 2**5 = 32 combinations
    with pytest.raises(BadQuery, match="fewer ORs"):
        meili_queries(parse_query(text))


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


# -- hostile input: every outcome pinned ---------------------------------------------------
#
# Each row: what a user typed; the FTS5 MATCH expression it becomes (None: the query is
# empty and lists everything; Refused: the exact BadQuery message); the Meilisearch `q`
# strings; and how many rows of the `fts` table below it matches (its one row has the
# title "police raid" and the body "compound ការជួញដូរ near"), so that an operator
# that slipped through unquoted would show as a changed count or an SQLite error.

NO_LETTERS = (
    "the query has no letters or digits to search for; wildcards such as * and operators "
    "other than quotes, -word and OR are not supported"
)
ONLY_EXCLUDES = "the query only excludes (-word); add at least one word or phrase to look for"
OR_EXCLUSION = (
    "OR joins words or phrases to look for, not exclusions: remove the OR next to the -word, "
    "or the minus"
)


@dataclass(frozen=True)
class Refused:
    message: str


KM_QUERY = f'"{KM_PAIRS}"*'
HOSTILE: list[tuple[str, str | Refused | None, list[str] | None, int | None]] = [
    # unbalanced and stray quotes
    ('"', Refused(NO_LETTERS), None, None),
    ('"""', Refused(NO_LETTERS), None, None),
    ('"unbalanced police', '"unbalanced police"', ['"unbalanced police"'], 0),
    ('police "raid', '"police" AND "raid"', ['"police" "raid"'], 1),
    ('a"b"c"d', '"a" AND "b" AND "c" AND "d"', ['"a" "b" "c" "d"'], 0),
    ("'", Refused(NO_LETTERS), None, None),
    # lone and doubled minus
    ("-", Refused(NO_LETTERS), None, None),
    ("--", Refused(NO_LETTERS), None, None),
    ("police -", '"police"', ['"police"'], 1),
    ("- police", '"police"', ['"police"'], 1),
    ("---raid", Refused(ONLY_EXCLUDES), None, None),
    ("police -compound", '("police") NOT "compound"', ['-compound "police"'], 0),
    # OR at the ends, OR OR, OR with exclusions
    ("OR police", '"police"', ['"police"'], 1),
    ("police OR", '"police"', ['"police"'], 1),
    ("OR", None, [""], None),
    ("OR OR", None, [""], None),
    ("police OR OR rescue", '("police" OR "rescue")', ['"police"', '"rescue"'], 1),
    ("rescue OR casino OR", '("rescue" OR "casino")', ['"rescue"', '"casino"'], 0),
    ("raid OR -casino", Refused(OR_EXCLUSION), None, None),
    ("-casino OR raid", Refused(OR_EXCLUSION), None, None),
    ("-casino", Refused(ONLY_EXCLUDES), None, None),
    # FTS5 operators are text
    (
        "NEAR(police raid, 2)",
        '"NEAR(police" AND "raid," AND "2)"',
        ['"NEAR(police" "raid," "2)"'],
        0,
    ),
    ("police NEAR raid", '"police" AND "NEAR" AND "raid"', ['"police" "NEAR" "raid"'], 1),
    ("NEAR/3", '"NEAR/3"', ['"NEAR/3"'], 0),
    ("police*", '"police*"', ['"police*"'], 1),
    ("pol*", '"pol*"', ['"pol*"'], 0),  # no wildcard: "pol" is not a word of the row
    ("*police", '"*police"', ['"*police"'], 1),
    ("*", Refused(NO_LETTERS), None, None),
    ("^police", '"^police"', ['"^police"'], 1),
    ("police + raid", '"police" AND "raid"', ['"police" "raid"'], 1),
    # column filters are text
    ("title:police", '"title:police"', ['"title:police"'], 0),
    ("title:", '"title:"', ['"title:"'], 0),
    (
        "{title body}: police",
        '"{title" AND "body}:" AND "police"',
        ['"{title" "body}:" "police"'],
        0,
    ),
    ("- title : police", '"title" AND "police"', ['"title" "police"'], 0),
    # AND and NOT are words; only OR (in capitals) is an operator
    ("police AND raid", '"police" AND "AND" AND "raid"', ['"police" "AND" "raid"'], 0),
    ("NOT police", '"NOT" AND "police"', ['"NOT" "police"'], 0),
    ("police NOT raid", '"police" AND "NOT" AND "raid"', ['"police" "NOT" "raid"'], 0),
    ("NEAR", '"NEAR"', ['"NEAR"'], 1),  # the word near is in the body
    # parentheses
    ("(police OR raid", '("(police" OR "raid")', ['"(police"', '"raid"'], 1),
    ("police) AND (", '"police)" AND "AND"', ['"police)" "AND"'], 0),
    ("()", Refused(NO_LETTERS), None, None),
    # backslashes
    ("\\", Refused(NO_LETTERS), None, None),
    ("back\\slash", '"back\\slash"', ['"back\\slash"'], 0),
    ('\\"police\\"', '"police\\"', ['"police\\"'], 1),
    # NUL, control and format characters are spaces; a byte-order mark is dropped
    ("police\x00raid", '"police" AND "raid"', ['"police" "raid"'], 1),
    ("\x00", None, [""], None),
    ("\x7f\x1f", None, [""], None),
    ("police\x1b[31m", '"police" AND "[31m"', ['"police" "[31m"'], 0),
    ("\u202eecilop", '"ecilop"', ['"ecilop"'], 0),
    ("\ufeffpolice", '"police"', ['"police"'], 1),
    ("\ue000police\ue001", '"police"', ['"police"'], 1),  # our snippet sentinels
    # very long input
    (
        "x" * MAX_QUERY_CHARS,
        '"' + "x" * MAX_QUERY_CHARS + '"',
        [
            '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"'
        ],
        0,
    ),
    (
        "x" * (MAX_QUERY_CHARS + 1),
        Refused("the query is 1001 characters long; shorten it to at most 1000 characters"),
        None,
        None,
    ),
    (
        ("police " * 200)[:MAX_QUERY_CHARS],
        Refused(
            "the query has 143 words and phrases; use at most 32 (quote a long passage as one phrase)"
        ),
        None,
        None,
    ),
    # only punctuation, only emoji
    ("!?.,;:-", Refused(NO_LETTERS), None, None),
    ("🙂", Refused(NO_LETTERS), None, None),
    ("police 🙂", '"police"', ['"police"'], 1),
    # SQLite's unicode61 takes characters above U+FFFF (emoji) as token characters:
    # "🙂police" is one token, which the row does not hold.
    ("🙂police", '"🙂police"', ['"🙂police"'], 0),
    # Khmer: a ZERO WIDTH SPACE typed between clusters is removed, as from archived text
    (KM, KM_QUERY, ['"កា រ ជួ ញ ដូ" រ'], 1),
    (f"ការ{ZW}ជួញដូរ", KM_QUERY, ['"កា រ ជួ ញ ដូ" រ'], 1),
    (ZW, None, [""], None),
    # mixed scripts
    ("HONDAម៉ូតូ", f'"HONDA{ZW}ម៉ូតូ{ZW}"*', ['"HONDA ម៉ូ" តូ'], 0),
    (
        f"compound {KM}",
        f'"compound" AND {KM_QUERY}',
        ['"compound" "កា រ ជួ ញ ដូ" រ'],
        1,
    ),
    ("Полиция police", '"Полиция" AND "police"', ['"Полиция" "police"'], 0),
    ("قانون police", '"قانون" AND "police"', ['"قانون" "police"'], 0),
    ("CAFÉ", '"CAFÉ"', ['"CAFÉ"'], 0),
    # SQL and FTS5 injection attempts stay inside string literals
    ("'; DROP TABLE docs; --", '"DROP" AND "TABLE" AND "docs;"', ['"DROP" "TABLE" "docs;"'], 0),
    ('" OR 1=1 --', '"OR 1=1 --"', ['"OR 1=1 --"'], 0),
    (
        'police") OR docs_fts MATCH ("*',
        '"police" AND ") OR docs_fts MATCH ("',
        ['"police" ") OR docs_fts MATCH ("'],
        0,
    ),
    ("x' OR '1'='1", "(\"x'\" OR \"'1'='1\")", ['"x\'"', "\"'1'='1\""], 0),
]


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(f'CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = "{TOKENIZER}")')
    conn.execute("INSERT INTO t VALUES ('police raid', ?)", (bigrams("compound ការជួញដូរ near"),))
    yield conn
    conn.close()


def matches(conn: sqlite3.Connection, expression: str) -> int:
    return len(conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall())


@pytest.mark.parametrize(("text", "fts5", "meili", "hits"), HOSTILE, ids=lambda v: repr(v)[:24])
def test_hostile_query(
    fts: sqlite3.Connection,
    text: str,
    fts5: str | Refused | None,
    meili: list[str] | None,
    hits: int | None,
) -> None:
    if isinstance(fts5, Refused):
        with pytest.raises(BadQuery) as info:
            parse_query(text)
        assert str(info.value) == fts5.message
        return
    parsed = parse_query(text)
    assert meili_queries(parsed) == meili
    if fts5 is None:
        assert parsed.is_empty
        return
    assert to_fts5(parsed) == fts5
    assert matches(fts, fts5) == hits


def run_fts(conn: sqlite3.Connection, text: str) -> int:
    return matches(conn, to_fts5(parse_query(text)))


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


# -- hostile filter values -----------------------------------------------------------------
#
# Filter values never reach FTS5 (the SQLite backend binds them as parameters); on
# Meilisearch they become string literals in the filter expression.


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (("daily",), 'source IN ["daily"]'),
        (('x" OR source = "y',), 'source IN ["x\\" OR source = \\"y"]'),
        (("x' OR 1=1 --",), 'source IN ["x\' OR 1=1 --"]'),
        (("a\\",), 'source IN ["a\\\\"]'),
        (
            ('\\"] OR is_current = true OR source IN ["',),
            'source IN ["\\\\\\"] OR is_current = true OR source IN [\\""]',
        ),
        (("ខ្មែរ", "Полиция"), 'source IN ["ខ្មែរ", "Полиция"]'),
        (("NOT", "EXISTS"), 'source IN ["NOT", "EXISTS"]'),
    ],
)
def test_hostile_filter_values_are_quoted(sources: tuple[str, ...], expected: str) -> None:
    assert build_filter(SearchQuery(sources=sources)) == expected


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ("daily", "source must be a list of values, not one string"),
        (("",), "source: '' is not a usable value (1-200 chars)"),
        (("x" * 201,), f"source: {'x' * 201!r} is not a usable value (1-200 chars)"),
        (("da\x00ily",), "source: 'da\\x00ily' contains control characters; remove them"),
        (("da\nily",), "source: 'da\\nily' contains control characters; remove them"),
        (tuple(f"s{i}" for i in range(51)), "source: at most 50 values, got 51"),
    ],
)
def test_unusable_filter_values_are_refused(sources: tuple[str, ...], message: str) -> None:
    with pytest.raises(BadQuery) as info:
        SearchQuery(sources=sources)
    assert str(info.value) == message


# -- the property: the MATCH expression means what the parsed query means ------------------
#
# Queries and documents built from a few words and every operator-like character: each
# expression must be accepted by FTS5 (same tokenizer as the backend) and match exactly
# the documents that hold every clause (one of its words or phrases) and no exclusion.
# ASCII only, so that the reference below tokenizes as unicode61 does.

WORDS = ["police", "raid", "rescue", "compound", "near", "and", "not", "or", "x1"]
PIECES = WORDS + ["-" + w for w in WORDS] + ['"police raid', '"or not"', '-"raid rescue"']
PIECES += ['"', "-", "OR", "AND", "NOT", "NEAR(", "NEAR", "*", "^", ":", "(", ")", "\\", "'"]
PIECES += ["title:", "{", "}", "+", ",", "POLICE", "Raid*"]


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def holds(document: list[str], atom: Atom) -> bool:
    wanted = words_of(atom.text)
    return any(
        document[i : i + len(wanted)] == wanted for i in range(len(document) - len(wanted) + 1)
    )


def should_match(parsed: ParsedQuery, document: list[str]) -> bool:
    return all(any(holds(document, a) for a in c.atoms) for c in parsed.clauses) and not any(
        holds(document, a) for a in parsed.excluded
    )


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.sampled_from(PIECES), st.sampled_from([" ", "", "  "])), max_size=10
    ),
    documents=st.lists(st.lists(st.sampled_from(WORDS), max_size=8), min_size=1, max_size=6),
)
def test_match_expressions_mean_the_parsed_query(
    parts: list[tuple[str, str]], documents: list[list[str]]
) -> None:
    text = "".join(piece + space for piece, space in parts)
    try:
        parsed = parse_query(text)
    except BadQuery as exc:
        assert str(exc) in (NO_LETTERS, ONLY_EXCLUDES, OR_EXCLUSION)
        return
    if parsed.is_empty:
        return
    conn = sqlite3.connect(":memory:")
    conn.execute(f'CREATE VIRTUAL TABLE t USING fts5(body, tokenize = "{TOKENIZER}")')
    conn.executemany(
        "INSERT INTO t (rowid, body) VALUES (?, ?)",
        [(i, bigrams(" ".join(words))) for i, words in enumerate(documents, 1)],
    )
    found = {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (to_fts5(parsed),))}
    conn.close()
    expected = {i for i, words in enumerate(documents, 1) if should_match(parsed, words)}
    assert found == expected, (text, to_fts5(parsed))
