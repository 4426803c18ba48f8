"""The pure detection rules: what a fetch shows, and what it means for an article."""

from __future__ import annotations

import hashlib

import pytest

from archive.capture.detect import (
    ArticleState,
    ContentKey,
    Observation,
    Policy,
    Seen,
    is_home_or_section,
    judge,
    judge_new,
    looks_blocked,
    looks_not_found,
    observe,
)
from archive.store.models import ArticleStatus, CaptureOutcome, ChangeKind, RemovalReason

BODY = "The ministry said 412 workers were freed from the compound. " * 20
URL = "https://news.example/2026/03/scam-compound-raid/"
BASE = "https://news.example/"


def key(
    text: str = BODY, title: str = "Raid frees workers", byline: str = "Sok Dara"
) -> ContentKey:
    return ContentKey(title, byline, "2026-03-01", text, hashlib.sha256(text.encode()).hexdigest())


def obs(
    status: int | None = 200,
    *,
    final: str = URL,
    content: ContentKey | None = None,
    error: str | None = None,
    title: str | None = "Raid frees workers",
    pattern: str | None = None,
    html: str = "",
) -> Observation:
    return observe(
        status=status,
        error=error,
        requested_url=URL,
        final_url=final,
        base_url=BASE,
        article_pattern=pattern,
        is_html=True,
        page_title=title,
        content=content if content is not None else key(),
        html_head=html,
    )


def live(**kw: object) -> ArticleState:
    base: dict[str, object] = {"status": ArticleStatus.LIVE, "last": key(), "version_count": 1}
    base.update(kw)
    return ArticleState(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error", "seen", "removal"),
    [
        (200, None, Seen.CONTENT, None),
        (304, None, Seen.NOT_MODIFIED, None),
        (404, None, Seen.REMOVAL_SIGN, RemovalReason.HTTP_404),
        (410, None, Seen.REMOVAL_SIGN, RemovalReason.HTTP_410),
        (451, None, Seen.REMOVAL_SIGN, RemovalReason.HTTP_451),
        (403, None, Seen.BLOCKED, None),
        (429, None, Seen.BLOCKED, None),
        (500, None, Seen.UNREACHABLE, None),
        (502, None, Seen.UNREACHABLE, None),
        (503, None, Seen.UNREACHABLE, None),
        (None, "timeout", Seen.UNREACHABLE, None),
        (None, "dns", Seen.UNREACHABLE, None),
        (None, "connection_refused", Seen.UNREACHABLE, None),
        (301, None, Seen.UNREACHABLE, None),  # unresolved redirect (loop or limit)
    ],
)
def test_observe_by_status(
    status: int | None, error: str | None, seen: Seen, removal: object
) -> None:
    o = obs(status, error=error)
    assert o.seen is seen
    assert o.removal == removal


@pytest.mark.parametrize(
    ("final", "pattern", "expected"),
    [
        ("https://news.example/", None, RemovalReason.REDIRECT_HOME),
        ("https://news.example/category/politics/", None, RemovalReason.REDIRECT_HOME),
        ("https://news.example/news/", None, RemovalReason.REDIRECT_HOME),
        (
            "https://news.example/about-us/",
            r"^https://news\.example/\d{4}/",
            RemovalReason.REDIRECT_HOME,
        ),
    ],
)
def test_redirect_to_home_or_section_is_a_removal_sign(
    final: str, pattern: str | None, expected: RemovalReason
) -> None:
    o = obs(final=final, pattern=pattern)
    assert (o.seen, o.removal) == (Seen.REMOVAL_SIGN, expected)


def test_redirect_to_another_article_is_a_move() -> None:
    o = obs(final="https://news.example/2026/03/scam-compound-raid-updated/")
    assert o.seen is Seen.MOVED


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Page not found - News", "Sorry, the page you are looking for does not exist."),
        ("News", "This article is no longer available."),
        ("ព័ត៌មាន", "ទំព័រមិនមាន"),
        ("រកមិនឃើញ", "សូមអភ័យទោស ទំព័រដែលអ្នកកំពុងស្វែងរកមិនមាន។"),
    ],
)
def test_soft_404_in_english_and_khmer(title: str, text: str) -> None:
    o = obs(title=title, content=key(text=text, title=title))
    assert (o.seen, o.removal) == (Seen.REMOVAL_SIGN, RemovalReason.SOFT_404)


