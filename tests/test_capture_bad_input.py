"""Bad input is recorded as a capture with a clear outcome, never a crash."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
import trafilatura
from sqlalchemy import select

from archive.capture import Exchange
from archive.errors import BadInput
from archive.store.models import Capture, CaptureOutcome
from presswatch.runtime import Runtime
from tests import archive_helpers as h

URL = "https://kh-daily.example/news/scam-compound-raid/"
ARTICLE = """<!DOCTYPE html><html lang="en"><head><title>Raid on Sihanoukville compound</title>
<meta property="article:published_time" content="2026-02-27T09:00:00+07:00"></head><body>
<nav><a href="/">Home</a></nav><article><h1>Raid on Sihanoukville compound</h1>
<p class="byline">By Sok Dara</p>
<p>Police raided a compound in Sihanoukville on Thursday and freed 412 workers who said they
had been forced to run online scams, a spokesman for the provincial police said.</p>
<p>Workers from eleven countries were taken to a temporary shelter. Several said their
passports had been confiscated when they arrived and that they had been beaten when they
failed to meet daily targets set by their bosses.</p>
<p>The government said the raid was part of a campaign announced last month.</p>
</article><footer>© 2026 KH Daily</footer></body></html>"""


def capture_row(rt: Runtime, capture_id: int) -> Capture:
    with rt.sessions() as s:
        cap = s.get(Capture, capture_id)
        assert cap is not None
        return cap


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"\x00\xff" * 500


@pytest.mark.parametrize(
    ("body", "ctype", "outcome", "page"),
    [
        (b"", "text/html", CaptureOutcome.NOT_ARTICLE, "empty"),
        (PNG, "image/png", CaptureOutcome.NOT_ARTICLE, None),
        (PNG, "text/html", CaptureOutcome.NOT_ARTICLE, None),  # lying content type
        (PDF, "application/pdf", CaptureOutcome.NOT_ARTICLE, None),
        (
            b"<html><body><p>unclosed <div><b>bold <i>",
            "text/html",
            CaptureOutcome.NOT_ARTICLE,
            "html",
        ),
        (b"<script>var a=1;</script>" * 100, "text/html", CaptureOutcome.NOT_ARTICLE, "html"),
    ],
    ids=["empty", "png", "png-as-html", "pdf", "malformed", "scripts-only"],
)
def test_unusable_bodies_on_a_new_url(
    runtime: Runtime, at: Any, body: bytes, ctype: str, outcome: CaptureOutcome, page: str | None
) -> None:
    r = h.record(runtime, h.exchange(URL, body, at=at(0), headers=(("Content-Type", ctype),)))
    assert r.outcome is outcome and r.article_id is None
    cap = capture_row(runtime, r.capture_id)
    assert cap.payload_sha256 and cap.warc_file  # the bytes are kept as evidence
    if page:
        assert cap.detail["page"] == page


def test_fifty_megabyte_body_is_stored_not_extracted(runtime: Runtime, at: Any) -> None:
    body = b"<html><body>" + b"<p>spam spam spam</p>" * (50_000_000 // 21) + b"</body></html>"
    r = h.record(runtime, h.exchange(URL, body, at=at(0)))
    assert r.outcome is CaptureOutcome.NOT_ARTICLE
    cap = capture_row(runtime, r.capture_id)
    assert cap.detail["page"] == "too_large" and cap.payload_length == len(body)
    # Stored whole in the WARC (compressed), readable back.
    record = runtime.warc.read_record(
        cap.warc_file or "", cap.warc_offset or 0, cap.warc_length or 0
    )
    assert len(record.payload) == len(body)


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        ("latin-1", None),  # no charset anywhere
        ("cp1252", "utf-8"),  # wrong charset in the header
        ("utf-8", None),
        ("utf-16", None),  # with BOM
    ],
)
def test_wrong_or_missing_charset_still_makes_an_article(
    runtime: Runtime, at: Any, encoding: str, declared: str | None
) -> None:
    html = ARTICLE.replace("Police raided", "Police raided (café, naïve)")
    ctype = f"text/html; charset={declared}" if declared else "text/html"
    r = h.record(
        runtime,
        h.exchange(URL, html.encode(encoding), at=at(0), headers=(("Content-Type", ctype),)),
    )
    assert r.outcome is CaptureOutcome.NEW
    from archive.store.models import Version

    with runtime.sessions() as s:
        text = s.scalars(select(Version)).one().text
    assert "412 workers" in text


def test_charset_flip_of_the_same_text_is_not_an_edit(runtime: Runtime, at: Any) -> None:
    html = ARTICLE.replace("Police raided", "Police raided (café)")
    h.record(runtime, h.exchange(URL, html.encode("utf-8"), at=at(0)))
    r = h.record(
        runtime,
        h.exchange(
            URL,
            html.encode("latin-1"),
            at=at(1),
            headers=(("Content-Type", "text/html; charset=iso-8859-1"),),
        ),
    )
    assert r.outcome is CaptureOutcome.UNCHANGED


def test_a_known_article_that_turns_binary_is_not_removed(runtime: Runtime, at: Any) -> None:
    first = h.record(runtime, h.exchange(URL, ARTICLE, at=at(0)))
    for t in (1, 2, 3):
        r = h.record(
            runtime, h.exchange(URL, PNG, at=at(t), headers=(("Content-Type", "image/png"),))
        )
        assert r.outcome is CaptureOutcome.NOT_ARTICLE and r.events == ()
    assert h.events(runtime, first.article_id or 0) == [("discovered", [])]


def test_a_known_article_whose_extraction_runs_out_of_memory_is_not_removed(
    runtime: Runtime, at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page that exhausts the extraction worker's memory (MemoryError under its
    limit) is a failure of ours, kept as `page: failed`, never an emptied article: no
    removal however often it is seen, and the article reads as unchanged once it can be
    extracted again (design rule 7)."""
    first = h.record(runtime, h.exchange(URL, ARTICLE, at=at(0)))

    def out_of_memory(*args: Any, **kwargs: Any) -> None:
        raise MemoryError

    with monkeypatch.context() as patched:
        patched.setattr(trafilatura, "bare_extraction", out_of_memory)
        for t in (1, 2, 3):
            r = h.record(runtime, h.exchange(URL, ARTICLE + f"<!-- {t} -->", at=at(t)))
            assert r.outcome is CaptureOutcome.NOT_ARTICLE and r.events == ()
            cap = capture_row(runtime, r.capture_id)
            assert cap.detail["page"] == "failed" and "MemoryError" in cap.detail["extract_note"]
            assert cap.warc_file and cap.article_id == first.article_id
    again = h.record(runtime, h.exchange(URL, ARTICLE + "<!-- 4 -->", at=at(4)))
    assert again.outcome is CaptureOutcome.UNCHANGED
    assert h.events(runtime, first.article_id or 0) == [("discovered", [])]


