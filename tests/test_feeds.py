"""The Atom feed of changes: valid Atom (parsed back with feedparser), one entry per
edit, removal and restoration with a short summary and a link to the diff, filters,
and hostile archived text escaped (or dropped, for characters XML cannot carry)."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from search_api.app import create_app
from search_api.routes.feeds import xml_text
from tests import archive_helpers as h
from tests.api_archive import (
    GONE,
    HOSTILE_URL,
    NOW,
    Built,
    article_html,
    build_archive,
    hours,
    index_all,
    make_app,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
    from fastapi.testclient import TestClient

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    b = build_archive(tmp_path_factory.mktemp("feeds") / "data")
    # A takedown that comes back: removed (two 404s), then restored with an edit.
    url = "https://daily.example/news/restored-story/"
    for t, body, status in (
        (6, article_html("Court hears trafficking case", GONE), 200),
        (7, h.NOT_FOUND_EN, 404),
        (8, h.NOT_FOUND_EN, 404),
        (9, article_html("Court hears trafficking case", [*GONE, "An update was added."]), 200),
    ):
        h.record(b.runtime, h.exchange(url, body, at=hours(t), status=status))
    # Control characters that XML 1.0 cannot carry, in a title.
    h.record(
        b.runtime,
        h.exchange(
            HOSTILE_URL,
            article_html("&lt;b&gt;Bold&lt;/b&gt; claims \x0b\x1b about a compound", GONE),
            at=hours(10),
        ),
    )
    index_all(b.runtime, b.backend)
    yield b
    b.close()


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    # Absolute links come from PRESSWATCH_PUBLIC_URL, never from the Host header
    # (tests/test_quiet.py shows a forged Host changes nothing).
    settings = built.runtime.settings.model_copy(update={"public_url": "http://watch.example"})
    app = create_app(
        settings,
        sessions=built.runtime.sessions,
        warc=built.runtime.warc,
        backend=built.backend,
        clock=lambda: NOW,
    )
    with TestClient(app, base_url="http://watch.example") as c:
        yield c


def parse(body: bytes) -> feedparser.FeedParserDict:
    doc = feedparser.parse(body)
    assert not doc.bozo, doc.get("bozo_exception")
    assert doc.version == "atom10"
    return doc


def test_the_feed_is_valid_atom_with_one_entry_per_edit_removal_restoration(
    client: TestClient, built: Built
) -> None:
    response = client.get("/feeds/changes.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    ET.fromstring(response.content)  # well-formed XML on its own
    doc = parse(response.content)
    assert doc.feed.title.startswith("Presswatch")
    assert doc.feed.id and doc.feed.updated
    kinds = [e.tags[0].term for e in doc.entries]
    assert set(kinds) == {"edited", "removed", "restored"}
    assert "discovered" not in kinds and "unreachable" not in kinds
    with built.runtime.sessions() as s:
        from sqlalchemy import func, select

        from archive.store.models import ChangeEvent

        expected = s.scalar(
            select(func.count())
            .select_from(ChangeEvent)
            .where(ChangeEvent.kind.in_(["edited", "removed", "restored"]))
        )
    assert len(doc.entries) == expected
    updated = [datetime.fromisoformat(e.updated.replace("Z", "+00:00")) for e in doc.entries]
    assert updated == sorted(updated, reverse=True)
    assert len({e.id for e in doc.entries}) == len(doc.entries)


def test_entries_summarize_the_change_and_link_to_the_diff(
    client: TestClient, built: Built
) -> None:
    doc = parse(client.get("/feeds/changes.atom").content)
    raid = built.ids["raid"]
    (edit,) = [
        e for e in doc.entries if e.link.startswith(f"http://watch.example/articles/{raid}/")
    ]
    assert edit.link == f"http://watch.example/articles/{raid}/diff?from=1&to=2"
    assert edit.title.startswith("Edited: Police free workers from compound (daily)")
    assert "Changed: title, body" in edit.summary
    assert "Title was “Police raid scam compound in Sihanoukville”" in edit.summary
    assert "Removed: “Witnesses said the compound, behind a casino" in edit.summary
    gone = f"http://watch.example/articles/{built.ids['gone']}"
    (removal,) = [e for e in doc.entries if e.link == gone]
    assert removal.tags[0].term == "removed" and "404 Not Found" in removal.summary
    assert "The last version online was v1" in removal.summary
    (restored,) = [e for e in doc.entries if e.tags[0].term == "restored"]
    assert "back online" in restored.summary and "/diff?from=1&to=2" in restored.link
    # The archived page itself is a related link, never the main one.
    related = [link.href for link in edit.links if link.rel == "related"]
    assert related == ["https://daily.example/news/police-raid-scam-compound/"]


def test_khmer_entries_carry_their_language(client: TestClient, built: Built) -> None:
    root = ET.fromstring(client.get("/feeds/changes.atom", params={"source": "khmer-news"}).content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") == "km"
        assert any("\u1780" <= ch <= "\u17ff" for ch in entry.findtext(f"{ATOM}title", ""))


def test_filters_by_source_and_kind(client: TestClient, built: Built) -> None:
    removed = parse(client.get("/feeds/changes.atom", params={"kind": "removed"}).content)
    assert {e.tags[0].term for e in removed.entries} == {"removed"}
    assert len(removed.entries) == 3
    assert "kind removed" in removed.feed.title
    both = parse(
        client.get(
            "/feeds/changes.atom", params=[("kind", "removed"), ("source", "khmer-news")]
        ).content
    )
    assert len(both.entries) == 1 and "410" in both.entries[0].summary
    discovered = parse(client.get("/feeds/changes.atom", params={"kind": "discovered"}).content)
    assert len(discovered.entries) == 6
    assert client.get("/feeds/changes.atom", params={"kind": "nope"}).status_code == 422
    # A mistyped source is refused rather than answered with an empty feed.
    typo = client.get("/feeds/changes.atom", params={"source": "khmer-nwes"})
    assert typo.status_code == 400 and "did you mean 'khmer-news'" in typo.json()["detail"]


def test_hostile_text_is_escaped_and_unencodable_characters_dropped(
    client: TestClient, built: Built
) -> None:
    body = client.get("/feeds/changes.atom").content
    assert b"\x0b" not in body and b"\x1b" not in body
    assert b"<b>" not in body and b"<script" not in body
    doc = parse(body)
    hostile = [
        e
        for e in doc.entries
        if e.link.startswith(f"http://watch.example/articles/{built.ids['hostile']}")
    ]
    assert hostile, "the hostile article's edits are in the feed"
    titles = [e.title for e in hostile]
    # Decoded once by the reader, the title is the archived text, shown as text.
    assert any(t.startswith("Edited: <b>Bold</b> claims") for t in titles)
    # The edit's summary quotes the archived markup; the HTML content holds it escaped.
    edit = next(e for e in hostile if "[onerror]" in e.summary)
    assert "<img src=x [onerror]=alert(" in edit.summary
    content = edit.content[0]
    assert content.type == "text/html"
    assert "&lt;img src=x [onerror]" in content.value and "<img" not in content.value


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ok", "ok"),
        ("a\x00b\x08c\x0bd\x1fe", "abcde"),
        ("tab\tnew\nline\r", "tab\tnew\nline\r"),
        ("\ud800lone", "lone"),
        ("\ufffe\uffff", ""),
        ("ខ្មែរ 🙂", "ខ្មែរ 🙂"),
    ],
)
def test_xml_text_drops_only_what_xml_cannot_carry(raw: str, clean: str) -> None:
    assert xml_text(raw) == clean


def test_feed_of_an_empty_archive(tmp_path: Path) -> None:
    b = build_archive(tmp_path / "data")
    try:
        app = make_app(b, clock=lambda: datetime(2026, 5, 1, tzinfo=UTC))
        # No article of it moved: a feed with no entry still says when it was made.
        doc = parse(TestClient(app).get("/feeds/changes.atom", params={"kind": "moved"}).content)
        assert doc.entries == [] and doc.feed.updated.startswith("2026-05-01")
    finally:
        b.close()
