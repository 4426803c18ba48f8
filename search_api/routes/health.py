"""`/healthz` (the process answers) and `/readyz` (the archive database and the search
backend answer too; 503 with the reason when either does not).

The database probe runs one plain read on a pooled DBAPI connection rather than
through a Session: the archive's SQLite sessions begin `IMMEDIATE` (they take the
write lock), and a probe must not queue behind a crawl's write.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from search_api.backends.base import SearchBackend
from search_api.deps import StateDep
from search_api.schemas import CheckOut, HealthOut, ReadyOut

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


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


def check_search(backend: SearchBackend) -> CheckOut:
    health = backend.health()
    return CheckOut(ok=health.ok, detail=f"{health.backend}: {health.detail}")


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
    search = check_search(state.backend)
    problems = [c.detail for c in (database, search) if not c.ok]
    ready = ReadyOut(
        status="unavailable" if problems else "ok",
        database=database,
        search=search,
        detail="; ".join(problems) or None,
    )
    if problems:
        return JSONResponse(ready.model_dump(mode="json"), status_code=503)
    return ready
