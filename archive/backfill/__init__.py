"""Web archives as a source: CDX and TimeMap answers and snapshot coverage (pure), and the
backfill ledger."""

from archive.backfill.ledger import (
    WEB_ARCHIVE,
    ArticleCoverage,
    LedgerOutcome,
    SaveCandidate,
    ledger_counts,
    ledger_problems,
    mark_snapshot,
    record_save,
    settled_keys,
    snapshot_coverage,
    unsaved_changes,
)
from archive.backfill.snapshots import (
    CDX_FIELDS,
    Coverage,
    Snapshot,
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
    "CDX_FIELDS",
    "Coverage",
    "LedgerOutcome",
    "SaveCandidate",
    "Snapshot",
    "WEB_ARCHIVE",
    "coverage_of",
    "ledger_counts",
    "ledger_problems",
    "links_in_snapshot",
    "mark_snapshot",
    "original_of_replay",
    "parse_cdx",
    "parse_timemap",
    "record_save",
    "settled_keys",
    "snapshot_coverage",
    "snapshot_key",
    "unsaved_changes",
    "wayback_time",
    "wayback_timestamp",
]
