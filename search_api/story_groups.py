"""Search hits grouped by story (`group=story`, `presswatch search --group-by story`).

Grouping happens after the backend has answered, over the page of hits it returned, so
it is the same for SQLite FTS5 and Meilisearch: each hit is given its article's story
(`archive.stories.stories_of`, one indexed read for the page), and hits of one story are
gathered under the story's best-ranked hit; an article in no story is a group of its
own. Groups keep the order of their first hit. A story's copies beyond this page are
not fetched: `total` still counts articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from archive.stories import stories_of
from search_api.backends.base import SearchHit

__all__ = ["group_hits"]


def group_hits(
    session: Session, hits: Sequence[SearchHit]
) -> tuple[dict[int, int], list[dict[str, Any]]]:
    """(article id -> story id, groups as `{story_id, hits: [hit index…]}`) for a page of
    hits; `story_id` is None for an article that stands alone."""
    story = stories_of(session, [h.article_id for h in hits])
    order: list[tuple[str, int]] = []
    members: dict[tuple[str, int], list[int]] = {}
    for i, hit in enumerate(hits):
        sid = story.get(hit.article_id)
        key = ("story", sid) if sid is not None else ("article", hit.article_id)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(i)
    groups = [
        {"story_id": key[1] if key[0] == "story" else None, "hits": members[key]} for key in order
    ]
    return story, groups
