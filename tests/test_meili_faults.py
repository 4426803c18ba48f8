"""Meilisearch failing under `presswatch run` and `serve`: gone, answering 503, slow.

Each test puts an HTTP proxy of its own (tests/http_fault_proxy.py) in front of the real
Meilisearch that MEILI_URL names, on an index of its own, and fails the proxy: the
server itself is never stopped, so the rest of the suite keeps it. The documented outcome
(docs/operations.md, "When a service fails"): the crawl's captures are kept, `run`
reports Meilisearch in one line and exits 1 within a bound, the outbox keeps every row,
and the run after Meilisearch answers again leaves exactly one document per version.
Skipped without MEILI_URL, like the rest of the Meilisearch half of the suite."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.log import verify_archive
from archive.store import SearchOutbox, Version
from benchmarks.scale_bench import meili_documents
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import MEILI_SERVER, MEILI_SERVER_KEY
from tests.http_fault_proxy import GONE, PASS, UNAVAILABLE, FaultProxy, fault_proxy
from tests.site_server import NewsSite, cli, cli_env, write_sources

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not MEILI_SERVER, reason="MEILI_URL is not set: no Meilisearch server to test against"
    ),
]


@pytest.fixture
def index_uid() -> Iterator[str]:
    uid = f"pw_fault_{uuid.uuid4().hex[:10]}"
    yield uid
    import meilisearch

    assert MEILI_SERVER
    client = meilisearch.Client(MEILI_SERVER, MEILI_SERVER_KEY)
    client.wait_for_task(client.delete_index(uid).task_uid, timeout_in_ms=60_000)


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    assert MEILI_SERVER
    with fault_proxy(MEILI_SERVER) as running:
        yield running


def _env(proxy: FaultProxy, index_uid: str, **settings: object) -> dict[str, str]:
    return cli_env(
        MEILI_URL=proxy.url,
        MEILI_MASTER_KEY=MEILI_SERVER_KEY or "",
        meili_index=index_uid,
        **settings,
    )


def _documents(index_uid: str) -> int:
    assert MEILI_SERVER
    return meili_documents(MEILI_SERVER, MEILI_SERVER_KEY, index_uid, wait_ms=60_000)


def _one_problem(stderr: str) -> str:
    """`run`'s report when something failed: its summary line, then one line per
    problem; here exactly one, the search index's."""
    summary, *problems = stderr.strip().splitlines()
    assert summary.startswith("presswatch run: ") and "1 problem(s)" in summary, stderr
    (problem,) = (line.strip() for line in problems)
    assert problem.startswith("search index not updated: "), problem
    return problem


