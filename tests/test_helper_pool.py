"""The crawl's helper pool with real processes (crawler.processes.HelperPool): a call
that kills whichever worker runs it is found by running the calls its death broke one
at a time, alone, and fails with `KilledItsHelper`, while the calls in flight beside it
come back as if nothing happened; a worker killed from outside is still replaced within
the restart budget; a worker's memory limit turns a memory bomb into a MemoryError of
that one call."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from archive.capture import Exchange, extract_exchange
from archive.content import PageKind
from crawler.context import make_extract_pool
from crawler.processes import HelperGone, HelperPool, KilledItsHelper, limit_memory
from tests.helper_calls import POISON, allocate, pid, work


def pool_of(workers: int, *, culprits: int = 3, **kwargs: object) -> HelperPool:
    return HelperPool(
        "a test worker",
        workers,
        restarts=3,
        gone="test workers were killed too often",
        culprits=culprits,
        culprits_gone="too many calls killed their test worker",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def pool() -> Iterator[HelperPool]:
    made = pool_of(2)
    try:
        yield made
    finally:
        made.shutdown()


def test_a_call_that_kills_its_worker_is_proven_alone_and_the_others_come_back(
    pool: HelperPool,
) -> None:
    innocents = [f"page-{i}" for i in range(6)]
    futures = {v: pool.submit(work, v) for v in innocents[:3]}
    poisoned = pool.submit(work, POISON)
    futures.update({v: pool.submit(work, v) for v in innocents[3:]})

    with pytest.raises(KilledItsHelper, match="died running this call alone"):
        poisoned.result(timeout=60)
    assert {v: f.result(timeout=60) for v, f in futures.items()} == {
        v: v.upper() for v in innocents
    }
    assert pool.proven == 1
    # The break it caused is not a death from outside: the whole budget is left.
    assert pool.restarted == 0
    assert pool.submit(work, "after", 0).result(timeout=30) == "AFTER"


def test_the_pool_names_its_live_helpers(pool: HelperPool) -> None:
    # What `python -m benchmarks run` reads the extraction workers' CPU time from.
    ran_in = {pool.submit(pid).result(timeout=30) for _ in range(4)}
    live = pool.pids()
    assert ran_in and ran_in <= set(live)
    assert os.getpid() not in live


def test_a_worker_killed_from_outside_is_replaced_and_its_calls_made_again(
    pool: HelperPool,
) -> None:
    victim = pool.submit(pid).result(timeout=30)
    futures = [pool.submit(work, f"page-{i}", 1.0) for i in range(4)]
    time.sleep(0.3)  # the calls reach the workers before one of them is killed
    os.kill(victim, signal.SIGKILL)
    assert [f.result(timeout=60) for f in futures] == [f"PAGE-{i}" for i in range(4)]
    assert pool.proven == 0
    assert pool.restarted == 1  # charged to the budget meant for the OOM killer


def test_past_the_cap_of_proven_calls_every_call_fails_with_helper_gone() -> None:
    pool = pool_of(1, culprits=1)
    try:
        with pytest.raises(KilledItsHelper):
            pool.submit(work, POISON).result(timeout=60)
        with pytest.raises(HelperGone, match="too many calls killed their test worker"):
            pool.submit(work, POISON).result(timeout=60)
        with pytest.raises(HelperGone, match="too many calls"):
            pool.submit(work, "innocent", 0).result(timeout=30)
        assert pool.proven == 2 and pool.restarted == 0
    finally:
        pool.shutdown()


def test_without_culprit_search_a_poisoned_call_spends_the_restart_budget() -> None:
    """The writer's pool (culprits=0) keeps the plain behaviour: made again until the
    budget is spent, then HelperGone."""
    pool = pool_of(1, culprits=0)
    try:
        with pytest.raises(HelperGone, match="killed too often"):
            pool.submit(work, POISON).result(timeout=120)
        assert pool.restarted == 3
    finally:
        pool.shutdown()


def test_a_memory_bomb_fails_alone_under_the_worker_memory_limit() -> None:
    pool = pool_of(1, initializer=limit_memory, initargs=(300 * 1024 * 1024,))
    try:
        with pytest.raises(MemoryError):
            pool.submit(allocate, 2048).result(timeout=60)
        assert pool.submit(allocate, 10).result(timeout=30) == 10 * 1024 * 1024
        assert pool.restarted == 0 and pool.proven == 0  # the worker lived on
    finally:
        pool.shutdown()


def test_a_page_that_exhausts_the_extraction_worker_memory_is_a_failed_extraction() -> None:
    """The crawl's own pool: a page whose extraction needs more than the worker's
    limit comes back as kind `failed` (recorded, never judged as an emptied page), and
    the worker extracts the next page."""
    para = b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + b"</p>\n"
    bomb = b"<html><head><title>t</title></head><body><article>" + para * 15_000
    page = b"<html><head><title>t</title></head><body><article>" + para * 3 + b"</article>"

    def exchange(body: bytes) -> Exchange:
        at = datetime(2026, 12, 1, tzinfo=UTC)
        headers = (("Content-Type", "text/html; charset=utf-8"),)
        url = "https://news.example/a/"
        return Exchange(url, url, at, 200, headers=headers, body=body)

    pool = make_extract_pool(1, 200 * 1024 * 1024)
    try:
        failed = pool.submit(extract_exchange, exchange(bomb), 20_000_000).result(timeout=120)
        assert failed is not None and failed.kind is PageKind.FAILED
        assert "MemoryError" in failed.note and failed.text == ""
        fine = pool.submit(extract_exchange, exchange(page), 20_000_000).result(timeout=60)
        assert fine is not None and fine.kind is PageKind.HTML and "Lorem ipsum" in fine.text
        assert pool.restarted == 0 and pool.proven == 0
    finally:
        pool.shutdown()
