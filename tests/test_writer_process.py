"""The writer process (crawler/recording.py): a crawl's captures are recorded by one
process other than the crawl's own, and a crawl killed alone takes its writer with it,
so nothing is left holding the archive and the next run completes it."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.log import verify_archive
from archive.store.models import Article
from presswatch.demo.content import bulk_articles
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.kill_harness import articles_captured_once, reaped, slow_news_site, wait_until
from tests.site_server import NewsSite, cli, cli_env, popen_cli, write_sources

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # real crawls, tens of seconds each


def writer_pids(data_dir: Path) -> set[int]:
    """The pids in the WARC file names (archive/warc/records.py names each file after the
    process that wrote it)."""
    names = (p.name for p in (data_dir / "warc").glob("presswatch-*"))
    return {int(m.group(1)) for n in names if (m := re.match(r"presswatch-(\d+)-", n))}


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("writer_process", [True, False])
def test_captures_are_recorded_by_one_writer(tmp_path: Path, writer_process: bool) -> None:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    with NewsSite(articles=bulk_articles(12)) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(writer_process=str(writer_process).lower())
        proc = popen_cli(data, sources, "crawl", env=env)
        out, err = proc.communicate(timeout=300)
        assert (proc.returncode, err) == (0, ""), err
    pids = writer_pids(data)
    assert len(pids) == 1, pids  # one recorder: one log order
    if writer_process:
        assert pids != {proc.pid}
    else:
        assert pids == {proc.pid}
    rt = Runtime(Settings(data_dir=data))
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 12
        assert verify_archive(session, rt.warc).ok
    rt.close()


def test_a_crawl_killed_alone_takes_its_writer_with_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    with slow_news_site(30, delay_s=0.08) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1)
        proc = popen_cli(data, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            wait_until(
                proc,
                lambda: bool(writer_pids(data) - {proc.pid}),
                timeout_s=90,
                never="no capture was ever written",
            )
            (writer,) = writer_pids(data) - {proc.pid}
            assert running(writer)
            os.kill(proc.pid, signal.SIGKILL)  # the crawl only, not its process group
            proc.communicate(timeout=30)
            deadline = time.monotonic() + 30
            while running(writer):
                assert time.monotonic() < deadline, f"writer {writer} outlived its crawl"
                time.sleep(0.05)

        again = cli(data, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
    articles_captured_once(data, 30)
