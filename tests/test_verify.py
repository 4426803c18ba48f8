"""The evidence chain: `presswatch verify` catches each kind of tampering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from archive.integrity import verify_archive
from archive.models import Capture, ChangeEvent, Version
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h

URL = "https://khmer.example/news/4412/"


def build(rt: Runtime, at: Any) -> None:
    html = h.km_story(URL).html
    h.record(rt, h.exchange(URL, html, at=at(0)))
    h.record(rt, h.exchange(URL, html, at=at(1)))  # revisit
    h.record(rt, h.exchange(URL, h.khmer_byline_changed(html), at=at(2)))
    h.record(rt, h.exchange(URL, "", at=at(3), status=None, error="timeout"))
    h.record(rt, h.exchange("https://khmer.example/news/9/", "not found", at=at(3), status=404))


def problems(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        report = verify_archive(s, rt.warc)
    assert report.ok == (not report.problems)
    return [p.problem for p in report.problems]


def test_untouched_archive_verifies(any_runtime: Runtime, at: Any) -> None:
    build(any_runtime, at)
    assert problems(any_runtime) == []


def test_flipped_byte_in_a_warc_file_is_detected(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    with runtime.sessions() as s:
        cap = s.scalars(select(Capture).where(Capture.warc_type == "response")).first()
        assert cap is not None and cap.warc_file and cap.warc_offset is not None
    path = runtime.settings.warc_dir / cap.warc_file
    data = bytearray(path.read_bytes())
    data[cap.warc_offset + 40] ^= 0x01
    path.write_bytes(bytes(data))
    found = problems(runtime)
    assert any("WARC record" in p for p in found), found


def test_edited_version_text_is_detected(any_runtime: Runtime, at: Any) -> None:
    build(any_runtime, at)
    with any_runtime.sessions.begin() as s:
        v = s.scalars(select(Version).order_by(Version.id)).first()
        assert v is not None
        assert h.KM_WORD in v.text
        v.text_z = Version.compress(v.text.replace(h.KM_WORD, "X", 1))
    assert any("does not match its SHA-256" in p for p in problems(any_runtime))


def test_edited_version_with_rehashed_text_is_still_detected(runtime: Runtime, at: Any) -> None:
    """A careful forger recomputes the text hash; the chain still catches it."""
    import hashlib

    from archive.integrity import content_sha256

    build(runtime, at)
    with runtime.sessions.begin() as s:
        v = s.scalars(select(Version).order_by(Version.id)).first()
        assert v is not None
        assert h.KM_WORD in v.text
        text = v.text.replace(h.KM_WORD, "X", 1)
        v.text_z = Version.compress(text)
        v.text_sha256 = hashlib.sha256(text.encode()).hexdigest()
        v.content_sha256 = content_sha256(
            title=v.title, byline=v.byline, published=v.published, text_sha256=v.text_sha256
        )
    assert any("altered" in p for p in problems(runtime))


def test_deleted_capture_row_is_detected(any_runtime: Runtime, at: Any) -> None:
    build(any_runtime, at)
    with any_runtime.sessions.begin() as s:
        cap = s.scalars(select(Capture).where(Capture.seq == 2)).one()
        s.execute(delete(Capture).where(Capture.id == cap.id))
    found = problems(any_runtime)
    assert any("chain gap" in p for p in found) and any("chain broken" in p for p in found)


def test_deleted_newest_capture_is_detected(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    with runtime.sessions.begin() as s:
        s.execute(delete(Capture).where(Capture.seq == 5))
    assert any("newest captures deleted" in p for p in problems(runtime))


def test_deleted_event_is_detected(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    with runtime.sessions.begin() as s:
        s.execute(delete(ChangeEvent).where(ChangeEvent.kind == "edited"))
    assert any("altered" in p for p in problems(runtime))


def test_altered_capture_status_is_detected(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    with runtime.sessions.begin() as s:
        s.execute(update(Capture).where(Capture.seq == 5).values(status=200))
    assert any("altered" in p for p in problems(runtime))


def test_verify_command_exit_codes(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", "--json"]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert '"ok": true' in ok.stdout
    with runtime.sessions.begin() as s:
        s.execute(update(Capture).where(Capture.seq == 1).values(final_url="https://evil.example/"))
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 1 and '"ok": false' in bad.stdout


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.integers(min_value=0, max_value=10**9), bit=st.integers(min_value=0, max_value=7))
def test_any_changed_byte_in_the_warc_store_is_detected(
    runtime: Runtime, at: Any, offset: int, bit: int
) -> None:
    if not any(runtime.settings.warc_dir.glob("*.warc.gz")):
        build(runtime, at)
    with runtime.sessions() as s:
        caps = list(s.scalars(select(Capture).where(Capture.warc_file.is_not(None))))
    ranges = [(c.warc_file, c.warc_offset, c.warc_length) for c in caps]
    file, start, length = ranges[offset % len(ranges)]
    assert file and start is not None and length
    path = runtime.settings.warc_dir / file
    original = path.read_bytes()
    data = bytearray(original)
    data[start + (offset // len(ranges)) % length] ^= 1 << bit
    path.write_bytes(bytes(data))
    try:
        assert problems(runtime), "a flipped bit went unnoticed"
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("column", ["title", "byline", "published"])
def test_edited_version_metadata_is_detected(runtime: Runtime, at: Any, column: str) -> None:
    build(runtime, at)
    with runtime.sessions.begin() as s:
        s.execute(update(Version).where(Version.n == 1).values({column: "forged"}))
    assert problems(runtime)
