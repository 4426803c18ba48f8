"""Recording a `render = true` source's fetch (archive.capture.rendered_text), without a
browser: the text is the rendered DOM's, the rendering is recorded with the fetch in
one transaction and named by the fetch's leaf, the same server bytes never count as
unchanged on their own, and a rendering that did not finish is never read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from archive.capture import Rendering, RenderOutcome, record_capture
from archive.capture.rendered_text import rendered_dom_of
from archive.log import verify_archive
from archive.store import Rendering as RenderingRow
from archive.store.models import Article, Capture, Version
from presswatch.runtime import Runtime
from presswatch.verify_package import verify_package
from tests.archive_helpers import EN_RAID, exchange, own_page
from tests.package_checks import cli, records_in

SHELL = b'<html><body><div id="app"></div><script src="/app.js"></script></body></html>'


def rendering(
    dom: str | None, at: Any, outcome: RenderOutcome = RenderOutcome.RENDERED
) -> Rendering:
    return Rendering(
        url="https://ledger.example/news/raid/",
        outcome=outcome,
        reason="rendered" if outcome is RenderOutcome.RENDERED else "cut off",
        started_at=at,
        ended_at=at,
        browser="test",
        dom_html=dom,
    )


def record_rendered(rt: Runtime, at: Any, dom: str | None, **kw: Any) -> Any:
    ex = exchange("https://ledger.example/news/raid/", SHELL, at=at)
    with rt.sessions.begin() as session:
        return record_capture(
            session,
            ex,
            warc=rt.warc,
            options=rt.record_options(),
            rendering=rendering(dom, at, **kw),
        )


def test_the_text_is_the_rendered_doms_and_the_rendering_is_recorded_with_it(
    any_runtime: Runtime, at: Any
) -> None:
    rt = any_runtime
    page = own_page(EN_RAID)
    first = record_rendered(rt, at(0), page.html)
    assert first.outcome.value == "new"
    # Same shell, same DOM: unchanged; same shell, other DOM: an edit.
    assert record_rendered(rt, at(1), page.html).outcome.value == "unchanged"
    edited = page.html.replace(page.snippet, "The ministry later denied the raid took place.")
    assert record_rendered(rt, at(2), edited).outcome.value == "edited"

    with rt.sessions() as session:
        version = session.scalars(select(Version).order_by(Version.id.desc())).first()
        assert version is not None and "denied the raid" in version.text
        fetch = session.get(Capture, first.capture_id)
        assert fetch is not None
        assert fetch.payload_sha256 == hashlib.sha256(SHELL).hexdigest()
        assert fetch.detail["text_from"] == {
            "rendering": "rendered",
            "dom_sha256": hashlib.sha256(page.html.encode()).hexdigest(),
        }
        assert rendered_dom_of(session, rt.warc, fetch) == page.html.encode()
        rows = list(session.scalars(select(RenderingRow)))
        assert len(rows) == 3 and rows[0].capture_id == fetch.id
        logged = session.get(Capture, rows[0].log_capture_id)
        assert logged is not None and logged.seq == fetch.seq + 1  # same transaction, next leaf
        report = verify_archive(session, rt.warc)
    assert report.ok, report.problems


def test_verify_matches_the_dom_a_text_was_read_from_with_its_rendering(
    runtime: Runtime, at: Any
) -> None:
    """Each half is in a leaf (the fetch names the DOM's SHA-256, the rendering holds its
    bytes); verify checks they meet, so a rendering row pointing elsewhere is named."""
    rt = runtime
    page = own_page(EN_RAID)
    first = record_rendered(rt, at(0), page.html)
    record_rendered(rt, at(1), page.html.replace(page.snippet, "Another text."))
    with rt.sessions() as session:
        assert verify_archive(session, rt.warc).ok
    with rt.sessions.begin() as session:
        rows = list(session.scalars(select(RenderingRow).order_by(RenderingRow.id)))
        # The first fetch's rendering row now names the second fetch's rendering.
        first_log, second_log = rows[0].log_capture_id, rows[1].log_capture_id
        session.delete(rows[1])
        session.flush()
        rows[0].log_capture_id = second_log
    with rt.sessions() as session:
        report = verify_archive(session, rt.warc)
    found = {(p.capture_id, p.field): p.problem for p in report.problems}
    assert "another" in found[(first.capture_id, "text_from")]
    assert first_log != second_log


def test_an_extractor_upgrade_reextracts_the_recorded_dom_not_the_shell(
    runtime: Runtime, at: Any
) -> None:
    page = own_page(EN_RAID)
    record_rendered(runtime, at(0), page.html)
    with runtime.sessions.begin() as session:
        session.execute(update(Version).values(extractor="trafilatura 0.0"))
    # Rule 8: the last version is read again from what the fetch's text came from.
    assert record_rendered(runtime, at(1), page.html).outcome.value == "unchanged"


def test_a_rendering_that_did_not_finish_is_not_read(runtime: Runtime, at: Any) -> None:
    page = own_page(EN_RAID)
    record_rendered(runtime, at(0), page.html)
    half = page.html.replace(page.snippet, "")
    cut = record_rendered(runtime, at(1), half, outcome=RenderOutcome.TIMED_OUT)
    assert cut.outcome.value not in ("edited", "removed") and not cut.events
    with runtime.sessions() as session:
        capture = session.get(Capture, cut.capture_id)
        assert capture is not None and capture.detail["page"] == "failed"
        article = session.scalars(select(Article)).one()
        assert article.status == "live"
        assert len(list(session.scalars(select(Version)))) == 1


def test_the_evidence_package_carries_the_dom_the_text_was_read_from(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_rendered(runtime, at(0), own_page(EN_RAID).html)
    key = runtime.log_signer(create=True).verifier_key
    package = tmp_path / "evidence.wacz"
    result = cli(runtime, "export", "evidence", "1", "-o", str(package))
    assert result.exit_code == 0, result.output
    checked = verify_package(package, key)
    assert checked.ok, [str(f) for f in checked.failures]
    uris = [uri for rows in records_in(package).values() for _kind, uri, _ in rows]
    assert any(uri.startswith("urn:presswatch:rendered-dom:") for uri in uris), uris
