"""The detection matrix of the archive-core issue: article pages (English and Khmer)
mutated the way outlets change them, on SQLite and PostgreSQL.

Each row: what the outlet did → what the archive must record. Every row runs on our own
pages (the demo outlet's articles, `tests.archive_helpers.own_page`); the rows marked
`real_pages` run again on real fixture pages when ../shared/fixtures is there (a
quality gate: see tests/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from archive.capture import RedirectHop
from archive.store.models import Article, ArticleUrl, Capture, CaptureOutcome, Version
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.conftest import REAL_PAGES

OWN: dict[str, Callable[[], h.Page]] = {
    "own-en-raid": h.en_story,
    "own-en-task-force": lambda: h.own_page(h.EN_TASK_FORCE),
    "own-km-committee": h.km_story,
    "own-km-torture": h.km_other,
}
# Real pages chosen for having body snippets verbatim inside <p> (so edits can be made).
REAL = {
    "real-en-1": "pages/5d05d972bba1.html",
    "real-en-2": "pages/167bc5c78df3.html",
    "real-km-1": "khmer/km313342.html",
    "real-km-2": "khmer/km313467.html",
}


def cases(*names: str) -> list[Any]:
    """Parameters for these pages; the real ones carry the `real_pages` mark."""
    return [pytest.param(n, marks=pytest.mark.real_pages) if n in REAL else n for n in names]


def pair_cases(*pairs: tuple[str, str]) -> list[Any]:
    return [
        pytest.param(a, b, marks=pytest.mark.real_pages, id=f"{a}+{b}")
        if a in REAL
        else pytest.param(a, b, id=f"{a}+{b}")
        for a, b in pairs
    ]


PAGE_IDS = cases(*OWN, *REAL)
KHMER_IDS = cases(*(n for n in [*OWN, *REAL] if "-km-" in n))
EN_IDS = cases("own-en-raid", "real-en-1")
KM_IDS = cases("own-km-committee", "real-km-1")
KM_RESCUE = "police-rescue-120-workers-from-preah-sihanouk-scam-site"
KM_PAIRS = pair_cases(("own-km-committee", "own-km-torture"), ("real-km-1", "real-km-2"))


def page(name: str) -> h.Page:
    if name in OWN:
        return OWN[name]()
    file = REAL[name]
    entry = REAL_PAGES.entry(file)
    html = REAL_PAGES.text(file)
    # A ground-truth body snippet when it is verbatim in the HTML; otherwise (Khmer
    # pages carry invisible U+200B) a stretch of the first long paragraph.
    snippet = next((s for s in entry["with"] if s in html), None)
    if snippet is None:
        para = re.search(r"<p>([^<]{120,})</p>", html)
        assert para, file
        snippet = para.group(1)[20:100]
    return h.Page(entry["url"], html, snippet, entry["lang"])


def first(rt: Runtime, p: h.Page, at: Callable[[float], Any]) -> int:
    result = h.record(rt, h.exchange(p.url, p.html, at=at(0)))
    assert result.outcome is CaptureOutcome.NEW, result
    assert result.article_id is not None
    return result.article_id


def article(rt: Runtime, article_id: int) -> Article:
    with rt.sessions() as s:
        art = s.get(Article, article_id)
        assert art is not None
        return art


# -- unchanged ----------------------------------------------------------------------------


@pytest.mark.parametrize("file", PAGE_IDS)
def test_unchanged_bytes_add_a_capture_and_a_revisit_only(
    any_runtime: Runtime, at: Any, file: str
) -> None:
    p = page(file)
    aid = first(any_runtime, p, at)
    again = h.record(any_runtime, h.exchange(p.url, p.html, at=at(1)))
    assert again.outcome is CaptureOutcome.UNCHANGED and again.events == ()
    assert h.counts(any_runtime) == (2, 1, 1)
    with any_runtime.sessions() as s:
        types = [c.warc_type for c in s.scalars(select(Capture).order_by(Capture.id))]
        version = s.scalars(select(Version)).one()
        assert version.last_capture_id == again.capture_id
    assert types == ["response", "revisit"]
    assert article(any_runtime, aid).status == "live"


@pytest.mark.parametrize("file", PAGE_IDS)
@pytest.mark.parametrize("noise", [*h.NOISES, h.all_noise], ids=lambda f: f.__name__)
def test_noise_is_not_an_edit(
    runtime: Runtime, at: Any, file: str, noise: Callable[[str, int], str]
) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    for i in range(1, 3):
        r = h.record(runtime, h.exchange(p.url, noise(p.html, i * 37), at=at(i)))
        assert r.outcome is CaptureOutcome.UNCHANGED, (noise.__name__, r)
    assert h.events(runtime, aid) == [("discovered", [])]
    assert h.counts(runtime)[1] == 1


# -- edits --------------------------------------------------------------------------------


@pytest.mark.parametrize("file", PAGE_IDS)
@pytest.mark.parametrize(
    "edit", [h.edit_one_word, h.add_sentence, h.remove_paragraph], ids=lambda f: f.__name__
)
def test_body_edits_make_a_version_and_an_edited_event(
    any_runtime: Runtime, at: Any, file: str, edit: Callable[[str, str], str]
) -> None:
    p = page(file)
    aid = first(any_runtime, p, at)
    edited_html = h.noise_ad(edit(p.html, p.snippet), 5)  # with noise on top
    r = h.record(any_runtime, h.exchange(p.url, edited_html, at=at(2)))
    assert r.outcome is CaptureOutcome.EDITED and r.version_n == 2
    assert h.events(any_runtime, aid) == [("discovered", []), ("edited", ["body"])]
    assert article(any_runtime, aid).status == "edited"
    with any_runtime.sessions() as s:
        from archive.store.models import ChangeEvent

        event = s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "edited")).one()
        detail = event.detail
    assert detail["chars_added"] + detail["chars_removed"] > 0
    if edit is h.remove_paragraph:
        assert detail["chars_removed"] > 0 and detail["chars_added"] == 0
    if edit is h.add_sentence:
        assert detail["words_added"] >= 4 and detail["words_removed"] == 0


@pytest.mark.parametrize("file", KHMER_IDS)
def test_khmer_headline_byline_and_date_changes(runtime: Runtime, at: Any, file: str) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    with runtime.sessions() as s:
        v1 = s.scalars(select(Version)).one()
        title = v1.title
        assert v1.lang == "km" and v1.byline and "អ្នកយកព័ត៌មាន" in v1.byline
    assert title
    html = p.html
    head_title = html.split("<h1", 1)[1].split(">", 1)[1].split("</h1>", 1)[0]
    changed = html.replace(head_title, "ការកែប្រែ " + head_title)
    r = h.record(runtime, h.exchange(p.url, changed, at=at(1)))
    assert r.outcome is CaptureOutcome.EDITED
    changed = h.khmer_byline_changed(changed)
    assert h.record(runtime, h.exchange(p.url, changed, at=at(2))).outcome is CaptureOutcome.EDITED
    published = changed.split('article:published_time" content="', 1)[1][:10]
    moved_date = changed.replace(published, "2021-01-05")
    assert (
        h.record(runtime, h.exchange(p.url, moved_date, at=at(3))).outcome is CaptureOutcome.EDITED
    )
    assert [e for e in h.events(runtime, aid)] == [
        ("discovered", []),
        ("edited", ["title"]),
        ("edited", ["byline"]),
        ("edited", ["dates"]),
    ]


@pytest.mark.parametrize("file", EN_IDS)
def test_english_headline_change(runtime: Runtime, at: Any, file: str) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    with runtime.sessions() as s:
        title = s.scalars(select(Version.title)).one()
    assert title and title in p.html
    changed = p.html.replace(title, title + " (updated)")
    assert h.record(runtime, h.exchange(p.url, changed, at=at(1))).outcome is CaptureOutcome.EDITED
    assert h.events(runtime, aid)[-1] == ("edited", ["title"])


# -- takedowns ------------------------------------------------------------------------------


def removal_cases(p: h.Page) -> dict[str, dict[str, Any]]:
    base = p.url.split("/", 3)
    home = f"{base[0]}//{base[2]}/"
    return {
        "http_404": {"status": 404, "body": h.NOT_FOUND_EN},
        "http_410": {"status": 410, "body": "<html><body><h1>Gone</h1></body></html>"},
        "redirect_home": {
            "final": home,
            "body": h.home_page(home),
            "redirects": (RedirectHop(p.url, 301, home),),
        },
        "soft_404": {"body": h.NOT_FOUND_KM if p.lang == "km" else h.NOT_FOUND_EN},
        "emptied": {"body": h.emptied(p.html)},
    }


@pytest.mark.parametrize("file", PAGE_IDS)
@pytest.mark.parametrize("how", ["http_404", "http_410", "redirect_home", "soft_404", "emptied"])
def test_removal_is_confirmed_on_the_second_check(
    any_runtime: Runtime, at: Any, file: str, how: str
) -> None:
    p = page(file)
    aid = first(any_runtime, p, at)
    case = removal_cases(p)[how]
    ex = lambda t: h.exchange(  # noqa: E731
        p.url,
        case["body"],
        at=at(t),
        status=case.get("status", 200),
        final=case.get("final"),
        redirects=case.get("redirects", ()),
    )
    r1 = h.record(any_runtime, ex(1))
    assert r1.outcome is CaptureOutcome.REMOVAL_PENDING and r1.events == ()
    assert article(any_runtime, aid).status == "live"
    r2 = h.record(any_runtime, ex(2))
    assert r2.outcome is CaptureOutcome.REMOVED
    assert h.events(any_runtime, aid) == [("discovered", []), ("removed", [how])]
    art = article(any_runtime, aid)
    assert art.status == "removed" and art.removal == how
    assert art.removed_at == at(1)  # first sighting, confirmed by the second
    assert h.counts(any_runtime)[1] == 1  # the last live version stays, nothing new


@pytest.mark.parametrize("file", EN_IDS + KM_IDS)
def test_404_then_200_before_confirmation_is_no_removal(
    runtime: Runtime, at: Any, file: str
) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    assert (
        h.record(runtime, h.exchange(p.url, h.NOT_FOUND_EN, at=at(1), status=404)).outcome
        is CaptureOutcome.REMOVAL_PENDING
    )
    assert (
        h.record(runtime, h.exchange(p.url, p.html, at=at(2))).outcome is CaptureOutcome.UNCHANGED
    )
    assert (
        h.record(runtime, h.exchange(p.url, h.NOT_FOUND_EN, at=at(3), status=404)).outcome
        is CaptureOutcome.REMOVAL_PENDING
    )
    assert h.events(runtime, aid) == [("discovered", [])]
    assert article(runtime, aid).status == "live"


@pytest.mark.parametrize(("file", "other_file"), KM_PAIRS)
def test_redirect_to_a_different_article_is_a_move(
    any_runtime: Runtime, at: Any, file: str, other_file: str
) -> None:
    p, other = page(file), page(other_file)
    aid = first(any_runtime, p, at)
    new_url = p.url.rstrip("/") + "-updated/"
    r = h.record(
        any_runtime,
        h.exchange(
            p.url,
            p.html,
            at=at(1),
            final=new_url,
            redirects=(RedirectHop(p.url, 301, new_url),),
        ),
    )
    assert r.outcome is CaptureOutcome.MOVED
    assert h.events(any_runtime, aid) == [("discovered", []), ("moved", [])]
    with any_runtime.sessions() as s:
        urls = {u.url for u in s.scalars(select(ArticleUrl).where(ArticleUrl.article_id == aid))}
    assert urls == {p.url, new_url}
    # Fetching the new URL afterwards is the same article, unchanged, not another move.
    again = h.record(any_runtime, h.exchange(new_url, p.html, at=at(2)))
    assert again.article_id == aid and again.outcome is CaptureOutcome.UNCHANGED
    assert article(any_runtime, aid).status == "live"
    # And an unrelated page is still its own article.
    assert first(any_runtime, other, at) != aid


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "body": h.ERROR_503},
        {"status": 500, "body": h.ERROR_503},
        {"status": None, "error": "timeout"},
        {"status": None, "error": "dns"},
        {"status": None, "error": "connection_refused"},
    ],
    ids=["503", "500", "timeout", "dns", "connection"],
)
@pytest.mark.parametrize("file", EN_IDS)
def test_unreachable_is_never_removed(
    any_runtime: Runtime, at: Any, failure: dict[str, Any], file: str
) -> None:
    p = page(file)
    aid = first(any_runtime, p, at)
    for t in range(1, 5):
        r = h.record(
            any_runtime,
            h.exchange(
                p.url,
                failure.get("body", b""),
                at=at(t),
                status=failure["status"],
                error=failure.get("error"),
            ),
        )
        assert r.outcome is CaptureOutcome.UNREACHABLE
    assert article(any_runtime, aid).status == "unreachable"
    h.record(any_runtime, h.exchange(p.url, p.html, at=at(9)))
    assert h.events(any_runtime, aid) == [
        ("discovered", []),
        ("unreachable", []),
        ("reachable", []),
    ]
    assert article(any_runtime, aid).status == "live"


@pytest.mark.parametrize("file", EN_IDS)
def test_block_page_is_not_an_edit_or_a_takedown(runtime: Runtime, at: Any, file: str) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    for t in (1, 2, 3):
        r = h.record(runtime, h.exchange(p.url, h.CHALLENGE, at=at(t)))
        assert r.outcome is CaptureOutcome.BLOCKED
    r = h.record(runtime, h.exchange(p.url, h.CHALLENGE, at=at(4), status=403))
    assert r.outcome is CaptureOutcome.BLOCKED
    assert h.events(runtime, aid) == [("discovered", [])]


# -- restored ------------------------------------------------------------------------------


def _remove(rt: Runtime, p: h.Page, at: Any) -> None:
    for t in (1, 2):
        h.record(rt, h.exchange(p.url, h.NOT_FOUND_EN, at=at(t), status=404))


@pytest.mark.parametrize("file", EN_IDS + KM_IDS)
def test_restored_same_content_makes_no_version(any_runtime: Runtime, at: Any, file: str) -> None:
    p = page(file)
    aid = first(any_runtime, p, at)
    _remove(any_runtime, p, at)
    r = h.record(any_runtime, h.exchange(p.url, h.noise_ad(p.html, 3), at=at(5)))
    assert r.outcome is CaptureOutcome.RESTORED and r.version_n == 1
    assert h.events(any_runtime, aid)[-1] == ("restored", [])
    art = article(any_runtime, aid)
    assert art.status == "live" and art.removed_at is None and art.removal is None


@pytest.mark.parametrize("file", EN_IDS)
def test_restored_with_changed_content_makes_a_version(
    runtime: Runtime, at: Any, file: str
) -> None:
    p = page(file)
    aid = first(runtime, p, at)
    _remove(runtime, p, at)
    r = h.record(runtime, h.exchange(p.url, h.remove_paragraph(p.html, p.snippet), at=at(5)))
    assert r.outcome is CaptureOutcome.RESTORED and r.version_n == 2
    assert h.events(runtime, aid)[-1] == ("restored", ["body"])
    assert article(runtime, aid).status == "edited"


# -- idempotence ------------------------------------------------------------------------------


@pytest.mark.parametrize("file", KM_IDS)
def test_recording_the_same_fetch_twice_is_a_no_op(
    any_runtime: Runtime, at: Any, file: str
) -> None:
    p = page(file)
    ex = h.exchange(p.url, p.html, at=at(0))
    one = h.record(any_runtime, ex)
    two = h.record(any_runtime, ex)
    assert two.duplicate and two.capture_id == one.capture_id and two.events == ("discovered",)
    assert h.counts(any_runtime) == (1, 1, 1)


@pytest.mark.parametrize(
    "files",
    [
        pytest.param((h.KM_COMMITTEE, h.KM_TORTURE, KM_RESCUE), id="own"),
        pytest.param(("real-km-1", "real-km-2"), marks=pytest.mark.real_pages, id="real"),
    ],
)
def test_khmer_versions_hash_apart(runtime: Runtime, at: Any, files: tuple[str, ...]) -> None:
    """trafilatura's simhash is the same for all pure-Khmer texts; ours must not be."""
    pages = [page(f) if f in REAL else h.own_page(f) for f in files]
    ids = [first(runtime, p, at) for p in pages]
    assert len(set(ids)) == len(pages)
    with runtime.sessions() as s:
        shas = set(s.scalars(select(Version.text_sha256)))
    assert len(shas) == len(pages)


