"""The write path of issue 14: the unchanged path (known bytes skip extraction and
detection) and group commit (many captures per transaction and per WARC fsync)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import archive.capture.exchange as exchange_mod
import archive.capture.judge as judge_mod
import archive.warc.records as warc_mod
from archive.capture import CaptureJob, record_capture, record_captures
from archive.errors import BadInput
from archive.log import verify_archive
from archive.store import CaptureOutcome
from archive.store.models import Article, Capture, ChangeEvent
from presswatch.runtime import Runtime
from tests import archive_helpers as h

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
URL = "https://khmer.example/news/5001/"


def _no_extraction(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = exchange_mod.extract_page

    def spy(body: bytes, **kw: Any) -> Any:
        calls.append(kw.get("url", ""))
        return real(body, **kw)

    # Pages are extracted from an exchange, and re-extracted from a version's WARC record.
    monkeypatch.setattr(exchange_mod, "extract_page", spy)
    monkeypatch.setattr(judge_mod, "extract_page", spy)
    return calls


def _record(rt: Runtime, ex: Any, **kw: Any) -> Any:
    with rt.sessions.begin() as session:
        return record_capture(session, ex, warc=rt.warc, options=rt.record_options(), **kw)


def test_known_bytes_take_the_unchanged_path_without_extraction(
    any_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = any_runtime
    html = h.km_story(URL).html
    first = _record(rt, h.exchange(URL, html, at=T0))
    assert first.outcome is CaptureOutcome.NEW
    calls = _no_extraction(monkeypatch)

    again = _record(rt, h.exchange(URL, html, at=T0 + timedelta(hours=1)), payload_known=True)

    assert again.outcome is CaptureOutcome.UNCHANGED and again.events == ()
    assert again.version_n == 1
    assert calls == []  # neither the caller nor the archive extracted the page
    with rt.sessions() as s:
        row = s.get(Capture, again.capture_id)
        assert row is not None
        assert row.warc_type == "revisit"  # a compact record, the payload by reference
        assert row.detail == {"seen": "content", "payload": "known"}
        article = s.get(Article, first.article_id)
        assert article is not None and article.last_checked == T0 + timedelta(hours=1)
        assert verify_archive(s, rt.warc).ok


def test_a_wrong_guess_is_extracted_and_judged_in_full(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    en = h.en_story("https://ledger.example/news/police-free-212-workers/")
    _record(runtime, h.exchange(en.url, en.html, at=T0))
    calls = _no_extraction(monkeypatch)
    edited = h.edit_one_word(en.html, en.snippet)

    result = _record(
        runtime, h.exchange(en.url, edited, at=T0 + timedelta(hours=1)), payload_known=True
    )

    assert result.outcome is CaptureOutcome.EDITED and result.events == ("edited",)
    assert calls == [en.url]


def test_known_bytes_after_a_removal_still_restore_the_article(runtime: Runtime) -> None:
    html = h.km_story(URL).html
    first = _record(runtime, h.exchange(URL, html, at=T0))
    for hours in (1, 2):
        gone = _record(
            runtime, h.exchange(URL, h.NOT_FOUND_KM, at=T0 + timedelta(hours=hours), status=404)
        )
    assert gone.outcome is CaptureOutcome.REMOVED

    back = _record(runtime, h.exchange(URL, html, at=T0 + timedelta(hours=3)))

    assert back.outcome is CaptureOutcome.RESTORED and back.events == ("restored",)
    assert back.version_n == 1  # same bytes, same version: no new one
    with runtime.sessions() as s:
        article = s.get(Article, first.article_id)
        assert article is not None and article.removal is None
        assert verify_archive(s, runtime.warc).ok


def test_a_group_commits_in_order_and_a_bad_fetch_fails_alone(any_runtime: Runtime) -> None:
    rt = any_runtime
    urls = [f"https://ledger.example/news/story-{i}/" for i in range(3)]
    slugs = (h.EN_RAID, h.EN_TASK_FORCE, h.KM_TORTURE)
    pages = [h.own_page(slug, url=u) for slug, u in zip(slugs, urls, strict=True)]
    bad = h.exchange(urls[0], "x", at=T0.replace(tzinfo=None))  # naive date: refused
    jobs = [
        CaptureJob(h.exchange(pages[0].url, pages[0].html, at=T0), options=rt.record_options()),
        CaptureJob(bad, options=rt.record_options()),
        CaptureJob(h.exchange(pages[1].url, pages[1].html, at=T0), options=rt.record_options()),
        CaptureJob(h.exchange(pages[2].url, pages[2].html, at=T0), options=rt.record_options()),
    ]
    with rt.sessions.begin() as session:
        results = record_captures(session, jobs, warc=rt.warc)

    assert isinstance(results[1], BadInput)
    good = [r for r in results if not isinstance(r, Exception)]
    assert [r.outcome for r in good] == [CaptureOutcome.NEW] * 3
    with rt.sessions() as s:
        rows = list(s.scalars(select(Capture).order_by(Capture.seq)))
        assert [r.requested_url for r in rows] == [pages[0].url, pages[1].url, pages[2].url]
        assert [r.seq for r in rows] == [1, 2, 3]
        assert s.scalars(select(ChangeEvent.kind)).all() == ["discovered"] * 3
        assert verify_archive(s, rt.warc).ok


def test_a_group_shares_one_warc_fsync(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(warc_mod.os, "fsync", counting)
    pages = [
        h.own_page(h.EN_RAID, url=f"https://ledger.example/news/g-{i}/", extra=(f"Part {i}.",))
        for i in range(5)
    ]
    jobs = [
        CaptureJob(h.exchange(p.url, p.html, at=T0), options=runtime.record_options())
        for p in pages
    ]
    with runtime.sessions.begin() as session:
        record_captures(session, jobs, warc=runtime.warc)
    assert len(synced) == 1

    h.record(runtime, h.exchange(pages[0].url, "<p>gone</p>", at=T0 + timedelta(hours=1)))
    assert len(synced) == 2  # a capture outside a group still syncs on its own


def test_bytes_of_a_removal_sign_are_never_known(runtime: Runtime) -> None:
    """A soft 404 is linked to the version it did not show: seeing it again is the
    second sighting of a removal, not an unchanged page."""
    html = h.km_story(URL).html
    _record(runtime, h.exchange(URL, html, at=T0))
    first = _record(runtime, h.exchange(URL, h.NOT_FOUND_KM, at=T0 + timedelta(hours=1)))
    again = _record(
        runtime, h.exchange(URL, h.NOT_FOUND_KM, at=T0 + timedelta(hours=2)), payload_known=True
    )
    assert first.outcome is CaptureOutcome.REMOVAL_PENDING
    assert again.outcome is CaptureOutcome.REMOVED and again.events == ("removed",)


def test_the_due_list_tells_the_crawler_which_bytes_need_no_extraction(
    runtime: Runtime,
) -> None:
    from crawler.context import CrawlContext, SourceSpec

    html = h.km_story(URL).html
    first = _record(runtime, h.exchange(URL, html, at=T0, source=None))
    with runtime.sessions() as s:
        article = s.get(Article, first.article_id)
        assert article is not None
        source_name = article.source.name
    ctx = CrawlContext(
        sessions=runtime.sessions,
        warc=runtime.warc,
        sources={source_name: SourceSpec(source_name, "https://khmer.example/")},
        record_options=lambda name: runtime.record_options(),
        plan_next_check=lambda article, published, at: at,
        conditional_for=lambda article, at: {},
        user_agent="Presswatch/test",
        max_body_bytes=1_000_000,
        extract_workers=0,
    )
    targets = ctx.due_targets([source_name], all_articles=True, limit=None, now=T0)
    assert [t.article_id for t in targets] == [first.article_id]

    assert not ctx.payload_known(first.article_id, html.encode("utf-8") + b" ")
    ctx.due_targets([source_name], all_articles=True, limit=None, now=T0)
    assert ctx.payload_known(first.article_id, html.encode("utf-8"))
    assert not ctx.payload_known(first.article_id, html.encode("utf-8"))  # used once
    ctx.close()
