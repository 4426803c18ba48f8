"""The check that a page in Khmer shows no English message of ours, shared by the page
tests (tests/test_i18n.py, through the TestClient) and the browser test
(tests/test_workspace_browser.py, on the DOM Chromium rendered): the catalogs' English
msgids, split at their placeholders, must not appear in the page's visible text once
the archived values and the data (URLs, hashes, code) are taken out."""

from __future__ import annotations

import re
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from lxml import html as lxml_html

from archive.i18n import LOCALE_DIR

KHMER = re.compile(r"[\u1780-\u17ff]")
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")

# Archived values (marked with their own lang by `m.lang`) and values that are data
# (URLs, hashes, code) are not our words.
DATA = (
    "//*[@dir='auto'] | //script | //style | //code | //*[contains(@class, 'pw-url')]"
    " | //*[contains(@class, 'pw-hash')] | //*[contains(@class, 'pw-snippet')]"
    # An error's detail is the API's English message, marked lang="en" (error.html).
    " | //*[contains(@class, 'pw-error-detail')]"
    # An audit entry's detail is the record its log leaf seals (field: value), as stored.
    " | //*[contains(@class, 'pw-detail')]"
    " | //select[@name='source'] | //*[@class='pw-facets']//li"
)

# Names that every language writes the same way.
NAMES = {"Presswatch"}


def catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "presswatch.po").open("rb") as po:
        return read_po(po, locale=lang)


def msgid(message: Any) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def visible_text(page: str) -> str:
    tree = lxml_html.fromstring(page)
    # The tab's title names the archived article it shows (as its h1 does): data too.
    title = " ".join(tree.xpath("//head/title//text()"))
    for node in tree.xpath(DATA):
        archived = node.text_content().strip()
        if archived:
            title = title.replace(archived, " ")
        node.drop_tree()
    said = [" ".join(tree.xpath("//body//text()")), title]
    said += tree.xpath("//@alt | //@placeholder | //@aria-label")
    return " ".join(" ".join(said).split())


def english_fragments() -> list[str]:
    """Each msgid's words (split at its placeholders) that a Khmer page must not show."""
    fragments = set()
    for message in catalog("en"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        for text in ids:
            for part in PLACEHOLDER.split(text):
                part = part.strip(" .,:;()“”\"'·—–-→←%")
                if re.search(r"[A-Za-z]{2,}", part) and part not in NAMES:
                    fragments.add(part)
    return sorted(fragments, key=len, reverse=True)


def english_left(text: str, fragments: list[str]) -> list[str]:
    return [f for f in fragments if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
