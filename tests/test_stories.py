"""Story clusters (archive.stories): the same text at several outlets found by sketch
and passage, on SQLite and PostgreSQL; different stories on one topic kept apart;
stories an article bridges merged; live copies that still carry a passage."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.store import (
    Article,
    ArticleStatus,
    Story,
    StoryBand,
    StoryOutbox,
    StorySketch,
    Version,
)
from archive.store.db import alembic_config
from archive.stories import (
    copies_with_passage,
    estimate_jaccard,
    sketch_pending,
    sketch_text,
    sketch_version,
    stories_of,
    story_of,
    tokens_of,
)
from archive.stories.index import MAX_SHARED_ENTRIES
from benchmarks.stories_bench import bare_version
from presswatch.crawling.stories import sketch_stories
from presswatch.runtime import Runtime

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

WIRE = [
    "Police in Pursat province raided a casino complex late on Tuesday and detained 214 "
    "foreign workers, officials said.",
    "The workers, mostly from Indonesia and Vietnam, told investigators they had been "
    "promised jobs in customer service and were instead forced to run romance scams.",
    "Provincial police chief Sok Dara said the raid followed a tip from a worker who "
    "escaped through a bathroom window and reached a village two kilometres away.",
    "Officers found hundreds of mobile phones, scripts written in four languages and "
    "ledgers recording payments to the compound's managers.",
    "A spokesman for the Interior Ministry said the foreigners would be screened to tell "
    "victims of trafficking from willing participants before any deportation.",
    "Rights groups have long accused the authorities of tipping off compound owners "
    "before raids, allowing managers to move workers across provincial lines.",
]
RAID_ELSEWHERE = [
    "Police in Kampot province raided a hotel on Friday and rescued 61 Thai nationals "
    "who said they had been held against their will for months.",
    "The rescued workers said their passports were taken on arrival and that they were "
    "beaten when they failed to meet daily quotas set by Chinese-speaking bosses.",
    "Kampot deputy governor Chea Sokha said three managers were arrested and charged "
    "with human trafficking under the 2008 law.",
    "The Thai embassy in Phnom Penh said it was arranging travel documents so that the "
    "victims could return home through the Cham Yeam border crossing next week.",
]


def _article(session: Session, source: str, path: str, text: str) -> Version:
    version: Version = bare_version(
        session, source, f"http://{source}.test/{path}", text, tool="test"
    )
    return version


def test_a_wire_story_under_other_headlines_and_intros_is_one_story(
    any_runtime: Runtime,
) -> None:
    with any_runtime.sessions.begin() as s:
        a = _article(s, "daily", "raid", "\n".join(WIRE))
        b = _article(
            s,
            "times",
            "pursat-raid",
            "Another crackdown in the west this week.\n" + "\n".join(WIRE[1:]),
        )
        other = _article(s, "post", "kampot", "\n".join(RAID_ELSEWHERE))
        for v in (a, b, other):
            sketch_version(s, v, now=NOW)
            sketch_version(s, v, now=NOW)  # idempotent
        assert s.scalar(select(func.count()).select_from(StorySketch)) == 3
    with any_runtime.sessions() as s:
        story = story_of(s, a.article_id)
        assert story is not None
        assert [(c.article_id, c.source, c.status) for c in story.copies] == [
            (b.article_id, "times", "live")
        ]
        assert story.shared and story.shared[0]["passages"]
        assert story_of(s, other.article_id) is None
        assert stories_of(s, [a.article_id, b.article_id, other.article_id]) == {
            a.article_id: story.id,
            b.article_id: story.id,
        }


def test_syndicated_copy_with_a_long_own_intro_joins_by_shared_passage(
    any_runtime: Runtime,
) -> None:
    """Half of the copy is the outlet's own: too far for the sketch alone, yet the
    wire's paragraphs are there word for word."""
    own = [s.replace("Pursat", "Koh Kong") for s in RAID_ELSEWHERE]
    with any_runtime.sessions.begin() as s:
        a = _article(s, "daily", "raid", "\n".join(WIRE))
        b = _article(s, "times", "raid", "\n".join(own + WIRE[2:5]))
        sketch_version(s, a, now=NOW)
        matches = sketch_version(s, b, now=NOW)
        assert [m.how for m in matches] == ["passage"]
        assert any("bathroom window" in p for p in matches[0].passages)


