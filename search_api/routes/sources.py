"""`/api/sources`: the health of each outlet — article counts by status, last crawl,
last error — and `/api/sources/notify`, the health of each notification subscription.
`load_sources` and `load_notify_health` are what the sources page shows too."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from archive.notify import notify_health
from archive.store import source_stats
from search_api.deps import SessionDep
from search_api.routes import ERRORS
from search_api.schemas import NotifyHealthList, NotifyHealthOut, SourceList, SourceOut

router = APIRouter(prefix="/api", tags=["sources"], responses=ERRORS)


def load_sources(session: Session) -> SourceList:
    data = [SourceOut.model_validate(row) for row in source_stats(session)]
    return SourceList(data=data, count=len(data))


def load_source(session: Session, name: str) -> SourceOut | None:
    return next((s for s in load_sources(session).data if s.name == name), None)


@router.get("/sources", response_model=SourceList)
def sources_route(session: SessionDep) -> SourceList:
    """Every outlet with its article counts by status, last crawl and last error."""
    return load_sources(session)


def load_notify_health(session: Session) -> NotifyHealthList:
    data = [NotifyHealthOut.model_validate(row) for row in notify_health(session)]
    return NotifyHealthList(data=data, count=len(data))


@router.get("/sources/notify", response_model=NotifyHealthList)
def notify_health_route(session: SessionDep) -> NotifyHealthList:
    """Each notification subscription's delivery health: what it matched and sent,
    failing sends (with the end of their backoff) and sends left unconfirmed."""
    return load_notify_health(session)
