"""Pure steps on an article's text: decode bytes, bound bodies, parse dates, extract the
article, normalize, diff, align, classify edits, URL patterns (no database, clock or
network).

The extractor's names are loaded on first use: `extract` imports trafilatura (a fifth
of a second), which a command that only reads, normalizes or diffs should not pay for
when it imports this wing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from archive.content.bodies import (
    ACCEPT_ENCODING,
    DecodedBody,
    decode_bounded,
    decode_stream,
)
from archive.content.decode import (
    PageKind,
    decode_body,
)
from archive.content.diff import (
    OpKind,
    VersionDiff,
    VersionSide,
    diff_versions,
    joined_diff_stats,
)
from archive.content.diff_html import (
    render_html,
    render_html_inline,
)
from archive.content.diff_json import (
    render_json,
)
from archive.content.diff_unified import (
    render_unified,
)
from archive.content.edit_images import images_changed
from archive.content.editclass import (
    CLASS_NAMES,
    describe_class,
    judge_edit,
)
from archive.content.image_entries import ArticleImage, images_from_json, images_to_json
from archive.content.image_hash import PHASH_MAX_DISTANCE, ImageHash, hash_image, phash_distance
from archive.content.khmer import KHMER_RUN, has_khmer, khmer_clusters
from archive.content.normalize import (
    normalize_text,
    normalize_url,
    parse_iso_utc,
)
from archive.content.patterns import (
    PatternProblem,
    UrlPattern,
    compile_url_pattern,
    url_pattern_problem,
)

if TYPE_CHECKING:
    from archive.content.extract import Extracted, extract_page, failed_extraction
    from archive.content.trafilatura_options import TRAFILATURA_OPTIONS

_ON_FIRST_USE = {
    "Extracted": "archive.content.extract",
    "extract_page": "archive.content.extract",
    "failed_extraction": "archive.content.extract",
    "TRAFILATURA_OPTIONS": "archive.content.trafilatura_options",
}


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACCEPT_ENCODING",
    "ArticleImage",
    "KHMER_RUN",
    "CLASS_NAMES",
    "DecodedBody",
    "ImageHash",
    "PHASH_MAX_DISTANCE",
    "Extracted",
    "OpKind",
    "PageKind",
    "PatternProblem",
    "TRAFILATURA_OPTIONS",
    "UrlPattern",
    "VersionDiff",
    "VersionSide",
    "compile_url_pattern",
    "decode_body",
    "decode_bounded",
    "decode_stream",
    "describe_class",
    "diff_versions",
    "extract_page",
    "failed_extraction",
    "has_khmer",
    "images_changed",
    "images_from_json",
    "images_to_json",
    "hash_image",
    "joined_diff_stats",
    "judge_edit",
    "khmer_clusters",
    "normalize_text",
    "phash_distance",
    "normalize_url",
    "parse_iso_utc",
    "render_html",
    "render_html_inline",
    "render_json",
    "render_unified",
    "url_pattern_problem",
]
