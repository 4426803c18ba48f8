"""Short recorded histories of one Khmer article at `URL`, shared by test modules:
each records its exchanges through `record_capture`, at the times `at(hours)` gives."""

from __future__ import annotations

from typing import Any

from presswatch.runtime import Runtime
from tests import archive_helpers as h

URL = "https://khmer.example/news/4412/"


def record_evidence_story(rt: Runtime, at: Any) -> None:
    """What the evidence packages hold: discovered, an identical revisit, a timeout, an
    edit, then a confirmed removal (two 404s); another article besides. The WARC files
    are closed afterwards."""
    html = h.km_story(URL).html
    h.record(rt, h.exchange(URL, html, at=at(0)))
    h.record(rt, h.exchange(URL, html, at=at(1)))
    h.record(rt, h.exchange(URL, "", at=at(1.5), status=None, error="timeout"))  # no record
    h.record(rt, h.exchange(URL, h.khmer_byline_changed(html), at=at(2)))
    h.record(rt, h.exchange(URL, h.NOT_FOUND_KM, at=at(3), status=404))
    h.record(rt, h.exchange(URL, h.NOT_FOUND_KM, at=at(4), status=404))
    h.record(rt, h.exchange("https://khmer.example/other/", h.km_other().html, at=at(5)))
    rt.warc.close()


def record_verify_story(rt: Runtime, at: Any) -> None:
    """What the log verification tests check: discovered, seen again, edited, unreachable, removed (404 confirmed twice), and a
    404 of an unknown page."""
    html = h.km_story(URL).html
    h.record(rt, h.exchange(URL, html, at=at(0)))
    h.record(rt, h.exchange(URL, html, at=at(1)))  # revisit
    h.record(rt, h.exchange(URL, h.khmer_byline_changed(html), at=at(2)))
    h.record(rt, h.exchange(URL, "", at=at(3), status=None, error="timeout"))
    h.record(rt, h.exchange(URL, "gone", at=at(4), status=404))
    h.record(rt, h.exchange(URL, "gone", at=at(5), status=404))
    h.record(rt, h.exchange("https://khmer.example/news/9/", "not found", at=at(6), status=404))
