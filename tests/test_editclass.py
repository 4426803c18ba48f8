"""What kind of edit: each class of archive.content.editclass, in English and Khmer, with the
evidence a watchdog reads, and the significance score's order (a typo below a softened
headline below a removed paragraph that named an official)."""

from __future__ import annotations

from typing import Any

import pytest

from archive.content import CLASS_NAMES, VersionSide, judge_edit
from archive.content.align import WORK_BUDGET
from tests.sequence_work import count_visits, repeated_sentences

EN_TEXT = (
    "Police freed 212 workers from a compound in Sihanoukville on Tuesday, officials said.\n"
    "Provincial police chief Chan Virak said 19 suspects were detained.\n"
    "“People who were held against their will must not be punished,” said Dara Kim.\n"
    "The workers were taken to a sports hall for screening."
)
# Police freed 120 workers… / Mr Sok Veasna of the Ministry of Interior said 12 suspects
# were detained. / "They beat us every day," said a victim. / The workers were sent home.
KM_TEXT = (
    "ប៉ូលិសបានជួយសង្គ្រោះពលករចំនួន ១២០ នាក់ ពីអគារមួយនៅខេត្តព្រះសីហនុ។\n"
    "លោក សុខ វាសនា អ្នកនាំពាក្យក្រសួងមហាផ្ទៃ បាននិយាយថា ជនសង្ស័យ ១២ នាក់ត្រូវបានឃាត់ខ្លួន។\n"
    "«ពួកគេវាយយើងរាល់ថ្ងៃ» នេះបើតាមជនរងគ្រោះម្នាក់។\n"
    "ពលករទាំងនោះត្រូវបានបញ្ជូនទៅប្រទេសកំណើតវិញ។"
)
EN_TITLE = "Police free 212 workers from scam compound"
KM_TITLE = "ប៉ូលិសជួយសង្គ្រោះពលករ ១២០ នាក់ពីទីតាំងបោកប្រាស់"


def side(
    text: str,
    title: str,
    byline: str | None = "By Sok Dara",
    published: str | None = "2026-02-20T09:00:00+07:00",
) -> VersionSide:
    return VersionSide(title, byline, published, None, text, "")


def base(lang: str) -> VersionSide:
    return side(EN_TEXT, EN_TITLE) if lang == "en" else side(KM_TEXT, KM_TITLE)


def edit(lang: str, **changes: Any) -> dict[str, Any]:
    old = base(lang)
    fields = {
        "text": old.text,
        "title": old.title,
        "byline": old.byline,
        "published": old.published,
        **changes,
    }
    new = side(fields["text"], fields["title"], fields["byline"], fields["published"])
    return judge_edit(old, new)


def classes(judged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["class"]: c for c in judged["classes"]}


def paragraphs(lang: str) -> list[str]:
    return base(lang).text.split("\n")


def without(lang: str, index: int) -> str:
    return "\n".join(p for i, p in enumerate(paragraphs(lang)) if i != index)


@pytest.mark.parametrize(
    ("lang", "title", "tone"),
    [
        ("en", "Police assist 212 foreigners at compound", "softened"),
        ("en", "Police free 212 trafficking victims held in scam compound", "sharpened"),
        ("en", "Police free 212 workers from compound in the south", "softened"),
        ("km", "ប៉ូលិសជួយពលករ ១២០ នាក់ពីអគារមួយ", "softened"),
        ("km", "ប៉ូលិសជួយសង្គ្រោះជនរងគ្រោះនៃការជួញដូរ ១២០ នាក់ពីទីតាំងបោកប្រាស់", "sharpened"),
        ("km", "ប៉ូលិសជួយសង្គ្រោះពលករ ១២០ នាក់ពីទីតាំងបោកប្រាស់នៅភាគខាងត្បូង", "reworded"),
    ],
)
def test_headline_change_and_its_tone(lang: str, title: str, tone: str) -> None:
    found = classes(edit(lang, title=title))
    assert found["headline_changed"]["tone"] == tone
    assert found["headline_changed"]["old"] == base(lang).title
    assert found["headline_changed"]["new"] == title
    assert "silent_edit" in found


def test_tone_words_match_whole_words_unless_marked_as_prefixes() -> None:
    # "may" is a hedge, "Mayor" is not; "kill*" covers "killings".
    assert (
        classes(edit("en", title="Mayor says police free 212 workers from scam compound"))[
            "headline_changed"
        ]["tone"]
        == "reworded"
    )
    assert (
        classes(edit("en", title="Police free 212 workers from scam compound after killings"))[
            "headline_changed"
        ]["tone"]
        == "sharpened"
    )


