"""A source's boilerplate: short lines that many of its articles share (a newsletter
call, a copyright line). Counted as versions are made; left out when two bodies are
compared, so a changed footer is not an edit (design rule 2)."""

from __future__ import annotations

import hashlib

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from archive.capture.detect import ArticleState, Observation, comparable_text
from archive.store.models import BoilerplateLine, Version

# Only short lines can be boilerplate; a repeated long paragraph is still content.
BOILERPLATE_MAX_LINE = 200


def count_boilerplate(
    session: Session, source_id: int, previous: Version | None, version: Version, text: str
) -> None:
    """Count each short line once per article (lines new to this article only)."""
    old_lines = set(previous.text.split("\n")) if previous is not None else set()
    new_lines = {
        line
        for line in text.split("\n")
        if line not in old_lines and len(line) <= BOILERPLATE_MAX_LINE
    }
    shas = sorted({_line_sha(line) for line in new_lines})
    if not shas:
        return
    # Two statements for the whole article, not one round trip per line.
    known = set(
        session.scalars(
            select(BoilerplateLine.line_sha256).where(
                BoilerplateLine.source_id == source_id, BoilerplateLine.line_sha256.in_(shas)
            )
        )
    )
    if known:
        session.execute(
            update(BoilerplateLine)
            .where(
                BoilerplateLine.source_id == source_id,
                BoilerplateLine.line_sha256.in_(sorted(known)),
            )
            .values(articles=BoilerplateLine.articles + 1)
            .execution_options(synchronize_session=False)
        )
    fresh = [sha for sha in shas if sha not in known]
    if fresh:
        session.execute(
            insert(BoilerplateLine),
            [{"source_id": source_id, "line_sha256": sha, "articles": 1} for sha in fresh],
        )


def same_body(
    session: Session,
    source_id: int,
    state: ArticleState,
    observation: Observation,
    min_articles: int,
) -> bool | None:
    """Compare bodies with the source's boilerplate lines (those shared by at least
    `min_articles` of its articles) left out (rule 2)."""
    if observation.content is None:
        return None
    new_text = observation.content.text
    if new_text == state.last.text:
        return True
    hashes = {_line_sha(line) for line in (new_text + "\n" + state.last.text).split("\n")}
    stmt = select(BoilerplateLine.line_sha256).where(
        BoilerplateLine.source_id == source_id,
        BoilerplateLine.articles >= min_articles,
        BoilerplateLine.line_sha256.in_(sorted(hashes)),
    )
    boilerplate = frozenset(session.scalars(stmt))
    if not boilerplate:
        return False
    return comparable_text(new_text, boilerplate, _line_sha) == comparable_text(
        state.last.text, boilerplate, _line_sha
    )


def _line_sha(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()
