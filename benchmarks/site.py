"""The benchmark's content for the local news site (presswatch.demo.site): N articles
made from page templates, served by that site in a process of its own.

Owns: turning a page into a template (its article blocks found by our own extractor,
title and canonical URL made into slots), where the templates come from (the real pages
in ../shared/fixtures; in a bare clone, which has none, the demo's own English and Khmer
articles rendered by the site's page renderer), making N distinct articles from them
(blocks swapped, two article-unique paragraphs with their own numbers and a made-up
name inserted, a distinct headline), and the edits quality.py asks for (three sizes, a
headline change, ad/timestamp noise); the failure modes (404, 410, redirect home,
soft-404, 503) are the site's own `Mode`s.

The site around the articles (robots.txt, sitemaps of 1,000 URLs, the feed, the home
page, conditional requests and their switch, counting bytes) is presswatch.demo.site's,
the same server the demo and the crawl tests use.

Must not: copy fixtures anywhere (they are read in place, never written), reach the
network beyond 127.0.0.1, or decide what a mutation should be detected as (quality.py
holds the ground truth).

Why a subprocess: the crawler under test runs its reactor, writer thread and
extraction pool in the benchmark's process; a site in a thread there would take the GIL
from them and blur the figures. The site's own CPU time is reported next to them.
The parent drives it through the site's `/_site/...` endpoints, which are not counted.

    python -m benchmarks.site --size 50 [--content auto|fixtures|demo]   # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html

from presswatch.demo import pages
from presswatch.demo.site import (
    Entry,
    LocalSite,
    Mode,
    SiteProcess,
    serve_child,
    traffic,
)

__all__ = ["BenchSite", "Edit", "Mode", "traffic"]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
BENCH = pages.Outlet(name="The Bench Courier")
FEED_ITEMS = 50
HOME_ITEMS = 30
ARTICLE_PATTERN = r"^https?://127\.0\.0\.1(:\d+)?/news/\d{4}/\d{2}/story-\d{5}/$"
STARTED = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
CONTENTS = ("auto", "fixtures", "demo")

TITLE_SLOT = "PWBENCHTITLESLOT"
URL_SLOT = "PWBENCHURLSLOT"
_MARKER = re.compile(r"<!--pw(block|noise|foot):?(\d*)-->")


class Edit:
    """Content mutations; each makes a new revision (new bytes, ETag, Last-Modified)."""

    SMALL = "edit_small"  # one number in one sentence
    MEDIUM = "edit_medium"  # one paragraph rewritten, a correction appended
    LARGE = "edit_large"  # half the article's blocks gone, both unique paragraphs rewritten
    HEADLINE = "headline"  # the title only
    NOISE = "noise"  # the ad, the view counter and the "generated at" time only
    ALL = (SMALL, MEDIUM, LARGE, HEADLINE, NOISE)


# -- templates made from pages ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """One fixture page with slots: `parts` alternates literal HTML and marker names."""

    name: str
    lang: str
    title: str
    parts: tuple[str, ...]
    blocks: tuple[str, ...]  # serialized article blocks, in page order
    search_words: tuple[str, ...]


def _norm(text: str) -> str:
    from archive.content import normalize_text

    return normalize_text(text)


def _set_meta(head: lxml.html.HtmlElement, prop: str, value: str) -> None:
    found = head.xpath(f'.//meta[@property="{prop}" or @name="{prop}"]')
    if found:
        for el in found:
            el.set("content", value)
        return
    meta = lxml.etree.SubElement(head, "meta")
    meta.set("property", prop)
    meta.set("content", value)


def _replace_with_marker(el: lxml.html.HtmlElement, marker: str) -> None:
    comment = lxml.etree.Comment(marker)
    comment.tail = el.tail
    parent = el.getparent()
    assert parent is not None
    parent.replace(el, comment)


_IMAGE_ATTRS = ("src", "srcset", "data-src", "data-srcset", "data-lazy-src", "data-original")


def _local_images(root: lxml.html.HtmlElement, name: str) -> None:
    """Every <img> of the page served by the site itself (`/media/…`, a small JPEG):
    the crawler fetches an article's images, and the benchmark must reach nothing
    beyond 127.0.0.1. The same image address in every variant of a template."""
    for n, img in enumerate(root.iter("img")):
        for attr in _IMAGE_ATTRS:
            if attr in img.attrib:
                del img.attrib[attr]
        img.set("src", f"/media/{Path(name).stem}-{n}.jpg")


def build_template(name: str, raw: bytes, url: str, search_words: tuple[str, ...]) -> Template:
    """Find the page's article blocks with our extractor and turn them into slots."""
    from archive.content import decode_body, extract_page

    extracted = extract_page(raw, url=url, content_type="text/html")
    lines = {line for line in extracted.text.split("\n") if line.strip()}
    text, _charset = decode_body(raw, "text/html")
    # lxml refuses str input that declares its own encoding; the page is re-served as UTF-8.
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    root = lxml.html.document_fromstring(text)
    head = root.find("head")
    if head is None:
        head = lxml.etree.Element("head")
        root.insert(0, head)
    for meta in head.xpath(".//meta[@charset or @http-equiv]"):
        if meta.get("charset") or (meta.get("http-equiv") or "").lower() == "content-type":
            meta.getparent().remove(meta)
    charset = lxml.etree.Element("meta")
    charset.set("charset", "utf-8")
    head.insert(0, charset)
    title_el = head.find("title")
    if title_el is None:
        title_el = lxml.etree.SubElement(head, "title")
    title_el.text = TITLE_SLOT
    # Every page of a news site says what it is and where it lives; the fixture's own
    # canonical URL points at another host, which would make the variants one article.
    _set_meta(head, "og:title", TITLE_SLOT)
    _set_meta(head, "twitter:title", TITLE_SLOT)
    _set_meta(head, "og:type", "article")
    _set_meta(head, "og:url", URL_SLOT)
    for link in head.xpath('.//link[@rel="canonical"]'):
        link.getparent().remove(link)
    canonical = lxml.etree.SubElement(head, "link")
    canonical.set("rel", "canonical")
    canonical.set("href", URL_SLOT)
    _local_images(root, name)
    for h1 in root.iter("h1"):
        for child in list(h1):
            h1.remove(child)
        h1.text = TITLE_SLOT
        break

    # An article block is the deepest element whose text is one extracted line.
    matched: list[lxml.html.HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("html", "body", "head", "h1", "title"):
            continue
        if _norm("".join(el.itertext())) in lines:
            matched = [m for m in matched if m not in el.iterancestors()]
            if not any(el in m.iterancestors() for m in matched):
                matched.append(el)
    by_parent: Counter[Any] = Counter(el.getparent() for el in matched)
    container = by_parent.most_common(1)[0][0] if by_parent else None
    blocks = [el for el in matched if el.getparent() is container]
    if container is None:
        container = root.find("body")
        if container is None:
            container = lxml.etree.SubElement(root, "body")
        container.append(lxml.etree.Comment("pwblock:0"))
        serialized: list[str] = []
    else:
        serialized = [lxml.html.tostring(el, encoding="unicode", with_tail=False) for el in blocks]
        for k, el in enumerate(blocks):
            _replace_with_marker(el, f"pwblock:{k}")
    noise = lxml.etree.Comment("pwnoise")
    first_marker = next(
        (c for c in container if isinstance(c, lxml.etree._Comment) and c.text == "pwblock:0"),
        None,
    )
    if first_marker is not None:
        first_marker.addnext(noise)
        # addnext moves the marker's tail onto the new node; keep the text where it was.
        noise.tail, first_marker.tail = first_marker.tail, None
    else:
        container.append(noise)
    body = root.find("body")
    (body if body is not None else root).append(lxml.etree.Comment("pwfoot"))
    page = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    pieces = _MARKER.split(page)
    parts: list[str] = []
    # re.split with two groups yields: literal, kind, number, literal, ...
    for i in range(0, len(pieces), 3):
        parts.append(pieces[i])
        if i + 1 < len(pieces):
            parts.append(pieces[i + 1] + (":" + pieces[i + 2] if pieces[i + 2] else ""))
    lang = extracted.lang or "en"
    title = extracted.title or name
    return Template(name, lang, title, tuple(parts), tuple(serialized), search_words)


def load_templates(fixtures: Path = FIXTURES) -> list[Template]:
    manifest = json.loads((fixtures / "pages.json").read_text(encoding="utf-8"))
    out = []
    for entry in manifest["pages"]:
        raw = (fixtures / entry["file"]).read_bytes()
        out.append(
            build_template(entry["file"], raw, entry["url"], tuple(entry.get("search_words") or ()))
        )
    return out


# -- article-unique text --------------------------------------------------------------

_SYLLABLES = ("ka", "ro", "mi", "sen", "tha", "vu", "lo", "dar", "pe", "ni")
_PLACES = (
    "Sihanoukville",
    "Bavet",
    "Poipet",
    "Kampot",
    "Koh Kong",
    "Svay Rieng",
    "Takeo",
    "Battambang",
    "Siem Reap",
    "Kratie",
    "Stung Treng",
    "Pursat",
)
_AGENCIES = (
    "labour ministry",
    "provincial court",
    "anti-trafficking police",
    "immigration department",
    "national committee",
    "rights group Licadho",
)
_VERBS = ("rescued", "detained", "questioned", "repatriated", "released", "fined")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_KM_PROVINCES = ("ព្រះសីហនុ", "ស្វាយរៀង", "កំពត", "កោះកុង", "បាត់ដំបង", "សៀមរាប", "តាកែវ")
_KM_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
_ADS = (
    "Bank with Mekong Trust: 4.5% on savings",
    "Fly Phnom Penh to Bangkok from $59",
    "New condos in BKK1: book a viewing",
    "Learn English online: first month free",
    "Solar panels for your shophouse, 0% down",
)


def codename(index: int) -> str:
    """A made-up word unique to one article, for search recall (`karomi…`)."""
    digits = f"{index:05d}"
    return "".join(_SYLLABLES[int(d)] for d in digits).capitalize()


def unique_paragraph(rng: random.Random, index: int, lang: str, variant: int) -> str:
    """A paragraph no other article has: over 200 characters, so the archive never
    learns it as boilerplate, with its own numbers and the article's codename."""
    n1, n2, year = rng.randint(12, 990), rng.randint(3, 480), rng.randint(2019, 2025)
    if lang == "km":
        prov = rng.choice(_KM_PROVINCES)
        return (
            f"ប៉ូលិសខេត្ត{prov}បាននិយាយថា មនុស្សចំនួន {str(n1).translate(_KM_DIGITS)} នាក់ "
            f"ត្រូវបានជួយសង្គ្រោះ ក្នុងករណីលេខ {str(index).translate(_KM_DIGITS)} "
            f"ហើយការស៊ើបអង្កេតនៅតែបន្ត។ អ្នកយកព័ត៌មាន {codename(index)} បានរាយការណ៍ថា "
            f"មានពលករ {str(n2).translate(_KM_DIGITS)} នាក់ទៀត កំពុងរង់ចាំការសម្ភាសន៍ "
            f"ចាប់តាំងពីឆ្នាំ {str(year).translate(_KM_DIGITS)} មក (កំណែ {variant})។"
        )
    return (
        f"In follow-up reporting by {codename(index)}, investigators in "
        f"{rng.choice(_PLACES)} said on {rng.choice(_WEEKDAYS)} that {n1} people had been "
        f"{rng.choice(_VERBS)} since {year}, and that {n2} further cases were under review "
        f"by the {rng.choice(_AGENCIES)}; the figures for case {index}-{variant} were "
        "confirmed by two officials who asked not to be named."
    )


# -- where the templates come from ----------------------------------------------------

# Khmer words that every article made from a demo Khmer page carries in its headline.
DEMO_SEARCH_WORDS = {
    "police-rescue-120-workers-from-preah-sihanouk-scam-site": ("ពលករ", "ព្រះសីហនុ"),
    "government-forms-special-committee-against-human-trafficking": ("គណៈកម្មការ",),
    "victims-describe-torture-inside-scam-building": ("ទារុណកម្ម",),
}


def demo_templates() -> list[Template]:
    """Templates from our own content, for a bare clone: the demo's English and Khmer
    articles as the demo site renders them (presswatch.demo.pages), churn left out."""
    from presswatch.demo.content import DEMO_ARTICLES
    from presswatch.demo.outlet import OUTLET

    out = []
    for a in DEMO_ARTICLES:
        published = (STARTED - timedelta(hours=a.age_hours)).isoformat()
        url = f"https://ledger.example/{a.lang}/2026/01/{a.slug}/"
        page = pages.article_page(
            OUTLET,
            pages.ArticlePage(
                title=a.title,
                paragraphs=a.paragraphs,
                lang=a.lang,
                byline=a.byline,
                author=a.byline.removeprefix("By ").removeprefix("ដោយ "),
                published=published,
                section=a.section,
                canonical=url,
                comments=a.comments,
            ),
        )
        words = DEMO_SEARCH_WORDS.get(a.slug, ())
        out.append(build_template(a.slug, page.encode("utf-8"), url, words))
    return out


def choose_content(kind: str = "auto", fixtures: Path = FIXTURES) -> str:
    """Which templates the site is made of: "fixtures" when ../shared/fixtures is there
    (or asked for), else "demo"."""
    if kind not in CONTENTS:
        raise ValueError(f"content {kind!r}: use one of {', '.join(CONTENTS)}")
    present = (fixtures / "pages.json").exists()
    if kind == "fixtures" and not present:
        raise FileNotFoundError(f"--content fixtures: no pages.json in {fixtures}")
    if kind == "auto":
        return "fixtures" if present else "demo"
    return kind


def describe_content(kind: str, templates: list[Template]) -> str:
    if kind == "fixtures":
        return f"{len(templates)} real pages of ../shared/fixtures"
    return (
        f"our own demo articles ({len(templates)} pages in English and Khmer, "
        "presswatch.demo.content): ../shared/fixtures not used"
    )


# -- articles ---------------------------------------------------------------------------


@dataclass
class Story:
    """What one article is made of; the site's `Entry` carries it as `item`."""

    index: int
    template: int
    order: list[int | None]  # block slot -> block index (None: block removed)
    unique: list[str]
    insert_after: tuple[int, int]  # block slots after which the unique paragraphs go
    noise: int = 0
    extra: list[str] = field(default_factory=list)  # paragraphs appended by edits
    cache: bytes | None = None  # the rendered page


class BenchContent:
    """The site's articles and their pages; deterministic for (templates, size, seed)."""

    outlet = BENCH
    article_pattern = ARTICLE_PATTERN

    def __init__(self, templates: list[Template], size: int, seed: int, content: str) -> None:
        self.templates = templates
        self.size = size
        self.seed = seed
        self.content = content
        self.keys: list[str] = []

    def entries(self, started: datetime) -> list[Entry]:
        self.started = started
        rng = random.Random(self.seed)
        out = []
        for index in range(self.size):
            t = index % len(self.templates)
            tpl = self.templates[t]
            published = started - timedelta(minutes=37 * (self.size - index))
            order: list[int | None] = list(range(len(tpl.blocks)))
            if len(order) >= 3:
                a, b = rng.sample(range(len(order)), 2)
                order[a], order[b] = order[b], order[a]
            slots = max(len(order), 1)
            first = rng.randrange(slots)
            insert_after = (first, rng.randrange(slots))
            unique = [unique_paragraph(rng, index, tpl.lang, v) for v in (1, 2)]
            story = Story(index, t, order, unique, insert_after)
            key = f"story-{index:05d}"
            self.keys.append(key)
            out.append(
                Entry(
                    key=key,
                    path=f"/news/{published:%Y/%m}/{key}/",
                    lang=tpl.lang,
                    title=f"{tpl.title} — {codename(index)} report {index}",
                    published=published,
                    item=story,
                )
            )
        return out

    def chrome(self, site: LocalSite) -> pages.Chrome:
        return pages.Chrome()  # the benchmark's pages carry their churn in the template

    def render(self, site: LocalSite, entry: Entry) -> bytes:
        story: Story = entry.item
        if story.cache is not None:
            return story.cache
        tpl = self.templates[story.template]
        out: list[str] = []
        title = html.escape(entry.title, quote=True)
        url = site.base_url.rstrip("/") + entry.path
        for i, part in enumerate(tpl.parts):
            if i % 2 == 0:
                out.append(part.replace(TITLE_SLOT, title).replace(URL_SLOT, url))
                continue
            kind, _, num = part.partition(":")
            if kind == "block":
                slot = int(num)
                if slot < len(story.order) and story.order[slot] is not None:
                    out.append(tpl.blocks[story.order[slot]])  # type: ignore[index]
                for j, after in enumerate(story.insert_after):
                    if after == slot:
                        out.append(f"<p>{html.escape(story.unique[j])}</p>")
                if slot == max(len(story.order) - 1, 0):
                    out.extend(f"<p>{html.escape(p)}</p>" for p in story.extra)
            elif kind == "noise":
                n = story.index * 7 + story.noise
                out.append(
                    f'<div class="advertisement ad-slot"><span>Advertisement</span> '
                    f'<a href="/ads/{n % 97}">{_ADS[n % len(_ADS)]}</a></div>'
                )
            elif kind == "foot":
                generated = self.started + timedelta(minutes=11 * story.noise)
                views = 1000 + 17 * story.noise + story.index % 13
                out.append(
                    f'<div class="site-meta"><p>Page generated {generated:%Y-%m-%d %H:%M:%S} '
                    f"UTC</p><p>{views} readers</p><script>window.__pv={n_hash(story)};"
                    "</script></div>"
                )
        story.cache = "".join(out).encode("utf-8")
        return story.cache

    def manifest(self, site: LocalSite) -> dict[str, Any]:
        base = site.base_url.rstrip("/")
        articles = []
        for key in self.keys:
            entry = site.entry(key)
            story: Story = entry.item
            articles.append(
                {
                    "index": story.index,
                    "url": base + entry.path,
                    "path": entry.path,
                    "template": story.template,
                    "lang": entry.lang,
                    "title": entry.title,
                    "codename": codename(story.index),
                }
            )
        return {
            "base_url": site.base_url,
            "content": self.content,
            "content_note": describe_content(self.content, self.templates),
            "articles": articles,
            "templates": [
                {
                    "name": t.name,
                    "lang": t.lang,
                    "title": t.title,
                    "blocks": len(t.blocks),
                    "search_words": list(t.search_words),
                }
                for t in self.templates
            ],
        }

    def control(self, site: LocalSite, name: str, payload: dict[str, Any]) -> Any:
        if name == "manifest":
            return self.manifest(site)
        if name.startswith("page/"):
            return self.render(site, site.entry(self.keys[int(name.removeprefix("page/"))]))
        if name == "mutate":
            now = datetime.now(UTC)
            for item in payload["mutations"]:
                self.mutate(site, int(item["index"]), str(item["action"]), now)
            return {"ok": True}
        return None

    # -- mutations ---------------------------------------------------------------------

    def mutate(self, site: LocalSite, index: int, action: str, now: datetime) -> None:
        key = self.keys[index]
        entry = site.entry(key)
        story: Story = entry.item
        if action in {m.value for m in Mode}:
            site.set_mode(key, action)
            return
        rng = random.Random(f"{self.seed}:{index}:{action}:{entry.revision}")
        if action == Edit.SMALL:
            # One number in one sentence: "… 412 people had been …" becomes 413 or so.
            story.unique[0] = re.sub(
                r"\d+|[០-៩]+",
                lambda m: _bump(m.group(0), rng.randint(1, 9)),
                story.unique[0],
                count=1,
            )
        elif action == Edit.MEDIUM:
            story.unique[1] = unique_paragraph(rng, index, entry.lang, 3)
            story.extra.append(
                "Correction: an earlier version of this article misstated the number of "
                f"cases under review in report {index}; the figures have been "
                "updated after the ministry revised its count."
                if entry.lang != "km"
                else f"ការកែតម្រូវ៖ អត្ថបទមុននេះបានរាយការណ៍ខុសអំពីចំនួនករណី "
                f"{str(index).translate(_KM_DIGITS)} ហើយតួលេខត្រូវបានកែប្រែ។"
            )
        elif action == Edit.LARGE:
            for slot in range(0, len(story.order), 2):
                story.order[slot] = None
            story.unique = [unique_paragraph(rng, index, entry.lang, v) for v in (4, 5)]
        elif action == Edit.HEADLINE:
            tpl = self.templates[story.template]
            entry.title = f"{codename(index)} report {index}: {tpl.title}"
        elif action == Edit.NOISE:
            story.noise += 1
        else:
            modes = tuple(m.value for m in Mode)
            raise ValueError(f"unknown mutation {action!r}: use one of {modes + Edit.ALL}")
        story.cache = None
        site.touch(key, now=now)


def _bump(number: str, by: int) -> str:
    if number.isascii():
        return str(int(number) + by)
    western = number.translate(str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789"))
    return str(int(western) + by).translate(_KM_DIGITS)


def n_hash(story: Story) -> int:
    return (story.index * 2654435761 + story.noise * 40503) % 1_000_003


# -- the process ------------------------------------------------------------------------


def build_site(size: int, seed: int, content: str = "auto") -> LocalSite:
    kind = choose_content(content)
    templates = load_templates() if kind == "fixtures" else demo_templates()
    return LocalSite(
        BenchContent(templates, size, seed, kind),
        started=STARTED,
        listing_size=HOME_ITEMS,
        feed_items=FEED_ITEMS,
        news_sitemap=False,
        server_name="BenchCourier/1.0",
    )


class BenchSite(SiteProcess):
    """The benchmark site in a subprocess, driven through its control endpoints."""

    def __init__(self, size: int, seed: int = 20261124, content: str = "auto") -> None:
        command = [sys.executable, "-m", "benchmarks.site", "--size", str(size)]
        command += ["--seed", str(seed), "--content", content]
        super().__init__(command, cwd=REPO)
        self.size = size
        self.seed = seed

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.call("manifest")))

    def page(self, index: int) -> bytes:
        return self.call(f"page/{index}")

    def mutate(self, mutations: list[tuple[int, str]]) -> None:
        self.call("mutate", {"mutations": [{"index": i, "action": a} for i, a in mutations]})


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the benchmark news site.")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--content", choices=CONTENTS, default="auto")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve_child(build_site(args.size, args.seed, args.content), args.port)


if __name__ == "__main__":
    main()
