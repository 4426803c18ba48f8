"""The peer: news-please, installed from PyPI in its own venv, run on the same site in
the same benchmark run.

Owns: installing news-please (pinned) into benchmarks/work/peer-venv, because its pins
(Scrapy, lxml, elasticsearch…) may clash with ours; writing its config.cfg (its own
default file with a few keys changed, each listed in `CONFIG_CHANGES` with the reason)
and sitelist; running its single-site crawler process; and reading back what it
stored: files, bytes, and for each URL the records it kept, so the report can say what
news-please records when an article is edited, taken down or unchanged.

Must not: fake a figure. If news-please cannot be installed or run here, the error is
returned as the result and the report prints it.

Why news-please's `Download` crawler on a sample of URLs rather than its sitemap crawler
on the whole site: its extraction (newspaper4k + readability + langdetect, one process)
runs at a few pages per second here, so the full default site twice over would not fit
the benchmark's 15 minutes. Its rates are per page and the sample spans every fixture
template and every mutation kind, so they compare like for like; the discovery it skips
is three small documents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.site import BenchSite, traffic

PEER_PACKAGE = "news-please==1.6.16"  # pinned: figures must compare run to run
INSTALL_TIMEOUT_S = 900
CRAWL_TIMEOUT_S = 1200

# (key, value, why) applied to news-please's own default config.cfg.
CONFIG_CHANGES: tuple[tuple[str, str, str], ...] = (
    ("check_certificate", "False", "the site is plain HTTP on 127.0.0.1"),
    (
        "extractors",
        "['newspaper_extractor_no_images', 'readability_extractor', 'date_extractor', "
        "'lang_detect_extractor']",
        "the default newspaper extractor downloads every image on the page to pick a top "
        "image, i.e. fetches from the fixtures' original hosts; the no-images variant is "
        "news-please's own and keeps the peer on 127.0.0.1",
    ),
    (
        "LOG_LEVEL",
        "DEBUG",
        "Scrapy logs every response, redirect and stored item at DEBUG: the report reads "
        "from the log what news-please kept for each URL, and its stats dump",
    ),
)

# Proxies that lead nowhere: if any part of the peer tried to reach another host, it
# would fail at once on 127.0.0.1:9 instead of leaving the machine.
_NO_EGRESS = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


class PeerError(RuntimeError):
    """news-please could not be installed or run; the message says why."""


def _set_key(text: str, key: str, value: str) -> str:
    new, count = re.subn(
        rf"(?m)^{re.escape(key)}\s*=.*$", lambda _m: f"{key} = {value}", text, count=1
    )
    if count != 1:
        raise PeerError(f"news-please's config.cfg has no key {key!r}; its format changed")
    return new


class NewsPlease:
    def __init__(self, work: Path, concurrency: int) -> None:
        self.work = work
        self.venv = work / "peer-venv"
        self.concurrency = concurrency
        self.config_dir = work / "peer-config"
        self.data_dir = work / "peer-data"
        self.version = ""

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def _package_dir(self) -> Path:
        found = sorted(self.venv.glob("lib/python*/site-packages/newsplease"))
        if not found:
            raise PeerError(f"newsplease is not installed in {self.venv}")
        return found[0]

    def ensure_installed(self) -> float:
        """Install news-please unless the venv already has it; returns seconds spent."""
        started = time.monotonic()
        probe = [
            str(self.python),
            "-c",
            "import newsplease, importlib.metadata as m; print(m.version('news-please'))",
        ]
        if self.python.exists():
            done = subprocess.run(probe, capture_output=True, text=True, timeout=120)
            if done.returncode == 0:
                self.version = done.stdout.strip()
                return 0.0
        self.work.mkdir(parents=True, exist_ok=True)
        log = self.work / "peer-install.log"
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(self.venv)],
            [str(self.python), "-m", "pip", "install", "--quiet", PEER_PACKAGE],
        ]
        with log.open("w", encoding="utf-8") as out:
            for step in steps:
                try:
                    result = subprocess.run(
                        step, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S
                    )
                except subprocess.TimeoutExpired as exc:
                    raise PeerError(f"`{' '.join(step)}` timed out after {exc.timeout}s") from exc
                if result.returncode != 0:
                    tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
                    raise PeerError(f"`{' '.join(step)}` failed ({result.returncode}): {tail}")
        done = subprocess.run(probe, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise PeerError(f"news-please installed but does not import: {done.stderr[-1500:]}")
        self.version = done.stdout.strip()
        return time.monotonic() - started

    def configure(self) -> None:
        package = self._package_dir()
        text = (package / "config" / "config.cfg").read_text(encoding="utf-8")
        for key, value, _why in CONFIG_CHANGES:
            text = _set_key(text, key, value)
        text = _set_key(text, "working_path", str(self.data_dir))
        text = _set_key(text, "CONCURRENT_REQUESTS_PER_DOMAIN", str(self.concurrency))
        # news-please sets allowed_domains to "127.0.0.1:PORT"; Scrapy matches hosts
        # without ports, so its offsite filter would drop every request to this site.
        text = text.replace(
            "[Scrapy]\n",
            "[Scrapy]\nDOWNLOADER_MIDDLEWARES = "
            "{'scrapy.downloadermiddlewares.offsite.OffsiteMiddleware': None}\n",
            1,
        )
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "config.cfg").write_text(text, encoding="utf-8")

    def crawl(self, label: str, urls: list[str], site: BenchSite) -> dict[str, Any]:
        """One run of news-please's crawler over `urls`; what it cost and stored."""
        sitelist = {"base_urls": [{"url": urls, "crawler": "Download"}]}
        (self.config_dir / "sitelist.hjson").write_text(json.dumps(sitelist), encoding="utf-8")
        package = self._package_dir()
        before_files = _inventory(self.data_dir)
        before = site.stats()
        log_path = self.work / f"peer-{label}.log"
        env = {**os.environ, **_NO_EGRESS, "CColon": str(package)}
        command = [
            str(self.python),
            str(package / "single_crawler.py"),
            str(self.config_dir / "config.cfg"),
            str(self.config_dir / "sitelist.hjson"),
            "0",
            "False",
            "False",
        ]
        started = time.perf_counter()
        with log_path.open("w", encoding="utf-8") as out:
            try:
                done = subprocess.run(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    timeout=CRAWL_TIMEOUT_S,
                    cwd=self.work,
                )
            except subprocess.TimeoutExpired as exc:
                raise PeerError(f"news-please {label} timed out after {exc.timeout}s") from exc
        wall_s = time.perf_counter() - started
        after = site.stats()
        log = log_path.read_text(encoding="utf-8", errors="replace")
        if done.returncode != 0:
            raise PeerError(f"news-please {label} exited {done.returncode}: {log[-1500:]}")
        stats = _scrapy_stats(log)
        after_files = _inventory(self.data_dir)
        new = {p: s for p, s in after_files.items() if before_files.get(p) != s}
        return {
            "urls": len(urls),
            "wall_s": round(wall_s, 2),
            "scrapy_elapsed_s": stats.get("elapsed_time_seconds"),
            "items_scraped": int(stats.get("item_scraped_count", 0)),
            "responses_by_status": {
                k.rsplit("/", 1)[1]: int(v)
                for k, v in stats.items()
                if k.startswith("downloader/response_status_count/")
            },
            "pages_per_s": round(len(urls) / wall_s, 2) if wall_s else None,
            "files_written": len(new),
            "bytes_written": sum(new.values()),
            "json_records_written": sum(1 for p in new if p.endswith(".json")),
            "site": traffic(before, after),
            "log": str(log_path),
            "per_url": _per_url(log, urls),
        }


