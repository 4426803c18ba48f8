"""Lines that repeat across a source's articles (share prompts, 'follow us' lines the
CMS puts inside the body) are ignored when judging edits (design rule 2)."""

from __future__ import annotations

from typing import Any

from archive.store.models import CaptureOutcome
from presswatch.runtime import Runtime
from tests import archive_helpers as h

FOLLOW = "Follow Kampuchea Daily on Telegram for the latest news."

STORIES = [
    (
        "police-raid",
        "Police raided a compound in Bavet and freed 120 workers from Indonesia and Vietnam who said they were forced to run romance scams.",
    ),
    (
        "court-verdict",
        "A Phnom Penh court sentenced two men to ten years in prison for trafficking Thai nationals into a scam compound in Sihanoukville.",
    ),
    (
        "ministry-plan",
        "The interior ministry announced a plan to inspect every casino licence holder after reports of forced labour in former casino buildings.",
    ),
    (
        "ngo-report",
        "A rights group said thousands remain trapped in compounds along the Thai border and urged the government to open a hotline.",
    ),
]


def page(slug: str, body: str, *, follow: bool) -> str:
    extra = f"<p>{FOLLOW}</p>" if follow else ""
    return (
        f'<html lang="en"><head><title>{slug}</title></head><body><nav><a href="/">Home</a></nav>'
        f"<article><h1>{slug.replace('-', ' ').title()}</h1><p>{body}</p>"
        f"<p>{body} Officials did not respond to requests for comment on Friday.</p>{extra}</article>"
        "</body></html>"
    )


def test_a_repeated_line_appearing_or_vanishing_is_not_an_edit(runtime: Runtime, at: Any) -> None:
    ids = []
    for i, (slug, body) in enumerate(STORIES):
        r = h.record(
            runtime,
            h.exchange(f"https://kd.example/{slug}/", page(slug, body, follow=True), at=at(i)),
        )
        ids.append(r.article_id)
    slug, body = STORIES[0]
    gone = h.record(
        runtime,
        h.exchange(f"https://kd.example/{slug}/", page(slug, body, follow=False), at=at(10)),
    )
    assert gone.outcome is CaptureOutcome.UNCHANGED
    back = h.record(
        runtime, h.exchange(f"https://kd.example/{slug}/", page(slug, body, follow=True), at=at(11))
    )
    assert back.outcome is CaptureOutcome.UNCHANGED
    assert h.events(runtime, ids[0] or 0) == [("discovered", [])]


def test_a_line_in_one_article_only_is_content(runtime: Runtime, at: Any) -> None:
    slug, body = STORIES[0]
    r = h.record(
        runtime, h.exchange(f"https://kd.example/{slug}/", page(slug, body, follow=True), at=at(0))
    )
    cut = h.record(
        runtime, h.exchange(f"https://kd.example/{slug}/", page(slug, body, follow=False), at=at(1))
    )
    assert cut.outcome is CaptureOutcome.EDITED
    assert h.events(runtime, r.article_id or 0)[-1] == ("edited", ["body"])
