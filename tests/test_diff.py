"""Tests for archive.content.diff and its neighbours: tokens (archive.content.tokens),
alignment, stats, version diffs, and the renderings (diff_unified, diff_json, diff_html)."""

from __future__ import annotations

import dataclasses
import difflib
import html
import json
import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

import archive.content.diff as diff_module
from archive.content.align import WORK_BUDGET, Budget, align
from archive.content.diff import (
    DiffOp,
    DiffStats,
    OpKind,
    VersionSide,
    diff_stats,
    diff_text,
    diff_versions,
)
from archive.content.diff_html import render_html, render_html_inline
from archive.content.diff_json import render_json
from archive.content.diff_unified import render_unified
from archive.content.tokens import _tokenize_clusters, tokenize
from archive.errors import BadInput
from tests.sequence_work import count_visits, repeated_sentences

EQ, INS, DEL, REP = OpKind.EQUAL, OpKind.INSERT, OpKind.DELETE, OpKind.REPLACE
STACKERS = "\u17d2\u1039"  # Khmer coeng, Myanmar virama

KM_RESCUE = "ប៉ូលិសបានជួយសង្គ្រោះកម្មករស្ត្រីចំនួនពីរនាក់ ពីមជ្ឈមណ្ឌលបោកប្រាស់តាមអនឡាញ នៅខេត្តព្រះសីហនុ។"
KM_MINISTRY = "ក្រសួងមហាផ្ទៃបានបដិសេធ\u200bរបាយការណ៍នោះ កាលពីថ្ងៃទី២៤ ខែកក្កដា ឆ្នាំ២០២៥។"


def side(
    text: str = "",
    label: str = "v1",
    *,
    title: str | None = None,
    byline: str | None = None,
    published: str | None = None,
    modified: str | None = None,
) -> VersionSide:
    return VersionSide(title, byline, published, modified, text, label)


def boundaries(parts: list[str]) -> set[int]:
    """Offsets where one part ends and the next begins."""
    cuts, pos = set(), 0
    for part in parts[:-1]:
        pos += len(part)
        cuts.add(pos)
    return cuts


def assert_unsplit(text: str, parts: list[str]) -> None:
    """``parts`` join to ``text`` and no cut splits a grapheme cluster or a stacked pair."""
    assert "".join(parts) == text
    cluster_cuts = boundaries(regex.findall(r"\X", text))
    for cut in boundaries(parts):
        assert cut in cluster_cuts, (text, cut)
        assert text[cut - 1] not in STACKERS, (text, cut)
        assert unicodedata.category(text[cut])[0] != "M", (text, cut)


def assert_reconstructs(old: str, new: str, ops: tuple[DiffOp, ...]) -> None:
    assert "".join(op.old for op in ops) == old
    assert "".join(op.new for op in ops) == new
    for op in ops:
        assert op.old or op.new
        expected = {EQ: op.old == op.new, INS: op.old == "", DEL: op.new == ""}
        assert expected.get(op.kind, bool(op.old and op.new))
    kinds = [op.kind is EQ for op in ops]
    assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), "ops must alternate"
    # Op edges are token edges of the whole text.
    assert boundaries([op.old for op in ops if op.old]) <= boundaries(tokenize(old))
    assert boundaries([op.new for op in ops if op.new]) <= boundaries(tokenize(new))


def changes(ops: tuple[DiffOp, ...]) -> list[tuple[OpKind, str, str]]:
    return [(op.kind, op.old, op.new) for op in ops if op.kind is not EQ]


