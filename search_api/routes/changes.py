"""`/api/changes`: what changed in the archive, newest first, a page at a time.

Owns the change list's paging. The cursor is the keyset `(at, id)` of the last event
shown, and the next page holds only events strictly older in that order
(`archive.queries.list_changes(before=…)`). An offset would shift when the crawler
records new events between two page fetches, skipping or repeating rows; the keyset
does not move, so pages never skip or repeat. `load_changes` is what the changes page
and the Atom feed show too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from archive import ChangeKind, ChangeRow, change_json, list_changes, versions_by_id
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

KindFilter = Annotated[list[ChangeKind], filter_param("Only these kinds (repeatable).", 7)]
SinceParam = Annotated[
    Moment | None,
    Query(description="Only events at or after this time (ISO 8601; no zone means UTC)."),
]
CursorParam = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]


def _decode(cursor: str) -> tuple[datetime, int]:
    at_text, id_text = decode_cursor(cursor, "c", 2)
    try:
        at = datetime.fromisoformat(at_text)
        event_id = int(id_text)
    except ValueError as exc:
        raise bad_request("cursor is damaged: pass the previous page's next_cursor as is") from exc
    return (at if at.tzinfo else at.replace(tzinfo=UTC)), event_id


def _titles(
    session: Session, rows: Sequence[ChangeRow]
) -> dict[int, tuple[str | None, str | None]]:
    """Title and language of the version each event concerns: the new version of an
    edit, else the one it left, else the article's current one."""
    ids = (vid for row in rows for vid in row.version_ids)
    versions = versions_by_id(session, ids, with_text=False)
    return {vid: (v.title, v.lang) for vid, v in versions.items()}


def change_outs(session: Session, rows: Sequence[ChangeRow]) -> list[ChangeOut]:
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
) -> tuple[ChangeList, list[ChangeRow]]:
    """One page of events, newest first, and the rows behind it (the feed needs the
    versions they point at)."""
    before = _decode(cursor) if cursor else None
    rows = list_changes(
        session, since=since, kinds=kinds, sources=sources, before=before, limit=limit + 1
    )
    page = rows[:limit]
    last = page[-1].event if page else None
    next_cursor = (
        encode_cursor("c", last.at.isoformat(), last.id)
        if last is not None and len(rows) > limit
        else None
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
) -> ChangeList:
    """Edits, removals, restorations… newest first. Follow `next_cursor` for older
    events: pages never skip or repeat an event, even while new ones are recorded."""
    result, _rows = load_changes(
        session,
        kinds=[k.value for k in kind],
        sources=source,
        since=as_utc(since) if since is not None else None,
        cursor=cursor,
        limit=limit,
    )
    return result
