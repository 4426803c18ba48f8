"""Bounded everything: hostile bodies never cost more than the size cap, and never vanish.

- A real crawl (the `presswatch` CLI, Scrapy) rechecks articles whose outlet now answers
  with a gzip of 60 MB of text, gzip / deflate / brotli / zstd bombs of 300 MB, a gzip
  body larger than the cap before decoding (no length, closed at the end), a
  Content-Length that claims a terabyte and a chunked body without length: each is a
  `too_large` capture holding the first `max_body_bytes` decoded bytes, marked
  WARC-Truncated, and the article is neither edited nor removed; once the outlet
  behaves again, the next recheck works.
- The API refuses a 200 MB request body with 413 before the admin key check, whether
  the size is announced or the body streams chunked, without reading it.
- `presswatch import` of a WARC with a record over the cap keeps the first bytes, marks
  it `too_large` and goes on; reading a record costs about the cap in memory.

Every big body is built or sent in pieces, so the test itself stays small in memory.
"""

from __future__ import annotations

import io
import json
import random
import select
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import brotli
import pytest
import uvicorn
from backports import zstd
from sqlalchemy import select as sql_select
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.formats import exchanges_from_path
from archive.log import verify_archive
from archive.store.models import Article, Capture, ChangeEvent
from presswatch.demo.content import DEMO_ARTICLES, bulk_articles
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests.site_server import NewsSite, cli, cli_env, write_sources

MB = 1 << 20
CAP = 20_000_000  # the default max_body_bytes: the crawl runs with it
LINE = b"<p>Survivors of the scam compound describe debt bondage and beatings.</p>\n"


# -- bodies, built in pieces -------------------------------------------------------------


