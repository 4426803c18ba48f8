"""The benchmark's news site: N articles made from the real pages in ../shared/fixtures,
served over HTTP on 127.0.0.1 by a separate process.

Owns: turning each fixture page into a template (its article blocks found by our own
extractor, title and canonical URL made into slots), making N distinct articles from
those templates (blocks swapped, two article-unique paragraphs with their own numbers
and a made-up name inserted, a distinct headline), the site around them (robots.txt, a
sitemap index with sitemaps of 1,000 URLs, an RSS feed, a home page), conditional
requests (ETag / Last-Modified, switchable off for the full-fetch path), counting the
bytes it sends and receives, and the mutations quality.py asks for (edits of three
sizes, a headline change, ad/timestamp noise, 404, 410, redirect home, soft-404, 503).

Must not: copy fixtures anywhere (they are read in place, never written), reach the
network beyond 127.0.0.1, or decide what a mutation should be detected as (quality.py
holds the ground truth).

Why a subprocess: the crawler under test runs its reactor, writer thread and
extraction pool in the benchmark's process; a site in a thread there would take the GIL
from them and blur the figures. The site's own CPU time is reported next to them.
The parent drives it through `/_bench/...` endpoints, which are not counted.

    python -m benchmarks.site --size 50          # serve until Ctrl-C, print the port
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
SITE_NAME = "The Bench Courier"
SITEMAP_PAGE = 1000  # URLs per sitemap file, as WordPress and most CMSs write them
FEED_ITEMS = 50
HOME_ITEMS = 30
ARTICLE_PATTERN = r"^https?://127\.0\.0\.1(:\d+)?/news/\d{4}/\d{2}/story-\d{5}/$"

TITLE_SLOT = "PWBENCHTITLESLOT"
URL_SLOT = "PWBENCHURLSLOT"
_MARKER = re.compile(r"<!--pw(block|noise|foot):?(\d*)-->")


class Mode:
    """How an article answers (strings, so they travel as JSON)."""

    OK = "ok"
    NOT_FOUND = "404"
    GONE = "410"
    REDIRECT_HOME = "redirect_home"
    SOFT_404 = "soft_404"
    UNAVAILABLE = "503"
    ALL = (OK, NOT_FOUND, GONE, REDIRECT_HOME, SOFT_404, UNAVAILABLE)


class Edit:
    """Content mutations; each makes a new revision (new bytes, ETag, Last-Modified)."""

    SMALL = "edit_small"  # one number in one sentence
    MEDIUM = "edit_medium"  # one paragraph rewritten, a correction appended
    LARGE = "edit_large"  # half the article's blocks gone, both unique paragraphs rewritten
    HEADLINE = "headline"  # the title only
    NOISE = "noise"  # the ad, the view counter and the "generated at" time only
    ALL = (SMALL, MEDIUM, LARGE, HEADLINE, NOISE)


# -- templates made from the fixture pages ---------------------------------------------


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
    from archive.normalize import normalize_text

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


def build_template(name: str, raw: bytes, url: str, search_words: tuple[str, ...]) -> Template:
    """Find the page's article blocks with our extractor and turn them into slots."""
    from archive.extract import decode_body, extract_page

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


# -- articles ---------------------------------------------------------------------------

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


@dataclass
class ArticleState:
    index: int
    template: int
    lang: str
    path: str
    title: str
    order: list[int | None]  # block slot -> block index (None: block removed)
    unique: list[str]
    insert_after: tuple[int, int]  # block slots after which the unique paragraphs go
    published: datetime
    modified: datetime
    revision: int = 1
    noise: int = 0
    mode: str = Mode.OK
    extra: list[str] = field(default_factory=list)  # paragraphs appended by edits
    cache: tuple[bytes, str] | None = None  # rendered bytes and their ETag

    def manifest(self, base_url: str) -> dict[str, Any]:
        return {
            "index": self.index,
            "url": base_url.rstrip("/") + self.path,
            "path": self.path,
            "template": self.template,
            "lang": self.lang,
            "title": self.title,
            "codename": codename(self.index),
        }


