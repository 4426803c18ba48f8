"""A small real archive for the API, page, feed, chart and browser tests, built by
recording exchanges (`build_archive`): English and Khmer articles, an edit that drops a
paragraph and retitles, takedowns confirmed by two 404s and two 410s, an unchanged
re-fetch (a WARC revisit), a failed fetch, and an article whose text is hostile HTML
and whose raw page carries a live script; and the app that serves it (`make_app`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from archive.store import SourceOptions
from archive.store.queries import upsert_source
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from search_api.backends.base import SearchBackend
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.indexer import drain_outbox
from tests import archive_helpers as h
from tests.conftest import T0

API_KEY = "s3cret-key-for-tests"
NOW = T0 + timedelta(days=2)

RAID_URL = "https://daily.example/news/police-raid-scam-compound/"
HOSTILE_URL = "https://daily.example/news/injection-attempt/"
GONE_URL = "https://daily.example/news/minister-denies-report/"
KM_EDITED_URL = "https://khmer.example/news/4412/"
KM_REMOVED_URL = "https://khmer.example/news/4417/"

RAID = [
    "Police raided a scam compound in Sihanoukville on Tuesday, freeing more than two "
    "hundred workers who said they had been trafficked from neighbouring countries and "
    "forced to run online fraud schemes.",
    "Witnesses said the compound, behind a casino on the coastal road, had operated for "
    "two years despite repeated complaints to local authorities and a previous "
    "inspection that found nothing.",
    "A spokesman for the provincial police said the operation followed a tip from a "
    "foreign embassy, and that several managers had been detained for questioning on "
    "charges of human trafficking.",
    "Rights groups welcomed the raid but said thousands more people remain trapped in "
    "similar compounds across the country, many unable to leave without paying ransoms.",
]
GONE = [
    "The minister denied on Monday a report that officials had accepted payments from the "
    "owners of a compound where hundreds of foreigners were held against their will.",
    "The report, published by a regional newspaper, cited two former guards and "
    "documents showing monthly transfers to an account in the capital.",
    "Opposition lawmakers called for an independent inquiry into the allegations and "
    "asked the ministry to publish the inspection records of the past three years.",
]
# Text that reads as markup: extracted literally, it must come out escaped everywhere.
HOSTILE_TEXT = (
    "An outlet once printed this string in an article: &lt;script&gt;document.title="
    "'PWNED'&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; and readers saw it as text."
)
HOSTILE_TEXT_V2 = HOSTILE_TEXT.replace("onerror=alert(1)", "onload=alert(2)")
# A live script in the raw page: it must never run on our origin.
LIVE_SCRIPT = (
    "<script>document.title='PWNED-RAW';"
    "try{localStorage.setItem('pwned','1')}catch(e){};"
    "document.cookie='pwned=1; path=/';"
    "new Image().src='/pwned-marker';</script>"
)


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    byline: str = "Sok Dara",
    date: str = "2026-02-27",
    extra_body: str = "",
) -> str:
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} - The Daily</title>"
        f'<meta property="og:title" content="{title}">'
        f'<meta name="author" content="{byline}">'
        f'<meta property="article:published_time" content="{date}T09:00:00+07:00">'
        '</head><body><header><nav><a href="/">Home</a></nav></header>'
        f'<main><article><h1>{title}</h1><p class="byline">By {byline}</p>{paras}'
        f"</article></main>{extra_body}<footer>© 2026 The Daily</footer></body></html>"
    )


@dataclass
class Built:
    runtime: Runtime
    backend: SqliteFtsBackend
    ids: dict[str, int]
    captures: dict[str, int]
    raw: dict[str, bytes]

    def close(self) -> None:
        self.backend.close()
        self.runtime.close()


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def index_all(rt: Runtime, backend: SearchBackend) -> None:
    """Index what the archive's outbox holds, as `presswatch run` does."""
    drain_outbox(rt.sessions, backend)