# --- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Police raided it.", ["Police", " ", "raided", " ", "it", "."]),
        ("a  \n\tb", ["a", "  \n\t", "b"]),
        ("don't", ["don", "'", "t"]),
        ("ក្រ", ["ក្រ"]),
        ("ស្ត្រី", ["ស្ត្រី"]),
        ("ព្រះរាជាណាចក្រ", ["ព្រះ", "រា", "ជា", "ណា", "ច", "ក្រ"]),
        ("ឆ្នាំ2025 COVID-19", ["ឆ្នាំ", "2025", " ", "COVID", "-", "19"]),
        ("ក\u200bខ", ["ក", "\u200b", "ខ"]),
        ("သတ္တဝါ", ["သ", "တ္တ", "ဝါ"]),
        ("မြန်မာ", ["မြ", "န်", "မာ"]),  # U+102C is Mc yet \\X breaks before it
        ("中文 news", ["中", "文", " ", "news"]),
        ("ニュース速報", ["ニ", "ュ", "ー", "ス", "速", "報"]),
        ("한국어 뉴스", ["한", "국", "어", " ", "뉴", "스"]),
        ("", []),
    ],
)
def test_tokenize_table(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
    assert_unsplit(text, tokens)


@pytest.mark.parametrize(
    "text", [KM_RESCUE, KM_MINISTRY, "မြန်မာနိုင်ငံ", "ตำรวจจับกุมผู้ต้องสงสัย", "ພາສາລາວ"]
)
def test_cluster_scripts_never_split(text: str) -> None:
    tokens = tokenize(text)
    assert_unsplit(text, tokens)
    assert not any(t[0] in "\u17b6\u102c" for t in tokens)  # a vowel sign never leads


# --- text diffs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "The minister denied the report.",
            "The minister confirmed the report.",
            [(REP, "denied", "confirmed")],
            id="one-word",
        ),
        pytest.param(
            "Police raided the compound. Forty workers were freed.",
            "Police raided the compound. Forty workers were freed. Three managers were held.",
            [(INS, "", " Three managers were held.")],
            id="sentence-added",
        ),
        pytest.param(
            "First paragraph.\n\nSecond paragraph.\n\nThird paragraph.",
            "First paragraph.\n\nThird paragraph.",
            [(DEL, "Second paragraph.\n\n", "")],
            id="paragraph-removed",
        ),
        pytest.param(
            "quick brown fox jumps",
            "slow red dog jumps",
            [(REP, "quick brown fox", "slow red dog")],
        ),
        pytest.param("Same text.\n", "Same text.\n", [], id="identical"),
        pytest.param("", "New.", [(INS, "", "New.")], id="from-empty"),
        pytest.param(KM_RESCUE, KM_RESCUE.replace("ពីរ", "បី"), [(REP, "ពីរ", "បី")], id="km"),
        pytest.param(
            KM_RESCUE,
            KM_RESCUE.replace("ស្ត្រី", "ប្រុស"),
            [(REP, "ស្ត្រី", "ប្រុស")],
            id="km-coeng",
        ),
        pytest.param(
            KM_MINISTRY, KM_MINISTRY.replace("២៤", "២៥"), [(REP, "៤", "៥")], id="km-digits"
        ),
        pytest.param(
            "ตำรวจจับกุมผู้ต้องสงสัยสามคน", "ตำรวจจับกุมผู้ต้องสงสัยสี่คน", [(REP, "สาม", "สี่")], id="th"
        ),
        pytest.param(
            "警方解救了三十名工人。", "警方解救了四十名工人。", [(REP, "三", "四")], id="zh"
        ),
    ],
)
def test_diff_text_table(old: str, new: str, expected: list[tuple[OpKind, str, str]]) -> None:
    ops = diff_text(old, new)
    assert changes(ops) == expected
    assert_reconstructs(old, new, ops)
    assert_unsplit(old, [op.old for op in ops if op.old])
    assert_unsplit(new, [op.new for op in ops if op.new])


def test_identical_texts_only_equal_and_zero_stats() -> None:
    ops = diff_text(KM_RESCUE, KM_RESCUE)
    assert [op.kind for op in ops] == [EQ]
    assert diff_stats(ops) == DiffStats(0, 0, 0, 0)


@pytest.mark.parametrize(
    ("old", "new", "stats"),
    [
        ("a b c", "a X c", DiffStats(1, 1, 1, 1)),
        ("Police came.", "Police came. Then left.", DiffStats(11, 0, 3, 0)),
        ("ក\u200bខ", "ក\u200bខគ", DiffStats(1, 0, 1, 0)),  # ZWSP is not a word
    ],
)
def test_diff_stats(old: str, new: str, stats: DiffStats) -> None:
    assert diff_stats(diff_text(old, new)) == stats


