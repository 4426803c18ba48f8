"""Reading stories: the story of an article with its copies at other outlets, the
stories of many articles at once (search grouping), and which live copies still carry
a passage. Takes a Session, never commits; bounded reads by primary key or index."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.store import Article, ArticleStatus, Source, StoryMember, StoryPassage, Version
from archive.stories.sketch import passages_of, tokens_of

__all__ = ["Copy", "StoryView", "copies_with_passage", "stories_of", "story_of"]

MAX_COPIES = 200  # copies listed for one story
_LIVE = (ArticleStatus.LIVE, ArticleStatus.EDITED)


@dataclass(frozen=True, slots=True)
class Copy:
    """Another article carrying the story: where it is and whether it is still up."""

    article_id: int
    url: str
    source: str
    status: str

    def as_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "url": self.url,
            "source": self.source,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class StoryView:
    """One article's story: its id, the other copies, and why the article is in it
    (`shared`: the articles it was matched with, how, and the passages they share)."""

    id: int
    copies: tuple[Copy, ...]
    shared: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "copies": [c.as_json() for c in self.copies],
            "shared": list(self.shared),
        }


def _copies(session: Session, article_ids: list[int]) -> list[Copy]:
    if not article_ids:
        return []
    rows = session.execute(
        select(Article.id, Article.url, Source.name, Article.status)
        .join(Source, Source.id == Article.source_id)
        .where(Article.id.in_(article_ids))
        .order_by(Article.id)
    ).all()
    return [Copy(r[0], r[1], r[2], r[3]) for r in rows]


def story_of(session: Session, article_id: int) -> StoryView | None:
    """The story `article_id` belongs to, its other copies listed (not the article
    itself), or None when the article stands alone."""
    member = session.get(StoryMember, article_id)
    if member is None:
        return None
    others = session.scalars(
        select(StoryMember.article_id)
        .where(StoryMember.story_id == member.story_id, StoryMember.article_id != article_id)
        .order_by(StoryMember.article_id)
        .limit(MAX_COPIES)
    ).all()
    copies = _copies(session, list(others))
    if not copies:
        return None
    return StoryView(member.story_id, tuple(copies), tuple(member.shared))


def stories_of(session: Session, article_ids: list[int]) -> dict[int, int]:
    """article id -> story id, for those of `article_ids` that belong to a story."""
    out: dict[int, int] = {}
    ids = sorted(set(article_ids))
    for chunk in range(0, len(ids), 500):
        out.update(
            session.execute(
                select(StoryMember.article_id, StoryMember.story_id).where(
                    StoryMember.article_id.in_(ids[chunk : chunk + 500])
                )
            ).all()
        )
    return out


def _carries(haystack: list[str], needle: list[str]) -> bool:
    if not needle or len(needle) > len(haystack):
        return False
    joined = "\x00" + "\x00".join(haystack) + "\x00"
    return "\x00" + "\x00".join(needle) + "\x00" in joined


def copies_with_passage(session: Session, text: str, exclude_article_id: int) -> list[Copy]:
    """The live copies (status live or edited), other than `exclude_article_id`, whose
    current version still carries `text` word for word (casefolded words; Khmer as
    clusters). Looked for among the article's story and the articles sharing one of the
    passage's long-passage keys, so a short paragraph is found in the story's copies and
    a long one anywhere in the index."""
    needle = tokens_of(text)
    if not needle:
        return []
    candidates: set[int] = set()
    member = session.get(StoryMember, exclude_article_id)
    if member is not None:
        candidates.update(
            session.scalars(
                select(StoryMember.article_id)
                .where(StoryMember.story_id == member.story_id)
                .limit(MAX_COPIES)
            ).all()
        )
    keys = [p.key for p in passages_of(text)]
    if keys:
        candidates.update(
            session.scalars(
                select(StoryPassage.article_id)
                .where(StoryPassage.passage_key.in_(keys))
                .limit(MAX_COPIES)
            ).all()
        )
    candidates.discard(exclude_article_id)
    if not candidates:
        return []
    rows = session.execute(
        select(Article.id, Version.text_z)
        .join(Version, Version.id == Article.current_version_id)
        .where(Article.id.in_(sorted(candidates)), Article.status.in_(list(_LIVE)))
    ).all()
    carrying = [aid for aid, text_z in rows if _carries(tokens_of(_decompress(text_z)), needle)]
    return _copies(session, carrying)


def _decompress(text_z: bytes) -> str:
    return zlib.decompress(text_z).decode("utf-8")