class SiteContent:
    """The site's articles and pages; deterministic for (templates, size, seed)."""

    def __init__(self, templates: list[Template], size: int, seed: int, started: datetime):
        self.templates = templates
        self.started = started
        self.seed = seed
        self.articles: list[ArticleState] = []
        rng = random.Random(seed)
        for index in range(size):
            t = index % len(templates)
            tpl = templates[t]
            published = started - timedelta(minutes=37 * (size - index))
            order: list[int | None] = list(range(len(tpl.blocks)))
            if len(order) >= 3:
                a, b = rng.sample(range(len(order)), 2)
                order[a], order[b] = order[b], order[a]
            slots = max(len(order), 1)
            first = rng.randrange(slots)
            insert_after = (first, rng.randrange(slots))
            unique = [unique_paragraph(rng, index, tpl.lang, v) for v in (1, 2)]
            self.articles.append(
                ArticleState(
                    index=index,
                    template=t,
                    lang=tpl.lang,
                    path=f"/news/{published:%Y/%m}/story-{index:05d}/",
                    title=f"{tpl.title} — {codename(index)} report {index}",
                    order=order,
                    unique=unique,
                    insert_after=insert_after,
                    published=published,
                    modified=published,
                )
            )
        self.by_path = {a.path: a for a in self.articles}
        self.validators = True

    # -- rendering ---------------------------------------------------------------------

    def render(self, article: ArticleState, base_url: str) -> tuple[bytes, str]:
        if article.cache is not None:
            return article.cache
        tpl = self.templates[article.template]
        out: list[str] = []
        title = html.escape(article.title, quote=True)
        url = base_url.rstrip("/") + article.path
        for i, part in enumerate(tpl.parts):
            if i % 2 == 0:
                out.append(part.replace(TITLE_SLOT, title).replace(URL_SLOT, url))
                continue
            kind, _, num = part.partition(":")
            if kind == "block":
                slot = int(num)
                if slot < len(article.order) and article.order[slot] is not None:
                    out.append(tpl.blocks[article.order[slot]])  # type: ignore[index]
                for j, after in enumerate(article.insert_after):
                    if after == slot:
                        out.append(f"<p>{html.escape(article.unique[j])}</p>")
                if slot == max(len(article.order) - 1, 0):
                    out.extend(f"<p>{html.escape(p)}</p>" for p in article.extra)
            elif kind == "noise":
                n = article.index * 7 + article.noise
                out.append(
                    f'<div class="advertisement ad-slot"><span>Advertisement</span> '
                    f'<a href="/ads/{n % 97}">{_ADS[n % len(_ADS)]}</a></div>'
                )
            elif kind == "foot":
                generated = self.started + timedelta(minutes=11 * article.noise)
                views = 1000 + 17 * article.noise + article.index % 13
                out.append(
                    f'<div class="site-meta"><p>Page generated {generated:%Y-%m-%d %H:%M:%S} '
                    f"UTC</p><p>{views} readers</p><script>window.__pv={n_hash(article)};"
                    "</script></div>"
                )
        body = "".join(out).encode("utf-8")
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        article.cache = (body, etag)
        return article.cache

    def soft_404(self, lang: str) -> bytes:
        if lang == "km":
            heading, text = "រកមិនឃើញទំព័រ", "សូមអភ័យទោស ទំព័រដែលអ្នកកំពុងស្វែងរកមិនមាន។"
        else:
            heading = "Page not found"
            text = "Sorry, the page you are looking for could not be found."
        return (
            f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{heading}'
            f' | {SITE_NAME}</title></head><body><header><a href="/">{SITE_NAME}</a></header>'
            f'<main><h1>{heading}</h1><p>{text}</p><p><a href="/">Home</a></p></main>'
            "</body></html>"
        ).encode()

    def live(self) -> list[ArticleState]:
        return [a for a in self.articles if a.mode == Mode.OK]

    def home(self, base_url: str) -> bytes:
        newest = sorted(self.live(), key=lambda a: a.published, reverse=True)[:HOME_ITEMS]
        links = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in newest)
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{SITE_NAME}'
            f'</title><meta property="og:type" content="website"></head><body><header>'
            f"<h1>{SITE_NAME}</h1></header><main><h2>Latest</h2><ul>{links}</ul></main>"
            "</body></html>"
        ).encode()

    def robots(self, base_url: str) -> bytes:
        return f"User-agent: *\nAllow: /\nSitemap: {base_url}sitemap_index.xml\n".encode()

    def sitemap_index(self, base_url: str) -> bytes:
        files = max(1, -(-len(self.articles) // SITEMAP_PAGE))
        items = "".join(
            f"<sitemap><loc>{base_url}sitemaps/posts-{k + 1}.xml</loc></sitemap>"
            for k in range(files)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
        ).encode()

    def sitemap(self, base_url: str, k: int) -> bytes | None:
        chunk = self.articles[(k - 1) * SITEMAP_PAGE : k * SITEMAP_PAGE]
        if k < 1 or not chunk:
            return None
        urls = "".join(
            f"<url><loc>{base_url.rstrip('/')}{a.path}</loc>"
            f"<lastmod>{a.published.isoformat()}</lastmod></url>"
            for a in chunk
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def feed(self, base_url: str) -> bytes:
        newest = sorted(self.live(), key=lambda a: a.published, reverse=True)[:FEED_ITEMS]
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title>"
            f"<link>{base_url.rstrip('/')}{a.path}</link>"
            f"<guid>{base_url.rstrip('/')}{a.path}</guid>"
            f"<pubDate>{format_datetime(a.published)}</pubDate></item>"
            for a in newest
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{SITE_NAME}</title><link>{base_url}</link><description>News"
            f"</description>{items}</channel></rss>"
        ).encode()

    # -- mutations ---------------------------------------------------------------------

    def mutate(self, index: int, action: str, now: datetime) -> None:
        article = self.articles[index]
        rng = random.Random(f"{self.seed}:{index}:{action}:{article.revision}")
        if action in Mode.ALL:
            article.mode = action
            return
        if action == Edit.SMALL:
            # One number in one sentence: "… 412 people had been …" becomes 413 or so.
            article.unique[0] = re.sub(
                r"\d+|[០-៩]+",
                lambda m: _bump(m.group(0), rng.randint(1, 9)),
                article.unique[0],
                count=1,
            )
        elif action == Edit.MEDIUM:
            article.unique[1] = unique_paragraph(rng, article.index, article.lang, 3)
            article.extra.append(
                "Correction: an earlier version of this article misstated the number of "
                f"cases under review in report {article.index}; the figures have been "
                "updated after the ministry revised its count."
                if article.lang != "km"
                else f"ការកែតម្រូវ៖ អត្ថបទមុននេះបានរាយការណ៍ខុសអំពីចំនួនករណី "
                f"{str(article.index).translate(_KM_DIGITS)} ហើយតួលេខត្រូវបានកែប្រែ។"
            )
        elif action == Edit.LARGE:
            for slot in range(0, len(article.order), 2):
                article.order[slot] = None
            article.unique = [unique_paragraph(rng, article.index, article.lang, v) for v in (4, 5)]
        elif action == Edit.HEADLINE:
            tpl = self.templates[article.template]
            article.title = f"{codename(article.index)} report {article.index}: {tpl.title}"
        elif action == Edit.NOISE:
            article.noise += 1
        else:
            raise ValueError(f"unknown mutation {action!r}: use one of {Mode.ALL + Edit.ALL}")
        article.revision += 1
        article.modified = max(now.replace(microsecond=0), article.modified + timedelta(seconds=1))
        article.cache = None


def _bump(number: str, by: int) -> str:
    if number.isascii():
        return str(int(number) + by)
    western = number.translate(str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789"))
    return str(int(western) + by).translate(_KM_DIGITS)


def n_hash(article: ArticleState) -> int:
    return (article.index * 2654435761 + article.noise * 40503) % 1_000_003


# -- the server -------------------------------------------------------------------------


class Tally:
    """Requests and bytes, by kind of URL; read and diffed by the benchmark."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def add(self, kind: str, status: int, sent: int, received: int, agent: str) -> None:
        with self.lock:
            self.requests[kind] += 1
            self.sent[kind] += sent
            self.received[kind] += received
            self.statuses[f"{kind}:{status}"] += 1
            self.requests[f"agent:{agent}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "sent": dict(self.sent),
                "received": dict(self.received),
                "statuses": dict(self.statuses),
                "cpu_s": time.process_time(),
            }


class _CountingWriter:
    """Wraps the socket writer so every byte on the wire is counted, headers included."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return int(self.raw.write(data))

    def flush(self) -> None:
        self.raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BenchCourier/1.0"
    content: SiteContent
    tally: Tally
    lock: threading.Lock
    base_url: str

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile)  # type: ignore[assignment]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # the tally is the log

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        answer: dict[str, Any] = {"ok": True}
        with self.lock:
            if path == "/_bench/mutate":
                now = datetime.now(UTC)
                for item in payload["mutations"]:
                    self.content.mutate(int(item["index"]), str(item["action"]), now)
            elif path == "/_bench/validators":
                self.content.validators = bool(payload["on"])
            else:
                answer = {"ok": False, "error": f"no control endpoint {path}"}
        self._control(200 if answer["ok"] else 404, json.dumps(answer).encode())

    def _control(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, *, head: bool) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/_bench/"):
            self._serve_control(path)
            return
        start = self.wfile.count  # type: ignore[attr-defined]
        received = (
            len(self.raw_requestline)  # type: ignore[attr-defined]
            + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
            + 2
        )
        kind, status = self._serve_site(path, head=head)
        agent = (self.headers.get("User-Agent") or "").split("/", 1)[0].split(" ", 1)[0]
        self.tally.add(kind, status, self.wfile.count - start, received, agent or "none")  # type: ignore[attr-defined]

    def _serve_control(self, path: str) -> None:
        with self.lock:
            if path == "/_bench/stats":
                self._control(200, json.dumps(self.tally.snapshot()).encode())
            elif path == "/_bench/manifest":
                doc = {
                    "base_url": self.base_url,
                    "articles": [a.manifest(self.base_url) for a in self.content.articles],
                    "templates": [
                        {
                            "name": t.name,
                            "lang": t.lang,
                            "title": t.title,
                            "blocks": len(t.blocks),
                            "search_words": list(t.search_words),
                        }
                        for t in self.content.templates
                    ],
                }
                self._control(200, json.dumps(doc, ensure_ascii=False).encode())
            elif path.startswith("/_bench/page/"):
                index = int(path.rsplit("/", 1)[1])
                body, _ = self.content.render(self.content.articles[index], self.base_url)
                self._control(200, body, "text/html; charset=utf-8")
            else:
                self._control(404, b'{"ok": false}')

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]], head: bool) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head and status != 304:
            self.wfile.write(body)

    def _serve_site(self, path: str, *, head: bool) -> tuple[str, int]:
        content = self.content
        xml = "application/xml; charset=utf-8"
        html_type = "text/html; charset=utf-8"
        with self.lock:
            article = content.by_path.get(path)
            if article is None:
                documents: dict[str, Callable[[], tuple[bytes, str]]] = {
                    "/robots.txt": lambda: (content.robots(self.base_url), "text/plain"),
                    "/sitemap_index.xml": lambda: (content.sitemap_index(self.base_url), xml),
                    "/feed/": lambda: (content.feed(self.base_url), "application/rss+xml"),
                    "/": lambda: (content.home(self.base_url), html_type),
                }
                if path in documents:
                    body, ctype = documents[path]()
                    self._send(200, body, [("Content-Type", ctype)], head)
                    return "discovery", 200
                match = re.fullmatch(r"/sitemaps/posts-(\d+)\.xml", path)
                doc = content.sitemap(self.base_url, int(match.group(1))) if match else None
                if doc is not None:
                    self._send(200, doc, [("Content-Type", xml)], head)
                    return "discovery", 200
                self._send(404, content.soft_404("en"), [("Content-Type", html_type)], head)
                return "other", 404
            mode = article.mode
            if mode == Mode.NOT_FOUND:
                self._send(404, content.soft_404(article.lang), [("Content-Type", html_type)], head)
                return "article", 404
            if mode == Mode.GONE:
                self._send(410, b"<h1>Gone</h1>", [("Content-Type", html_type)], head)
                return "article", 410
            if mode == Mode.UNAVAILABLE:
                headers = [("Content-Type", html_type), ("Retry-After", "0")]
                self._send(503, b"<h1>Service Unavailable</h1>", headers, head)
                return "article", 503
            if mode == Mode.REDIRECT_HOME:
                self._send(301, b"", [("Location", self.base_url)], head)
                return "article", 301
            if mode == Mode.SOFT_404:
                self._send(200, content.soft_404(article.lang), [("Content-Type", html_type)], head)
                return "article", 200
            body, etag = content.render(article, self.base_url)
            validators = content.validators
            modified = article.modified
        headers = [("Content-Type", html_type)]
        if validators:
            headers += [("ETag", etag), ("Last-Modified", format_datetime(modified, usegmt=True))]
            if self._not_modified(etag, modified):
                self._send(304, b"", headers, head)
                return "article", 304
        self._send(200, body, headers, head)
        return "article", 200

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return modified <= parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up mid-answer is not the site's problem
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def serve(size: int, seed: int, port: int = 0) -> None:
    """Build the site and serve it until killed; prints one JSON line when ready."""
    templates = load_templates()
    started = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    content = SiteContent(templates, size, seed, started)

    class Handler(_Handler):
        pass

    Handler.content = content
    Handler.tally = Tally()
    Handler.lock = threading.Lock()
    server = _Server(("127.0.0.1", port), Handler)
    Handler.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


