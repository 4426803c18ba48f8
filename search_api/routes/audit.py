"""The audit log: `GET /audit` (a page) and `GET /api/audit`, newest first, paged.

Each entry shows who did what, when, and its leaf in the transparency log. For editors
and admins (a session, a token or the API key): the people who act in the log see who
else did; a viewer reads the archive, not who handled it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from archive.accounts import audit_json, audit_page
from search_api.auth import EditorDep
from search_api.deps import SessionDep, TemplatesDep
from search_api.routes import ERRORS
from search_api.routes.pages import href, render
from search_api.schemas import AuditList, AuditOut, ErrorOut

router = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api/audit",
    tags=["audit"],
    responses={
        **ERRORS,
        401: {"model": ErrorOut, "description": "No signed-in person, token or API key."},
        403: {"model": ErrorOut, "description": "The role is below editor."},
    },
)

PAGE_SIZE = 50
MAX_OFFSET = 10_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Entries to skip.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Entries per page.")]


def load_audit(session: SessionDep, offset: int, limit: int) -> AuditList:
    rows, total = audit_page(session, offset=offset, limit=limit)
    # The leaf index is the API's addition: a case package's manifest keeps audit_json's keys.
    data = [AuditOut.model_validate({**audit_json(r), "leaf_index": r.seq - 1}) for r in rows]
    return AuditList(data=data, count=len(data), total=total, offset=offset, limit=limit)


@api.get("", response_model=AuditList)
def api_audit(
    session: SessionDep, who: EditorDep, offset: Offset = 0, limit: Limit = PAGE_SIZE
) -> AuditList:
    """The audit log, newest first: who, what, when, and each entry's log leaf."""
    return load_audit(session, offset, limit)


@router.get("/audit", response_class=HTMLResponse)
def audit_view(
    request: Request,
    templates: TemplatesDep,
    session: SessionDep,
    who: EditorDep,
    offset: Offset = 0,
) -> Response:
    page = load_audit(session, offset, PAGE_SIZE)
    prev_href = href("/audit", [("offset", str(max(offset - PAGE_SIZE, 0)))]) if offset else None
    more = offset + PAGE_SIZE < page.total
    next_href = href("/audit", [("offset", str(offset + PAGE_SIZE))]) if more else None
    context = {"page": page, "prev_href": prev_href, "next_href": next_href, "nav": "audit"}
    return render(templates, request, "audit.html", context)
