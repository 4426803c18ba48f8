"""Crash-only state on a full disk (issue 12, part 4).

A crawl on a full disk once left zero-byte files in `jobs/sitemap-*/` that broke every
later run, and dozens of empty WARC files. Here the disk really fills: a small tmpfs
mounted for the test (real ENOSPC and a real `statvfs`, for the WARC store, SQLite,
Scrapy's JOBDIR and the log alike). Mounting needs root: without it these tests skip
with one line, and fail under CI. The free-space floor's refusal to start and the
JOBDIR checks need no mount: the free-space function is injected, the broken files are
written by hand in Scrapy's own formats.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import pickle
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from queuelib.queue import FifoDiskQueue, LifoDiskQueue
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from archive.errors import DiskFull
from archive.log import verify_archive
from archive.store.models import Article, Capture
from archive.warc import SpaceFloor, WarcStore
from presswatch.crawling.context import start_crawl
from presswatch.crawling.job_dirs import prepare_job_dir
from presswatch.demo.content import DemoArticle, bulk_articles
from presswatch.jobstate import job_dir_problems, write_atomic
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from presswatch.sources import load_sources
from tests.conftest import skip_unless_ci
from tests.site_server import NewsSite, cli, cli_env, write_sources

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MB = 1_000_000


# -- a disk that fills up ----------------------------------------------------------------


class SmallDisk:
    """A tmpfs of `size` bytes mounted at `path`; `fill(leave)` eats all but `leave`
    bytes of it with a ballast file, `free_ballast()` gives them back."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.ballast = path / "ballast"
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            skip_unless_ci(f"cannot mount a tmpfs to fill up (needs root): {done.stderr.strip()}")

    def free(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave: int) -> None:
        with open(self.ballast, "ab") as fh:
            fh.write(b"\xa5" * max(self.free() - leave, 0))

    def free_ballast(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        # A crawl's extraction workers may still be closing their files: lazy unmount.
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], SmallDisk]]:
    mounted: list[SmallDisk] = []

    def make(size: int) -> SmallDisk:
        disk = SmallDisk(tmp_path / f"disk{len(mounted)}", size)
        mounted.append(disk)
        return disk

    yield make
    for disk in mounted:
        disk.unmount()


def warc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz")) if directory.exists() else []


def records_in(path: Path) -> list[str]:
    """Every record of a WARC file, read start to end as any replay tool would: raises
    on a torn record (gzip refuses a cut member)."""
    raw = path.read_bytes()
    gzip.decompress(raw)  # a truncated member fails here, whatever warcio tolerates
    return [r.rec_type for r in ArchiveIterator(io.BytesIO(raw))]


def write_page(store: WarcStore, n: int, body: bytes) -> object:
    return store.write_response(
        url=f"https://kh.example/{n}/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[("Content-Type", "text/html")],
        body=body,
        request_headers=[],
    )


# -- the floor ---------------------------------------------------------------------------


def test_the_floor_counts_what_is_about_to_be_written(tmp_path: Path) -> None:
    floor = SpaceFloor(100 * MB, (tmp_path,), free=lambda _: 150 * MB)
    floor.check()
    floor.check(incoming=50 * MB)
    with pytest.raises(DiskFull) as caught:
        floor.check(incoming=50 * MB + 1)
    message = str(caught.value)
    assert "disk full" in message and str(tmp_path) in message
    assert "100 MB" in message and "min_free_bytes" in message and "run again" in message
    SpaceFloor(0, (tmp_path,), free=lambda _: 0).check(incoming=10**12)  # 0: off


def test_a_crawl_does_not_start_below_the_floor(tmp_path: Path) -> None:
    """Injected free space: `start_crawl` refuses before it writes anything (no log
    file, no Source row, no crawl state)."""
    data = tmp_path / "data"
    with NewsSite(articles=bulk_articles(3)) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        runtime = Runtime(Settings(data_dir=data, sources=sources, min_free_bytes=500 * MB))
        runtime.init()
        runtime.__dict__["space_floor"] = SpaceFloor(
            500 * MB, (data,), free=lambda _: 499 * MB, setting="min_free_bytes"
        )
        with pytest.raises(DiskFull, match=r"499 MB free .* below the floor of 500 MB"):
            start_crawl(runtime, load_sources(sources))
        assert site.log == []
    assert not (data / "logs").exists() and not (data / "jobs").exists()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    runtime.close()


