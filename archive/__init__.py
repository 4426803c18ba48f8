"""Presswatch's domain: the archive of every version of every article.

The public API is what `__all__` lists; `crawler`, `search_api` and `presswatch` use
these names. Modules (one concept each):

- `models`: tables; `db`: engines, sessions, migrations
- `capture`: `record_capture`, the one way a fetch enters the archive
- `decode` (bytes to text), `dates` (date strings), `extract` (the article's fields),
  `normalize`, `detect`, `diff`: pure steps (no DB, clock or network)
- `warc`: raw exchanges in WARC files; `integrity`: hash chain and `verify_archive`
- `queries`: read and bookkeeping queries; `export`: JSON shapes; `importer`: WARC and
  saved-page input
"""

from archive.capture import CaptureResult, Exchange, RecordOptions, RedirectHop, record_capture
from archive.db import make_engine, make_session_factory, migrate
from archive.detect import Policy
from archive.diff import VersionSide, diff_versions, render_html, render_json, render_unified
from archive.errors import (
    ArchiveError,
    BackendUnavailable,
    BadInput,
    BadQuery,
    ChainBroken,
    ConfigError,
    ExtractionError,
    NotFound,
    PresswatchError,
    SearchError,
    StorageError,
)
from archive.extract import Extracted, PageKind, extract_page
from archive.integrity import VerifyReport, verify_archive
from archive.models import (
    Article,
    ArticleStatus,
    ArticleUrl,
    Capture,
    CaptureOutcome,
    ChangeEvent,
    ChangeKind,
    RemovalReason,
    SearchOutbox,
    Source,
    Version,
)
from archive.normalize import normalize_text, normalize_url
from archive.warc import WarcStore

__all__ = [
    "ArchiveError",
    "Article",
    "ArticleStatus",
    "ArticleUrl",
    "BackendUnavailable",
    "BadInput",
    "BadQuery",
    "Capture",
    "CaptureOutcome",
    "CaptureResult",
    "ChainBroken",
    "ChangeEvent",
    "ChangeKind",
    "ConfigError",
    "Exchange",
    "Extracted",
    "ExtractionError",
    "NotFound",
    "PageKind",
    "Policy",
    "PresswatchError",
    "RecordOptions",
    "RedirectHop",
    "RemovalReason",
    "SearchError",
    "SearchOutbox",
    "Source",
    "StorageError",
    "VerifyReport",
    "Version",
    "VersionSide",
    "WarcStore",
    "diff_versions",
    "extract_page",
    "make_engine",
    "make_session_factory",
    "migrate",
    "normalize_text",
    "normalize_url",
    "record_capture",
    "render_html",
    "render_json",
    "render_unified",
    "verify_archive",
]
