"""The rendering of a capture in a browser: one row per rendered capture, what became
of it (`outcome`, `reason`) and where its screenshot and DOM are in the WARC files.

The row is an index, not the evidence: the rendering is itself a capture in the
transparency log (`log_capture_id`, outcome `rendered`, origin `browser`), whose leaf
commits to the WARC bytes and to the same outcome, reason and places in its `detail`
(archive.capture.render_record). A page that shows a screenshot reads it through this
row; `presswatch verify` checks the row against that capture.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archive.store.models import Base, Capture


class Rendering(Base):
    __tablename__ = "renderings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The capture that was rendered (its page response); one rendering each.
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    # The rendering's own capture: its place in the log.
    log_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    rendered_at: Mapped[datetime]
    warc_file: Mapped[str | None] = mapped_column(Text)
    screenshot_offset: Mapped[int | None] = mapped_column(BigInteger)
    screenshot_length: Mapped[int | None] = mapped_column(BigInteger)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    dom_offset: Mapped[int | None] = mapped_column(BigInteger)
    dom_length: Mapped[int | None] = mapped_column(BigInteger)
    resources: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)


def rendering_problems(row: Rendering, capture: Capture | None) -> list[str]:
    """Where a `renderings` row says other than its logged capture (verify)."""
    if capture is None:
        return [f"rendering {row.id}: its capture {row.log_capture_id} is missing"]
    logged = (capture.detail or {}).get("rendering") or {}
    shot = logged.get("screenshot") or {}
    dom = logged.get("dom") or {}
    expected = {
        "capture_id": logged.get("of_capture"),
        "outcome": logged.get("outcome"),
        "reason": logged.get("reason"),
        "warc_file": capture.warc_file,
        "screenshot_offset": shot.get("offset"),
        "screenshot_length": shot.get("length"),
        "screenshot_sha256": shot.get("sha256"),
        "dom_offset": dom.get("offset"),
        "dom_length": dom.get("length"),
    }
    return [
        f"rendering {row.id}: {name} is {getattr(row, name)!r}, its log capture says {value!r}"
        for name, value in expected.items()
        if getattr(row, name) != value
    ]


def screenshot_path(article_id: int, n: int) -> str:
    """The API path of version `n`'s screenshot (search_api serves it)."""
    return f"/api/articles/{article_id}/versions/{n}/screenshot.png"


def versions_with_screenshot(session: Session, article_id: int) -> set[int]:
    """Ids of the article's versions that have a screenshot."""
    stmt = select(Rendering.version_id).where(
        Rendering.article_id == article_id, Rendering.screenshot_sha256.is_not(None)
    )
    return {v for v in session.scalars(stmt) if v is not None}
