"""`/healthz` (the process answers) and `/readyz` (the archive database and the search
backend answer too; 503 with the reason when either does not).

Answers name no location: a backend's own health text says where its index file or
server is, which is the operator's business, not every client's. Known locations (the
data dir, the WARC dir, the index, the database file, the Meilisearch URL) become a
bracketed name and any other absolute path `[path]`; the full text goes to the log.

The database probe runs one plain read on a pooled DBAPI connection rather than
through a Session: the archive's SQLite sessions begin `IMMEDIATE` (they take the
write lock), and a probe must not queue behind a crawl's write.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from search_api.backends.base import SearchBackend
from search_api.deps import AppSettings, StateDep
from search_api.indexer import outbox_state
from search_api.schemas import CheckOut, HealthOut, OutboxOut, ReadyOut

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# An absolute path not inside a URL (no scheme, host or word character right before).
_ABSOLUTE_PATH = re.compile(r"""(?<![\w:/.~-])(?:/[^\s/'"(),;:]+){2,}/?|\b[A-Za-z]:\\[^\s'"]+""")


def _locations(settings: AppSettings) -> list[tuple[str, str]]:
    named: list[tuple[str, Path | str | None]] = [
        ("[search index]", settings.search_index_path),
        ("[warc dir]", settings.warc_dir),
        ("[data dir]", getattr(settings, "data_dir", None)),
        ("[search server]", getattr(settings, "meili_url", None)),
    ]
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        named.append(("[database file]", url.removeprefix("sqlite:///")))
    found: list[tuple[str, str]] = []
    for label, where in named:
        if not where:
            continue
        texts = {str(where)}
        if isinstance(where, Path):
            texts.add(str(where.resolve()))
        found += [(text, label) for text in texts if len(text) > 1]
    return sorted(found, key=lambda pair: -len(pair[0]))


def without_locations(text: str, settings: AppSettings) -> str:
    """`text` with every known file, directory and server address replaced by its name,
    and any other absolute path by `[path]`."""
    for where, label in _locations(settings):
        text = text.replace(where, label)
    return _ABSOLUTE_PATH.sub("[path]", text)


def check_database(engine: Engine) -> CheckOut:
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            # alembic_version exists once `presswatch init` ran: a reachable but empty
            # database is not ready either.
            cursor.execute("SELECT version_num FROM alembic_version")
            row = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
    except Exception as exc:  # boundary: any driver error means "not ready", with why
        log.warning("readiness: database check failed: %s", exc)
        return CheckOut(
            ok=False,
            detail=f"archive database unreachable or not initialized "
            f"({exc.__class__.__name__}); run `presswatch init` and check DATABASE_URL",
        )
    if row is None:
        return CheckOut(ok=False, detail="archive database has no schema; run `presswatch init`")
    return CheckOut(ok=True, detail=f"{engine.dialect.name} at schema {row[0]}")


def check_search(backend: SearchBackend, settings: AppSettings) -> CheckOut:
    health = backend.health()
    if not health.ok:
        log.warning("readiness: search check failed: %s: %s", health.backend, health.detail)
    detail = without_locations(health.detail, settings)
    return CheckOut(ok=health.ok, detail=f"{health.backend}: {detail}")


def check_outbox(read_sessions: sessionmaker[Session]) -> OutboxOut | None:
    """Outbox depth and dead letters (a read-only session: never waits for a writer);
    None when the database cannot answer (the database check says why)."""
    try:
        with read_sessions() as session:
            state = outbox_state(session, limit=0)
    except SQLAlchemyError as exc:
        log.warning("readiness: outbox not readable: %s", exc)
        return None
    return OutboxOut(
        pending=state.pending, oldest_pending=state.oldest_pending, dead_letters=state.dead_letters
    )


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """The process is up (no dependency is checked)."""
    return HealthOut()


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready; `detail` says why."}},
)
def readyz(state: StateDep) -> ReadyOut | JSONResponse:
    """The archive database and the search backend both answer."""
    database = check_database(state.engine)
    search = check_search(state.backend, state.settings)
    problems = [c.detail for c in (database, search) if not c.ok]
    ready = ReadyOut(
        status="unavailable" if problems else "ok",
        database=database,
        search=search,
        outbox=check_outbox(state.read_sessions) if database.ok else None,
        detail="; ".join(problems) or None,
    )
    if problems:
        return JSONResponse(ready.model_dump(mode="json"), status_code=503)
    return ready
