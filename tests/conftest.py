"""Shared fixtures: a fresh archive per test, on SQLite and (for tests that ask for
`any_db`) on a real PostgreSQL at 127.0.0.1:5432, created fresh for each run.

PostgreSQL: one template database is migrated per run; each test gets
`CREATE DATABASE … TEMPLATE` of it (fast), dropped afterwards. Set
`PRESSWATCH_TEST_PG=postgresql+psycopg://user@host:port/postgres` to point elsewhere;
`PRESSWATCH_TEST_PG=off` skips the PostgreSQL half with a visible reason.

Skips that CI could hide: a test whose service, browser or data is missing calls
`skip_unless_ci(reason)`, which skips on a developer's machine and fails when `CI` is
set, so a green CI run never means "not tested". The real-page quality gates read other
people's pages from ../shared/fixtures (never copied into the repository); users' clones
do not have them. Tests that need them ask for the `real_pages` fixture, or carry the
`real_pages` mark (for one parameter of a matrix that also runs on our own pages); they
skip with one line when the directory is absent and fail under CI.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from archive.store.db import make_engine, migrate
from presswatch.runtime import Runtime
from presswatch.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
# The Meilisearch server to run the search contract against, if the developer named one
# (read at import, before pytest_configure clears the environment). pytest-xdist's
# workers start after that, so the names are handed on under keys of the tests' own.
MEILI_SERVER = os.environ.get("MEILI_URL") or os.environ.get("PW_TEST_MEILI_URL")
MEILI_SERVER_KEY = os.environ.get("MEILI_MASTER_KEY") or os.environ.get("PW_TEST_MEILI_KEY")
PG_ADMIN_URL = os.environ.get(
    "PRESSWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

# Fixtures shared by several test modules, each in a helper module of its own (a test
# module never imports another): the browser and `presswatch serve`, a local TSA.
pytest_plugins = ["tests.browser_harness", "tests.local_tsa"]
# Helper modules that assert, rewritten like test modules so a failure shows its values.
pytest.register_assert_rewrite("tests.kill_harness", "tests.search_backends")


def in_ci() -> bool:
    """True when the environment says this run is CI (`CI=true`, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip the current test for something missing on this machine; under CI, fail:
    CI must never pass by not testing."""
    if in_ci():
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)


# Under CI every Hypothesis test (properties, schemathesis) draws the same examples each
# run: a gate, not a lottery. Elsewhere each run explores new ones, which is how the
# bugs they found were found.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_pages: needs the real-page fixtures in ../shared/fixtures "
        "(skips without them, fails under CI)",
    )
    # Settings must come from the test, never from the developer's environment; the
    # variables that say where the tests' own tools are (PostgreSQL, pywb,
    # ReplayWeb.page) stay.
    keep = ("PRESSWATCH_TEST_PG", "PRESSWATCH_PYWB_BIN", "PRESSWATCH_REPLAYWEB_DIR")
    for name in list(os.environ):
        if name.startswith("PRESSWATCH_") and name not in keep:
            del os.environ[name]
    # A Meilisearch server named here is for the search contract suite only (it reads
    # MEILI_SERVER): every other test keeps the embedded default.
    for name in ("DATABASE_URL", "REDIS_URL", "MEILI_URL", "MEILI_MASTER_KEY"):
        os.environ.pop(name, None)
    for name, value in (
        ("PW_TEST_MEILI_URL", MEILI_SERVER),
        ("PW_TEST_MEILI_KEY", MEILI_SERVER_KEY),
    ):
        if value:
            os.environ[name] = value


@pytest.fixture
def at() -> Iterator[object]:
    """A clock for tests: `at(hours)` is T0 plus that many hours."""

    def _at(hours: float = 0) -> datetime:
        return T0 + timedelta(hours=hours)

    yield _at


# -- real pages (the quality gates) ---------------------------------------------------


class RealPages:
    """Other people's news pages in ../shared/fixtures, read in place: `pages.json` lists
    each page's file, url, lang, and the `with`/`without` snippets of its ground truth."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def entries(self) -> list[dict[str, Any]]:
        manifest = json.loads((self.root / "pages.json").read_text(encoding="utf-8"))
        return list(manifest["pages"])

    def entry(self, file: str) -> dict[str, Any]:
        for entry in self.entries:
            if entry["file"] == file:
                return entry
        raise KeyError(f"{file} is not listed in {self.root / 'pages.json'}")

    def bytes(self, file: str) -> bytes:
        return (self.root / file).read_bytes()

    def text(self, file: str) -> str:
        return self.bytes(file).decode("utf-8")


REAL_PAGES = RealPages(FIXTURES)


def _needs_real_pages(item: pytest.Item) -> bool:
    return item.get_closest_marker("real_pages") is not None or "real_pages" in getattr(
        item, "fixturenames", ()
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Checked here rather than in the fixture so that every gate reports the same
    # location: pytest then folds all of them into one "SKIPPED [n]" line.
    if _needs_real_pages(item) and not (FIXTURES / "pages.json").is_file():
        skip_unless_ci(
            f"real-page quality gate: no shared fixtures at {FIXTURES} "
            "(they sit beside the repository, not in it)"
        )


@pytest.fixture(scope="session")
def real_pages() -> RealPages:
    """The real-page fixtures; a test that asks for them is a quality gate (see above)."""
    return REAL_PAGES


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
        skip_unless_ci(reason)
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


# -- accounts --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id with the smallest cost: the default's 64 MiB and three passes take up
    to a second on a busy two-core machine, for each sign-in a test makes."""
    from argon2 import PasswordHasher

    from archive.accounts.credentials import use_hash_parameters

    before = use_hash_parameters(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    use_hash_parameters(before)


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


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of its own on the local Redis (127.0.0.1:6379), its keys deleted
    after the test; skipped without Redis, and a failure under CI."""
    try:
        import redis
    except ImportError:
        skip_unless_ci("the redis package is not installed (pip install -e '.[test]')")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        client.close()
        skip_unless_ci("no Redis on 127.0.0.1:6379 (start redis-server)")
    prefix = f"pwtest-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def second_waits_on_first(
    sessions: Any, first: Callable[[Any], object], second: Callable[[Any], object]
) -> list[BaseException]:
    """Two machines' transactions on one PostgreSQL database: `first(session)` writes
    and stays open while `second(session)` runs in another thread, which must block on
    the first's row; the first then commits. Returns what the second raised."""
    import threading

    opened = sessions()
    opened.begin()
    first(opened)
    failures: list[BaseException] = []

    def run_second() -> None:
        try:
            with sessions.begin() as session:
                second(session)
        except BaseException as exc:
            failures.append(exc)

    racer = threading.Thread(target=run_second)
    racer.start()
    racer.join(timeout=1.0)
    assert racer.is_alive()  # blocked on the first transaction's row
    opened.commit()
    opened.close()
    racer.join(timeout=30)
    assert not racer.is_alive()
    return failures