def _archive(data_dir: Path) -> tuple[int, int]:
    """(versions, outbox rows waiting), and `verify` clean."""
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            assert verify_archive(session, rt.warc).ok
            versions = session.scalar(select(func.count()).select_from(Version)) or 0
            waiting = session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
        return versions, waiting
    finally:
        rt.close()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (GONE, "Meilisearch at http://127.0.0.1:"),
        (UNAVAILABLE, "HTTP 503, not an answer of Meilisearch's own"),
    ],
)
def test_run_with_meilisearch_failing_keeps_the_captures_and_the_rerun_indexes_them(
    fault: str, says: str, proxy: FaultProxy, index_uid: str, tmp_path: Path
) -> None:
    """Meilisearch gone, or answering 503 (a reverse proxy before it, or the server
    overloaded): the crawl's captures are kept and verify, `run` exits 1 with one line
    naming Meilisearch, every outbox row waits; once it answers, the next `run` indexes
    each version exactly once."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    env = _env(proxy, index_uid)
    with NewsSite() as site:
        sources = write_sources(tmp_path / "sources.toml", site)
        proxy.mode = fault
        failed = cli(data_dir, sources, "run", env=env)
        assert failed.returncode == 1, failed.stderr
        problem = _one_problem(failed.stderr)
        assert "Meilisearch" in problem and says in problem, problem
        versions, waiting = _archive(data_dir)
        assert versions > 0 and waiting >= versions  # nothing indexed, nothing dropped

        status = cli(data_dir, sources, "status", env=env)
        assert status.returncode == 1
        assert "Meilisearch" in status.stdout + status.stderr

        proxy.mode = PASS
        again = cli(data_dir, sources, "run", env=env)
        assert again.returncode == 0, again.stderr
        assert (again.stdout, again.stderr) == ("", "")
    versions_after, waiting_after = _archive(data_dir)
    assert (versions_after, waiting_after) == (versions, 0)
    assert _documents(index_uid) == versions


def test_a_meilisearch_slower_than_the_timeout_is_reported_within_the_bound(
    proxy: FaultProxy, index_uid: str, tmp_path: Path
) -> None:
    """Each answer later than `meili_timeout_s`: `run` ends with one line saying
    Meilisearch did not answer, well within a bound (not the client's default of no
    limit), and the captures wait in the outbox; an answer slower than usual but within
    the timeout is ridden out."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite() as site:
        sources = write_sources(tmp_path / "sources.toml", site)
        proxy.delay_s = 3.0
        started = time.monotonic()
        slow = cli(data_dir, sources, "run", env=_env(proxy, index_uid, meili_timeout_s=1))
        elapsed = time.monotonic() - started
        assert slow.returncode == 1, slow.stderr
        line = _one_problem(slow.stderr)
        assert "Meilisearch at" in line and "did not answer" in line, line
        # The crawl itself takes a few seconds; the index step gives up after its first
        # unanswered request, not after each of its retries of many documents.
        assert elapsed < 60, elapsed
        versions, waiting = _archive(data_dir)
        assert waiting >= versions > 0

        proxy.delay_s = 0.2  # slow, within the timeout
        again = cli(data_dir, sources, "run", env=_env(proxy, index_uid, meili_timeout_s=5))
        assert again.returncode == 0, again.stderr
    assert _archive(data_dir) == (versions, 0)
    assert _documents(index_uid) == versions


def test_search_with_meilisearch_gone_answers_503_saying_what_to_do(
    proxy: FaultProxy, index_uid: str, tmp_path: Path
) -> None:
    """A reader's search while Meilisearch is gone: 503 saying search is unavailable
    (the API's JSON and the page), never an empty result that reads as "nothing
    archived"; the server's address stays in the server's log, not in public answers."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    settings = Settings(
        data_dir=tmp_path / "data",
        meili_url=proxy.url,
        meili_master_key=MEILI_SERVER_KEY,
        meili_index=index_uid,
        meili_timeout_s=2,
    )
    Runtime(settings).init()
    proxy.mode = GONE
    with TestClient(create_app(settings)) as client:
        api = client.get("/api/search", params={"q": "trafficking"})
        assert api.status_code == 503, api.text
        assert "search is unavailable" in api.json()["detail"]
        assert proxy.url not in api.text
        page = client.get("/", params={"q": "trafficking"})
        assert page.status_code == 503
        assert "unavailable" in page.text and "No results" not in page.text
        assert proxy.url not in page.text


def test_machines_creating_the_index_at_once_all_go_on(index_uid: str) -> None:
    """Several machines' first `run` at once: each finds no index and asks for it; the
    later tasks fail with index_already_exists, which is the state they wanted (it failed
    the run of one of two processes in `python -m benchmarks faults`)."""
    from archive.errors import SearchError
    from search_api.backends.meili import MeilisearchBackend

    assert MEILI_SERVER
    first = MeilisearchBackend(MEILI_SERVER, MEILI_SERVER_KEY, index_uid)
    second = MeilisearchBackend(MEILI_SERVER, MEILI_SERVER_KEY, index_uid)
    first.configure()
    again = second._client.create_index(
        index_uid, {"primaryKey": "id"}
    )  # as if it had lost the race
    second._wait(again, "creating the index", fine="index_already_exists")
    with pytest.raises(SearchError, match="index_already_exists"):
        second._wait(second._client.create_index(index_uid, {"primaryKey": "id"}), "creating")
    second.configure()  # and the whole step goes on
