"""Web archives as a source: what an archive's index and replays say (pure), which
snapshots a backfill fetches and in which order (pure), the backfill ledger, and what
`save-changes` asks an archive to save. Asking the archive is presswatch's."""

from archive.backfill.ledger import (
    WEB_ARCHIVE,
    ArticleCoverage,
    LedgerOutcome,
    ledger_counts,
    ledger_problems,
    mark_snapshot,
    settled_keys,
    snapshot_coverage,
)
from archive.backfill.planning import (
    BackfillReport,
    FetchOrder,
    SnapshotFilter,
    article_key,
    future_snapshot_problem,
    group_by_article,
    spread_over_time,
)
from archive.backfill.replay import (
    WAYBACK,
    Target,
    original_headers,
    raw_replay_url,
    replay_original,
)
from archive.backfill.saves import SaveCandidate, record_save, unsaved_changes
from archive.backfill.snapshots import (
    CDX_FIELDS,
    Coverage,
    Snapshot,
    cdx_query,
    coverage_of,
    links_in_snapshot,
    original_of_replay,
    parse_cdx,
    parse_timemap,
    snapshot_key,
    wayback_time,
    wayback_timestamp,
)

__all__ = [
    "ArticleCoverage",
    "BackfillReport",
    "CDX_FIELDS",
    "Coverage",
    "FetchOrder",
    "LedgerOutcome",
    "SaveCandidate",
    "Snapshot",
    "SnapshotFilter",
    "Target",
    "WAYBACK",
    "WEB_ARCHIVE",
    "article_key",
    "cdx_query",
    "coverage_of",
    "future_snapshot_problem",
    "group_by_article",
    "ledger_counts",
    "ledger_problems",
    "links_in_snapshot",
    "mark_snapshot",
    "original_headers",
    "original_of_replay",
    "parse_cdx",
    "parse_timemap",
    "raw_replay_url",
    "record_save",
    "replay_original",
    "settled_keys",
    "snapshot_coverage",
    "snapshot_key",
    "spread_over_time",
    "unsaved_changes",
    "wayback_time",
    "wayback_timestamp",
]
