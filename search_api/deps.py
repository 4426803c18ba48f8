"""What routes receive from the application: the state `create_app` built, a
Session, the search backend, the clock, the templates, how a version's screenshot is
found, and the admin check.

Owns the `Annotated` dependency aliases (`SessionDep`, `BackendDep`, …; who is asking
and what they may do is `search_api.auth`'s); tests swap any of them through
`app.dependency_overrides`. Builds nothing itself: `search_api.app.create_app` puts an
`AppState` on `app.state.presswatch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive.warc import WarcStore
from search_api.backends.base import SearchBackend
from search_api.factory import BackendSettings
from search_api.screenshots import ScreenshotFinder, stored_screenshot

API_KEY_HEADER = "X-API-Key"


class AppSettings(BackendSettings, Protocol):
    """What the app reads from `presswatch.settings.Settings` (described by the
    attributes used, as `search_api.factory` does, so this package imports only
    `archive`): the search backend's settings and these."""

    @property
    def api_key(self) -> SecretStr | None: ...

    @property
    def resolved_database_url(self) -> str: ...

    @property
    def warc_dir(self) -> Path: ...

    @property
    def warc_max_bytes(self) -> int: ...

    @property
    def allow_networks(self) -> list[str]:
        """CIDRs the crawler may reach although private (admin routes refuse others)."""
        ...

    @property
    def mail_relay_networks(self) -> list[str]:
        """CIDRs a mail notifier may reach although private (a local SMTP relay)."""
        ...

    @property
    def public_url(self) -> str | None: ...

    @property
    def max_body_bytes(self) -> int:
        """Largest body kept; also the most a memento is decoded to for display."""
        ...

    @property
    def data_dir(self) -> Path: ...


Saver = Callable[[str, str | None, str, str], dict[str, Any]]


@dataclass
class AppState:
    """The long-lived parts one app serves from. `closers` release what `create_app`
    built itself (an engine, a backend) when the app shuts down; parts handed in by
    the caller stay the caller's to close."""

    settings: AppSettings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    warc: WarcStore
    backend: SearchBackend
    clock: Callable[[], datetime]
    templates: Jinja2Templates
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Host name → addresses, for judging a notifier's host when one is added; None:
    # only what is refused on its face (the send itself is filtered either way).
    resolve_host: Callable[[str], list[str]] | None = None
    # Saves a page now (`presswatch save … --json` run as a command: this package may
    # not start the crawler): (url, source or None, note, actor name) → that command's
    # JSON document. None: this server cannot save (the pages say so).
    saver: Saver | None = None


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.presswatch
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """One read-only Session per request: on SQLite it never takes the write lock, so
    page views neither queue behind each other nor behind a crawl."""
    with state.read_sessions() as session:
        yield session


def get_write_session(state: StateDep) -> Iterator[Session]:
    """A Session for the admin routes, which write (`session.begin()`)."""
    with state.sessions() as session:
        yield session


def get_backend(state: StateDep) -> SearchBackend:
    return state.backend


def get_warc(state: StateDep) -> WarcStore:
    return state.warc


def get_now(state: StateDep) -> datetime:
    return state.clock()


def get_templates(state: StateDep) -> Jinja2Templates:
    return state.templates


# scope="function": the Session (and, on SQLite, the transaction lock it holds) ends
# when the route returns, not after the response has been sent. Routes map every row
# to a model or render the page before returning, so nothing reads it later.
def get_screenshot_finder() -> ScreenshotFinder:
    """How the pages find a version's screenshot (search_api.screenshots)."""
    return stored_screenshot


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
BackendDep = Annotated[SearchBackend, Depends(get_backend)]
WarcDep = Annotated[WarcStore, Depends(get_warc)]
NowDep = Annotated[datetime, Depends(get_now)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
ScreenshotFinderDep = Annotated[ScreenshotFinder, Depends(get_screenshot_finder)]
