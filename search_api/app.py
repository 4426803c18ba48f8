"""The FastAPI application: the JSON API under `/api` (OpenAPI at `/api/openapi.json`,
docs at `/api/docs`), the Atom feed under `/feeds`, the web pages, and `/healthz` and
`/readyz`.

    create_app(settings, *, sessions=None, warc=None, backend=None, clock=None) -> FastAPI

`settings` is a `presswatch.settings.Settings` (any object with the attributes of
`search_api.deps.AppSettings`). Whatever is not handed in is built from it: an engine
and session factory on `settings.resolved_database_url`, a `WarcStore` on
`settings.warc_dir`, the backend from `search_api.factory.make_backend`; what the app
built it also closes on shutdown. `presswatch serve` hands in its Runtime's sessions
and WARC store; tests hand in their archive and a fixed clock. Nothing is built at
import time.

Owns the app's assembly and its error contract: every error is JSON
`{"detail": "what to fix"}` (an HTML page for the web pages) with a 4xx status for
anything a client sent, 503 when the database or search engine is unavailable, and
500 only for a bug, which is logged with its traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.errors import (
    BackendUnavailable,
    BadInput,
    BadQuery,
    NotFound,
    PresswatchError,
    SearchError,
    StorageError,
)
from archive.store import make_engine, make_session_factory
from archive.warc import WarcStore
from search_api.auth import identify
from search_api.backends.base import SearchBackend
from search_api.deps import AppSettings, AppState, Saver
from search_api.factory import make_backend
from search_api.language import install as install_language
from search_api.routes import (
    accounts,
    admin,
    articles,
    audit,
    captures,
    changes,
    charts,
    checkpoints,
    feeds,
    health,
    language,
    memento,
    pages,
    saves,
    search,
    sources,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# Sent with every response unless a route set its own.
DEFAULT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    # Reading an article here must not tell its outlet who looked, or from where.
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
# Settings.max_request_bytes: the admin API's JSON bodies are a few KB.
DEFAULT_MAX_REQUEST_BYTES = 1_000_000
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# What a 503 says. Never the exception's own text: it names files under the data dir
# (a WARC path, the index), the database or the search server; the log keeps it.
UNAVAILABLE = {
    "search": "search is unavailable; the server's log says why. Try again later",
    "search_failed": "search failed; the server's log says why. Try again later",
    "storage": "archive storage failed: a stored record could not be read or does not match "
    "its hash; the server's log names it (operators: run `presswatch verify`)",
}


def _version() -> str:
    try:
        return version("presswatch")
    except PackageNotFoundError:
        return "0"


# -- templates ---------------------------------------------------------------------------


def lang_tag(code: object) -> str:
    """A stored language as an HTML `lang` value; "" (unknown) when it is not a tag."""
    text = str(code or "")
    return text if _LANG_TAG.match(text) else ""


def safe_href(url: object) -> str:
    """An archived URL fit for href: http(s) only, never `javascript:` and the like."""
    text = str(url or "")
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return "#"
    return text if scheme in ("http", "https") else "#"


def iso(at: datetime | None) -> str:
    return at.astimezone(UTC).isoformat() if at is not None else ""


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # Every template, whatever its name: archived text is hostile.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(langtag=lang_tag, safe_href=safe_href, iso=iso)
    # `_`, `ngettext`, `ui_lang()` and the filters that speak the reader's language.
    install_language(env)
    return Jinja2Templates(env=env)


# -- errors ------------------------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    path = request.url.path
    machine = ("/api", "/feeds", "/static", "/timemap/", "/timegate/", "/memento/")
    return not (path.startswith(machine) or path in ("/healthz", "/readyz"))


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    if _wants_html(request):
        state: AppState = request.app.state.presswatch
        response = state.templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "message": message, "nav": ""},
            status_code=status,
            headers=headers,
        )
        response.headers["Content-Security-Policy"] = pages.PAGE_CSP
        return response
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    where_words = {
        "query": "query parameter",
        "path": "path parameter",
        "body": "request body",
        "header": "header",
    }
    parts = []
    for err in list(exc.errors())[:5]:
        loc = [str(p) for p in err.get("loc", ())]
        where = where_words.get(loc[0], loc[0]) if loc else "request"
        name = ".".join(loc[1:])
        parts.append(
            f"{where} {name}: {err.get('msg', 'invalid')}"
            if name
            else f"{where}: {err.get('msg', 'invalid')}"
        )
    return "; ".join(parts) or "the request is malformed"


def install_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = getattr(exc, "headers", None)
        return error_response(request, exc.status_code, str(exc.detail), headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, 422, validation_message(exc))

    def mapped(status: int, public: str | None = None) -> Callable[[Request, Exception], Any]:
        """`public`: the answer for a server-side failure, whose own message may name
        files in the data dir, the index or the database; that message is logged."""

        async def handler(request: Request, exc: Exception) -> Response:
            if public is None:
                return error_response(request, status, str(exc))
            log.warning("%s %s: %s", request.method, request.url.path, exc)
            return error_response(request, status, public)

        return handler

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("database error on %s: %s", request.url.path, exc)
        return error_response(
            request, 503, "the archive database is busy or unreachable; try again shortly"
        )

    async def bug(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request, 500, "internal error; it was logged on the server")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(NotFound, mapped(404))
    app.add_exception_handler(BadInput, mapped(400))
    app.add_exception_handler(BadQuery, mapped(400))
    app.add_exception_handler(BackendUnavailable, mapped(503, UNAVAILABLE["search"]))
    app.add_exception_handler(SearchError, mapped(503, UNAVAILABLE["search_failed"]))
    app.add_exception_handler(StorageError, mapped(503, UNAVAILABLE["storage"]))
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(PresswatchError, bug)
    app.add_exception_handler(Exception, bug)


# -- headers -----------------------------------------------------------------------------


class RelativeRedirects:
    """Starlette answers `/changes/` with a redirect to `/changes`, written absolute
    from the request's Host header: `Host: evil.example` would get (and a shared cache
    could keep) `Location: http://evil.example/changes`. Every redirect this app makes
    stays on it, so an absolute Location is cut to its path (and query), prefixed with
    `public_url` when one is set."""

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.public_url = public_url or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location:
                    parts = urlsplit(location)
                    if parts.scheme or parts.netloc:
                        query = f"?{parts.query}" if parts.query else ""
                        path = "/" + parts.path.lstrip("/")  # never `//host`: another site
                        headers["location"] = f"{self.public_url}{path}{query}"
            await send(message)

        await self.app(scope, receive, send_relative)


class DefaultHeaders:
    """Adds `DEFAULT_HEADERS` to every HTTP response that lacks them. Plain ASGI rather
    than BaseHTTPMiddleware, which would add a task hop to every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestBodyLimit:
    """Refuses a request body over `max_bytes` with 413 before any route, dependency or
    API-key check runs: at once when Content-Length announces too much, else while
    reading a chunked (or unannounced) body, which is held (at most `max_bytes`) and
    handed to the app only once it is whole. An anonymous client can make the server
    read `max_bytes` per request, never more. Plain ASGI, like `DefaultHeaders`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.strip().isdigit():
                    await self._refuse(scope, send, 400, "Content-Length must be a number")
                    return
                declared = int(value)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, 413, self._too_large())
            return
        held: list[Message] = []
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, send, 413, self._too_large())
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return held.pop(0) if held else await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"request body too large: send at most {self.max_bytes} bytes"

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
        # The unread rest of the body makes the connection unusable: close it.
        response = JSONResponse(
            {"detail": message}, status_code=status, headers={"Connection": "close"}
        )

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


# -- the app -----------------------------------------------------------------------------


def create_app(
    settings: AppSettings,
    *,
    sessions: sessionmaker[Session] | None = None,
    warc: WarcStore | None = None,
    backend: SearchBackend | None = None,
    clock: Callable[[], datetime] | None = None,
    resolve_host: Callable[[str], list[str]] | None = None,
    saver: Saver | None = None,
) -> FastAPI:
    """Build the app (see the module docstring for what is built and what is owned);
    `resolve_host` is the egress policy's resolver, for judging notifier hosts; `saver`
    saves a page now (`presswatch.save_runner`; None: the save form says it cannot)."""
    closers: list[Callable[[], None]] = []
    if sessions is None:
        engine = make_engine(
            settings.resolved_database_url,
            stall_s=settings.database_stall_s,
            connect_timeout_s=settings.database_connect_timeout_s,
        )
        sessions = make_session_factory(engine)
        closers.append(engine.dispose)
    else:
        bind = sessions.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("create_app: the session factory must be bound to an Engine")
        engine = bind
    if backend is None:
        # The API only searches: with `meili_search_key` set it uses that key, never the master key.
        backend = make_backend(settings, search_only=True)
        closers.append(backend.close)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=make_session_factory(engine, readonly=True),
        warc=warc or WarcStore(settings.warc_dir, max_bytes=settings.warc_max_bytes),
        backend=backend,
        clock=clock or (lambda: datetime.now(UTC)),
        templates=make_templates(),
        closers=closers,
        resolve_host=resolve_host,
        saver=saver,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(state.backend.configure)
        except SearchError as exc:
            # Serve the archive anyway: /readyz reports the backend, search answers 503.
            log.warning("search backend not configured at startup: %s", exc)
        yield
        for close in reversed(state.closers):
            close()

    app = FastAPI(
        title="Presswatch",
        version=_version(),
        summary="Every version of every archived article; edits and takedowns.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # our own page at /api/docs works offline (routes/pages.py)
        redoc_url=None,
        lifespan=lifespan,
        # Who is asking, for every route; with `private` on, nobody is refused (auth.py).
        dependencies=[Depends(identify)],
    )
    app.state.presswatch = state
    install_error_handlers(app)
    # Outermost but for DefaultHeaders (so a 413 carries them too): before any route.
    max_request = getattr(settings, "max_request_bytes", DEFAULT_MAX_REQUEST_BYTES)
    app.add_middleware(RequestBodyLimit, max_bytes=max_request)
    app.add_middleware(DefaultHeaders)
    app.add_middleware(RelativeRedirects, public_url=getattr(settings, "public_url", None))
    for module in (
        accounts,
        search,
        articles,
        changes,
        sources,
        captures,
        checkpoints,
        admin,
        feeds,
        health,
        charts,
        language,
        pages,
    ):
        app.include_router(module.router)
    app.include_router(accounts.api)  # /api/cases
    for module in (saves, audit):  # /save, /api/save; /audit, /api/audit
        app.include_router(module.router)
        app.include_router(module.api)
    app.include_router(memento.router)  # Memento (RFC 7089): /timemap, /timegate, /memento
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