def test_a_long_article_that_mentions_not_found_is_content() -> None:
    text = BODY + " Relatives said the men were not found at the second site."
    assert obs(content=key(text=text)).seen is Seen.CONTENT


def test_emptied_page() -> None:
    o = obs(content=key(text="Share this"))
    assert (o.seen, o.removal) == (Seen.REMOVAL_SIGN, RemovalReason.EMPTIED)


@pytest.mark.parametrize(
    ("title", "text", "html"),
    [
        ("Just a moment...", "Checking your browser before accessing news.example.", ""),
        ("news.example", "", '<div id="challenge-platform"></div>'),
        ("Access denied", "Access denied. Your request was blocked.", ""),
    ],
)
def test_block_pages(title: str, text: str, html: str) -> None:
    assert looks_blocked(title, text, html)
    assert obs(title=title, content=key(text=text or "x"), html=html).seen is Seen.BLOCKED


def test_block_phrase_inside_a_long_article_is_not_a_block() -> None:
    text = BODY + " Officials said access denied to journalists was a mistake."
    assert obs(content=key(text=text)).seen is Seen.CONTENT


def test_phrase_tables_are_casefolded() -> None:
    assert looks_not_found("PAGE NOT FOUND")
    assert not looks_not_found("Police found 40 passports")


def test_section_detection_without_pattern_keeps_article_slugs() -> None:
    assert not is_home_or_section("https://news.example/raid-frees-workers/", BASE, None)
    assert is_home_or_section("https://news.example/", BASE, None)


# -- judge ----------------------------------------------------------------------------


def test_new_url_with_content_is_discovered() -> None:
    v = judge_new(obs())
    assert v.outcome is CaptureOutcome.NEW and v.new_version
    assert [e.kind for e in v.events] == [ChangeKind.DISCOVERED]


@pytest.mark.parametrize("status", [404, 500, 403])
def test_new_url_without_content_makes_no_article(status: int) -> None:
    v = judge_new(obs(status))
    assert not v.new_version and v.status is None and not v.events


def test_same_content_is_unchanged() -> None:
    v = judge(live(), obs(), Policy())
    assert v.outcome is CaptureOutcome.UNCHANGED and not v.events and not v.new_version


@pytest.mark.parametrize(
    ("new", "parts"),
    [
        (key(text=BODY + " One more sentence."), ("body",)),
        (key(title="Raid frees 412 workers"), ("title",)),
        (key(byline="Chan Sophea"), ("byline",)),
        (
            ContentKey("Raid frees workers", "Sok Dara", "2026-03-02", BODY, key().text_sha256),
            ("dates",),
        ),
    ],
)
def test_edits_name_the_changed_parts(new: ContentKey, parts: tuple[str, ...]) -> None:
    v = judge(live(), obs(content=new), Policy())
    assert v.outcome is CaptureOutcome.EDITED and v.new_version
    assert v.status is ArticleStatus.EDITED
    assert [(e.kind, e.how) for e in v.events] == [(ChangeKind.EDITED, parts)]


def test_removal_needs_confirmation() -> None:
    first = judge(live(), obs(404), Policy(confirmations=2))
    assert first.outcome is CaptureOutcome.REMOVAL_PENDING and not first.events
    assert first.status is ArticleStatus.LIVE
    state = live(pending_removal=first.pending_removal, pending_count=first.pending_count)
    second = judge(state, obs(404), Policy(confirmations=2))
    assert second.outcome is CaptureOutcome.REMOVED
    assert [(e.kind, e.how) for e in second.events] == [(ChangeKind.REMOVED, ("http_404",))]
    assert second.status is ArticleStatus.REMOVED


