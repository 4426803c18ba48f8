"""Signing in and out, accepting an invitation, and case files (pages and API).

Pages: `/signin` (GET the form, POST name and password), `/signout` (POST), `/invite`
(set the password of an invited account with its one-time code: a form field, never
part of a URL, so no access log or proxy log records it), `/cases` and `/cases/{name}`
(viewers read; editors add notes), and the article page's "add to case" form (`POST /cases/add`).
Every form carries a CSRF token (`search_api.auth.check_csrf`).

API: `GET /api/cases`, `GET /api/cases/{name}` (viewer), `POST /api/cases/{name}/articles`,
`POST /api/cases/{name}/notes` (editor; a token or the API key).

Must not: echo a password, a token or a session secret into a page, a log line or an
error.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from archive.accounts import (
    MIN_PASSWORD_CHARS,
    SESSION_LIFETIME,
    accept_invitation,
    add_note,
    add_to_case,
    case_by_name,
    case_json,
    list_cases,
    prune_sessions,
    sign_in,
    sign_out,
)
from archive.errors import BadInput, NotAllowed, NotFound, Throttled
from search_api.auth import (
    FORM_COOKIE,
    SESSION_COOKIE,
    EditorApiDep,
    EditorDep,
    ViewerDep,
    Who,
    WhoDep,
    check_csrf,
    cookie_secure,
)
from search_api.deps import NowDep, SessionDep, StateDep, TemplatesDep, WriteSessionDep
from search_api.routes import ERRORS, NOT_FOUND
from search_api.routes.pages import render
from search_api.schemas import CaseArticleIn, CaseList, CaseNoteIn, CaseOut, ErrorOut

router = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api/cases",
    tags=["cases"],
    responses={
        **ERRORS,
        **NOT_FOUND,
        401: {"model": ErrorOut, "description": "No signed-in person, token or API key."},
        403: {
            "model": ErrorOut,
            "description": "The role is too low (viewer reads, editor changes).",
        },
    },
)

FormText = Annotated[str, Form(max_length=1024)]
FormCsrf = Annotated[str, Form(max_length=100)]


def _form_token(request: Request) -> tuple[str, bool]:
    """The form cookie's value (a new one when absent) and whether to set it."""
    current = request.cookies.get(FORM_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def _with_form_cookie(response: Response, request: Request, token: str, fresh: bool) -> Response:
    if fresh:
        response.set_cookie(
            FORM_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request.app.state.presswatch),
            path="/",
        )
    return response


