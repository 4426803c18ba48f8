"""The egress policy: the crawler fetches http(s) only, and never from an internal
address (loopback, private, link-local and metadata, CGNAT, multicast…) unless
`allow_networks` opens it.

The crawls are real: the `presswatch` CLI against the local site on 127.0.0.1, which the
test environment allows (`cli_env` sets PRESSWATCH_ALLOW_NETWORKS=127.0.0.1/32). An
"internal" server listens on 127.0.0.2, a stand-in for 169.254.169.254 (Linux routes all
of 127/8 to loopback): it must never see a request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from twisted.internet.address import IPv4Address, IPv6Address

from archive.egress import address_refusal, parse_networks, url_refusal
from archive.store.models import Article, Capture, Source
from crawler.egress import PolicyResolver
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests.site_server import NewsSite, cli, cli_env, write_sources

LOCAL = parse_networks("127.0.0.1/32")
SECRET = b"AKIA-INTERNAL-METADATA-TOKEN-7f3a"


# -- the address policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allow", "refused_as"),
    [
        ("8.8.8.8", "", None),
        ("1.1.1.1", "", None),
        ("2606:4700:4700::1111", "", None),
        ("::ffff:8.8.8.8", "", None),  # IPv4-mapped public: the same host
        ("169.254.169.254", "", "link-local"),  # cloud metadata
        ("169.254.169.254", "127.0.0.1/32", "link-local"),
        ("127.0.0.1", "", "loopback"),
        ("127.0.0.2", "127.0.0.1/32", "loopback"),
        ("127.0.0.1", "127.0.0.1/32", None),
        ("::1", "127.0.0.1/32", "loopback"),
        ("::ffff:127.0.0.1", "127.0.0.1/32", None),  # mapped form of an allowed address
        ("::ffff:169.254.169.254", "", "IPv4-mapped"),
        ("::ffff:10.0.0.1", "", "IPv4-mapped"),
        ("2002:a9fe:a9fe::1", "", "6to4"),  # 6to4 wrapping the metadata address
        ("64:ff9b::a9fe:a9fe", "", "reserved"),  # NAT64 wrapping it
        ("10.1.2.3", "", "private"),
        ("172.16.0.1", "", "private"),
        ("192.168.1.1", "", "private"),
        ("10.1.2.3", "10.0.0.0/8", None),
        ("fd00::1", "", "private"),
        ("fc00::1", "", "private"),
        ("fe80::1", "", "link-local"),
        ("fe80::1%eth0", "", "link-local"),
        ("100.64.0.1", "", "CGNAT"),
        ("100.127.255.254", "", "CGNAT"),
        ("224.0.0.1", "", "multicast"),
        ("ff02::1", "", "multicast"),
        ("0.0.0.0", "", "unspecified"),
        ("::", "", "unspecified"),
        ("255.255.255.255", "", "reserved"),
        ("240.0.0.1", "", "reserved"),
        ("192.0.2.10", "", "private"),  # documentation range
        ("fec0::1", "", "site-local"),
    ],
)
def test_address_policy(address: str, allow: str, refused_as: str | None) -> None:
    reason = address_refusal(address, parse_networks(allow))
    if refused_as is None:
        assert reason is None
    else:
        assert reason is not None and refused_as in reason
        assert "PRESSWATCH_ALLOW_NETWORKS" in reason  # says what would allow it


@pytest.mark.parametrize(
    ("url", "refused_as"),
    [
        ("https://vodenglish.news/a/", None),
        ("http://127.0.0.1:8080/", None),  # allowed by LOCAL
        ("http://localhost:6379/", None),  # localhost is 127.0.0.1, allowed by LOCAL
        ("file:///etc/passwd", "file:"),
        ("ftp://outlet.example/x", "ftp:"),
        ("data:text/plain,hello", "data:"),
        ("s3://bucket/key", "s3:"),
        ("gopher://outlet.example/", "gopher:"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.2:80/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "IPv4-mapped"),
        ("http://2130706434/", "loopback"),  # 127.0.0.2 as one number
        ("http://0x7f000002/", "loopback"),
        ("http://10.0.0.1.nip.io/", None),  # a name: judged by what it resolves to
        ("http://t\x00x/", None),  # a NUL in the host is no literal (schemathesis found it)
        ("http://hôte.example/", None),  # nor is a non-ASCII name
        ("HTTP://0000000000000000000000000/", "unspecified"),  # 0 as one number
    ],
)
def test_url_policy(url: str, refused_as: str | None) -> None:
    reason = url_refusal(url, LOCAL)
    assert (reason is None) if refused_as is None else (refused_as in (reason or ""))


def test_localhost_is_refused_without_an_allowed_loopback() -> None:
    assert "loopback name" in (url_refusal("http://localhost:6379/") or "")
    assert "loopback name" in (url_refusal("http://db.localhost/") or "")


def test_bad_networks_are_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a network"):
        parse_networks("127.0.0.1/32, 10.0.0.0/33")
    assert [str(n) for n in parse_networks(" 10.0.0.0/8 ,, fd00::/8 ")] == [
        "10.0.0.0/8",
        "fd00::/8",
    ]


# -- the resolver: the address checked is the address connected to ---------------------------


class FakeResolver:
    """An IHostnameResolver whose answers the test scripts, one list per lookup."""

    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.lookups = 0

    def resolveHostName(  # noqa: N802 - Twisted's name
        self,
        receiver: Any,
        host: str,
        port: int = 0,
        types: Any = None,
        semantics: str = "TCP",
    ) -> None:
        addresses = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        receiver.resolutionBegan(None)
        for address in addresses:
            cls = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(cls("TCP", address, port))
        receiver.resolutionComplete()


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.complete = False

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        self.addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.complete = True


def resolve(resolver: PolicyResolver, host: str, port: int = 443) -> list[tuple[str, int]]:
    receiver = Receiver()
    resolver.resolveHostName(receiver, host, port)
    assert receiver.complete
    return [(a.host, a.port) for a in receiver.addresses]


def test_resolver_refuses_a_rebinding_answer() -> None:
    """First lookup public, second the metadata address: every lookup is judged, so the
    second hands out nothing and says why."""
    inner = FakeResolver([["93.184.216.34"], ["169.254.169.254"]])
    resolver = PolicyResolver(None, (), inner=inner, cache_ttl_s=0, clock=lambda: 0.0)
    assert resolve(resolver, "outlet.example") == [("93.184.216.34", 443)]
    assert resolver.refusal_for("outlet.example") is None
    assert resolve(resolver, "outlet.example") == []
    refusal = resolver.refusal_for("outlet.example")
    assert refusal is not None and "169.254.169.254" in refusal and "link-local" in refusal
    assert inner.lookups == 2


def test_resolver_pins_a_checked_answer_for_its_ttl() -> None:
    """Within the cache time the connection gets the answer that was checked, not a
    fresh one; after it, the fresh answer is judged."""
    now = [0.0]
    inner = FakeResolver([["93.184.216.34"], ["10.0.0.5"]])
    resolver = PolicyResolver(None, (), inner=inner, cache_ttl_s=60, clock=lambda: now[0])
    assert resolve(resolver, "outlet.example", 80) == [("93.184.216.34", 80)]
    assert resolve(resolver, "outlet.example", 443) == [("93.184.216.34", 443)]
    assert inner.lookups == 1
    now[0] = 61.0
    assert resolve(resolver, "outlet.example") == []
    assert "private" in (resolver.refusal_for("outlet.example") or "")


def test_resolver_drops_blocked_addresses_and_keeps_allowed_ones() -> None:
    inner = FakeResolver([["127.0.0.2", "::1", "127.0.0.1", "fd00::1"]])
    resolver = PolicyResolver(None, LOCAL, inner=inner, cache_ttl_s=0, clock=lambda: 0.0)
    assert resolve(resolver, "localhost", 8080) == [("127.0.0.1", 8080)]
    assert resolver.refusal_for("localhost") is None
    only_blocked = PolicyResolver(
        None, LOCAL, inner=FakeResolver([["127.0.0.2", "::1"]]), cache_ttl_s=0, clock=lambda: 0.0
    )
    assert resolve(only_blocked, "internal.example") == []
    assert "127.0.0.2 is a loopback address" in (only_blocked.refusal_for("internal.example") or "")


# -- settings, sources.toml and the admin API --------------------------------------------------


def test_a_bad_network_setting_exits_2_naming_the_field(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    env = {**cli_env(), "PRESSWATCH_ALLOW_NETWORKS": "127.0.0.1/32,10.0.0.0/33"}
    result = cli(tmp_path / "data", sources, "sources", "--check", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "allow_networks" in result.stderr and "10.0.0.0/33" in result.stderr


SOURCE = """
[[source]]
name = "outlet"
base_url = "https://outlet.example/"
sitemaps = ["https://outlet.example/sitemap.xml"]
feeds = [
  "https://outlet.example/feed/",
  "{feed}",
]
"""


@pytest.mark.parametrize(
    "feed", ["http://169.254.169.254/latest/meta-data/", "http://localhost:6379/"]
)
def test_sources_check_refuses_an_internal_address(tmp_path: Path, feed: str) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCE.replace("{feed}", feed), encoding="utf-8")
    env = {**cli_env(), "PRESSWATCH_ALLOW_NETWORKS": ""}
    result = cli(tmp_path / "data", sources, "sources", "--check", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    # file:line, the entry, the URL, why, and the setting that would allow it
    assert f"{sources}:6: [source outlet] feeds: {feed} would never be fetched" in result.stderr
    assert "PRESSWATCH_ALLOW_NETWORKS" in result.stderr
    allowed = {**env, "PRESSWATCH_ALLOW_NETWORKS": "169.254.0.0/16,127.0.0.1/32"}
    assert cli(tmp_path / "data", sources, "sources", "--check", env=allowed).returncode == 0


API_KEY = "egress-test-key"


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    settings = Settings(
        data_dir=tmp_path / "data", api_key=SecretStr(API_KEY), allow_networks=["10.20.0.0/16"]
    )
    Runtime(settings).init()
    with TestClient(create_app(settings), headers={"X-API-Key": API_KEY}) as client:

        def post(**fields: Any) -> Any:
            body = {"name": "outlet", "base_url": "https://outlet.example/", **fields}
            return client.post("/api/admin/sources", json=body)

        yield post


@pytest.mark.parametrize(
    ("field", "url", "status", "says"),
    [
        # well formed, refused by the policy: 400 with the reason
        ("base_url", "http://169.254.169.254/", 400, "link-local"),
        ("base_url", "http://localhost:6379/", 400, "loopback name"),
        ("base_url", "http://[::1]:6379/", 400, "loopback"),
        ("feeds", "http://10.0.0.1/feed", 400, "private"),
        ("sitemaps", "http://127.0.0.1:9200/sitemap.xml", 400, "loopback"),
        # not an http(s) URL at all: the schema refuses it (422)
        ("base_url", "file:///x", 422, "base_url"),
        ("feeds", "file:///etc/passwd", 422, "feeds"),
    ],
)
def test_admin_refuses_sources_on_internal_addresses(
    admin: Callable[..., Any], field: str, url: str, status: int, says: str
) -> None:
    response = admin(**{field: url if field == "base_url" else [url]})
    assert response.status_code == status, response.text
    assert says in response.text


def test_admin_accepts_an_allowed_network(admin: Callable[..., Any], tmp_path: Path) -> None:
    response = admin(base_url="http://10.20.0.7/", feeds=["http://10.20.0.7/feed/"])
    assert response.status_code == 201, response.text
    runtime = Runtime(Settings(data_dir=tmp_path / "data"))
    with runtime.sessions() as session:
        assert session.scalars(select(Source.base_url)).all() == ["http://10.20.0.7/"]
    runtime.close()


# -- real crawls ----------------------------------------------------------------------------


class InternalServer:
    """A stand-in for the metadata service on 127.0.0.2: logs every request, answers
    with a secret."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(SECRET)))
                self.end_headers()
                self.wfile.write(SECRET)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.url = f"http://127.0.0.2:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> InternalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def internal() -> Iterator[InternalServer]:
    with InternalServer() as server:
        yield server


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite(articles=DEMO_ARTICLES) as running:
        yield running


