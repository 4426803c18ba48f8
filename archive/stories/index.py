"""Sketching versions into the story index and joining them to stories: the rows side
of story clustering. Takes a Session and never commits it (the caller owns the
transaction); reads no clock (`now` is handed in).

Adding a version costs a bounded number of indexed lookups, never a scan: one query for
its `BANDS` band keys and one for its passage keys (both by primary key, capped), one for
the candidates' signatures (by article, capped), one for their sources, and the
membership rows of the articles involved.

A candidate is the same story when either
- its best signature agrees with the new one in at least `NEAR_DUPLICATE` of the
  buckets (estimated Jaccard similarity of 5-word shingles), or
- it is at another source and shares passages covering at least `SHARED_WORDS`
  words: syndicated copy with its own headline and intro. One stock background
  paragraph (shorter than that) is not enough, so two different raids that reuse a
  wire's paragraph on the scam industry stay apart; a passage key that more than
  `COMMON_KEY` articles carry is treated as boilerplate and ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, literal, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from archive.store import (
    Article,
    Story,
    StoryBand,
    StoryEventOutbox,
    StoryMember,
    StoryOutbox,
    StoryPassage,
    StorySketch,
    Version,
)
from archive.stories.sketch import (
    NEAR_DUPLICATE,
    PASSAGE_WORDS,
    Sketch,
    estimate_jaccard,
    pack_signature,
    shared_runs,
    sketch_text,
    unpack_signature,
)

__all__ = [
    "COMMON_KEY",
    "SHARED_WORDS",
    "Match",
    "find_matches",
    "sketch_pending",
    "sketch_version",
]

SHARED_WORDS = 2 * PASSAGE_WORDS + 10  # words of shared passages that make one story
COMMON_KEY = 40  # a passage key carried by more articles than this is boilerplate
MAX_CANDIDATES = 200  # rows read per lookup
MAX_SKETCHES = 400  # candidate signatures read per version
# `StoryMember.shared` entries kept per article, its strongest matches: a wire story
# carried by 40 outlets would otherwise keep ~40 entries (50 KB) on each copy and
# rewrite every copy's row each time one more joins.
MAX_SHARED_ENTRIES = 6
MAX_RUNS = 3  # shared passages named per match
_EXCERPT_CHARS = 240


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Match:
    """Why a new version joins another article's story."""

    article_id: int
    how: str  # "near_duplicate" | "passage"
    similarity: float  # estimated Jaccard similarity of the best pair of versions
    passages: tuple[str, ...]  # shared passages (excerpts), longest first

    def as_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "how": self.how,
            "similarity": round(self.similarity, 3),
            "passages": list(self.passages),
        }


