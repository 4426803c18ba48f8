"""The local news site the crawl tests run against, and helpers to drive the real CLI.

The site itself is `presswatch.demo.outlet.NewsSite` (a real HTTP server on 127.0.0.1 in
a thread, serving our own pages, sitemaps, feeds and robots.txt, with server-side
request logging and switchable failure modes); the demo and the benchmark use the same
server (`LocalSite`, with other content plugged in). Here:
sources.toml for it, and running `presswatch` in a subprocess, because Twisted's
reactor cannot be restarted inside one test process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from presswatch.demo.outlet import NewsSite
from presswatch.demo.site import Mode, RequestRecord
from tests.conftest import skip_unless_ci

__all__ = [
    "FAST_SCRAPY",
    "Mode",
    "NewsSite",
    "RequestRecord",
    "cli",
    "cli_env",
    "free_port",
    "pywb_bin",
    "served_presswatch",
    "wayback",
    "write_sources",
]

# Local server: no AutoThrottle start delay, quick retries.
FAST_SCRAPY: dict[str, Any] = {
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "AUTOTHROTTLE_MAX_DELAY": 2.0,
    "PRESSWATCH_RETRY_BACKOFF_S": 0.05,
    "RETRY_TIMES": 1,
}

TOPIC = '[topics.trafficking]\nkeywords = ["trafficking", "scam compound", "scam", "debt bondage", "ជួញដូរ", "បោកប្រាស់"]\n'


def write_sources(
    path: Path,
    site: NewsSite,
    *,
    name: str = "ledger",
    topic: bool = True,
    extra: str = "",
    listings: list[str] | None = None,
    feeds: list[str] | None = None,
    sitemaps: list[str] | None = None,
) -> Path:
    base = site.base_url
    sitemaps = [f"{base}sitemap_index.xml"] if sitemaps is None else sitemaps
    feeds = [f"{base}feed/", f"{base}atom.xml", f"{base}rss1.xml"] if feeds is None else feeds
    listings = [base, f"{base}en/", f"{base}km/"] if listings is None else listings
    path.write_text(
        (TOPIC if topic else "")
        + "\n[[source]]\n"
        + f'name = "{name}"\n'
        + f'base_url = "{base}"\n'
        + 'languages = ["en", "km"]\n'
        + f"sitemaps = {json.dumps(sitemaps)}\n"
        + f"feeds = {json.dumps(feeds)}\n"
        + f"listings = {json.dumps(listings)}\n"
        + f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n"
        + ('topic = "trafficking"\n' if topic else "")
        + extra,
        encoding="utf-8",
    )
    return path


def cli_env(**settings: Any) -> dict[str, str]:
    """The environment for a `presswatch` subprocess: ours, minus the developer's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PRESSWATCH_") and k not in ("DATABASE_URL", "REDIS_URL", "MEILI_URL")
    }
    scrapy = {**FAST_SCRAPY, **settings.pop("scrapy", {})}
    env["PRESSWATCH_SCRAPY_SETTINGS"] = json.dumps(scrapy)
    # The local site, and no other private address (tests/test_egress.py uses 127.0.0.2).
    env["PRESSWATCH_ALLOW_NETWORKS"] = "127.0.0.1/32"
    # Rendering costs seconds a page: only the tests that ask (`browser=true`) render.
    env["PRESSWATCH_BROWSER"] = "false"
    for key, value in settings.items():
        env[key if key.isupper() else f"PRESSWATCH_{key.upper()}"] = str(value)
    return env


def cli(
    data_dir: Path,
    sources: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `presswatch --data-dir … --sources … ARGS` and capture its output."""
    command = [
        sys.executable,
        "-m",
        "presswatch.cli",
        "--data-dir",
        str(data_dir),
        "--sources",
        str(sources),
        *args,
    ]
    return subprocess.run(
        command,
        env=env if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def popen_cli(
    data_dir: Path, sources: Path, *args: str, env: dict[str, str]
) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "presswatch.cli",
        "--data-dir", str(data_dir), "--sources", str(sources), *args,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # so the test can kill the crawl and its workers together
    )


# -- servers the tests start: presswatch serve, pywb ------------------------------------

START_TIMEOUT_S = 60
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served_presswatch(data_dir: Path, log: Path, env: dict[str, str]) -> Iterator[str]:
    """`presswatch serve` (uvicorn) on 127.0.0.1 over `data_dir`, output in `log`;
    yields its base URL once /readyz answers."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data_dir), "serve"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("presswatch serve did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield base
    finally:
        _stop(proc)


def pywb_bin() -> Path:
    """The directory holding pywb's `wb-manager` and `wayback`: PRESSWATCH_PYWB_BIN, else
    PATH, else `.pywb/bin` in the checkout (pywb cannot share our environment: README,
    "Development")."""
    candidates = []
    if os.environ.get("PRESSWATCH_PYWB_BIN"):
        candidates.append(Path(os.environ["PRESSWATCH_PYWB_BIN"]))
    on_path = shutil.which("wb-manager")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates.append(ROOT / ".pywb" / "bin")
    for directory in candidates:
        if (directory / "wb-manager").exists() and (directory / "wayback").exists():
            return directory
    skip_unless_ci(
        "pywb is not installed: python3 -m venv .pywb && .pywb/bin/pip install 'pywb==2.10.0' "
        "(or set PRESSWATCH_PYWB_BIN)"
    )


@contextmanager
def wayback(bin_dir: Path, root: Path, env: dict[str, str]) -> Iterator[int]:
    """pywb's `wayback` serving the collections under `root` on 127.0.0.1; yields its
    port once it accepts connections (its output in root/wayback.log)."""
    port = free_port()
    with open(root / "wayback.log", "wb") as log:
        server = subprocess.Popen(
            [str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1", "-d", str(root)],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # wait for the server to answer, not for a fixed time
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = (root / "wayback.log").read_text(errors="replace")
                    pytest.fail(f"pywb did not start: {output[-2000:]}")
                time.sleep(0.1)
        yield port
    finally:
        _stop(server)