def test_gzip_bomb_like_body_is_kept_as_bytes(runtime: Runtime, at: Any) -> None:
    body = zlib.compress(b"\x00" * 5_000_000)
    r = h.record(
        runtime,
        h.exchange(URL, body, at=at(0), headers=(("Content-Type", "application/octet-stream"),)),
    )
    assert r.outcome is CaptureOutcome.NOT_ARTICLE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requested_url": "/relative/path"}, r"absolute http\(s\) URL"),
        ({"requested_url": "ftp://example.org/x"}, r"absolute http\(s\) URL"),
        ({"status": None, "error": None}, "give an HTTP status or a network error"),
    ],
)
def test_unusable_exchanges_are_refused_before_anything_is_written(
    runtime: Runtime, at: Any, kwargs: dict[str, Any], message: str
) -> None:
    base: dict[str, Any] = {
        "requested_url": URL,
        "final_url": URL,
        "fetched_at": at(0),
        "status": 200,
    }
    base.update(kwargs)
    with pytest.raises(BadInput, match=message):
        h.record(runtime, Exchange(**base))
    assert h.counts(runtime) == (0, 0, 0)


def test_naive_datetime_is_refused(runtime: Runtime) -> None:
    from datetime import datetime

    with pytest.raises(BadInput, match="timezone-aware"):
        h.record(runtime, Exchange(URL, URL, datetime(2026, 1, 1), 200))


def test_hostile_headers_are_stored_safely(runtime: Runtime, at: Any) -> None:
    headers = (
        ("Content-Type", "text/html"),
        ("X-Evil", "a\r\nInjected: yes"),
        ("Server", "ünïcode☃"),
    )
    r = h.record(runtime, h.exchange(URL, ARTICLE, at=at(0), headers=headers))
    cap = capture_row(runtime, r.capture_id)
    record = runtime.warc.read_record(
        cap.warc_file or "", cap.warc_offset or 0, cap.warc_length or 0
    )
    assert "Injected" not in record.headers