def text_pieces(total: int) -> Iterator[bytes]:
    block = LINE * (MB // len(LINE))
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        sent += len(piece)
        yield piece


def zero_pieces(total: int) -> Iterator[bytes]:
    zeros = bytes(MB)
    for _ in range(total // MB):
        yield zeros


def compressed(pieces: Iterable[bytes], encoding: str) -> bytes:
    """`pieces` encoded as HTTP `encoding`, compressed piece by piece."""
    out = io.BytesIO()
    if encoding == "br":
        br = brotli.Compressor(quality=1)
        for piece in pieces:
            out.write(br.process(piece))
        out.write(br.finish())
    elif encoding == "zstd":
        zs = zstd.ZstdCompressor()
        for piece in pieces:
            out.write(zs.compress(piece))
        out.write(zs.flush())
    else:
        wbits = {"gzip": 31, "deflate": 15}[encoding]
        z = zlib.compressobj(6, zlib.DEFLATED, wbits)
        for piece in pieces:
            out.write(z.compress(piece))
        out.write(z.flush())
    return out.getvalue()


Route = Callable[[BaseHTTPRequestHandler, bool], int]


def fixed(body: bytes, encoding: str) -> Route:
    def answer(handler: BaseHTTPRequestHandler, head: bool) -> int:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            _write(handler, [body])
        return 200

    return answer


def streamed(pieces: Callable[[], Iterable[bytes]], headers: dict[str, str]) -> Route:
    """An answer written piece by piece until done or the crawler hangs up; without a
    Content-Length the connection closes to end it (or it is chunked)."""

    def answer(handler: BaseHTTPRequestHandler, head: bool) -> int:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        for key, value in headers.items():
            handler.send_header(key, value)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        if not head:
            if headers.get("Transfer-Encoding") == "chunked":
                _write(handler, _chunked(pieces()))
            else:
                _write(handler, pieces())
        return 200

    return answer


def _chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def _write(handler: BaseHTTPRequestHandler, pieces: Iterable[bytes]) -> None:
    try:
        for piece in pieces:
            handler.wfile.write(piece)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the crawler stopped reading: as it should


def random_gzip(total: int) -> Iterator[bytes]:
    """gzip of random bytes: larger than `total` compressed, so the download itself
    passes the cap before anything is decoded."""
    rng = random.Random(5)
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    for _ in range(total // (256 * 1024)):
        yield z.compress(rng.randbytes(256 * 1024))
    yield z.flush()


# -- the crawl -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_routes() -> dict[str, tuple[Route, bytes]]:
    """name → (route, what the kept bytes start with). Each body starts with its own
    line, so no two kept payloads are equal (equal ones would be stored as revisits)."""

    def tag(name: str) -> bytes:
        return f"<!-- {name} -->\n".encode()

    def text(name: str, total: int) -> Iterator[bytes]:
        yield tag(name)
        yield from text_pieces(total)

    def bomb(name: str, encoding: str) -> Route:
        return fixed(compressed([tag(name), *zero_pieces(300 * MB)], encoding), encoding)

    over = CAP + 4 * MB
    routes: dict[str, Route] = {
        "gzip_60mb_text": fixed(compressed(text("gzip_60mb_text", 60 * MB), "gzip"), "gzip"),
        "gzip_bomb": bomb("gzip_bomb", "gzip"),
        "deflate_bomb": bomb("deflate_bomb", "deflate"),
        "br_bomb": bomb("br_bomb", "br"),
        "zstd_bomb": bomb("zstd_bomb", "zstd"),
        "gzip_over_cap_no_length": streamed(
            lambda: random_gzip(over), {"Content-Encoding": "gzip"}
        ),
        "content_length_lie": streamed(
            lambda: text("content_length_lie", over), {"Content-Length": str(10**12)}
        ),
        "chunked_no_length": streamed(
            lambda: text("chunked_no_length", over), {"Transfer-Encoding": "chunked"}
        ),
    }
    return {
        name: (route, b"" if name == "gzip_over_cap_no_length" else tag(name))
        for name, route in routes.items()
    }


def _warc_truncated(rt: Runtime, capture: Capture) -> str | None:
    assert capture.warc_file and capture.warc_offset is not None and capture.warc_length
    raw = rt.warc.read_raw(capture.warc_file, capture.warc_offset, capture.warc_length)
    for record in ArchiveIterator(io.BytesIO(raw)):
        value = record.rec_headers.get_header("WARC-Truncated")
        return str(value) if value is not None else None
    return None


def _fetched(article: Article) -> str:
    return article.fetch_url or article.url  # `url` is the page's canonical one


def _latest(rt: Runtime, url: str) -> Capture:
    with rt.sessions() as session:
        capture = session.scalars(
            sql_select(Capture).where(Capture.requested_url == url).order_by(Capture.id.desc())
        ).first()
        assert capture is not None, url
        return capture


def test_hostile_bodies_become_too_large_captures(
    tmp_path: Path, hostile_routes: dict[str, tuple[Route, bytes]]
) -> None:
    data_dir = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data_dir))
    rt.init()
    with NewsSite(articles=(*DEMO_ARTICLES, *bulk_articles(6))) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        first = cli(data_dir, sources, "crawl", "--json", env=cli_env())
        assert first.returncode == 0, first.stderr
        with rt.sessions() as session:
            articles = list(session.scalars(sql_select(Article).order_by(Article.id)))
        assert len(articles) >= len(hostile_routes) + 1
        hostile = dict(zip(hostile_routes, articles, strict=False))
        calm = articles[len(hostile_routes)]
        for name, article in hostile.items():
            site.routes[urlsplit(_fetched(article)).path] = hostile_routes[name][0]

        again = cli(data_dir, sources, "recheck", "--all", "--json", env=cli_env(), timeout=300)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["due"] == len(articles)

        for name, article in hostile.items():
            cap = _latest(rt, _fetched(article))
            assert (cap.status, cap.error, cap.outcome) == (200, "too_large", "unreachable"), name
            detail = cap.detail["error_detail"]
            assert f"body larger than {CAP} bytes: truncated at {CAP} bytes of " in detail, name
            record = rt.warc.read_record(cap.warc_file or "", cap.warc_offset or 0,
                                         cap.warc_length or 0)  # fmt: skip
            # The record holds the bytes as transmitted, never more than the cap of them,
            # under the Content-Encoding they were sent with; decoded, they read as sent.
            assert cap.payload_length == len(record.payload) <= CAP, name
            encoding = name.split("_")[0]
            if encoding in ("gzip", "deflate", "br", "zstd"):
                assert record.header("Content-Encoding") == encoding, name
            else:
                assert record.header("Content-Encoding") is None, name
            assert record.decoded(CAP).body.startswith(hostile_routes[name][1]), name
            # WARC-Truncated says the transmitted bytes were cut, which only a body
            # larger than the cap on the wire is: a bomb's few compressed bytes are whole.
            wire_cut = len(record.payload) == CAP
            assert _warc_truncated(rt, cap) == ("length" if wire_cut else None), name
            over_on_the_wire = (
                "gzip_over_cap_no_length",
                "content_length_lie",
                "chunked_no_length",
            )
            assert wire_cut == (name in over_on_the_wire), name
        assert "decoded" in _latest(rt, _fetched(hostile["gzip_bomb"])).detail["error_detail"]
        lie = _latest(rt, _fetched(hostile["content_length_lie"])).detail["error_detail"]
        assert f"Content-Length {10**12}" in lie
        # An ordinary article in the same recheck is judged as always.
        assert _latest(rt, _fetched(calm)).outcome in ("unchanged", "not_modified")

        with rt.sessions() as session:
            assert verify_archive(session, rt.warc).ok
            for article in hostile.values():
                now = session.get(Article, article.id)
                assert now is not None
                assert now.status not in ("removed", "edited") and now.version_count == 1
                kinds = set(
                    session.scalars(
                        sql_select(ChangeEvent.kind).where(ChangeEvent.article_id == article.id)
                    )
                )
                assert kinds <= {"discovered", "unreachable"}, kinds

        # The outlet behaves again: the next recheck reads every article normally.
        site.routes.clear()
        calm_again = cli(data_dir, sources, "recheck", "--all", "--json", env=cli_env())
        assert calm_again.returncode == 0, calm_again.stderr
    with rt.sessions() as session:
        for article in hostile.values():
            now = session.get(Article, article.id)
            assert now is not None and now.status == "live" and now.version_count == 1
    for article in hostile.values():
        cap = _latest(rt, _fetched(article))
        assert cap.error is None and cap.outcome in ("unchanged", "not_modified")


# -- the API -------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A real uvicorn serving the app on 127.0.0.1, admin API on (key "k")."""
    settings = Settings(data_dir=tmp_path / "data", api_key="k")
    Runtime(settings).init()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections wait in the backlog until uvicorn accepts them
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _status_of(conn: socket.socket) -> tuple[int, bytes]:
    """The status and body of the one response on `conn` (read to its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    return int(head.split(b" ", 2)[1]), body


def _post_head(extra: str) -> bytes:
    return (
        "POST /api/admin/sources HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def test_announced_huge_body_is_refused_before_the_key_check(api: tuple[str, int]) -> None:
    with socket.create_connection(api, timeout=60) as conn:
        conn.sendall(_post_head(f"Content-Length: {200 * MB}\r\n"))  # and no byte of it
        status, body = _status_of(conn)
    assert status == 413
    assert b"request body too large" in body


def test_streamed_huge_body_is_refused_before_the_key_check(api: tuple[str, int]) -> None:
    with socket.create_connection(api, timeout=60) as conn:
        conn.sendall(_post_head("Transfer-Encoding: chunked\r\n"))
        piece = b"%x\r\n%s\r\n" % (MB, b"{" * MB)
        sent = 0
        for _ in range(200):  # 200 MB at most
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break  # the server answered
            try:
                conn.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += MB
        status, _ = _status_of(conn)
    assert status == 413
    # The server stopped reading at the limit (1 MB); socket buffers hold a few more.
    assert sent < 64 * MB, sent


def test_small_bodies_still_reach_the_key_check(api: tuple[str, int]) -> None:
    body = json.dumps({"name": "x", "base_url": "https://example.org/"}).encode()
    with socket.create_connection(api, timeout=60) as conn:
        conn.sendall(_post_head(f"Content-Length: {len(body)}\r\n") + body)
        status, _ = _status_of(conn)
    assert status == 401


# -- imports -------------------------------------------------------------------------------


def _warc_with(path: Path, records: list[tuple[str, Any, int, list[tuple[str, str]]]]) -> Path:
    """A gzip WARC with one response record per (url, payload file, length, headers)."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, payload, length, headers in records:
            record = writer.create_warc_record(
                url,
                "response",
                payload=payload,
                length=length,
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": "2026-01-05T10:00:00Z"},
            )
            writer.write_record(record)
    return path


def _file_of(pieces: Iterable[bytes], path: Path) -> Path:
    with open(path, "wb") as out:
        for piece in pieces:
            out.write(piece)
    return path


@pytest.fixture
def big_warc(tmp_path: Path) -> Path:
    """Records: 30 MB of text, a 300 MB gzip bomb, then an ordinary article."""
    text = _file_of(text_pieces(30 * MB), tmp_path / "text.bin")
    bomb = _file_of([compressed(zero_pieces(300 * MB), "gzip")], tmp_path / "bomb.bin")
    page = (
        "<html><head><title>Police free workers</title></head><body><article>"
        "<h1>Police free 212 workers from a scam compound</h1>"
        + "<p>Police freed workers held in a scam compound in Sihanoukville on Monday.</p>" * 20
        + "</article></body></html>"
    ).encode()
    html = [("Content-Type", "text/html; charset=utf-8")]
    with open(text, "rb") as t, open(bomb, "rb") as b:
        return _warc_with(
            tmp_path / "big.warc.gz",
            [
                ("https://outlet.example/en/2026/01/huge/", t, 30 * MB, html),
                (
                    "https://outlet.example/en/2026/01/bomb/",
                    b,
                    bomb.stat().st_size,
                    [*html, ("Content-Encoding", "gzip")],
                ),  # fmt: skip
                ("https://outlet.example/en/2026/01/free/", io.BytesIO(page), len(page), html),
            ],
        )


def test_import_keeps_the_first_bytes_of_a_record_over_the_cap(
    tmp_path: Path, big_warc: Path
) -> None:
    cap = 1_000_000
    data_dir = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data_dir, max_body_bytes=cap))
    rt.init()
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    result = cli(data_dir, sources, "import", str(big_warc), "--json",
                 env=cli_env(max_body_bytes=cap))  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["problems"] == [] and doc["recorded"].get("new") == 1, doc

    for slug in ("huge", "bomb"):
        cap_row = _latest(rt, f"https://outlet.example/en/2026/01/{slug}/")
        assert (cap_row.status, cap_row.error) == (200, "too_large")
        assert f"truncated at {cap} bytes of" in cap_row.detail["error_detail"]
        assert cap_row.article_id is None  # never an article made of a cut page
        record = rt.warc.read_record(cap_row.warc_file or "", cap_row.warc_offset or 0,
                                     cap_row.warc_length or 0)  # fmt: skip
        assert cap_row.payload_length == len(record.payload)
        if slug == "huge":  # plain text: its first `cap` bytes, said to be cut
            assert len(record.payload) == cap and record.payload.startswith(LINE * 3)
            assert "content-encoding" not in {k.lower() for k in record.headers}
            assert _warc_truncated(rt, cap_row) == "length"
        else:  # the bomb as transmitted (small): kept whole and encoded, not cut
            bomb = (tmp_path / "bomb.bin").read_bytes()
            assert len(bomb) < cap and record.payload == bomb
            assert record.headers.get("Content-Encoding") == "gzip"
            assert _warc_truncated(rt, cap_row) is None
    assert _latest(rt, "https://outlet.example/en/2026/01/free/").outcome == "new"


def test_reading_a_record_costs_about_the_cap(big_warc: Path) -> None:
    cap = 1_000_000
    tracemalloc.start()
    try:
        items = [
            (item.exchange.error, len(item.exchange.body))
            for item in exchanges_from_path(big_warc, max_body_bytes=cap)
            if item.exchange is not None
        ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert items[:2] == [("too_large", cap), ("too_large", cap)]
    # 30 MB and 300 MB records; the cap and the reader's buffers, never the record.
    assert peak < 8 * cap, peak


def test_saved_page_over_the_cap_is_cut(tmp_path: Path) -> None:
    cap = 100_000
    page = tmp_path / "page.html"
    page.write_bytes(
        b'<link rel="canonical" href="https://outlet.example/en/2026/01/p/">' + LINE * 5000
    )
    (item,) = list(exchanges_from_path(page, max_body_bytes=cap))
    assert item.exchange is not None and item.exchange.error == "too_large"
    assert len(item.exchange.body) == cap
    assert f"of {page.stat().st_size}" in item.exchange.error_detail