def test_words_of_separate_changes_are_counted_apart() -> None:
    """Issue 22: the diff header said "+2 words" with 4 added words highlighted; the
    pieces were joined ("buildingscontinuing athat") before counting."""
    old = "The ministry denied the report on Sunday."
    new = "The police confirmed the raid on Sunday."
    ops = diff_text(old, new)
    inserted = [op.new for op in ops if op.kind in (OpKind.INSERT, OpKind.REPLACE)]
    assert inserted == ["police confirmed", "raid"]  # two highlighted changes, 3 words
    assert diff_stats(ops).words_added == diff_stats(ops).words_removed == 3
    assert diff_module.joined_diff_stats(ops).words_added == 2  # "confirmedraid"


@pytest.fixture
def aligned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of the sequences each SequenceMatcher is asked to align, in order."""
    sizes: list[tuple[int, int]] = []

    class Counting(difflib.SequenceMatcher):  # type: ignore[type-arg]
        def __init__(self, isjunk: Any = None, a: Any = "", b: Any = "", autojunk: bool = True):
            sizes.append((len(a), len(b)))
            super().__init__(isjunk, a, b, autojunk)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    return sizes


def test_long_texts_are_aligned_coarse_to_fine(aligned: list[tuple[int, int]]) -> None:
    """What keeps a long diff fast: lines, then sentences, then tokens only inside the
    blocks that changed, so the work is a small fraction of aligning every token."""
    words = [f"word{i}" for i in range(2000)]
    paragraphs = [
        " ".join(words[(p * 37 + w * 11) % 2000] for w in range(50)) + "." for p in range(200)
    ]
    old = "\n\n".join(paragraphs)
    edited = paragraphs[:10] + [paragraphs[10].replace(" ", " new ", 1)] + paragraphs[12:]
    new = "\n\n".join(edited + ["A closing line.", KM_RESCUE * 50])
    assert len(tokenize(old)) > 20_000
    every_token_pair = len(tokenize(old)) * len(tokenize(new))
    ops = diff_text(old, new)
    one_line = diff_text(old.replace("\n", " "), new.replace("\n", " "))
    for a, b in aligned:
        assert a * b <= diff_module._MAX_TOKEN_CELLS
    assert sum(a * b for a, b in aligned) < every_token_pair / 1000
    assert_reconstructs(old, new, ops)
    assert_reconstructs(old.replace("\n", " "), new.replace("\n", " "), one_line)
    assert (INS, "", "new ") in changes(ops)


def test_a_large_block_with_nothing_in_common_is_one_replacement(
    aligned: list[tuple[int, int]],
) -> None:
    """Past the token-pair limit, a changed block is not aligned token by token (that is
    quadratic): it becomes one replacement."""
    old = " ".join(f"old{i}" for i in range(1500))  # one line, one sentence
    new = " ".join(f"new{i}" for i in range(1500))
    assert len(tokenize(old)) * len(tokenize(new)) > diff_module._MAX_TOKEN_CELLS
    ops = diff_text(old, new)
    assert ops == (DiffOp(REP, old, new),)
    assert max(a * b for a, b in aligned) == 1  # only the one line and the one sentence


# --- version diffs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_meta", "new_meta", "new_text", "parts"),
    [
        ({"title": "Raid"}, {"title": "Raid at compound"}, "Body.", ("title",)),
        ({"published": "2026-01-02"}, {"published": "2026-01-03"}, "Body.", ("dates",)),
        ({"modified": None}, {"modified": "2026-01-05T10:00Z"}, "Body.", ("dates",)),
        ({"byline": "Staff"}, {"byline": None}, "Body.", ("byline",)),
        ({}, {}, "Body, edited.", ("body",)),
        (
            {"title": "A", "byline": "B", "modified": "1"},
            {"title": "A2", "byline": "B2", "modified": "2"},
            "Other.",
            ("title", "body", "byline", "dates"),
        ),
        ({"title": "Same"}, {"title": "Same"}, "Body.", ()),
    ],
)
def test_changed_parts(
    old_meta: dict[str, str | None],
    new_meta: dict[str, str | None],
    new_text: str,
    parts: tuple[str, ...],
) -> None:
    d = diff_versions(side("Body.", "v1", **old_meta), side(new_text, "v2", **new_meta))
    assert d.changed_parts == parts
    assert (d.old_label, d.new_label) == ("v1", "v2")
    assert {f.field for f in d.fields} <= {"title", "byline", "published", "modified"}
    if "body" not in parts:
        assert d.stats == DiffStats(0, 0, 0, 0)


def test_field_change_keeps_none_and_ops() -> None:
    d = diff_versions(side("x", byline=None), side("x", byline="Sok Dara"))
    (change,) = d.fields
    assert (change.field, change.old, change.new) == ("byline", None, "Sok Dara")
    assert changes(change.ops) == [(INS, "", "Sok Dara")]


def test_version_diff_is_frozen() -> None:
    d = diff_versions(side("a"), side("b"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.old_label = "x"  # type: ignore[misc]


# --- renderings -------------------------------------------------------------------------

OLD = side(
    "Intro.\nThe ministry denied it.\nRemoved paragraph.\nEnd.\n",
    "v1 (2026-01-02 10:00 UTC)",
    title="Raid",
    published="2026-01-02",
)
NEW = side(
    "Intro.\nThe ministry confirmed it.\nEnd.\nAdded paragraph.\n",
    "v2 (2026-01-03 08:00 UTC)",
    title="Raid at compound",
    published="2026-01-02",
)


def test_unified() -> None:
    out = render_unified(diff_versions(OLD, NEW))
    lines = out.splitlines()
    assert lines[:2] == ["--- v1 (2026-01-02 10:00 UTC)", "+++ v2 (2026-01-03 08:00 UTC)"]
    assert lines[2:5] == ["title:", "  - Raid", "  + Raid at compound"]
    assert lines[5].startswith("@@ ")
    for line in ("-The ministry denied it.", "+The ministry confirmed it.", " End."):
        assert line in lines
    assert "-Removed paragraph." in lines and "+Added paragraph." in lines
    assert "published:" not in out
    tight = render_unified(diff_versions(OLD, NEW), context_lines=0).splitlines()
    assert [line for line in tight if line.startswith("@@")] == ["@@ -2,2 +2 @@", "@@ -4,0 +4 @@"]


def test_unified_metadata_only_and_no_changes() -> None:
    meta_only = render_unified(diff_versions(OLD, dataclasses.replace(OLD, byline="Staff")))
    assert "byline:\n  - (none)\n  + Staff\n" in meta_only
    assert "@@" not in meta_only and "no changes" not in meta_only
    same = render_unified(diff_versions(OLD, OLD))
    assert same.splitlines()[2:] == ["no changes"]


def test_unified_marks_a_missing_final_newline() -> None:
    out = render_unified(diff_versions(side("a\nb"), side("a\nb\n", "v2")))
    assert out.endswith("@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")


def test_unified_rejects_negative_context() -> None:
    with pytest.raises(BadInput, match="context_lines"):
        render_unified(diff_versions(OLD, NEW), context_lines=-1)


def test_json_round_trips() -> None:
    out = render_json(diff_versions(OLD, NEW))
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    assert out["from"] == OLD.label and out["to"] == NEW.label
    assert out["changed"] == ["title", "body"]
    assert out["fields"][0]["field"] == "title"
    assert {op["op"] for op in out["body"]} <= {"equal", "insert", "delete", "replace"}
    assert set(out["stats"]) == {"chars_added", "chars_removed", "words_added", "words_removed"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        assert all(name in ("class", "scope") for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


HOSTILE = "<script>alert(1)</script>"
ALLOWED_TAGS = {"div", "p", "table", "thead", "tbody", "tr", "th", "td", "del", "ins"}


@pytest.mark.parametrize("render", [render_html, render_html_inline])
def test_html_escapes_archived_text(render: object) -> None:
    old = side(f"Safe.\n{HOSTILE}\n", '<img src=x onerror="alert(1)">', title=HOSTILE)
    new = side('Safe.\n"quoted" & bold\n', "v2", title="<b>Title</b>")
    out = render(diff_versions(old, new))  # type: ignore[operator]
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&quot;quoted&quot; &amp; bold" in out and "&lt;" in out
    parser = _Tags()
    parser.feed(out)
    assert parser.tags <= ALLOWED_TAGS
    assert HOSTILE in "".join(parser.text)  # shown to the reader as text
    assert out.startswith('<div class="pw-diff">') and "<html" not in out


def test_html_side_by_side_rows() -> None:
    out = render_html(diff_versions(OLD, NEW))
    for css in ("pw-diff", "pw-del", "pw-ins", "pw-side-old", "pw-side-new"):
        assert f'class="{css}"' in out
    assert out.index("pw-diff-meta") < out.index("pw-side-by-side")
    row = (
        '<tr class="pw-changed"><td class="pw-side-old">The ministry <del class="pw-del">denied'
        '</del> it.</td><td class="pw-side-new">The ministry <ins class="pw-ins">confirmed</ins>'
        " it.</td></tr>"
    )
    assert row in out
    removed = '<td class="pw-side-old"><del class="pw-del">Removed paragraph.</del></td>'
    assert removed + '<td class="pw-side-new pw-none"></td>' in out
    assert '<td class="pw-side-old">End.</td><td class="pw-side-new">End.</td>' in out
    assert out.count("<tr ") == 5  # Intro, edited, removed, End, added


def test_html_inline_and_no_changes() -> None:
    out = render_html_inline(diff_versions(OLD, NEW))
    assert '<del class="pw-del">denied</del><ins class="pw-ins">confirmed</ins>' in out
    assert "pw-side-by-side" not in out
    same = render_html(diff_versions(OLD, OLD))
    assert "no changes" in same and "<table" not in same


# --- properties -------------------------------------------------------------------------

ALPHABET = st.one_of(
    st.characters(min_codepoint=0x1780, max_codepoint=0x17FF),
    st.sampled_from(list("ab Z9 .,<&\n\n\u200b\u0301\u1000\u1039\u102c\u0e01\u0e34中")),
)
TEXTS = st.text(ALPHABET, max_size=60)


@given(TEXTS)
def test_tokenize_joins_back(text: str) -> None:
    assert_unsplit(text, tokenize(text))


@given(TEXTS, TEXTS)
def test_ops_rebuild_both_texts(old: str, new: str) -> None:
    assert_reconstructs(old, new, diff_text(old, new))


@settings(max_examples=50)
@given(TEXTS, st.integers(0, 60), st.integers(0, 10), TEXTS)
def test_small_edits_rebuild(base: str, at: int, cut: int, insert: str) -> None:
    new = base[:at] + insert + base[at + cut :]
    ops = diff_text(base, new)
    assert_reconstructs(base, new, ops)
    stats = diff_stats(ops)
    assert stats.chars_added - stats.chars_removed == len(new) - len(base)


PIECES = ["Police", "raided", "it", ".", " ", "\n", "\n\n", "ក្រសួង", "ស្ត្រី", "។", "<b>", "&"]
DOCS = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)
CELL = re.compile(r'<td class="pw-side-(old|new)( pw-none)?">(.*?)</td>', re.S)


@given(DOCS, DOCS)
def test_side_by_side_shows_every_line_once(old: str, new: str) -> None:
    out = render_html(diff_versions(side(old), side(new, "v2")))
    body = out.partition("pw-side-by-side")[2]
    for which, text in (("old", old), ("new", new)):
        cells = [c for s, none, c in CELL.findall(body) if s == which and not none]
        lines = text.split("\n")
        expected = lines[:-1] if lines[-1] == "" else lines
        assert [html.unescape(re.sub("<[^>]+>", "", c)) for c in cells] == (
            expected if old != new else []
        )


# --- work budget (issue 22: a diff any outlet can make slow) ------------------------------


@pytest.fixture
def visits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_visits(monkeypatch)


@pytest.mark.parametrize("count", [900, 1800, 7200])  # 11 KB, 22 KB, 90 KB
def test_repeated_sentences_cost_a_bounded_amount_of_work(count: int, visits: list[int]) -> None:
    old, new = repeated_sentences(count)
    d = diff_versions(side(old), side(new, "v2"))
    # One budget for the body (no field changed), whatever the size of the text.
    assert visits[0] <= WORK_BUDGET
    assert d.coarse
    assert_reconstructs(old, new, d.body)
    # Coarser, still readable: each changed sentence is one replacement of one sentence.
    assert changes(d.body) == [(REP, "Police came", f"Freed {i}") for i in range(0, count, 5)]
    assert d.stats.chars_added == sum(len(f"Freed {i}") for i in range(0, count, 5))


def test_an_ordinary_long_edit_is_not_coarse(visits: list[int]) -> None:
    """The budget is far above what a person's edit of a long article costs."""
    paragraphs = [
        f"Paragraph {p}: " + " ".join(f"word{(p * 31 + w) % 997}" for w in range(80)) + "."
        for p in range(300)
    ]
    old = "\n\n".join(paragraphs)
    new = "\n\n".join([*paragraphs[:100], "An added paragraph.", *paragraphs[101:]])
    d = diff_versions(side(old), side(new.replace("word5 ", "word5b ", 3), "v2"))
    assert not d.coarse
    assert visits[0] < WORK_BUDGET / 10
    assert (REP, paragraphs[100][:-1], "An added paragraph") in changes(d.body)