def answer(status: int, body: bytes = b"", **headers: str) -> Callable[[Any, bool], int]:
    def route(handler: Any, head: bool) -> int:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
        return status

    return route


def stored_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


def test_an_article_redirecting_to_an_internal_address_is_refused_and_recorded(
    site: NewsSite, internal: InternalServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    slug = site.slugs()[0]
    target = f"{internal.url}/latest/meta-data/iam/security-credentials/"
    site.routes[site.path_of(slug)] = answer(302, Location=target)
    sources = write_sources(tmp_path / "sources.toml", site, topic=False, feeds=[], listings=[])

    result = cli(data, sources, "crawl", "--spider", "sitemap", "--json")
    assert result.returncode == 0, result.stderr + result.stdout

    assert internal.paths == []  # not even its robots.txt
    runtime = Runtime(Settings(data_dir=data))
    with runtime.sessions() as session:
        capture = session.scalars(
            select(Capture).where(Capture.requested_url == site.url_of(slug))
        ).one()
        assert capture.status is None and capture.error == "address_refused"
        assert capture.final_url.startswith(internal.url)
        assert capture.payload_sha256 is None
        assert capture.article_id is None  # a refusal is never a new article
        detail = str(capture.detail)
        assert "127.0.0.2 is a loopback address" in detail
        assert "PRESSWATCH_ALLOW_NETWORKS" in detail
        urls = session.scalars(select(Article.url)).all()
        assert urls and not any("127.0.0.2" in u or slug in u for u in urls)
        assert len(urls) == len(site.slugs()) - 1  # every other article was archived
    runtime.close()
    assert SECRET not in stored_bytes(data)
    found = cli(data, sources, "search", SECRET.decode(), "--json")
    assert found.returncode == 0 and '"total": 0' in found.stdout


def test_hostile_sitemap_and_feed_entries_are_refused_not_read(
    site: NewsSite, internal: InternalServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    base = site.base_url
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}sitemap-1.xml</loc></sitemap>"
        f"<sitemap><loc>{internal.url}/sitemap.xml</loc></sitemap>"
        "<sitemap><loc>file:///etc/passwd</loc></sitemap>"
        "<sitemap><loc>ftp://127.0.0.1/sitemap.xml</loc></sitemap>"
        "</sitemapindex>"
    )
    urlset = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>file:///etc/passwd</loc></url>"
        "<url><loc>data:text/html;base64,Rk9SR0VELUJPRFktOWQyYw==</loc></url>"
        "<url><loc>ftp://127.0.0.1/en/2026/01/x/</loc></url>"
        f"<url><loc>{internal.url}/en/2026/01/internal-story/</loc></url>"
        "</urlset>"
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>a</title><link>file:///etc/hostname</link></item>"
        "<item><title>b</title><link>data:text/plain;base64,Rk9SR0VELUJPRFktOWQyYw==</link></item>"
        f"<item><title>c</title><link>{internal.url}/feed-story/</link></item>"
        "</channel></rss>"
    )
    site.routes["/hostile-index.xml"] = answer(200, index.encode(), Content_Type="text/xml")
    site.routes["/sitemap-1.xml"] = answer(200, urlset.encode(), Content_Type="text/xml")
    site.routes["/hostile-feed/"] = answer(200, feed.encode(), Content_Type="application/rss+xml")
    sources = write_sources(
        tmp_path / "sources.toml",
        site,
        sitemaps=[f"{base}hostile-index.xml"],
        feeds=[f"{base}hostile-feed/"],
        listings=[],
        # Without a pattern the internal entries would be off-site candidates; with one
        # that any host matches, they reach the fetch and must be refused there.
        extra="",
    )
    text = sources.read_text(encoding="utf-8")
    sources.write_text(
        "\n".join(
            "article_url_pattern = '/(en/2026/01/|feed-story/)'"
            if line.startswith("article_url_pattern")
            else line
            for line in text.splitlines()
        ),
        encoding="utf-8",
    )

    for spider in ("sitemap", "feed"):
        result = cli(data, sources, "crawl", "--spider", spider, "--json")
        assert result.returncode == 1, result.stderr + result.stdout  # problems reported
        out = result.stdout + result.stderr
        if spider == "feed":  # (feedparser writes the first link as file://etc/hostname)
            assert re.search(r"\[ledger\] file:/+etc/hostname: scheme_refused \(not fetched", out)
            assert (
                "[ledger] data:text/plain;base64,Rk9SR0VELUJPRFktOWQyYw==: scheme_refused (not"
                in out
            )
        if spider == "sitemap":
            # the internal sitemap is a document: a problem naming the refusal
            assert f"[ledger] {internal.url}/sitemap.xml: address_refused" in out
            assert "[ledger] file:///etc/passwd: scheme_refused" in out
            assert "[ledger] ftp://127.0.0.1/sitemap.xml: scheme_refused" in out

    assert internal.paths == []
    stored = stored_bytes(data)
    passwd = Path("/etc/passwd").read_bytes()[:32]
    assert SECRET not in stored and passwd not in stored and b"FORGED-BODY" not in stored
    runtime = Runtime(Settings(data_dir=data))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
        refused = session.scalars(select(Capture.error)).all()
        # the internal article URLs became refused captures; the other schemes no request
        assert refused and set(refused) == {"address_refused"}
    runtime.close()
