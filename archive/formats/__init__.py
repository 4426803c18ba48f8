"""Packages the archive hands to others and files it takes in: WACZ packages, what an
export holds, an article's evidence package, imports of WARC and saved pages."""

from archive.formats.evidence import (
    EvidenceSummary,
    export_evidence,
)
from archive.formats.importer import (
    exchanges_from_path,
)
from archive.formats.packages import (
    export_wacz,
    not_the_article_title,
)

__all__ = [
    "EvidenceSummary",
    "exchanges_from_path",
    "export_evidence",
    "export_wacz",
    "not_the_article_title",
]
