"""Scrapy's JOBDIR per crawl job, and what a crash leaves in it.

Resume after SIGKILL: Scrapy's JOBDIR queues are written on a clean stop only, so a
killed crawl leaves them half-written. Each job directory gets a pid marker; if a new
crawl finds the marker of a dead process it discards the queue and relies on the
archive instead: discovery skips every URL already recorded (`CrawlContext.known_urls`)
and a fetch that was never committed is simply fetched again. Either way nothing is
captured twice. A clean stop (SIGINT/SIGTERM, a service gone) keeps the JOBDIR queue
for the next run, whose spiders list the same articles again: a restored request is
fetched only if that run can claim its article (crawler.middlewares.ResumedClaimMiddleware).

Full disk (crash-only): a JOBDIR that Scrapy could not read (empty or torn files,
`presswatch.jobstate`) is discarded with a warning before the crawl starts, for the
same reason; our own pid marker is written atomically.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from presswatch.jobstate import job_dir_problems, write_atomic
from presswatch.lock import pid_alive
from presswatch.settings import Settings

# The package's logger, as when this was one module: log lines name it unchanged.
log = logging.getLogger(__package__)


def job_dir(settings: Settings, spider: str, sources: tuple[str, ...]) -> Path:
    """The JOBDIR of one spider over these sources (the same one run after run)."""
    key = hashlib.sha1(",".join(sorted(sources)).encode()).hexdigest()[:10]
    return settings.jobs_dir / f"{spider}-{key}"


def prepare_job_dir(path: Path) -> None:
    """Discard the queue of a crawl that died uncleanly (see the module docstring), or
    that Scrapy could not read (a full disk leaves empty or torn files)."""
    marker = path / "presswatch.pid"
    if marker.exists():
        try:
            pid = int(marker.read_text().strip() or "0")
        except ValueError:
            pid = 0
        if pid and pid != os.getpid() and not pid_alive(pid):
            log.warning(
                "crawl state in %s belongs to pid %s, which died without stopping cleanly; "
                "discarding its queue (the archive knows what was recorded)",
                path,
                pid,
            )
            shutil.rmtree(path, ignore_errors=True)
    problems = job_dir_problems(path)
    if problems:
        log.warning(
            "crawl state in %s is unreadable (%s); discarding it and crawling on: "
            "the archive knows what was recorded, and rechecks will catch up",
            path,
            "; ".join(problems[:5]),
        )
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    write_atomic(marker, str(os.getpid()).encode())


def finish_job_dir(path: Path) -> None:
    """A clean stop: the queue stays for the next run, the pid marker goes."""
    (path / "presswatch.pid").unlink(missing_ok=True)