# -- extractor upgrades (rule 8) ---------------------------------------------------------


@pytest.mark.parametrize("file", EN_IDS)
def test_an_extractor_upgrade_does_not_read_as_an_edit(
    runtime: Runtime, at: Any, file: str
) -> None:
    """Versions made by an older extractor are compared with what today's extractor
    makes of their original capture, not with their stored text."""
    p = page(file)
    aid = first(runtime, p, at)
    with runtime.sessions.begin() as s:
        v = s.scalars(select(Version)).one()
        # What an older trafilatura might have produced: same article, different cut.
        v.text_z = Version.compress(v.text + "\nShare this article")
        v.extractor = "trafilatura 1.0.0+pw0"
    r = h.record(runtime, h.exchange(p.url, h.noise_counter(p.html, 9), at=at(1)))
    assert r.outcome is CaptureOutcome.UNCHANGED
    edited = h.record(runtime, h.exchange(p.url, h.add_sentence(p.html, p.snippet), at=at(2)))
    assert edited.outcome is CaptureOutcome.EDITED
    assert h.events(runtime, aid) == [("discovered", []), ("edited", ["body"])]


@pytest.mark.parametrize(("file", "other_file"), KM_PAIRS)
def test_redirect_into_another_archived_article_is_a_removal_sign(
    runtime: Runtime, at: Any, file: str, other_file: str
) -> None:
    a, b = page(file), page(other_file)
    aid, bid = first(runtime, a, at), first(runtime, b, at)
    hop = (RedirectHop(a.url, 301, b.url),)
    for t in (1, 2):
        h.record(runtime, h.exchange(a.url, b.html, at=at(t), final=b.url, redirects=hop))
    assert h.events(runtime, aid) == [("discovered", []), ("removed", ["redirect_elsewhere"])]
    assert h.events(runtime, bid) == [("discovered", [])]
    with runtime.sessions() as s:
        assert s.scalars(select(Version).where(Version.article_id == aid)).one().n == 1
