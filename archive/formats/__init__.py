"""Packages the archive hands to others and files it takes in: WACZ packages, what an
export holds, an article's evidence package, a case file's package, imports of WARC and
saved pages."""

from archive.formats.cases import (
    CASE_FORMAT,
    CaseSummary,
    export_case_package,
)
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
    "CASE_FORMAT",
    "CaseSummary",
    "EvidenceSummary",
    "exchanges_from_path",
    "export_case_package",
    "export_evidence",
    "export_wacz",
    "not_the_article_title",
]
