"""`Source.config` is typed (`archive.store.SourceOptions`) and stores the same JSON as
when it was a plain dict: key for key, in the same order, for sources of sources.toml,
of the admin API and those the archive made itself."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from archive.store import SourceOptions, SourceOwner, upsert_source
from crawler.context import SourceSpec
from presswatch.runtime import Runtime
from presswatch.sources import OPTION_FIELDS, SourceConfig

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
ENTRY = SourceConfig(
    name="vod",
    base_url="https://vod.example/",
    languages=["en"],
    sitemaps=["https://vod.example/sitemap.xml"],
    feeds=["https://vod.example/feed/"],
    article_url_pattern=r"/\d{4}/",
    topic="t",
    crawl_delay_s=2,
    listing_depth=2,
    max_age_days=30,
)
# What sync_sources and the admin API stored before Source.config was typed.
FILE_JSON = ENTRY.model_dump(exclude={"name", "base_url", "languages", "enabled"}) | {
    "from_file": True
}
API_JSON = {
    "sitemaps": [],
    "feeds": ["https://kd.example/feed/"],
    "listings": [],
    "article_url_pattern": None,
    "topic": None,
    "render": False,  # since the admin API sets it; a row stored without it reads as false
    "managed_by": "api",
}


def test_every_field_of_a_sources_toml_entry_but_its_columns_is_an_option() -> None:
    columns = {"name", "base_url", "languages", "enabled"}
    assert [n for n in SourceConfig.model_fields if n not in columns] == list(OPTION_FIELDS)


@pytest.mark.parametrize(
    ("options", "stored"),
    [
        (ENTRY.options(owner=SourceOwner.FILE), FILE_JSON),
        (SourceOptions(feeds=("https://kd.example/feed/",), owner=SourceOwner.API), API_JSON),
        (SourceOptions(), {}),
    ],
    ids=["file", "api", "archive"],
)
def test_the_stored_json_is_as_before_and_reads_back(
    runtime: Runtime, options: SourceOptions, stored: dict[str, Any]
) -> None:
    assert list(options.to_json().items()) == list(stored.items())
    assert SourceOptions.from_json(stored) == options
    with runtime.sessions.begin() as session:
        upsert_source(
            session, name="s", base_url="https://s.example/", languages=[], config=options, now=T0
        )
    with runtime.sessions() as session:
        raw = session.execute(text("SELECT config FROM sources")).scalar_one()
    assert raw == json.dumps(stored)


def test_unknown_and_missing_keys_read_as_defaults() -> None:
    assert SourceOptions.from_json({"by": "first", "managed_by": "cli"}) == SourceOptions()
    assert SourceOptions.from_json(None) == SourceOptions()


def test_the_crawlers_spec_takes_every_shared_field_from_the_options() -> None:
    spec = SourceSpec.of(ENTRY.name, ENTRY.base_url, ENTRY.options())
    assert spec.name == "vod" and spec.base_url == "https://vod.example/"
    names = {f.name for f in fields(SourceOptions)}
    for f in fields(SourceSpec)[2:]:
        assert f.name in names
        assert getattr(spec, f.name) == getattr(ENTRY.options(), f.name)
    assert spec.sitemaps == ("https://vod.example/sitemap.xml",) and spec.listing_depth == 2