def test_crawl_and_run_below_the_floor_exit_1_with_one_clear_line(tmp_path: Path) -> None:
    """The real CLI with a floor no disk can meet: exit 1, the reason on stderr, no
    traceback, no request sent, no file written."""
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    env = cli_env(min_free_bytes=10**18)
    with NewsSite(articles=bulk_articles(3)) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        for command in ("crawl", "run"):
            result = cli(data, sources, command, env=env)
            assert result.returncode == 1, result.stderr
            assert "disk full" in result.stderr and "min_free_bytes" in result.stderr
            assert "Traceback" not in result.stderr
        assert site.log == []
    assert warc_files(data / "warc") == []
    assert not (data / "jobs").exists()


def test_the_warc_store_writes_nothing_below_the_floor(tmp_path: Path) -> None:
    free = {"bytes": 10 * MB}
    store = WarcStore(
        tmp_path, floor=SpaceFloor(20 * MB, (tmp_path,), free=lambda _: free["bytes"])
    )
    with pytest.raises(DiskFull):
        write_page(store, 1, b"<p>one</p>")
    assert list(tmp_path.iterdir()) == []  # not even an empty file
    free["bytes"] = 30 * MB
    write_page(store, 2, b"<p>two</p>")
    store.close()
    [path] = warc_files(tmp_path)
    assert records_in(path) == ["warcinfo", "response", "request"]


# -- the WARC store on a disk that really fills -----------------------------------------


def test_a_failed_write_leaves_no_torn_record_and_no_empty_file(
    small_disk: Callable[[int], SmallDisk],
) -> None:
    disk = small_disk(2 * MB)
    directory = disk.path / "warc"
    disk.fill(leave=700_000)
    store = WarcStore(directory)  # no floor: the write itself meets ENOSPC
    body = os.urandom(150_000)  # incompressible, so each record really takes room
    written = 0
    with pytest.raises(DiskFull, match="disk full"):
        for n in range(100):
            write_page(store, n, body)
            written += 1
    assert 0 < written < 100
    files = warc_files(directory)
    assert files and all(f.stat().st_size > 0 for f in files)
    # Whole records only: each file's warcinfo, then a response and its request per page.
    assert sum(len(records_in(f)) for f in files) == 2 * written + len(files)
    assert all(records_in(f)[0] == "warcinfo" for f in files)

    # Still full: the next record fails too, and leaves no new (empty) file behind.
    with pytest.raises(DiskFull):
        write_page(store, 101, body)
    assert warc_files(directory) == files

    # Space comes back: the same store writes on, into readable files.
    disk.free_ballast()
    location = write_page(store, 102, b"<p>after</p>")
    store.close()
    record = store.read_record(location.file, location.offset, location.length)
    assert record.payload == b"<p>after</p>"
    after = warc_files(directory)
    assert sum(len(records_in(f)) for f in after) == 2 * written + 2 + len(after)


def test_a_new_file_on_a_full_disk_is_removed(small_disk: Callable[[int], SmallDisk]) -> None:
    disk = small_disk(1 * MB)
    directory = disk.path / "warc"
    directory.mkdir()
    disk.fill(leave=0)
    store = WarcStore(directory)
    for n in range(5):
        with pytest.raises(DiskFull):
            write_page(store, n, os.urandom(20_000))
    store.close()
    assert list(directory.iterdir()) == []


# -- Scrapy's JOBDIR ---------------------------------------------------------------------

SLOT = "127.0.0.1-0c97b32d"


def good_job_dir(path: Path) -> Path:
    """A JOBDIR as Scrapy leaves it after a clean stop, written with Scrapy's and
    queuelib's own formats: pending requests, start requests, seen fingerprints."""
    queue = path / "requests.queue"
    (queue / SLOT).mkdir(parents=True)
    lifo = LifoDiskQueue(queue / SLOT / "0")
    lifo.push(pickle.dumps({"url": "http://127.0.0.1/a/"}, protocol=4))
    lifo.push(pickle.dumps({"url": "http://127.0.0.1/b/"}, protocol=4))
    lifo.close()
    fifo = FifoDiskQueue(queue / SLOT / "0s")
    fifo.push(pickle.dumps({"url": "http://127.0.0.1/sitemap.xml"}, protocol=4))
    fifo.close()
    (queue / "active.json").write_text(json.dumps({SLOT: [0]}))
    (path / "spider.state").write_bytes(pickle.dumps({}, protocol=4))
    fingerprints = [bytes([i]) * 20 for i in (1, 2, 3)]
    (path / "requests.seen").write_bytes(
        b"".join(len(f).to_bytes(2, "big") + f for f in fingerprints)
    )
    return path


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


