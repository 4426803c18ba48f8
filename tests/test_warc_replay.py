"""The WARC files of a real crawl replay in pywb, byte for byte as the site sent them.

The real `presswatch crawl` (Scrapy, in a subprocess) fetches our own local site, whose
articles answer gzip-encoded, chunked, gzip and chunked, and through a redirect, in
English and Khmer. Then `warcio check` verifies every digest of the files written, and
pywb (its own `wb-manager` and `wayback`, in a temporary collection, served on
127.0.0.1) replays each article through its identity (`id_`) mode: the bytes must be the
ones the site transmitted, with the headers that say how to read them. A recheck of
unchanged pages writes `revisit` records; pywb must replay those too, from the record
they refer to.

pywb cannot share the project's environment (it pins redis 2.10.6 and installs
`brotlipy`, whose `brotli` module would replace the one archive/content/bodies.py needs), so it
runs from its own: `PRESSWATCH_PYWB_BIN` (the directory holding `wb-manager` and
`wayback`), else those on PATH, else `.pywb/bin` in the checkout (README, "Development").
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.store.models import Capture
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import NewsSite, cli, cli_env, pywb_bin, wayback, write_sources

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = "presswatch"

# Which demo article is served how (the rest are served as the site always serves them).
GZIP_EN = "police-free-212-workers-from-sihanoukville-scam-compound"
CHUNKED_EN = "survivors-describe-debt-bondage-inside-bavet-casino-complex"
GZIP_CHUNKED_KM = "government-forms-special-committee-against-human-trafficking"
REDIRECTED_KM = "victims-describe-torture-inside-scam-building"


@dataclass
class Sent:
    """What the site transmitted for one URL: headers as sent and the body bytes with
    the transfer coding removed (the WARC payload)."""

    headers: dict[str, str]
    body: bytes


def _answer(
    handler: BaseHTTPRequestHandler,
    head: bool,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    chunked: bool,
    status: int = 200,
) -> int:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if head:
        return status
    if chunked:  # three chunks of uneven size, then the last chunk
        cuts = [0, len(body) // 5, len(body) // 2, len(body)]
        for start, end in zip(cuts, cuts[1:], strict=False):
            piece = body[start:end]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")
    else:
        handler.wfile.write(body)
    return status


def _page(site: NewsSite, slug: str) -> bytes:
    # Rendered once and served the same each time: a recheck sees identical bytes.
    page = site.content.render(site, site.entry(slug))
    return page.encode("utf-8") if isinstance(page, str) else page


Route = Callable[[BaseHTTPRequestHandler, bool], int]


def _article_route(body: bytes, *, encoded: bool, chunked: bool) -> tuple[Route, Sent]:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    wire = gzip.compress(body, mtime=0) if encoded else body
    if encoded:
        headers.append(("Content-Encoding", "gzip"))
    sent_headers = dict(headers)
    if not chunked:
        sent_headers["Content-Length"] = str(len(wire))

    def route(handler: BaseHTTPRequestHandler, head: bool) -> int:
        return _answer(handler, head, headers, wire, chunked=chunked)

    return route, Sent(sent_headers, wire)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Sent]]]:
    """One crawl and one recheck of the site; (data dir, URL → what was sent)."""
    tmp = tmp_path_factory.mktemp("replay")
    data_dir = tmp / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite() as site:
        sent: dict[str, Sent] = {}
        for slug, encoded, chunked in (
            (GZIP_EN, True, False),
            (CHUNKED_EN, False, True),
            (GZIP_CHUNKED_KM, True, True),
        ):
            route, what = _article_route(_page(site, slug), encoded=encoded, chunked=chunked)
            site.routes[site.path_of(slug)] = route
            sent[site.url_of(slug)] = what
        # The Khmer article moved: its old address answers 301, the new one gzip.
        old = site.path_of(REDIRECTED_KM)
        new = old.rstrip("/") + "-moved/"
        route, what = _article_route(_page(site, REDIRECTED_KM), encoded=True, chunked=False)
        site.routes[new] = route
        site.routes[old] = lambda handler, head: _answer(
            handler, head, [("Location", new)], b"", chunked=False, status=301
        )
        sent[site.base_url.rstrip("/") + new] = what

        sources = write_sources(tmp / "sources.toml", site, topic=False)
        for command in (("crawl",), ("recheck", "--all")):
            result = cli(data_dir, sources, *command, "--json", env=cli_env(), timeout=300)
            assert result.returncode == 0, result.stderr + result.stdout
    yield data_dir, sent


def _captures(data_dir: Path) -> list[Capture]:
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            return list(session.scalars(select(Capture).order_by(Capture.seq)))
    finally:
        rt.close()


def _warc_files(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "warc").glob("*.warc.gz"))
    assert files, "the crawl wrote no WARC file"
    return files


def test_records_hold_the_response_as_received(crawled: tuple[Path, dict[str, Sent]]) -> None:
    data_dir, sent = crawled
    records = []
    for path in _warc_files(data_dir):
        with open(path, "rb") as fh:
            kinds = []
            for record in ArchiveIterator(fh):
                kinds.append(record.rec_type)
                records.append(
                    (
                        record.rec_type,
                        record.rec_headers,
                        record.http_headers,
                        record.raw_stream.read(),
                    )  # fmt: skip
                )
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1, path
    warcinfo = next(r for r in records if r[0] == "warcinfo")
    assert warcinfo[1].protocol == "WARC/1.1"
    fields = warcinfo[3].decode()
    for field in ("software: Presswatch/", "operator: ", "robots: classic", "format: WARC"):
        assert field in fields, fields

    responses = {r[1].get_header("WARC-Target-URI"): r for r in records if r[0] == "response"}
    for url, what in sent.items():
        _kind, warc_headers, http, payload = responses[url]
        assert warc_headers.protocol == "WARC/1.1"
        # Microseconds, always six digits (WARC 1.1 sub-second dates).
        assert len(warc_headers.get_header("WARC-Date")) == len("2026-01-01T00:00:00.000000Z")
        assert payload == what.body, url  # the transmitted bytes, still content-encoded
        for name, value in what.headers.items():
            assert http.get_header(name) == value, (url, name)
        if "Content-Length" not in what.headers:
            # It came chunked (Twisted keeps no Transfer-Encoding header); the payload is
            # stored de-chunked, so no header may announce chunks to a replay tool.
            assert http.get_header("Transfer-Encoding") is None

    # Each response and revisit is followed by its request, as the crawler sent it.
    for before, after in zip(records, records[1:], strict=False):
        if before[0] in ("response", "revisit"):
            assert after[0] == "request"
            assert after[1].get_header("WARC-Concurrent-To") == before[1].get_header(
                "WARC-Record-ID"
            )
            target = before[1].get_header("WARC-Target-URI")
            assert after[1].get_header("WARC-Target-URI") == target
            path = "/" + target.split("/", 3)[3]
            assert after[2].protocol == "GET" and after[2].statusline == f"{path} HTTP/1.1"
            assert after[2].get_header("Host") == target.split("/")[2]
            assert after[2].get_header("User-Agent").startswith("Presswatch/")

    # The recheck found the same bytes: revisits of the WARC 1.1 profile, each naming
    # the record that holds the payload.
    revisits = [r for r in records if r[0] == "revisit"]
    by_id = {r[1].get_header("WARC-Record-ID"): r for r in records}
    assert {r[1].get_header("WARC-Target-URI") for r in revisits} >= set(sent)
    for _kind, headers, _http, _payload in revisits:
        assert headers.get_header("WARC-Profile") == (
            "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
        )
        original = by_id[headers.get_header("WARC-Refers-To")]
        assert original[0] == "response"
        assert headers.get_header("WARC-Refers-To-Target-URI") == original[1].get_header(
            "WARC-Target-URI"
        )
        assert headers.get_header("WARC-Refers-To-Date") == original[1].get_header("WARC-Date")
        assert headers.get_header("WARC-Payload-Digest") == original[1].get_header(
            "WARC-Payload-Digest"
        )


def test_warcio_check_passes(crawled: tuple[Path, dict[str, Sent]]) -> None:
    data_dir, _sent = crawled
    files = [str(p) for p in _warc_files(data_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # What `check -v` says of each record: digests were really checked, not absent.
    verdicts: dict[str, set[str]] = {}
    kind = ""
    for line in result.stdout.splitlines():
        words = line.split()
        if words and words[0] == "offset":
            kind = words[-1]
        elif line.startswith("    ") and kind:
            verdicts.setdefault(kind, set()).add(line.strip())
    assert verdicts.keys() == {"warcinfo", "response", "request", "revisit"}, result.stdout
    for kind in ("warcinfo", "response", "request"):
        assert verdicts[kind] == {"digest pass"}, (kind, verdicts[kind])
    # warcio checks no revisit (its payload lives in another record); the payload test
    # above compares its digest with the record it refers to.
    assert verdicts["revisit"] == {"digest present but not checked (revisit)"}


def _get(url: str, *, gzip_ok: bool = True) -> tuple[int, dict[str, str], bytes]:
    """GET through pywb. With `gzip_ok` the client accepts gzip, as browsers do, so
    pywb may send the archived encoding as is; without, pywb decodes it. urllib never
    undoes Content-Encoding itself: the bytes are the ones pywb sends."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


