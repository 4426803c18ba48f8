"""Presswatch's domain: the archive of every version of every article.

The public API is what `__all__` lists; `crawler`, `search_api`, `presswatch` and
`benchmarks` import these names from `archive`, never its modules (tests/test_layout.py
checks it). Modules (one concept each):

- `models`: tables; `db`: engines, sessions, migrations
- `capture`: `record_capture`, the one way a fetch enters the archive
- `decode` (bytes to text), `dates` (date strings), `extract` (the article's fields),
  `normalize`, `detect`, `diff`: pure steps (no DB, clock or network)
- `bodies`: bodies decoded (gzip, deflate, br, zstd, chunked) within a size limit
- `warc`: raw exchanges in WARC files; `cdxj`: their CDXJ indexes; `integrity`: hash
  chain and `verify_archive`
- `queries`: read and bookkeeping queries; `export`: JSON shapes; `importer`: WARC and
  saved-page input; `wacz`: the WACZ package format; `packages`: what a WACZ export holds
"""

from archive.bodies import ACCEPT_ENCODING, DecodedBody, decode_bounded, decode_stream
from archive.capture import (
    CaptureResult,
    Exchange,
    RecordOptions,
    RedirectHop,
    extract_exchange,
    record_capture,
)
from archive.cdxj import IndexReport, index_closed_warc, index_missing
from archive.db import is_migrated, make_engine, make_session_factory, migrate
from archive.decode import decode_body
from archive.detect import Policy
from archive.diff import (
    OpKind,
    VersionDiff,
    VersionSide,
    diff_versions,
    render_html,
    render_html_inline,
    render_json,
    render_unified,
)
from archive.diskspace import SpaceFloor, free_bytes
from archive.egress import (
    ALLOW_NETWORKS_SETTING,
    ALLOWED_SCHEMES,
    Networks,
    address_refusal,
    parse_networks,
    url_refusal,
)
from archive.errors import (
    ArchiveError,
    BackendUnavailable,
    BadInput,
    BadQuery,
    ChainBroken,
    ConfigError,
    DiskFull,
    ExtractionError,
    NotFound,
    PresswatchError,
    SchemaTooNew,
    SearchError,
    StorageError,
)
from archive.export import article_json, change_json, history_json, version_side
from archive.extract import TRAFILATURA_OPTIONS, Extracted, PageKind, extract_page
from archive.importer import exchanges_from_path
from archive.integrity import VerifyReport, verify_archive
from archive.models import (
    Article,
    ArticleStatus,
    ArticleUrl,
    Capture,
    CaptureOutcome,
    ChangeEvent,
    ChangeKind,
    LogCheckpoint,
    RemovalReason,
    SearchDeadLetter,
    SearchOutbox,
    Source,
    Version,
)
from archive.normalize import normalize_text, normalize_url, parse_iso_utc
from archive.packages import export_wacz
from archive.patterns import (
    PatternProblem,
    UrlPattern,
    compile_url_pattern,
    url_pattern_problem,
)
from archive.queries import (
    ChangeRow,
    aliases_of,
    article_by_url,
    capture_by_id,
    captures_of,
    current_version_of,
    due_articles,
    events_of,
    find_article,
    first_response_with_payload,
    known_urls_of,
    list_articles,
    list_changes,
    list_sources,
    source_by_name,
    source_names,
    source_stats,
    sources_named,
    upsert_source,
    version_by_n,
    versions_by_id,
    versions_of,
)
from archive.warc import WarcStore

__all__ = [
    "ACCEPT_ENCODING",
    "DecodedBody",
    "decode_bounded",
    "decode_stream",
    "address_refusal",
    "aliases_of",
    "ALLOW_NETWORKS_SETTING",
    "ALLOWED_SCHEMES",
    "Networks",
    "parse_networks",
    "url_refusal",
    "ArchiveError",
    "Article",
    "article_by_url",
    "article_json",
    "ArticleStatus",
    "ArticleUrl",
    "BackendUnavailable",
    "BadInput",
    "BadQuery",
    "Capture",
    "LogCheckpoint",
    "capture_by_id",
    "CaptureOutcome",
    "CaptureResult",
    "captures_of",
    "ChainBroken",
    "change_json",
    "ChangeEvent",
    "ChangeKind",
    "ChangeRow",
    "compile_url_pattern",
    "ConfigError",
    "current_version_of",
    "decode_body",
    "index_closed_warc",
    "index_missing",
    "IndexReport",
    "diff_versions",
    "DiskFull",
    "due_articles",
    "events_of",
    "Exchange",
    "exchanges_from_path",
    "export_wacz",
    "extract_exchange",
    "extract_page",
    "Extracted",
    "ExtractionError",
    "find_article",
    "first_response_with_payload",
    "free_bytes",
    "history_json",
    "is_migrated",
    "known_urls_of",
    "list_articles",
    "list_changes",
    "list_sources",
    "make_engine",
    "make_session_factory",
    "migrate",
    "normalize_text",
    "normalize_url",
    "NotFound",
    "OpKind",
    "PageKind",
    "parse_iso_utc",
    "PatternProblem",
    "Policy",
    "PresswatchError",
    "record_capture",
    "RecordOptions",
    "RedirectHop",
    "RemovalReason",
    "render_html",
    "render_html_inline",
    "render_json",
    "render_unified",
    "SchemaTooNew",
    "SearchError",
    "SearchDeadLetter",
    "SearchOutbox",
    "Source",
    "source_by_name",
    "source_names",
    "source_stats",
    "sources_named",
    "SpaceFloor",
    "StorageError",
    "TRAFILATURA_OPTIONS",
    "upsert_source",
    "url_pattern_problem",
    "UrlPattern",
    "verify_archive",
    "VerifyReport",
    "Version",
    "version_by_n",
    "version_side",
    "VersionDiff",
    "versions_by_id",
    "versions_of",
    "VersionSide",
    "WarcStore",
]