def _cut(path: Path, n: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - n])


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "active.json empty (the issue)": lambda p: (p / "requests.queue/active.json").write_bytes(b""),
    "spider.state empty": lambda p: (p / "spider.state").write_bytes(b""),
    "spider.state names code": lambda p: (p / "spider.state").write_bytes(pickle.dumps(Evil())),
    "requests.seen torn": lambda p: _cut(p / "requests.seen", 5),
    "lifo queue empty": lambda p: (p / f"requests.queue/{SLOT}/0").write_bytes(b""),
    "lifo queue torn": lambda p: _cut(p / f"requests.queue/{SLOT}/0", 3),
    "fifo info.json empty": lambda p: (p / f"requests.queue/{SLOT}/0s/info.json").write_bytes(b""),
    "fifo chunk torn": lambda p: _cut(p / f"requests.queue/{SLOT}/0s/q00000", 2),
    "fifo info.json missing": lambda p: (p / f"requests.queue/{SLOT}/0s/info.json").unlink(),
}


def test_a_good_job_dir_is_kept(tmp_path: Path) -> None:
    job = good_job_dir(tmp_path / "sitemap-x")
    before = sorted(str(p.relative_to(job)) for p in job.rglob("*"))
    assert job_dir_problems(job) == []
    prepare_job_dir(job)
    after = sorted(str(p.relative_to(job)) for p in job.rglob("*"))
    assert after == sorted([*before, "presswatch.pid"])
    assert (job / "presswatch.pid").read_text() == str(os.getpid())


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_unreadable_job_state_is_discarded_with_a_warning(
    tmp_path: Path, breakage: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where Evil would leave its mark
    job = good_job_dir(tmp_path / "sitemap-x")
    BREAKAGES[breakage](job)
    assert job_dir_problems(job)
    with caplog.at_level(logging.WARNING, logger="presswatch.crawling"):
        prepare_job_dir(job)
    assert [p.name for p in job.iterdir()] == ["presswatch.pid"]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(job) in warning and "discarding it" in warning
    assert "rechecks will catch up" in warning
    assert not (tmp_path / "pwned").exists()


def test_our_own_state_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "jobs" / "presswatch.pid"
    write_atomic(target, b"123")
    write_atomic(target, b"4567")
    assert target.read_bytes() == b"4567"
    assert [p.name for p in target.parent.iterdir()] == ["presswatch.pid"]  # no temp left


def test_a_crawl_goes_on_after_the_issues_zero_byte_job_files(tmp_path: Path) -> None:
    """The issue's state, by hand: `jobs/sitemap-*/` with zero-byte files. The next
    crawl logs a warning, discards them and archives everything (exit 0)."""
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    with NewsSite(articles=bulk_articles(6)) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(min_free_bytes=0)
        first = cli(data, sources, "crawl", "--spider", "sitemap", "--limit", "3", env=env)
        assert first.returncode == 0, first.stderr
        [job] = list((data / "jobs").iterdir())
        (job / "requests.queue").mkdir(exist_ok=True)
        (job / "requests.queue" / "active.json").write_bytes(b"")
        (job / "spider.state").write_bytes(b"")
        again = cli(data, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
    log_text = (data / "logs" / "presswatch.log").read_text()
    assert "is unreadable" in log_text and "rechecks will catch up" in log_text
    runtime = Runtime(Settings(data_dir=data))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 6
    runtime.close()


# -- a crawl into a full disk, then the next run -----------------------------------------


def archive_state(data: Path) -> tuple[int, Counter[str], list[str]]:
    runtime = Runtime(Settings(data_dir=data))
    with runtime.sessions() as session:
        articles = session.scalar(select(func.count()).select_from(Article)) or 0
        per_url = Counter(session.scalars(select(Capture.requested_url)))
        problems = [p.problem for p in verify_archive(session, runtime.warc).problems]
    runtime.close()
    return articles, per_url, problems


def assert_no_debris(data: Path) -> None:
    """No empty WARC file and no torn record; no job file Scrapy could not read."""
    for path in warc_files(data / "warc"):
        assert path.stat().st_size > 0, path
        records_in(path)
    for job in (data / "jobs").iterdir() if (data / "jobs").exists() else []:
        # What a full disk may leave here is checked (and discarded) by the next run;
        # what the floor lets Scrapy write at its clean stop must already be whole.
        assert job_dir_problems(job) == [], job


ARTICLES = 40


def heavy_articles(count: int) -> list[DemoArticle]:
    """Articles whose pages each carry about 40 kB that gzip cannot shrink much, so
    the space a crawl takes grows with what it archives (WARC records, version text),
    whatever the number of captures per transaction: a disk with room for a few of
    them fills part way through, with one capture per commit or a hundred."""
    out = []
    for article in bulk_articles(count):
        noise = " ".join(
            hashlib.sha256(f"{article.slug}-{k}".encode()).hexdigest() for k in range(600)
        )
        out.append(replace(article, paragraphs=(*article.paragraphs, noise)))
    return out


@pytest.mark.e2e
def test_a_crawl_into_a_full_disk_stops_cleanly_and_the_next_run_archives_the_rest(
    tmp_path: Path, small_disk: Callable[[int], SmallDisk]
) -> None:
    disk = small_disk(48 * MB)
    data = disk.path / "data"
    Runtime(Settings(data_dir=data)).init()
    floor = 8 * MB
    # Room for a few pages above the floor: each capture takes some 20 kB of WARC and
    # 40 kB of version text, and SQLite's WAL frames on top.
    disk.fill(leave=floor + 600_000)
    env = cli_env(min_free_bytes=floor)
    with NewsSite(articles=heavy_articles(ARTICLES), chrome_kb=50) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        full = cli(data, sources, "crawl", "--spider", "sitemap", env=env)
        assert full.returncode == 1, full.stderr
        assert "disk full" in full.stderr and "min_free_bytes" in full.stderr
        assert "Traceback" not in full.stderr
        kept, per_url, problems = archive_state(data)
        assert 0 < kept < ARTICLES  # what was committed stays
        assert problems == []
        assert_no_debris(data)

        disk.free_ballast()
        after = cli(data, sources, "run", env=env)
        assert after.returncode == 0, after.stderr
    kept, per_url, problems = archive_state(data)
    assert kept == ARTICLES
    assert problems == []
    assert_no_debris(data)


@pytest.mark.e2e
def test_with_no_floor_enospc_leaves_nothing_the_next_run_trips_on(
    tmp_path: Path, small_disk: Callable[[int], SmallDisk]
) -> None:
    """The issue's accident exactly: no floor (`min_free_bytes = 0`), the disk runs out
    under SQLite, the WARC store, Scrapy's JOBDIR and the log. The crawl fails; no
    empty or torn WARC file is left; once space is back, `run` needs no hand cleanup."""
    disk = small_disk(32 * MB)
    data = disk.path / "data"
    Runtime(Settings(data_dir=data)).init()
    disk.fill(leave=400_000)
    env = cli_env(min_free_bytes=0)
    with NewsSite(articles=heavy_articles(ARTICLES), chrome_kb=50) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        full = cli(data, sources, "crawl", "--spider", "sitemap", env=env)
        assert full.returncode != 0, full.stderr
        for path in warc_files(data / "warc"):
            assert path.stat().st_size > 0, path
            records_in(path)
        assert archive_state(data)[2] == []  # every committed capture verifies
        # Scrapy wrote its state at close on the full disk: what it left unreadable
        # (here: zero-byte spider.state and active.json, as in the issue) ...
        broken = [p for j in (data / "jobs").iterdir() for p in job_dir_problems(j)]

        disk.free_ballast()
        after = cli(data, sources, "run", env=env)
        assert after.returncode == 0, after.stderr
    if broken:  # ... the next run discarded with a warning, and went on
        log_text = (data / "logs" / "presswatch.log").read_text(errors="replace")
        assert "is unreadable" in log_text and "rechecks will catch up" in log_text
    kept, per_url, problems = archive_state(data)
    assert kept == ARTICLES
    assert problems == []
    assert_no_debris(data)
