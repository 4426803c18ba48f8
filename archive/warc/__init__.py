"""The raw exchanges: WARC files written and read back, their CDXJ indexes, the disk-space
floor, files written whole."""

from archive.warc.cdxj import (
    IndexReport,
    index_closed_warc,
    index_missing,
)
from archive.warc.diskspace import (
    SpaceFloor,
    free_bytes,
)
from archive.warc.records import (
    WarcStore,
)

__all__ = [
    "IndexReport",
    "SpaceFloor",
    "WarcStore",
    "free_bytes",
    "index_closed_warc",
    "index_missing",
]