@pytest.mark.parametrize("lang", ["en", "km"])
def test_removed_paragraph_names_its_text_position_and_who_it_named(lang: str) -> None:
    found = classes(edit(lang, text=without(lang, 1)))
    assert found["paragraphs_removed"]["paragraphs"] == [paragraphs(lang)[1]]
    assert found["paragraphs_removed"]["positions"] == [2]
    names = found["names_removed"]["names"]
    if lang == "en":
        assert "Chan Virak" in " ".join(names)
    else:
        assert "សុខ វាសនា" in names
        assert "ក្រសួងមហាផ្ទៃ" in names
    # The numbers of a removed paragraph are not "numbers changed".
    assert "numbers_changed" not in found


@pytest.mark.parametrize("lang", ["en", "km"])
def test_added_paragraph(lang: str) -> None:
    extra = "Officials promised a report." if lang == "en" else "មន្ត្រីបានសន្យាចេញរបាយការណ៍។"
    found = classes(edit(lang, text=base(lang).text + "\n" + extra))
    assert found["paragraphs_added"] == {
        "class": "paragraphs_added",
        "paragraphs": [extra],
        "positions": [5],
    }
    assert "paragraphs_removed" not in found


@pytest.mark.parametrize("lang", ["en", "km"])
def test_removed_quote(lang: str) -> None:
    found = classes(edit(lang, text=without(lang, 2)))
    quote = (
        "People who were held against their will must not be punished,"
        if lang == "en"
        else "ពួកគេវាយយើងរាល់ថ្ងៃ"
    )
    assert found["quote_removed"]["quotes"] == [quote]


def test_a_reworded_quote_is_not_a_removed_one() -> None:
    text = EN_TEXT.replace("must not be punished", "should not be punished")
    found = classes(edit("en", text=text))
    assert "quote_removed" not in found
    assert set(found) == {"silent_edit"}


@pytest.mark.parametrize(
    ("lang", "old", "new"),
    [("en", "212", "200"), ("km", "១២០", "៨០")],
)
def test_changed_numbers_in_title_and_text(lang: str, old: str, new: str) -> None:
    start = base(lang)
    assert start.title is not None
    found = classes(
        edit(lang, title=start.title.replace(old, new), text=start.text.replace(old, new, 1))
    )
    assert found["numbers_changed"]["changes"] == [
        {"old": old, "new": new, "where": "title"},
        {"old": old, "new": new, "where": "paragraph 1"},
    ]


@pytest.mark.parametrize(
    ("lang", "old", "new", "gone"),
    [
        ("en", "said Dara Kim.", "said a lawyer.", "Dara Kim"),
        ("km", "អ្នកនាំពាក្យក្រសួងមហាផ្ទៃ បាន", "អ្នកនាំពាក្យម្នាក់ បាន", "ក្រសួងមហាផ្ទៃ"),
        ("km", "លោក សុខ វាសនា អ្នកនាំពាក្យ", "មន្ត្រីម្នាក់ អ្នកនាំពាក្យ", "សុខ វាសនា"),
    ],
)
def test_names_removed_inside_a_kept_paragraph(lang: str, old: str, new: str, gone: str) -> None:
    text = base(lang).text
    assert old in text
    found = classes(edit(lang, text=text.replace(old, new)))
    assert found["names_removed"]["names"] == [gone]
    assert "paragraphs_removed" not in found


def test_a_name_still_there_is_not_removed() -> None:
    text = EN_TEXT.replace(
        "Provincial police chief Chan Virak said", "Chan Virak, the police chief, said"
    )
    assert "names_removed" not in classes(edit("en", text=text))


@pytest.mark.parametrize("lang", ["en", "km"])
def test_byline_removed_and_changed(lang: str) -> None:
    removed = classes(edit(lang, byline=None))
    assert removed == {
        "byline_removed": {"class": "byline_removed", "old": "By Sok Dara", "new": None}
    }
    new = "By Ledger Staff" if lang == "en" else "ដោយ អ្នកយកព័ត៌មាន"
    changed = classes(edit(lang, byline=new))
    assert changed["byline_changed"]["new"] == new
    # Only the byline changed: no silent edit of the text.
    assert set(changed) == {"byline_changed"}


