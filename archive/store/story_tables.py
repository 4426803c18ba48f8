"""The tables of story clusters (`archive.stories` owns their rules).

A story is the set of articles (other outlets, other sections, another language site of
one outlet) whose versions carry the same text or a long shared passage. Everything
here is derived from the versions and can be rebuilt from them (`presswatch reindex`);
none of it is part of the log or of an evidence package.

- `StoryOutbox`: versions waiting to be sketched, written by `record_capture` in the
  capture's transaction (cheap: one row), drained after the crawl.
- `StorySketch`: one version's MinHash signature (what near-duplicate confirmation
  reads), keyed by the version.
- `StoryBand` and `StoryPassage`: the lookup index, as rows: an LSH band of a signature,
  or the hash of a long passage, with the article that carries it. A new version looks
  up each of its keys by the primary key (bounded, never a scan).
- `Story` and `StoryMember`: the clusters. An article belongs to at most one story;
  when an article bridges two stories they are merged into the older one, and the
  younger keeps its row with `merged_into` set, so an id handed out earlier still leads
  somewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from archive.store.models import Base


class StoryOutbox(Base):
    __tablename__ = "story_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class StorySketch(Base):
    __tablename__ = "story_sketches"

    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    # The signature: `archive.stories` packs its minimums as little-endian uint32s.
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    shingles: Mapped[int] = mapped_column(Integer)
    sketched_at: Mapped[datetime]


class StoryBand(Base):
    __tablename__ = "story_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)

    # On SQLite the key is the row: no rowid beside it (half the bytes).
    __table_args__ = {"sqlite_with_rowid": False}


class StoryPassage(Base):
    __tablename__ = "story_passages"

    passage_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)

    __table_args__ = {"sqlite_with_rowid": False}


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    merged_into: Mapped[int | None] = mapped_column(Integer)


class StoryMember(Base):
    __tablename__ = "story_members"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id"), primary_key=True, autoincrement=False
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    joined_at: Mapped[datetime]
    # Why this article is in the story: one entry per article it was matched with, the
    # strongest few only (archive.stories.index.MAX_SHARED_ENTRIES), strongest first,
    # {article_id, how: "near_duplicate" | "passage", similarity, passages: [excerpt…]}.
    shared: Mapped[list[Any]] = mapped_column(default=list)
