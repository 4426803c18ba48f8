"""End to end: four local outlets (English and Khmer) carrying shared wire stories under
their own headlines and intros, and raids of their own in other provinces, crawled for
real by `presswatch run` (crawl, then sketch and index); the stories found must be the labelled ones, and the
command line, the API and the article page must show them.

The corpus is `benchmarks/story_corpus.py` (written for this project); each outlet is
a `NewsSite` of its own on 127.0.0.1.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive.store import Article, Source
from archive.stories import stories_of
from benchmarks.story_corpus import OUTLETS, CorpusArticle, pair_scores, story_corpus
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from search_api.factory import make_backend
from tests.site_server import NewsSite, cli, cli_env

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.e2e


def _sources(path: Path, sites: dict[str, NewsSite]) -> Path:
    blocks = []
    for name, site in sites.items():
        base = site.base_url
        blocks.append(
            "[[source]]\n"
            f'name = "{name}"\n'
            f'base_url = "{base}"\n'
            'languages = ["en", "km"]\n'
            f'sitemaps = ["{base}sitemap_index.xml"]\n'
            f'feeds = ["{base}feed/"]\n'
            f'listings = ["{base}"]\n'
            f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n"
        )
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    corpus = story_corpus()
    tmp = tmp_path_factory.mktemp("stories")
    data_dir = tmp / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with ExitStack() as stack:
        sites = {
            o.name: stack.enter_context(
                NewsSite(articles=[c.article for c in corpus if c.outlet == o.name])
            )
            for o in OUTLETS
        }
        sources = _sources(tmp / "sources.toml", sites)
        result = cli(data_dir, sources, "run", "--json", env=cli_env(), timeout=600)
        assert result.returncode == 0, result.stderr + result.stdout
    runtime = Runtime(Settings(data_dir=data_dir))
    yield {"runtime": runtime, "corpus": corpus, "sources": sources, "data_dir": data_dir}
    runtime.close()


def _archived(runtime: Runtime, corpus: list[CorpusArticle]) -> dict[str, tuple[int, str]]:
    """corpus key (outlet/slug) -> (article id, label), every corpus article archived."""
    with runtime.sessions() as s:
        rows = s.execute(
            select(Article.id, Article.url, Source.name).join(
                Source, Source.id == Article.source_id
            )
        ).all()
    by_key = {f"{name}/{url.rstrip('/').rsplit('/', 1)[-1]}": aid for aid, url, name in rows}
    out = {}
    for c in corpus:
        key = f"{c.outlet}/{c.article.slug}"
        assert key in by_key, f"{key} was not archived"
        out[key] = (by_key[key], c.story)
    return out


def test_crawled_outlets_cluster_into_the_labelled_stories(crawled: dict[str, Any]) -> None:
    runtime: Runtime = crawled["runtime"]
    archived = _archived(runtime, crawled["corpus"])
    with runtime.sessions() as s:
        story = stories_of(s, [aid for aid, _label in archived.values()])
    scores = pair_scores(
        {key: label for key, (_aid, label) in archived.items()},
        {key: story.get(aid) for key, (aid, _label) in archived.items()},
    )
    assert scores.wrong == (), "different stories on one topic were joined"
    assert scores.precision == 1.0
    assert scores.recall >= 0.9, scores.missed
    # Khmer copies too: both Khmer outlets' copies of each Khmer wire story.
    km = [aid for key, (aid, label) in archived.items() if label == "wire-km-0"]
    assert len(km) == 2 and story.get(km[0]) is not None and story[km[0]] == story.get(km[1])


def test_history_api_page_and_search_show_the_story(crawled: dict[str, Any]) -> None:
    runtime: Runtime = crawled["runtime"]
    archived = _archived(runtime, crawled["corpus"])
    copies = sorted(aid for aid, label in archived.values() if label == "wire-en-0")
    assert len(copies) == 3  # phnom-daily, mekong-times, angkor-post
    first, *others = copies
    # Every copy names the province (the headlines do); so may other raids there.
    slug = next(c.article.slug for c in crawled["corpus"] if c.story == "wire-en-0")
    province = f'"{slug.split("-raid-")[0].replace("-", " ")}"'

    result = cli(
        crawled["data_dir"], crawled["sources"], "history", str(first), "--json", env=cli_env()
    )
    assert result.returncode == 0, result.stderr
    story = json.loads(result.stdout)["story"]
    assert sorted(c["article_id"] for c in story["copies"]) == others
    assert {c["status"] for c in story["copies"]} == {"live"}
    assert all(set(c) >= {"article_id", "url", "source", "status"} for c in story["copies"])
    alone = next(aid for aid, label in archived.values() if label == "own-en-0")
    result = cli(
        crawled["data_dir"], crawled["sources"], "history", str(alone), "--json", env=cli_env()
    )
    assert json.loads(result.stdout)["story"] is None

    backend = make_backend(runtime.settings)
    app = create_app(
        runtime.settings, sessions=runtime.sessions, warc=runtime.warc, backend=backend
    )
    with TestClient(app) as client:
        doc = client.get(f"/api/articles/{first}").json()
        assert doc["story"]["id"] == story["id"]
        assert sorted(c["article_id"] for c in doc["story"]["copies"]) == others
        assert client.get(f"/api/articles/{alone}").json()["story"] is None
        page = client.get(f"/articles/{first}").text
        assert "The same story elsewhere" in page
        for other in others:
            assert f'href="/articles/{other}"' in page
        grouped = client.get(
            "/api/search", params={"q": province, "group": "story", "per_page": 100}
        ).json()
        groups = {g["story_id"]: [h["article_id"] for h in g["hits"]] for g in grouped["groups"]}
        assert sorted(groups[story["id"]]) == copies
        assert all(len(ids) == 1 for sid, ids in groups.items() if sid is None)
        assert client.get("/api/search", params={"q": province}).json()["groups"] is None
    backend.close()

    result = cli(
        crawled["data_dir"],
        crawled["sources"],
        "search",
        province,
        "--group-by",
        "story",
        "--per-page",
        "100",
        "--json",
        env=cli_env(),
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    cli_groups = {g["story_id"]: g["hits"] for g in doc["groups"]}
    assert sorted(h["article_id"] for h in cli_groups[story["id"]]) == copies
    assert all(h["story_id"] == story["id"] for h in cli_groups[story["id"]])