@settings(max_examples=200)
@given(TEXTS, TEXTS, st.integers(0, 40))
def test_any_budget_gives_an_exact_diff(old: str, new: str, units: int) -> None:
    """However little work is allowed, the ops rebuild both texts at token edges."""
    budget = Budget(units)
    assert_reconstructs(old, new, diff_text(old, new, budget=budget))
    assert budget.spent <= units


@given(DOCS, DOCS, st.integers(0, 30))
def test_linear_alignment_rebuilds_both_sequences(old: str, new: str, units: int) -> None:
    a, b = tokenize(old), tokenize(new)
    ops = align(a, b, Budget(units))
    assert [x for _, i1, i2, _, _ in ops for x in a[i1:i2]] == a
    assert [x for _, _, _, j1, j2 in ops for x in b[j1:j2]] == b
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]


MIXED = st.text(
    st.one_of(
        st.sampled_from(list("ab Z9_.-'\r\n\t\x1c")),
        st.sampled_from(list("é\u0301\u200b\u00a0\u2028“”—ក្រ\u17d2\u1039\u102c中")),
    ),
    max_size=80,
)


@settings(max_examples=500)
@given(MIXED)
@example("9\u17d2.9")  # a coeng takes the "." into the cluster of a word
@example("a\u0301.b")
def test_ascii_fast_path_cuts_as_clusters_do(text: str) -> None:
    assert tokenize(text) == _tokenize_clusters(text)


@given(DOCS, DOCS)
def test_unified_lines_rebuild_both_texts(old: str, new: str) -> None:
    """The unified rendering reads its line alignment off the ops (nothing is aligned
    again per request): with all context it shows every line of each text once, and
    each hunk header counts its lines."""
    d = diff_versions(side(old), side(new, "v2"))
    whole = render_unified(d, context_lines=10**6).split("\n")
    body = [line for line in whole[2:] if not line.startswith(("@@", "\\"))][:-1]
    if old != new:
        assert [x[1:] for x in body if x[:1] in " -"] == old.splitlines()
        assert [x[1:] for x in body if x[:1] in " +"] == new.splitlines()
    for hunk in re.finditer(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n((?:[ +\\-].*\n?)*)",
                            render_unified(d, context_lines=0)):  # fmt: skip
        lines = [x for x in hunk.group(5).split("\n") if x and not x.startswith("\\")]
        assert sum(x[0] == "-" for x in lines) == int(hunk.group(2) or 1)
        assert sum(x[0] == "+" for x in lines) == int(hunk.group(4) or 1)