def _local(path: str) -> str:
    """A redirect target on this site only (`/x`, never `//host` or `https://…`)."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, templates: TemplatesDep, next: str = "/") -> Response:
    token, fresh = _form_token(request)
    page = render(
        templates,
        request,
        "signin.html",
        {"csrf": token, "next": _local(next[:500]), "message": "", "nav": ""},
    )
    return _with_form_cookie(page, request, token, fresh)


@router.post("/signin")
def signin(
    request: Request,
    templates: TemplatesDep,
    state: StateDep,
    who: WhoDep,
    now: NowDep,
    name: FormText,
    password: FormText,
    csrf_token: FormCsrf,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    check_csrf(request, Who(None, ""), csrf_token)
    client = request.client.host if request.client else "unknown"
    try:
        with state.sessions.begin() as session:
            prune_sessions(session, now=now)
        # Its own transaction: a refused sign-in's failure is kept (for throttling).
        with state.sessions() as session:
            try:
                made = sign_in(session, name, password, client=client, now=now)
            finally:
                session.commit()
    except NotAllowed as exc:
        status = 429 if isinstance(exc, Throttled) else 401
        token, fresh = _form_token(request)
        page = render(
            templates,
            request,
            "signin.html",
            {"csrf": token, "next": _local(next), "message": str(exc), "nav": ""},
            status_code=status,
        )
        return _with_form_cookie(page, request, token, fresh)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        made.secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(state),
        path="/",
    )
    return response


@router.post("/signout")
def signout(request: Request, state: StateDep, who: WhoDep, csrf_token: FormCsrf = "") -> Response:
    check_csrf(request, who, csrf_token)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with state.sessions.begin() as session:
            sign_out(session, secret)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/invite", response_class=HTMLResponse)
def invite_page(request: Request, templates: TemplatesDep) -> Response:
    token, fresh = _form_token(request)
    page = render(
        templates,
        request,
        "invite.html",
        {"csrf": token, "message": "", "min_chars": MIN_PASSWORD_CHARS, "nav": ""},
    )
    page.headers["Cache-Control"] = "no-store"
    return _with_form_cookie(page, request, token, fresh)


@router.post("/invite")
def invite_accept(
    request: Request,
    templates: TemplatesDep,
    session: WriteSessionDep,
    now: NowDep,
    code: Annotated[str, Form(max_length=200)],
    password: FormText,
    csrf_token: FormCsrf,
) -> Response:
    check_csrf(request, Who(None, ""), csrf_token)
    try:
        with session.begin():
            accept_invitation(session, code.strip(), password, now=now)
    except (NotFound, BadInput) as exc:
        token, fresh = _form_token(request)
        page = render(
            templates,
            request,
            "invite.html",
            {"csrf": token, "message": str(exc), "min_chars": MIN_PASSWORD_CHARS, "nav": ""},
            status_code=400,
        )
        return _with_form_cookie(page, request, token, fresh)
    return RedirectResponse("/signin", status_code=303)


# -- case files: pages ---------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request, templates: TemplatesDep, session: SessionDep, who: ViewerDep
) -> Response:
    rows = [case_json(session, c, full=False) for c in list_cases(session)]
    return render(templates, request, "cases.html", {"cases": rows, "nav": "cases"})


@router.get("/cases/{name}", response_class=HTMLResponse)
def case_page(
    request: Request, templates: TemplatesDep, session: SessionDep, who: ViewerDep, name: str
) -> Response:
    data = case_json(session, case_by_name(session, name[:64]))
    return render(templates, request, "case.html", {"case": data, "nav": "cases"})


@router.post("/cases/add")
def case_add_form(
    request: Request,
    session: WriteSessionDep,
    now: NowDep,
    who: EditorDep,
    case: FormText,
    article_id: Annotated[int, Form(ge=1)],
    csrf_token: FormCsrf,
    tags: FormText = "",
) -> Response:
    check_csrf(request, who, csrf_token)
    assert who.actor is not None
    with session.begin():
        add_to_case(session, who.actor, case.strip(), article_id, tags=tags.split(","), now=now)
    return RedirectResponse(f"/cases/{quote(case.strip())}", status_code=303)


@router.post("/cases/{name}/notes")
def case_note_form(
    request: Request,
    session: WriteSessionDep,
    now: NowDep,
    who: EditorDep,
    name: str,
    text: Annotated[str, Form(max_length=20_000)],
    csrf_token: FormCsrf,
) -> Response:
    check_csrf(request, who, csrf_token)
    assert who.actor is not None
    with session.begin():
        add_note(session, who.actor, name[:64], text, now=now)
    return RedirectResponse(f"/cases/{quote(name[:64])}", status_code=303)


# -- case files: API -----------------------------------------------------------------------


@api.get("", response_model=CaseList)
def api_cases(session: SessionDep, who: ViewerDep) -> CaseList:
    rows = [case_json(session, c, full=False) for c in list_cases(session)]
    return CaseList.model_validate({"data": rows, "count": len(rows)})


@api.get("/{name}", response_model=CaseOut)
def api_case(session: SessionDep, who: ViewerDep, name: str) -> CaseOut:
    return CaseOut.model_validate(case_json(session, case_by_name(session, name[:64])))


def _changed(session: Any, name: str) -> CaseOut:
    return CaseOut.model_validate(case_json(session, case_by_name(session, name)))


@api.post("/{name}/articles", response_model=CaseOut, status_code=201)
def api_case_add(
    body: CaseArticleIn, session: WriteSessionDep, now: NowDep, who: EditorApiDep, name: str
) -> CaseOut:
    assert who.actor is not None
    with session.begin():
        add_to_case(session, who.actor, name[:64], body.article, tags=body.tags, now=now)
    return _changed(session, name[:64])


@api.post("/{name}/notes", response_model=CaseOut, status_code=201)
def api_case_note(
    body: CaseNoteIn, session: WriteSessionDep, now: NowDep, who: EditorApiDep, name: str
) -> CaseOut:
    assert who.actor is not None
    with session.begin():
        add_note(session, who.actor, name[:64], body.text, url_or_id=body.article, now=now)
    return _changed(session, name[:64])
