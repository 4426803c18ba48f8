"""Shared fixtures: a fresh archive per test, on SQLite and (for tests that ask for
`any_db`) on a real PostgreSQL at 127.0.0.1:5432, created fresh for each run.

PostgreSQL: one template database is migrated per run; each test gets
`CREATE DATABASE … TEMPLATE` of it (fast), dropped afterwards. Set
`PRESSWATCH_TEST_PG=postgresql+psycopg://user@host:port/postgres` to point elsewhere;
`PRESSWATCH_TEST_PG=off` skips the PostgreSQL half with a visible reason.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from archive.db import make_engine, migrate
from presswatch.runtime import Runtime
from presswatch.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
PG_ADMIN_URL = os.environ.get(
    "PRESSWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    # Settings must come from the test, never from the developer's environment.
    for name in list(os.environ):
        if name.startswith("PRESSWATCH_") and name not in ("PRESSWATCH_TEST_PG",):
            del os.environ[name]
    # MEILI_URL stays: the search contract suite runs against Meilisearch when set.
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)


@pytest.fixture
def at() -> Iterator[object]:
    """A clock for tests: `at(hours)` is T0 plus that many hours."""

    def _at(hours: float = 0) -> datetime:
        return T0 + timedelta(hours=hours)

    yield _at


def fixture_pages() -> list[dict[str, object]]:
    """The shared real-page fixtures (never copied into the repo)."""
    manifest = FIXTURES / "pages.json"
    if not manifest.exists():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return list(json.loads(manifest.read_text(encoding="utf-8"))["pages"])


def fixture_bytes(entry: dict[str, object]) -> bytes:
    return (FIXTURES / str(entry["file"])).read_bytes()


# -- PostgreSQL --------------------------------------------------------------------


def _pg_available() -> str | None:
    if PG_ADMIN_URL == "off":
        return "PRESSWATCH_TEST_PG=off"
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no server to test against
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    reason = _pg_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"pw_tpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    name = f"pw_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- archives --------------------------------------------------------------------


def _runtime(tmp_path: Path, database_url: str | None) -> Runtime:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    runtime = Runtime(settings)
    runtime.init()
    return runtime


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A fresh, migrated archive on SQLite in a temporary data dir."""
    rt = _runtime(tmp_path, None)
    yield rt
    rt.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """The same test on SQLite and on PostgreSQL."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    rt = _runtime(tmp_path, url)
    yield rt
    rt.close()