def test_one_shared_background_paragraph_does_not_make_one_story(runtime: Runtime) -> None:
    background = (
        "Cambodia has faced mounting pressure from foreign governments over compounds "
        "where tens of thousands of people are believed to be held and forced to defraud "
        "strangers online, according to United Nations estimates."
    )
    with runtime.sessions.begin() as s:
        a = _article(s, "daily", "pursat", "\n".join([*WIRE[:4], background]))
        b = _article(s, "times", "kampot", "\n".join([*RAID_ELSEWHERE, background]))
        sketch_version(s, a, now=NOW)
        assert sketch_version(s, b, now=NOW) == []


def test_an_article_that_bridges_two_stories_merges_them(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        first = _article(s, "daily", "a", "\n".join(WIRE[:3] + RAID_ELSEWHERE[:1]))
        first_copy = _article(s, "times", "a", "\n".join(WIRE[:3] + RAID_ELSEWHERE[:1]))
        second = _article(s, "post", "b", "\n".join(RAID_ELSEWHERE[1:] + WIRE[5:]))
        second_copy = _article(s, "voice", "b", "\n".join(RAID_ELSEWHERE[1:] + WIRE[5:]))
        for v in (first, first_copy, second, second_copy):
            sketch_version(s, v, now=NOW)
        assert len(set(stories_of(s, [v.article_id for v in (first, second)]).values())) == 2
        bridge = _article(s, "digest", "both", "\n".join(WIRE[:3] + RAID_ELSEWHERE + WIRE[5:]))
        sketch_version(s, bridge, now=NOW)
        story = story_of(s, bridge.article_id)
        assert story is not None
        assert {c.source for c in story.copies} == {"daily", "times", "post", "voice"}
        merged = s.scalars(select(Story).where(Story.merged_into.is_not(None))).all()
        assert [m.merged_into for m in merged] == [story.id]


def test_a_wire_story_at_many_outlets_keeps_each_copys_strongest_matches(
    runtime: Runtime,
) -> None:
    """Sixteen outlets carry the wire, each adding a line of its own (longer and longer):
    every copy is in the story and lists the others, yet names only its
    `MAX_SHARED_ENTRIES` strongest matches, strongest first."""
    texts = ["\n".join([*WIRE, " ".join(f"own{i}w{k}" for k in range(i))]) for i in range(16)]
    with runtime.sessions.begin() as s:
        versions = [_article(s, f"outlet{i}", "raid", t) for i, t in enumerate(texts)]
        for v in versions:
            sketch_version(s, v, now=NOW)
    signatures = [sketch_text(t).signature for t in texts]  # type: ignore[union-attr]
    ids = [v.article_id for v in versions]
    with runtime.sessions() as s:
        assert len(set(stories_of(s, ids).values())) == 1
        for i, aid in enumerate(ids):
            story = story_of(s, aid)
            assert story is not None
            assert [c.article_id for c in story.copies] == [o for o in ids if o != aid]
            similarities = [e["similarity"] for e in story.shared]
            every = sorted(
                (
                    round(estimate_jaccard(signatures[i], signatures[j]), 3)
                    for j in range(16)
                    if j != i
                ),
                reverse=True,
            )
            assert len(story.shared) == MAX_SHARED_ENTRIES
            assert similarities == every[:MAX_SHARED_ENTRIES]
            assert all(e["passages"] for e in story.shared)


def test_copies_with_passage_names_live_copies_that_still_carry_it(
    any_runtime: Runtime,
) -> None:
    with any_runtime.sessions.begin() as s:
        a = _article(s, "daily", "raid", "\n".join(WIRE))
        b = _article(s, "times", "raid", "Our own intro.\n" + "\n".join(WIRE))
        c = _article(s, "post", "raid", "Their intro.\n" + "\n".join(WIRE))
        for v in (a, b, c):
            sketch_version(s, v, now=NOW)
        s.get(Article, c.article_id).status = ArticleStatus.REMOVED  # type: ignore[union-attr]
        found = copies_with_passage(s, WIRE[2], a.article_id)
        assert [(x.article_id, x.source) for x in found] == [(b.article_id, "times")]
        # A short passage is found among the story's copies, case and spacing aside.
        found = copies_with_passage(s, "OFFICERS found  hundreds of mobile phones", a.article_id)
        assert [x.article_id for x in found] == [b.article_id]
        assert copies_with_passage(s, "not in any copy at all", a.article_id) == []


def test_khmer_is_shingled_by_the_clusters_search_uses() -> None:
    assert tokens_of("ប៉ូលិសបានបង្ក្រាប។ Police") == [
        "ប៉ូ", "លិ", "ស", "បា", "ន", "ប", "ង្ក្រា", "ប", "police"
    ]  # fmt: skip
    khmer = "ប៉ូលិសខេត្តពោធិ៍សាត់បានបង្ក្រាបកាស៊ីណូមួយ ហើយឃាត់ខ្លួនពលករបរទេស ២១៤ នាក់។ " * 3
    sketch = sketch_text(khmer)
    assert sketch is not None and sketch.shingles > 8


def test_the_story_outbox_drain_sketches_each_queued_version_once(
    runtime: Runtime,
) -> None:
    with runtime.sessions.begin() as s:
        v = _article(s, "daily", "raid", "\n".join(WIRE))
        s.add(StoryOutbox(version_id=v.id, created_at=NOW))
    with runtime.sessions.begin() as s:
        assert sketch_pending(s, now=NOW) == 1
        assert sketch_pending(s, now=NOW) == 0
        assert s.scalar(select(func.count()).select_from(StoryBand)) == 16


def test_an_archive_made_before_stories_is_sketched_by_the_next_drain(
    any_runtime: Runtime,
) -> None:
    """Migration 0010 queues every version already archived; the drain that `run` and
    `reindex` start with sketches them into stories."""
    with any_runtime.sessions.begin() as s:
        a = _article(s, "daily", "raid", "\n".join(WIRE))
        b = _article(s, "times", "raid", "Our own intro.\n" + "\n".join(WIRE))
    cfg = alembic_config(any_runtime.sessions.kw["bind"])
    command.downgrade(cfg, "0009")
    command.upgrade(cfg, "head")
    with any_runtime.sessions() as s:
        assert s.scalars(select(StoryOutbox.version_id).order_by(StoryOutbox.id)).all() == [
            a.id,
            b.id,
        ]
    assert sketch_stories(any_runtime, now=lambda: NOW) == (2, None)
    with any_runtime.sessions() as s:
        story = story_of(s, a.article_id)
        assert story is not None and [c.article_id for c in story.copies] == [b.article_id]


@pytest.mark.postgres
def test_two_machines_draining_the_story_outbox_take_turns(pg_url: str, tmp_path: Path) -> None:
    """Two `run` processes on one PostgreSQL drain the story outbox at once: the second
    waits for the first's batch and then finds it gone, rather than sketching the same
    versions again and joining stories in the opposite order (a deadlock the fault
    benchmark met)."""
    from concurrent.futures import ThreadPoolExecutor

    from presswatch.settings import Settings

    rt = Runtime(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    rt.init()
    try:
        with rt.sessions.begin() as s:
            for i, text in enumerate((WIRE, RAID_ELSEWHERE)):
                v = _article(s, f"outlet{i}", "raid", "\n".join(text))
                s.add(StoryOutbox(version_id=v.id, created_at=NOW))
        first = rt.sessions()
        first.begin()
        assert sketch_pending(first, now=NOW) == 2  # its transaction still open
        with ThreadPoolExecutor(1) as pool:

            def second_drain() -> int:
                with rt.sessions.begin() as s:
                    return sketch_pending(s, now=NOW)

            second = pool.submit(second_drain)
            time.sleep(0.5)
            assert not second.done(), "the second drain did not wait for the first"
            first.commit()
            first.close()
            assert second.result(timeout=30) == 0
    finally:
        rt.close()
