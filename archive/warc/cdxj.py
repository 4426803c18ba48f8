"""CDXJ indexes of WARC files (cdxj-indexer, the indexer pywb and py-wacz use).

Owns one index per finished WARC file, `<index_dir>/<warc name>.cdxj`, sorted, in the
fields pywb reads (url, mime, status, digest, length, offset, filename), with the
request's method and referrer appended to each response. The WARC store calls
`index_warc` when it closes or rotates a file; `index_missing` (`presswatch
index-warcs`) builds the ones that are missing or stale, e.g. after a crash or for
files written before indexing existed.

Freshness: an index is written to a temporary file, renamed into place, and stamped
with the WARC's modification time as it was *before* reading; an index whose mtime
differs from its WARC's was made from other bytes (the file grew since) and is
rebuilt. No sidecar file, no database row.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer

from archive.errors import StorageError
from archive.warc.files import temp_beside

log = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc.gz", ".warc")
INDEX_SUFFIX = ".cdxj"
# Besides the defaults: what a replay tool uses to pick among captures of one URL.
_EXTRA_FIELDS = "referrer,method"


def is_warc(path: Path) -> bool:
    return path.is_file() and path.name.endswith(WARC_SUFFIXES)


def index_path(warc: Path, index_dir: Path) -> Path:
    return index_dir / (warc.name + INDEX_SUFFIX)


def cdxj_text(warcs: Iterable[Path], *, dir_root: Path | None = None) -> str:
    """The sorted CDXJ lines of `warcs` as one text. `filename` in each line is the
    WARC's name, or its path relative to `dir_root` when given."""
    out = io.StringIO()
    paths = [str(p) for p in warcs]
    try:
        indexer = CDXJIndexer(
            out,
            paths,
            sort=True,
            post_append=True,
            fields=_EXTRA_FIELDS,
            dir_root=str(dir_root) if dir_root else None,
        )
        indexer.process_all()
    except Exception as exc:  # boundary: the indexer raises bare Exceptions on bad input
        raise StorageError(
            f"cannot index WARC file(s) {', '.join(paths)}: {exc}; run `warcio check` on "
            "the file to see which record is damaged"
        ) from exc
    return out.getvalue()


def is_fresh(warc: Path, index_dir: Path) -> bool:
    index = index_path(warc, index_dir)
    try:
        return index.stat().st_mtime_ns == warc.stat().st_mtime_ns
    except OSError:
        return False


def index_warc(warc: Path, index_dir: Path) -> Path:
    """Write (or rewrite) the CDXJ index of one WARC file; return its path."""
    stamp = warc.stat().st_mtime_ns  # before reading: a file that grows meanwhile is stale
    text = cdxj_text([warc])
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_path(warc, index_dir)
    fd, tmp = temp_beside(target, prefix=".", suffix=INDEX_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.utime(tmp, ns=(stamp, stamp))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


@dataclass
class IndexReport:
    """What `index_missing` did: indexes built, already fresh, and WARC files that
    could not be indexed (with why)."""

    built: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def index_missing(warc_dir: Path, index_dir: Path, *, rebuild: bool = False) -> IndexReport:
    """Index every WARC file in `warc_dir` whose index is missing or stale (all of them
    with `rebuild`). A damaged file is reported and skipped; the others are indexed."""
    report = IndexReport()
    if not warc_dir.is_dir():
        return report
    for warc in sorted(p for p in warc_dir.iterdir() if is_warc(p)):
        if not rebuild and is_fresh(warc, index_dir):
            report.fresh.append(warc.name)
            continue
        try:
            index_warc(warc, index_dir)
        except (StorageError, OSError) as exc:
            log.warning("%s", exc)
            report.failed[warc.name] = str(exc)
        else:
            report.built.append(warc.name)
    return report


def index_closed_warc(index_dir: Path) -> _Indexer:
    """The callback a WarcStore calls with each file it closes: index it, and never let
    an indexing failure fail the capture (`index-warcs` retries it later)."""
    return _Indexer(index_dir)


@dataclass(frozen=True)
class _Indexer:
    index_dir: Path

    def __call__(self, warc: Path) -> None:
        try:
            index_warc(warc, self.index_dir)
        except (StorageError, OSError) as exc:
            log.warning("CDXJ index of %s not written (`presswatch index-warcs`): %s", warc, exc)