def build_archive(
    data_dir: Path, *, api_key: str | None = API_KEY, database_url: str | None = None
) -> Built:
    """A small real archive (see the module docstring), indexed in SQLite FTS5."""
    rt = Runtime(
        Settings(
            data_dir=data_dir,
            database_url=database_url,
            api_key=SecretStr(api_key) if api_key else None,
        )
    )
    rt.init()
    with rt.sessions.begin() as s:
        upsert_source(
            s,
            name="daily",
            base_url="https://daily.example/",
            languages=["en"],
            config=SourceOptions(),
            now=T0,
        )
        khmer_source = upsert_source(
            s,
            name="khmer-news",
            base_url="https://khmer.example/",
            languages=["km"],
            config=SourceOptions(),
            now=T0,
        )
        khmer_source.last_crawl_at = hours(5)
        khmer_source.last_error = "sitemap https://khmer.example/sitemap.xml: timeout after 30 s"

    ids: dict[str, int] = {}
    caps: dict[str, int] = {}
    raw: dict[str, bytes] = {}

    def rec(name: str, url: str, body: str, at: float, **kw: Any) -> int:
        result = h.record(rt, h.exchange(url, body, at=hours(at), **kw))
        if result.article_id is not None:
            ids.setdefault(name, result.article_id)
        return result.capture_id

    raid_v1 = article_html("Police raid scam compound in Sihanoukville", RAID)
    caps["raid_v1"] = rec("raid", RAID_URL, raid_v1, 0)
    raw["raid_v1"] = raid_v1.encode()
    caps["raid_revisit"] = rec("raid", RAID_URL, raid_v1, 1)
    caps["raid_v2"] = rec(
        "raid", RAID_URL, article_html("Police free workers from compound", RAID[:1] + RAID[2:]), 2
    )
    caps["raid_failed"] = rec("raid", RAID_URL, "", 6, status=None, error="dns")

    hostile_v1 = article_html(
        "&lt;b&gt;Bold&lt;/b&gt; claims about a compound",
        [*GONE[:2], HOSTILE_TEXT],
        extra_body=LIVE_SCRIPT,
    )
    caps["hostile_v1"] = rec("hostile", HOSTILE_URL, hostile_v1, 0.5)
    raw["hostile_v1"] = hostile_v1.encode()
    caps["hostile_v2"] = rec(
        "hostile",
        HOSTILE_URL,
        article_html(
            "&lt;b&gt;Bold&lt;/b&gt; claims about a compound",
            [*GONE[:2], HOSTILE_TEXT_V2],
            extra_body=LIVE_SCRIPT,
        ),
        3,
    )

    rec("gone", GONE_URL, article_html("Minister denies report on compound payments", GONE), 0.2)
    rec("gone", GONE_URL, h.NOT_FOUND_EN, 4, status=404)
    rec("gone", GONE_URL, h.NOT_FOUND_EN, 5, status=404)

    km = h.km_story(KM_EDITED_URL).html
    rec("km_edited", KM_EDITED_URL, km, 0.3)
    rec("km_edited", KM_EDITED_URL, h.khmer_byline_changed(km), 2.5)

    rec("km_removed", KM_REMOVED_URL, h.km_other(KM_REMOVED_URL).html, 1)
    rec("km_removed", KM_REMOVED_URL, h.NOT_FOUND_KM, 3, status=410)
    rec("km_removed", KM_REMOVED_URL, h.NOT_FOUND_KM, 4, status=410)

    backend = SqliteFtsBackend(rt.settings.search_index_path)
    backend.configure()
    index_all(rt, backend)
    return Built(rt, backend, ids, caps, raw)


def make_app(built: Built, *, clock: Callable[[], datetime] = lambda: NOW) -> FastAPI:
    return create_app(
        built.runtime.settings,
        sessions=built.runtime.sessions,
        warc=built.runtime.warc,
        backend=built.backend,
        clock=clock,
    )