@pytest.fixture(scope="module")
def pywb(crawled: tuple[Path, dict[str, Sent]], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[str]:  # fmt: skip
    """pywb serving the crawl's WARC files on 127.0.0.1; yields the collection's URL."""
    data_dir, _sent = crawled
    bin_dir = pywb_bin()
    root = tmp_path_factory.mktemp("pywb")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for args in (("init", COLLECTION), ("add", COLLECTION, *map(str, _warc_files(data_dir)))):
        done = subprocess.run(
            [str(bin_dir / "wb-manager"), *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    with wayback(bin_dir, root, env) as port:
        yield f"http://127.0.0.1:{port}/{COLLECTION}/"


def test_pywb_replays_every_article_as_sent(
    crawled: tuple[Path, dict[str, Sent]], pywb: str
) -> None:
    data_dir, sent = crawled
    captures = _captures(data_dir)
    checked = 0
    for url, what in sent.items():
        mine = [c for c in captures if c.final_url == url and c.status == 200]
        assert len(mine) == 2, url  # the crawl and the recheck
        assert [c.warc_type for c in mine] == ["response", "revisit"], url
        for capture in mine:  # the response, then the revisit that refers to it
            stamp = capture.fetched_at.strftime("%Y%m%d%H%M%S")
            status, headers, body = _get(f"{pywb}{stamp}id_/{url}")
            assert status == 200, (url, status, body[:300])
            assert body == what.body, url
            assert headers.get("Content-Encoding") == what.headers.get("Content-Encoding"), url
            if what.headers.get("Content-Encoding") == "gzip":
                # A client that does not take gzip gets the page decoded by pywb.
                status, plain_headers, plain = _get(f"{pywb}{stamp}id_/{url}", gzip_ok=False)
                assert (status, plain) == (200, gzip.decompress(what.body)), url
                assert "Content-Encoding" not in plain_headers
            memento = headers.get("Memento-Datetime", "")
            assert capture.fetched_at.strftime("%d %b %Y %H:%M:%S") in memento, memento
            checked += 1
    assert checked == 2 * len(sent)
    # The address the Khmer article moved from was fetched, never archived as the page.
    moved_from = next(u for u in sent if u.endswith("-moved/")).replace("-moved/", "/")
    assert all(c.final_url != moved_from for c in captures if c.warc_type)


def test_replayed_bytes_are_the_archived_payloads(
    crawled: tuple[Path, dict[str, Sent]], pywb: str
) -> None:
    """Every article capture of the crawl (not only the ones served oddly) replays, and
    its replayed bytes hash to the capture's recorded payload SHA-256."""
    data_dir, _sent = crawled
    responses = [c for c in _captures(data_dir) if c.warc_type == "response" and c.status == 200]
    assert len(responses) >= 8
    for capture in responses:
        stamp = capture.fetched_at.strftime("%Y%m%d%H%M%S")
        status, _headers, body = _get(f"{pywb}{stamp}id_/{capture.final_url}")
        assert status == 200, capture.final_url
        assert hashlib.sha256(body).hexdigest() == capture.payload_sha256, capture.final_url
