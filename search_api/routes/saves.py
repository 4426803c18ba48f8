"""Saving a page now: the form for editors (`GET /save`, `POST /save`, with the
session's CSRF token) and `POST /api/save` (an editor's token or the API key).

A save is run by the app's `saver` (`AppState.saver`: `presswatch serve` hands in one
that runs `presswatch save` as a command, `presswatch.save_runner`) and answered
synchronously, bounded by `save_timeout_s`: a save is one fetch and, with the browser
on, one rendering, seconds in the usual case, so the person sees at once what was
recorded (or why not) on the page they submitted, with no job table and no polling
page; the request waits in a worker thread, so the server goes on serving others.
Past the timeout the answer is 202: the save goes on and shows in the audit log.

The hourly quota (`save_per_hour`) is checked here before anything runs, and again by
the command.

Must not: start the crawler in this process (the saver does it in its own).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from archive.accounts import require_save_quota
from archive.errors import NotAllowed, Throttled
from search_api.auth import EditorApiDep, EditorDep, Who, check_csrf
from search_api.deps import AppState, NowDep, StateDep, TemplatesDep
from search_api.routes import ERRORS
from search_api.routes.pages import render
from search_api.schemas import ErrorOut, SaveIn, SaveOut

router = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api/save",
    tags=["save"],
    responses={
        **ERRORS,
        401: {"model": ErrorOut, "description": "No token or API key."},
        403: {"model": ErrorOut, "description": "The role is below editor."},
        429: {"model": ErrorOut, "description": "This person's hourly saves are spent."},
        502: {"model": ErrorOut, "description": "The outlet gave nothing to record."},
        503: {"model": ErrorOut, "description": "This server cannot save pages."},
    },
)

# What each way a save can fail answers (the `kind` of `presswatch save --json`).
STATUS_OF = {
    "refused": 400,
    "usage": 400,
    "forbidden": 403,
    "throttled": 429,
    "failed": 502,
    "timeout": 202,
}
NO_SAVER = "this server cannot save pages: start it with `presswatch serve`"


def _check_quota(state: AppState, who: Who, now: Any) -> None:
    assert who.actor is not None
    per_hour = int(getattr(state.settings, "save_per_hour", 30))
    try:
        with state.read_sessions() as session:
            require_save_quota(session, who.actor, now=now, per_hour=per_hour)
    except Throttled as exc:
        raise HTTPException(429, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None


async def run_save(
    state: AppState, who: Who, now: Any, url: str, source: str | None, note: str
) -> dict[str, Any]:
    """The quota checked, then the saver's JSON document (`ok` or `kind` and `error`)."""
    if state.saver is None:
        raise HTTPException(503, NO_SAVER)
    _check_quota(state, who, now)
    assert who.actor is not None
    return await run_in_threadpool(
        state.saver, url.strip(), (source or "").strip() or None, note.strip(), who.actor.name
    )


@router.get("/save", response_class=HTMLResponse)
def save_page(request: Request, templates: TemplatesDep, who: EditorDep) -> Response:
    return render(templates, request, "save.html", {"result": None, "form": {}, "nav": "save"})


@router.post("/save", response_class=HTMLResponse)
async def save_form(
    request: Request,
    templates: TemplatesDep,
    state: StateDep,
    now: NowDep,
    who: EditorDep,
    url: Annotated[str, Form(max_length=2000)],
    csrf_token: Annotated[str, Form(max_length=100)],
    source: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    check_csrf(request, who, csrf_token)
    doc = await run_save(state, who, now, url, source, note)
    status = 200 if doc.get("ok") else STATUS_OF.get(str(doc.get("kind")), 502)
    form = {"url": url, "source": source, "note": note}
    return render(
        templates, request, "save.html", {"result": doc, "form": form, "nav": "save"}, status
    )


@api.post("", response_model=SaveOut, status_code=201)
async def api_save(body: SaveIn, state: StateDep, now: NowDep, who: EditorApiDep) -> Any:
    doc = await run_save(state, who, now, body.url, body.source, body.note)
    if not doc.get("ok"):
        status = STATUS_OF.get(str(doc.get("kind")), 502)
        return JSONResponse({"detail": str(doc.get("error", "not saved"))}, status_code=status)
    return SaveOut.model_validate(doc)