@pytest.mark.parametrize("lang", ["en", "km"])
def test_publication_date_moved(lang: str) -> None:
    found = classes(edit(lang, published="2026-02-10T09:00:00+07:00"))
    assert found == {
        "date_moved": {
            "class": "date_moved",
            "old": "2026-02-20T09:00:00+07:00",
            "new": "2026-02-10T09:00:00+07:00",
            "days": -10.0,
        }
    }


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("en", "Correction: An earlier version of this story gave the wrong number of workers."),
        ("en", "Editor's note: This article has been updated to remove a name."),
        ("km", "កំណែតម្រូវ៖ អត្ថបទមុនបានសរសេរចំនួនពលករខុស។"),
        ("km", "កំណត់សម្គាល់របស់និពន្ធនាយក៖ អត្ថបទនេះត្រូវបានកែប្រែ។"),
    ],
)
def test_correction_note_added_is_not_silent(lang: str, note: str) -> None:
    found = classes(edit(lang, text=without(lang, 1) + "\n" + note))
    assert found["correction_added"]["notes"] == [note]
    assert "silent_edit" not in found
    assert "paragraphs_removed" in found


@pytest.mark.parametrize("lang", ["en", "km"])
def test_silent_edit_when_text_changes_without_a_note(lang: str) -> None:
    text = base(lang).text.replace("\n", "\n\n", 1)  # not a change of the text's paragraphs
    assert classes(edit(lang, text=text)).keys() <= {"silent_edit"}
    found = classes(edit(lang, text=without(lang, 3)))
    assert "silent_edit" in found
    # An old note that stays is not a note added by this edit.
    note = "Correction: the number of workers was corrected on Monday."
    start = base(lang)
    old = side(start.text + "\n" + note, start.title or "")
    new = side(without(lang, 3) + "\n" + note, start.title or "")
    assert "silent_edit" in classes(judge_edit(old, new))


def test_significance_orders_edits_as_a_watchdog_would() -> None:
    typo = edit("en", text=EN_TEXT.replace("sports hall", "sport hall"))
    softened = edit("en", title="Police assist 212 foreigners at compound")
    officer_cut = edit("en", text=without("en", 1))
    many = edit(
        "en",
        title="Police assist 200 foreigners at compound",
        text=without("en", 1).replace("212", "200"),
        byline=None,
    )
    scores = [j["significance"] for j in (typo, softened, officer_cut, many)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores)
    assert scores[0] < 0.1 < 0.3 < scores[1]
    assert scores[3] > 0.8


def test_a_change_at_the_top_weighs_more_than_the_same_at_the_bottom() -> None:
    top = EN_TEXT.replace("on Tuesday", "on Wednesday")
    bottom = EN_TEXT.replace("a sports hall", "a hall")
    assert edit("en", text=top)["significance"] > edit("en", text=bottom)["significance"]


def test_identical_versions_have_no_class_and_zero_significance() -> None:
    assert judge_edit(base("km"), base("km")) == {"classes": [], "significance": 0.0}


def test_the_labelled_set_covers_every_class_in_both_languages() -> None:
    """The benchmark's precision and recall mean something for each class only if the
    set has edits of that class in English and in Khmer."""
    from benchmarks.edit_cases import CASES
    from benchmarks.edit_classes import TONES, run

    for lang in ("en", "km"):
        labelled = set().union(*(c.labels for c in CASES if c.lang == lang))
        assert labelled == {*CLASS_NAMES, *TONES}, lang
    result = run()
    assert result["cases"]["all"] == len(CASES)
    assert set(result["all"]) == {*CLASS_NAMES, *TONES}
    assert all(row["recall"] is not None for row in result["all"].values())


def test_a_failure_to_judge_leaves_the_edit_unclassed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Capture stores what judge_edit returns: a bug in a rule must not cost a capture."""
    import archive.content.editclass

    def broken(*_args: object) -> list[str]:
        raise RuntimeError("a rule broke")

    monkeypatch.setattr(archive.content.editclass, "names_removed", broken)
    assert edit("en", text=without("en", 1)) == {}
    assert "could not judge an edit" in caplog.text


# -- work (issue 22) ----------------------------------------------------------------------


@pytest.mark.parametrize("sep", [" ", "\n"])  # one paragraph, or one sentence a paragraph
def test_repeated_sentences_cost_a_bounded_amount_of_work(
    monkeypatch: pytest.MonkeyPatch, sep: str
) -> None:
    """Judging an edit aligns paragraphs, words, numbers and quotes; on the attack text
    (before the budget, 16 KB took 44 s to judge) it costs at most two budgets: the one
    of classes and significance, and the body's diff."""
    visits = count_visits(monkeypatch)
    for count in (900, 1800):
        old, new = (text.replace(". ", "." + sep) for text in repeated_sentences(count))
        visits[0] = 0
        judged = judge_edit(VersionSide(None, None, None, None, old, "v1"),
                            VersionSide(None, None, None, None, new, "v2"))  # fmt: skip
        assert visits[0] <= 2 * WORK_BUDGET
        assert "silent_edit" in classes(judged)
        assert 0 < judged["significance"] < 1