def test_confirmations_policy_is_honoured() -> None:
    state = live()
    for _ in range(2):
        v = judge(state, obs(410), Policy(confirmations=3))
        assert v.outcome is CaptureOutcome.REMOVAL_PENDING
        state = live(pending_removal=v.pending_removal, pending_count=v.pending_count)
    assert judge(state, obs(410), Policy(confirmations=3)).outcome is CaptureOutcome.REMOVED


def test_404_then_200_before_confirmation_is_no_removal() -> None:
    first = judge(live(), obs(404), Policy())
    state = live(pending_removal=first.pending_removal, pending_count=first.pending_count)
    back = judge(state, obs(), Policy())
    assert back.outcome is CaptureOutcome.UNCHANGED and not back.events
    assert back.pending_removal is None and back.pending_count == 0


@pytest.mark.parametrize(
    "failure",
    [dict(status=503), dict(status=None, error="timeout"), dict(status=None, error="dns")],
)
def test_unreachable_is_never_removed(failure: dict[str, object]) -> None:
    state = live()
    kinds = []
    for _ in range(5):
        v = judge(state, obs(**failure), Policy(confirmations=1))  # type: ignore[arg-type]
        kinds += [e.kind for e in v.events]
        assert v.outcome is CaptureOutcome.UNREACHABLE
        state = live(status=v.status)
    assert kinds == [ChangeKind.UNREACHABLE]
    back = judge(state, obs(), Policy())
    assert [e.kind for e in back.events] == [ChangeKind.REACHABLE]
    assert back.status is ArticleStatus.LIVE


def test_unreachable_between_removal_signs_does_not_reset_or_count() -> None:
    first = judge(live(), obs(404), Policy())
    state = live(pending_removal=first.pending_removal, pending_count=1)
    mid = judge(state, obs(503), Policy())
    assert mid.pending_count == 1 and mid.outcome is CaptureOutcome.UNREACHABLE
    state = live(
        status=mid.status, pending_removal=mid.pending_removal, pending_count=mid.pending_count
    )
    last = judge(state, obs(404), Policy())
    assert last.outcome is CaptureOutcome.REMOVED
    assert [e.kind for e in last.events] == [ChangeKind.REACHABLE, ChangeKind.REMOVED]


def test_restored_without_new_version_when_content_is_the_same() -> None:
    state = live(status=ArticleStatus.REMOVED)
    v = judge(state, obs(), Policy())
    assert v.outcome is CaptureOutcome.RESTORED and not v.new_version and v.cleared_removal
    assert [e.kind for e in v.events] == [ChangeKind.RESTORED]


def test_restored_with_new_version_when_content_differs() -> None:
    state = live(status=ArticleStatus.REMOVED)
    v = judge(state, obs(content=key(title="Updated")), Policy())
    assert v.outcome is CaptureOutcome.RESTORED and v.new_version
    assert v.events[-1].how == ("title",)


def test_block_page_changes_nothing() -> None:
    state = live(pending_removal=RemovalReason.HTTP_404, pending_count=1)
    v = judge(state, Observation(Seen.BLOCKED), Policy())
    assert v.outcome is CaptureOutcome.BLOCKED and not v.events
    assert v.pending_count == 1 and v.status is ArticleStatus.LIVE


def test_collapsed_extraction_is_degraded_until_seen_twice() -> None:
    stub = key(text="The ministry said 412 workers were freed.")
    first = judge(live(), obs(content=stub), Policy())
    assert first.outcome is CaptureOutcome.DEGRADED and not first.new_version and not first.events
    second = judge(
        live(pending_degraded_sha=first.pending_degraded_sha), obs(content=stub), Policy()
    )
    assert second.outcome is CaptureOutcome.EDITED and second.new_version


def test_already_removed_article_stays_removed_quietly() -> None:
    v = judge(live(status=ArticleStatus.REMOVED), obs(404), Policy())
    assert v.outcome is CaptureOutcome.REMOVED and not v.events