def _exit_with_parent(parent: int) -> None:
    """A benchmark that dies must not leave its site serving: follow the parent out."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


# -- the parent's side ------------------------------------------------------------------


class BenchSite:
    """Starts the site in a subprocess and drives it through its control endpoints."""

    def __init__(self, size: int, seed: int = 20261124) -> None:
        self.size = size
        self.seed = seed
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self, timeout_s: float = 120) -> BenchSite:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.site",
                "--size",
                str(self.size),
                "--seed",
                str(self.seed),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = self.process.stdout.readline()
        if not line or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("the benchmark site did not start (see its stderr above)")
        self.port = int(json.loads(line)["port"])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> BenchSite:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> bytes:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base_url.rstrip("/") + path,
            data=data,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return bytes(response.read())

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self._call("/_bench/manifest")))

    def page(self, index: int) -> bytes:
        return self._call(f"/_bench/page/{index}")

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self._call("/_bench/stats")))

    def mutate(self, mutations: list[tuple[int, str]]) -> None:
        self._call(
            "/_bench/mutate",
            {"mutations": [{"index": i, "action": a} for i, a in mutations]},
        )

    def set_validators(self, on: bool) -> None:
        self._call("/_bench/validators", {"on": on})


def traffic(before: dict[str, Any], after: dict[str, Any], kind: str = "article") -> dict[str, Any]:
    """What the site served between two `stats()` snapshots, for one kind of URL."""

    def diff(key: str) -> int:
        return int(after[key].get(kind, 0)) - int(before[key].get(kind, 0))

    statuses = {
        k.split(":", 1)[1]: v - before["statuses"].get(k, 0)
        for k, v in after["statuses"].items()
        if k.startswith(f"{kind}:") and v - before["statuses"].get(k, 0)
    }
    return {
        "requests": diff("requests"),
        "bytes_sent": diff("sent"),
        "bytes_received": diff("received"),
        "statuses": statuses,
        "site_cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the benchmark news site.")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.size, args.seed, args.port)


if __name__ == "__main__":
    main()