def _inventory(root: Path) -> dict[str, int]:
    if not root.exists():
        return {}
    return {
        str(p): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and ".resume_jobdir" not in p.parts
    }


_STAT = re.compile(r"'([a-z_/0-9.]+)': ([0-9.]+)[,}]")


def _scrapy_stats(log: str) -> dict[str, float]:
    """The numeric lines of the last "Dumping Scrapy stats" block of a log."""
    start = log.rfind("Dumping Scrapy stats")
    if start < 0:
        return {}
    block = log[start : start + 20_000]
    return {k: float(v) for k, v in _STAT.findall(block)}


_CRAWLED = re.compile(r"Crawled \((\d+)\) <GET (\S+)>")
_SCRAPED = re.compile(r"Scraped from <(\d+) (\S+)>")
_REDIRECT = re.compile(r"Redirecting \((\d+)\) to <GET (\S+)> from <GET (\S+)>")


def _per_url(log: str, urls: list[str]) -> dict[str, str]:
    """What news-please did with each URL, read from Scrapy's DEBUG lines."""
    status = {url: code for code, url in _CRAWLED.findall(log)}
    scraped = {url for _code, url in _SCRAPED.findall(log)}
    redirects = {source: (code, target) for code, target, source in _REDIRECT.findall(log)}
    out = {}
    for url in urls:
        if url in scraped:
            out[url] = "stored a full copy"
        elif url in redirects:
            code, target = redirects[url]
            what = "stored the target as this article" if target in scraped else "stored nothing"
            out[url] = f"redirected ({code}) to {urlsplit(target).path}: {what}"
        else:
            out[url] = f"HTTP {status.get(url, 'error')}: stored nothing"
    return out


def describe_recheck(per_url: dict[str, str], kinds_by_url: dict[str, str]) -> dict[str, Any]:
    """What news-please's second run did, counted per mutation kind of the sampled URLs."""
    summary: dict[str, Counter[str]] = defaultdict(Counter)
    for url, what in per_url.items():
        summary[kinds_by_url.get(url, "unchanged")][what] += 1
    return {kind: dict(counts) for kind, counts in sorted(summary.items())}
