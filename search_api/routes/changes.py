"""`/api/changes`: what changed in the archive, newest first, a page at a time.

Owns the change list's paging. The cursor is the keyset `(at, id)` of the last event
shown, and the next page holds only events strictly older in that order
(`archive.store.queries.list_changes(before=…)`). An offset would shift when the crawler
records new events between two page fetches, skipping or repeating rows; the keyset
does not move, so pages never skip or repeat. `load_changes` is what the changes page
and the Atom feed show too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session

from archive.store import ChangeKind, ChangeRow, list_changes, versions_by_id
from archive.views import change_json, load_event_rows
from search_api.deps import SessionDep
from search_api.routes import (
    DEFAULT_LIMIT,
    ERRORS,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    Moment,
    SourceFilter,
    as_utc,
    bad_request,
    decode_cursor,
    encode_cursor,
    filter_param,
)
from search_api.schemas import ChangeList, ChangeOut

router = APIRouter(prefix="/api", tags=["changes"], responses=ERRORS)

KindFilter = Annotated[list[ChangeKind], filter_param("Only these kinds (repeatable).", 8)]
SinceParam = Annotated[
    Moment | None,
    Query(description="Only events at or after this time (ISO 8601; no zone means UTC)."),
]
CursorParam = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]
MinSignificanceParam = Annotated[
    float | None,
    Query(
        ge=0.0,
        le=1.0,
        description="Only edits whose significance (0-1) is at least this; other kinds "
        "of event have none and are left out.",
    ),
]
SortParam = Annotated[
    Literal["newest", "significance"],
    Query(description="`newest` first (default), or most `significance` first."),
]


# A cursor names the kind of row it stopped at: a change event (`c`, `s` when sorted by
# significance) or a story event (`r`, `q`), whose ids are counted apart; on a tie of
# `(at, id)` the change event comes first (archive.store.list_changes).
_STORY_KIND = {"c": "r", "s": "q"}


def _decode_either(cursor: str, kind: str, arity: int) -> tuple[list[str], bool]:
    """The cursor's parts and whether its row was a story event."""
    try:
        return decode_cursor(cursor, kind, arity), False
    except HTTPException:
        return decode_cursor(cursor, _STORY_KIND[kind], arity), True


def _decode(cursor: str) -> tuple[tuple[datetime, int], bool]:
    (at_text, id_text), story = _decode_either(cursor, "c", 2)
    return (_moment(at_text), _int(id_text)), story


def _decode_by_score(cursor: str) -> tuple[tuple[float, datetime, int], bool]:
    (score_text, at_text, id_text), story = _decode_either(cursor, "s", 3)
    try:
        score = float(score_text)
    except ValueError as exc:
        raise _damaged() from exc
    return (score, _moment(at_text), _int(id_text)), story


def _moment(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _damaged() from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise _damaged() from exc


def _damaged() -> HTTPException:
    return bad_request("cursor is damaged: pass the previous page's next_cursor as is")


def _titles(
    session: Session, rows: Sequence[ChangeRow]
) -> dict[int, tuple[str | None, str | None]]:
    """Title and language of the version each event concerns: the new version of an
    edit, else the one it left, else the article's current one."""
    ids = (vid for row in rows for vid in row.version_ids)
    versions = versions_by_id(session, ids, with_text=False)
    return {vid: (v.title, v.lang) for vid, v in versions.items()}


def change_outs(session: Session, rows: Sequence[ChangeRow]) -> list[ChangeOut]:
    # First: `_titles` loads versions without their text, which an edit's detail reads.
    load_event_rows(session, [row.event for row in rows if not row.story])
    titles = _titles(session, rows)
    out = []
    for row in rows:
        vid = row.event.to_version_id or row.event.from_version_id or row.article.current_version_id
        title, lang = titles.get(vid or 0, (None, None))
        out.append(ChangeOut.model_validate({**change_json(row), "title": title, "lang": lang}))
    return out


def load_changes(
    session: Session,
    *,
    kinds: Sequence[str] = (),
    sources: Sequence[str] = (),
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    min_significance: float | None = None,
    sort: str = "newest",
) -> tuple[ChangeList, list[ChangeRow]]:
    """One page of events, newest (or most significant) first, and the rows behind it
    (the feed needs the versions they point at)."""
    by_score = sort == "significance"
    before, before_score, after_story = None, None, False
    if cursor and by_score:
        before_score, after_story = _decode_by_score(cursor)
    elif cursor:
        before, after_story = _decode(cursor)
    rows = list_changes(
        session,
        since=since,
        kinds=kinds,
        sources=sources,
        before=before,
        before_significance=before_score,
        by_significance=by_score,
        min_significance=min_significance,
        limit=limit + 1,
        after_story=after_story,
    )
    page = rows[:limit]
    next_cursor = None
    if page and len(rows) > limit:
        last = page[-1].event
        score = last.significance if last.significance is not None else -1.0
        kind = "s" if by_score else "c"
        kind = _STORY_KIND[kind] if page[-1].story else kind
        next_cursor = (
            encode_cursor(kind, repr(score), last.at.isoformat(), last.id)
            if by_score
            else encode_cursor(kind, last.at.isoformat(), last.id)
        )
    return ChangeList(
        data=change_outs(session, page), count=len(page), next_cursor=next_cursor
    ), page


@router.get("/changes", response_model=ChangeList)
def changes_route(
    *,
    session: SessionDep,
    kind: KindFilter,
    source: SourceFilter,
    since: SinceParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    min_significance: MinSignificanceParam = None,
    sort: SortParam = "newest",
) -> ChangeList:
    """Edits, removals, restorations… newest first, or most significant first. Each
    edit's `detail` carries its `classes` (what kind of edit, with evidence) and its
    `significance` (0-1). Follow `next_cursor` for the next page: pages never skip or
    repeat an event, even while new ones are recorded."""
    result, _rows = load_changes(
        session,
        kinds=[k.value for k in kind],
        sources=source,
        since=as_utc(since) if since is not None else None,
        cursor=cursor,
        limit=limit,
        min_significance=min_significance,
        sort=sort,
    )
    return result
