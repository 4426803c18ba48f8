"""The crawl's logging: a rotating log file in the data dir, and a quiet stderr (cron
mails whatever reaches it) unless `--verbose`."""

from __future__ import annotations

import logging
import logging.handlers

from presswatch.settings import Settings

runs_log = logging.getLogger("presswatch.runs")

LOG_FILE_BYTES = 5_000_000
LOG_FILE_COUNT = 5


class _RunsOrLevel(logging.Filter):
    """Let through records at the configured level, and run summaries always."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or record.name == runs_log.name


def setup_crawl_logging(settings: Settings) -> None:
    """Rotating log file in the data dir; stderr stays quiet unless `--verbose`. May be
    called again in one process (a crawl waiting for its database sets it up early):
    `--verbose` is read from the root level before the first call changes it."""
    root = logging.getLogger()
    level = logging.getLevelName(settings.log_level)
    ours = next(
        (h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)), None
    )
    if ours is None:
        verbose = bool(root.level and root.level <= logging.INFO)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        ours = logging.handlers.RotatingFileHandler(
            settings.log_dir / "presswatch.log",
            maxBytes=LOG_FILE_BYTES,
            backupCount=LOG_FILE_COUNT,
            encoding="utf-8",
        )
        ours.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        ours.addFilter(_RunsOrLevel(level))
        ours.pw_verbose = verbose  # type: ignore[attr-defined]
        root.addHandler(ours)
    verbose = getattr(ours, "pw_verbose", False)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            # Cron mails whatever reaches stderr: only our summary may, unless asked.
            handler.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)
    root.setLevel(min(level, logging.INFO))
    # Scrapy's per-request debug lines are never wanted in the file.
    logging.getLogger("scrapy").setLevel(max(level, logging.INFO))
