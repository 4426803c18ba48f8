"""trafilatura's own metadata (author, date, title), asked field by field and only on the
pages where our reading of the markup found nothing (`TrafilaturaMetadata`).

Pure apart from CPU. tests/test_extract.py checks each field against trafilatura's whole
`extract_metadata`, so a trafilatura upgrade cannot change them unseen.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import lxml.etree
import lxml.html
import trafilatura.metadata as trafilatura_metadata
import trafilatura.settings as trafilatura_settings
from htmldate import find_date

from archive.content.trafilatura_options import TRAFILATURA_OPTIONS

__all__ = [
    "TrafilaturaMetadata",
]

LOGGER = logging.getLogger(__name__)


class TrafilaturaMetadata:
    """The fields of trafilatura's own metadata (`extract_metadata`) that we fall back
    on, each computed the first time it is asked for: most pages never need them.

    Author and date follow `extract_metadata`'s own sequence for those fields (meta
    tags and JSON-LD, then its markup heuristics or htmldate), without its categories,
    tags, licence and site name, which we never read; tests/test_extract.py checks
    both against `extract_metadata` so a trafilatura upgrade cannot change them unseen.
    """

    def __init__(self, root: lxml.html.HtmlElement, url: str) -> None:
        self._root = root
        self._url = url
        self._head: Any = None

    def _meta_and_json(self) -> Any:
        if self._head is None:
            found = trafilatura_metadata.examine_meta(self._root)
            if found.author and " " not in found.author:
                found.author = None  # as extract_metadata does: one word is no name
            try:
                found = trafilatura_metadata.extract_meta_json(self._root, found)
            except Exception:  # trafilatura's JSON-LD reader has bugs; it skips them too
                LOGGER.debug("trafilatura's JSON-LD metadata failed", exc_info=True)
            self._head = found
        return self._head

    @property
    def title(self) -> str | None:
        # Our own search has found a title on every page seen so far: no shortcut.
        document = trafilatura_metadata.extract_metadata(
            self._root, self._url, TRAFILATURA_OPTIONS.date_params(), TRAFILATURA_OPTIONS.fast
        )
        return _trimmed(document.title)

    @property
    def date(self) -> str | None:
        found = self._meta_and_json()
        url = found.url or trafilatura_metadata.extract_url(self._root, self._url)
        return _trimmed(find_date(self._root, url=url, **TRAFILATURA_OPTIONS.date_params()))

    @property
    def author(self) -> str | None:
        author = self._meta_and_json().author
        if not author and _may_name_author(self._root):
            author = trafilatura_metadata.extract_author(self._root)
        return _trimmed(author)


# Every element trafilatura's author XPaths (trafilatura.xpaths.AUTHOR_XPATHS) can
# match has one of these attributes holding one of these words, or is an <author> (or
# has a <rel> child). Those XPaths test only an element's own attributes, so a page
# without any such element gets no author from them, and we skip the copy and pruning
# of the whole tree that extract_author does first: about half of the benchmark pages.
_AUTHOR_ATTRIBUTES = lxml.etree.XPath(
    "//@rel | //@id | //@class | //@itemprop | //@data-testid | //@data-component"
)
_AUTHOR_ELEMENTS = lxml.etree.XPath("boolean(//author | //rel)")
_AUTHOR_HINT = re.compile(
    "author|byl|bbl|username|zuozhe|bianji|xiaobian|channel-name|submitted-by|posted-by"
    "|journalist-name|screenname|writer"
)


def _may_name_author(root: lxml.html.HtmlElement) -> bool:
    if _AUTHOR_ELEMENTS(root):
        return True
    values = _AUTHOR_ATTRIBUTES(root)
    return bool(_AUTHOR_HINT.search("\n".join(map(str, values)).lower()))


def _trimmed(value: Any) -> str | None:
    """A metadata value as extract_metadata's final `clean_and_trim` leaves it."""
    if not isinstance(value, str):
        return None
    holder = trafilatura_settings.Document()
    holder.author = value
    holder.clean_and_trim()
    return holder.author or None