def _insert_ignoring(session: Session, table: Any, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike; for one row,
    whether it was inserted (1) or there already (0)."""
    if not rows:
        return 0
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    if len(rows) == 1:
        result = session.execute(dialect_insert(table).values(**rows[0]).on_conflict_do_nothing())
        return int(result.rowcount)  # type: ignore[attr-defined]
    session.execute(dialect_insert(table).on_conflict_do_nothing(), rows)
    return len(rows)


def _lookup(
    session: Session, sketch: Sketch, article_id: int
) -> tuple[set[int], dict[int, list[int]]]:
    """One statement for both keys: (articles sharing a band, articles sharing passages:
    article -> indexes into `sketch.passages`), boilerplate passage keys dropped. Each
    half is capped, so a key that thousands of articles carry costs a bounded read."""
    index = {p.key: i for i, p in enumerate(sketch.passages)}
    bands = (
        select(literal(0).label("kind"), StoryBand.band_key.label("key"), StoryBand.article_id)
        .where(StoryBand.band_key.in_(list(sketch.bands)), StoryBand.article_id != article_id)
        .limit(MAX_CANDIDATES)
        .subquery()
    )
    parts = [select(bands.c.kind, bands.c.key, bands.c.article_id)]
    if index:
        passages = (
            select(
                literal(1).label("kind"),
                StoryPassage.passage_key.label("key"),
                StoryPassage.article_id,
            )
            .where(StoryPassage.passage_key.in_(list(index)), StoryPassage.article_id != article_id)
            .limit(len(index) * (COMMON_KEY + 1))
            .subquery()
        )
        parts.append(select(passages.c.kind, passages.c.key, passages.c.article_id))
    banded: set[int] = set()
    by_key: dict[int, list[int]] = defaultdict(list)
    for kind, key, other in session.execute(union_all(*parts)):
        if kind == 0:
            banded.add(other)
        else:
            by_key[key].append(other)
    found: dict[int, list[int]] = defaultdict(list)
    for key, others in by_key.items():
        if len(others) > COMMON_KEY:
            continue
        for other in others:
            found[other].append(index[key])
    return banded, found


def _shared_words(sketch: Sketch, indexes: list[int]) -> float:
    """Words covered by the shared passages (they overlap: each starts a sentence on);
    two Khmer clusters count as one word."""
    covered: set[int] = set()
    for i in indexes:
        covered.update(range(sketch.passages[i].start, sketch.passages[i].end))
    return len(covered) / 2


def find_matches(session: Session, article_id: int, sketch: Sketch) -> list[Match]:
    """The other articles this sketch belongs with (see the module docstring)."""
    banded, passages = _lookup(session, sketch, article_id)
    candidates = sorted(banded | set(passages))
    if not candidates:
        return []
    best: dict[int, float] = defaultdict(float)
    sources: dict[int, int] = {}
    # The candidates' signatures and sources in one read, and this article's source.
    for other, data, source_id in session.execute(
        select(StorySketch.article_id, StorySketch.signature, Article.source_id)
        .join(Article, Article.id == StorySketch.article_id)
        .where(StorySketch.article_id.in_([*candidates, article_id]))
        .limit(MAX_SKETCHES)
    ):
        sources[other] = source_id
        if data and other != article_id:
            similarity = estimate_jaccard(sketch.signature, unpack_signature(data))
            best[other] = max(best[other], similarity)
    matches = []
    for other in candidates:
        shared = sorted(set(passages.get(other, [])))
        excerpts = tuple(_excerpt(t) for t in shared_runs(sketch, shared)[:MAX_RUNS])
        if best[other] >= NEAR_DUPLICATE:
            matches.append(Match(other, "near_duplicate", best[other], excerpts))
        elif (
            shared
            and sources.get(other) != sources.get(article_id)
            and _shared_words(sketch, shared) >= SHARED_WORDS
        ):
            matches.append(Match(other, "passage", best[other], excerpts))
    return matches


def _join(session: Session, article_id: int, matches: list[Match], now: datetime) -> None:
    """Put the article and its matches in one story, merging the stories they were in
    into the oldest (union)."""
    involved = [article_id] + [m.article_id for m in matches]
    members = {
        m.article_id: m
        for m in session.scalars(select(StoryMember).where(StoryMember.article_id.in_(involved)))
    }
    story_ids = sorted({m.story_id for m in members.values()})
    if story_ids:
        target = story_ids[0]
    else:
        story = Story(created_at=now)
        session.add(story)
        session.flush()
        target = story.id
    others = story_ids[1:]
    if others:
        session.execute(
            update(StoryMember).where(StoryMember.story_id.in_(others)).values(story_id=target)
        )
        session.execute(
            update(Story)
            .where((Story.id.in_(others)) | (Story.merged_into.in_(others)))
            .values(merged_into=target)
        )
        for member in members.values():
            member.story_id = target
    for aid in involved:
        if aid not in members:
            members[aid] = StoryMember(article_id=aid, story_id=target, joined_at=now, shared=[])
            session.add(members[aid])
    own = members[article_id]
    own_shared = list(own.shared)
    for match in matches:
        entry = match.as_json()
        own_shared = _strongest(own_shared, entry)
        # The other side's row is written only when the new match is among its strongest.
        other = members[match.article_id]
        kept = _strongest(other.shared, {**entry, "article_id": article_id})
        if kept != other.shared:
            other.shared = kept
    if own_shared != own.shared:
        own.shared = own_shared
    # The story changed: removals seen before it formed may now be removals together.
    session.add(StoryEventOutbox(article_id=article_id, created_at=now))


def _strength(entry: dict[str, Any]) -> tuple[float, int]:
    """How strongly a match ties two articles: similarity (a near-duplicate is above
    every passage match), then the length of the passages named."""
    return entry.get("similarity", 0.0), sum(len(p) for p in entry.get("passages", ()))


def _strongest(shared: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    """`shared` with `entry` in place of any older entry for the same article, cut to
    the `MAX_SHARED_ENTRIES` strongest, strongest first. On a tie the entry kept longest
    stays (a stable sort), so a new equal match leaves the list as it was. Never empty
    once an entry was noted: a member always names a match that put it in its story."""
    kept = [e for e in shared if e.get("article_id") != entry["article_id"]]
    kept.append(entry)
    kept.sort(key=_strength, reverse=True)
    return kept[:MAX_SHARED_ENTRIES]


def sketch_version(session: Session, version: Version, *, now: datetime) -> list[Match]:
    """Sketch one version, index it, and join its article to the story it belongs to.
    Idempotent: a version already sketched is left as it is (returns []). Returns the
    matches that put it in a story."""
    # Core statements, not ORM objects: this runs once per version, in bulk. The sketch
    # row goes first: if it was there already, the version is done.
    sketch = sketch_text(version.text)
    row = {
        "version_id": version.id,
        "article_id": version.article_id,
        "signature": b"" if sketch is None else pack_signature(sketch.signature),
        "shingles": 0 if sketch is None else sketch.shingles,
        "sketched_at": now,
    }
    if not _insert_ignoring(session, StorySketch, [row]) or sketch is None:
        return []
    matches = find_matches(session, version.article_id, sketch)
    _insert_ignoring(
        session,
        StoryBand,
        [{"band_key": k, "article_id": version.article_id} for k in sorted(set(sketch.bands))],
    )
    _insert_ignoring(
        session,
        StoryPassage,
        [
            {"passage_key": k, "article_id": version.article_id}
            for k in sorted({p.key for p in sketch.passages})
        ],
    )
    if matches:
        _join(session, version.article_id, matches, now)
        session.flush()
    return matches


def sketch_pending(session: Session, *, now: datetime, limit: int = 200) -> int:
    """Sketch up to `limit` versions waiting in the story outbox, oldest first, and
    remove their rows. Returns how many rows were taken (0: the outbox is empty).

    The rows are taken FOR UPDATE: two machines draining at once on PostgreSQL take
    turns (the second waits, then finds the rows gone), where they would otherwise both
    sketch the same versions and join stories in opposite orders, a deadlock (`python
    -m benchmarks faults`, two `run` processes). SQLite serializes writers anyway."""
    rows = session.execute(
        select(StoryOutbox.id, StoryOutbox.version_id)
        .order_by(StoryOutbox.id)
        .limit(limit)
        .with_for_update()
    ).all()
    if not rows:
        return 0
    for _row_id, version_id in rows:
        version = session.get(Version, version_id)
        if version is not None:
            sketch_version(session, version, now=now)
    session.execute(delete(StoryOutbox).where(StoryOutbox.id.in_([r[0] for r in rows])))
    session.flush()
    return len(rows)
