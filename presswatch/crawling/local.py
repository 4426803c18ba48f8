"""A fresh archive for crawling a local site: what the demo and the benchmarks crawl
into, kept apart from any real archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from presswatch.runtime import Runtime
from presswatch.settings import Settings


def local_archive(root: Path, sources_path: Path, **overrides: Any) -> Runtime:
    """A fresh archive in `root/data` for crawling a local site (the demo, the
    benchmarks). Explicit values beat the environment, so it never touches a real
    archive, Meilisearch or Redis that the shell happens to point at. The crawler may
    reach the local site on 127.0.0.1 and no other private address; pages are not
    rendered in the browser unless `browser=True` is given."""
    data = root / "data"
    overrides.setdefault("allow_networks", ["127.0.0.1/32"])
    # A screenshot costs seconds a page: the demo and benchmarks render only when asked.
    overrides.setdefault("browser", False)
    settings = Settings(
        data_dir=data,
        sources=sources_path,
        database_url=f"sqlite:///{(data / 'presswatch.db').resolve()}",
        meili_url=None,
        redis_url=None,
        scrapy_settings={},
        **overrides,
    )
    runtime = Runtime(settings)
    runtime.init()
    return runtime
