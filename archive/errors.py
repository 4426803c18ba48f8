"""Every error Presswatch raises on purpose.

Messages name the input and say what to fix. Callers at a boundary (one capture, one
request, the CLI) catch ``PresswatchError``; anything else is a bug and keeps its
traceback.

The tree::

    PresswatchError
    ├── ConfigError              settings or sources.toml are invalid (CLI exit 2)
    │   └── SchemaTooNew         the database was written by a newer Presswatch
    ├── ArchiveError             the archive could not do what was asked
    │   ├── NotFound             no such article, version or capture
    │   ├── BadInput             a value handed to the archive is unusable
    │   │   └── ScreenshotRefused a screenshot is unreadable or past the size limits
    │   ├── StorageError         the database or WARC store failed
    │   │   ├── DiskFull         free space fell below the floor, or a write hit ENOSPC
    │   │   └── WarcUnwritable   the WARC directory refuses writes (read-only, permissions)
    │   ├── LogBroken            a stored hash or the transparency log does not match
    │   └── NotAllowed           the person (role, disabled, revoked token) may not do it
    │       └── Throttled        too many failed sign-ins or saves: wait before trying again
    ├── ExtractionError          trafilatura or our parsing failed on a page
    └── SearchError              the search backend failed
        ├── BadQuery             the user's query cannot be run (HTTP 400)
        └── BackendUnavailable   the backend is down, missing or refused our key
"""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "BackendUnavailable",
    "BadInput",
    "BadQuery",
    "ConfigError",
    "DiskFull",
    "ExtractionError",
    "LogBroken",
    "NotAllowed",
    "NotFound",
    "PresswatchError",
    "SchemaTooNew",
    "ScreenshotRefused",
    "SearchError",
    "StorageError",
    "Throttled",
    "WarcUnwritable",
]


class PresswatchError(Exception):
    """Base of every error Presswatch raises deliberately."""


class ConfigError(PresswatchError):
    """Settings, `presswatch.toml` or `sources.toml` are invalid. The message names the
    file, the key and what to change."""


class SchemaTooNew(ConfigError):
    """The database is stamped with a schema revision this Presswatch does not know: a
    newer version wrote it. Nothing is read or migrated; upgrade Presswatch (exit 2)."""


class ArchiveError(PresswatchError):
    """The archive could not do what was asked."""


class NotFound(ArchiveError):
    """No article, version or capture matches what the caller named."""


class BadInput(ArchiveError):
    """A value handed to the archive cannot be used (e.g. a naive datetime, a relative
    URL). Raised before anything is written."""


class ScreenshotRefused(BadInput):
    """A screenshot handed to the pixel diff is not a PNG it will read: unreadable, or
    over its byte, width, height or pixel limits (a hostile page can make a huge one).
    The message names which screenshot and which limit."""


class StorageError(ArchiveError):
    """The database or the WARC store failed; nothing of the capture was kept."""


class DiskFull(StorageError):
    """The disk holding the archive has less free space than the configured floor, or a
    write failed for want of space. Nothing half-written is kept; the message names the
    directory, what is free and the floor, and says to free space and run again."""


class WarcUnwritable(StorageError):
    """The WARC directory refuses writes: a file system mounted (or remounted, after
    errors) read-only, a directory whose owner or mode changed. No capture can be kept
    until someone fixes it, so a crawl stops on it; the message names the directory and
    what to fix."""


class LogBroken(ArchiveError):
    """A stored hash or the transparency log does not match what was recomputed.
    Named so it does not clash with SQLAlchemy's ``IntegrityError``."""


class ExtractionError(PresswatchError):
    """Extraction of a page failed. Recorded as the capture's outcome, never fatal."""


class SearchError(PresswatchError):
    """The search backend failed."""


class BadQuery(SearchError):
    """The user's query cannot be run; the message says what to change."""


class BackendUnavailable(SearchError):
    """The search backend is unreachable, missing, or refused the key."""


class NotAllowed(ArchiveError):
    """Who asked may not do this: a role below the one needed, a disabled account, a
    revoked or unknown token, a wrong password (HTTP 403 or 401)."""


class Throttled(NotAllowed):
    """Too many failed sign-ins for this account or from this address recently, or
    too many pages saved by one person in the last hour; the message says what to wait
    for (HTTP 429)."""
