"""The kill-and-rerun harness (design rule 4: a process killed at any point, then run
again, leaves no half-written version and no duplicate).

Two ways to kill. The recording worker (tests/record_worker.py) SIGKILLs itself at the
N-th ORM flush or right after the N-th WARC record: `killed_then_rerun_equals_clean`
kills it at points drawn from a clean run's counts and compares each rerun's archive
with the clean one (`snapshot`). A `presswatch crawl` subprocess is killed from outside
while it fetches from a slow local site (`slow_news_site`): `wait_until` polls until it
is far enough along, `reaped` kills its process group if a test leaves it running,
`kill_each_one_found` kills its helpers again and again, and `articles_captured_once`
checks the archive after the rerun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from archive.log import verify_archive
from archive.store.models import Article, Capture, ChangeEvent, Version
from presswatch.demo.content import bulk_articles
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import REPO
from tests.site_server import Mode, NewsSite

# -- the recording worker, killed at chosen points ----------------------------------------


def run_worker(data_dir: Path, *kill: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.record_worker", str(data_dir), *kill],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode not in (0, -9):
        raise AssertionError(proc.stderr)
    return proc.returncode, proc.stdout


def snapshot(data_dir: Path) -> dict[str, object]:
    rt = Runtime(Settings(data_dir=data_dir))
    with rt.sessions() as s:
        report = verify_archive(s, rt.warc)
        out = {
            "captures": [
                (c.seq, c.requested_url, c.status, c.outcome)
                for c in s.scalars(select(Capture).order_by(Capture.seq))
            ],
            "versions": [
                (v.article_id, v.n, v.text_sha256)
                for v in s.scalars(select(Version).order_by(Version.id))
            ],
            "events": [
                (e.article_id, e.kind, tuple(e.how))
                for e in s.scalars(select(ChangeEvent).order_by(ChangeEvent.id))
            ],
            "articles": [
                (a.url, a.status, a.version_count, a.removal)
                for a in s.scalars(select(Article).order_by(Article.id))
            ],
            "verify": [p.problem for p in report.problems],
        }
    rt.close()
    return out


KillPoints = Callable[[int, int], list[tuple[str, int]]]


def killed_then_rerun_equals_clean(tmp_path: Path, points: KillPoints) -> None:
    """A clean run of the worker, then one run killed at each `(mode, n)` of
    `points(flushes, warcs)` and run again: each rerun's archive equals the clean one."""
    clean = tmp_path / "clean"
    code, out = run_worker(clean)
    assert code == 0
    # Kill points are drawn from the clean run's own counts, so each one fires.
    flushes = int(out.split("flushes=")[1].split()[0])
    warcs = int(out.split("warcs=")[1].split()[0])
    expected = snapshot(clean)
    assert expected["verify"] == []
    assert len(expected["captures"]) == 10

    for i, (mode, n) in enumerate(points(flushes, warcs)):
        data = tmp_path / f"killed-{i}"
        code, _ = run_worker(data, mode, str(n))
        assert code == -9, f"{mode} {n} never fired"
        assert run_worker(data)[0] == 0  # the rerun records everything once
        assert snapshot(data) == expected, (mode, n)


# -- a crawl, killed from outside -----------------------------------------------------------


@contextmanager
def slow_news_site(articles: int, delay_s: float = 0.1) -> Iterator[NewsSite]:
    """The local site with `articles` articles, each answering after `delay_s`, so a
    crawl at one request at a time is still going when a test kills it or a service."""
    bulk = bulk_articles(articles)
    with NewsSite(articles=bulk) as site:
        for article in bulk:
            site.set_mode(article.slug, Mode.SLOW, delay_s=delay_s)
        yield site


def article_requests(site: NewsSite) -> list[Any]:
    """The requests for article pages the site has served."""
    return [r for r in site.log if r.path.startswith(("/en/20", "/km/20"))]


def wait_until(
    proc: subprocess.Popen[str],
    done: Callable[[], bool],
    *,
    timeout_s: float = 60,
    never: str = "the crawl never got going",
) -> None:
    """Poll until `done()`, failing if the crawl ends first or with `never` after
    `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, never
        time.sleep(0.05)  # polling, not timing the crawl


@contextmanager
def reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The crawl's whole process group killed on the way out if it still runs, so a
    failed assertion leaves no crawl behind."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)


def kill_each_one_found(proc: subprocess.Popen[str], find: Callable[[], list[int]]) -> int:
    """Kill every process `find()` names, each once, until the crawl ends (a memory
    limit too low for them); returns how many were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"still running after {len(killed)} kills"
            for pid in find():
                if pid not in killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.05)  # polling the processes, not timing the crawl
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return len(killed)


def count(rt: Runtime, what: type) -> int:
    with rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(what)) or 0


def articles_captured_once(data_dir: Path, expected: int, database_url: str | None = None) -> None:
    """`expected` articles, each URL captured once, and `verify` clean."""
    rt = Runtime(Settings(data_dir=data_dir, database_url=database_url))
    try:
        assert count(rt, Article) == expected
        with rt.sessions() as session:
            per_url = session.execute(
                select(Capture.requested_url, func.count()).group_by(Capture.requested_url)
            ).all()
            assert all(n == 1 for _, n in per_url), per_url
            assert verify_archive(session, rt.warc).ok
    finally:
        rt.close()
