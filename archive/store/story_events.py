"""The tables of events that concern a story rather than one capture (`archive.stories`
owns their rules): `removed_together`, when copies of one story are removed at several
outlets within a few days.

Why not `change_events`: a ChangeEvent belongs to one capture, and that capture's leaf
in the transparency log commits to it, detail and all (archive.log.seal). A story event
is derived from several captures' removals, found after the fact (a story may form
after its copies were removed), and grows while its episode lasts; it could not be
committed by the leaf of a capture that was already sealed without rewriting the log.
So it lives here: derived rows, recomputable from the removals they name, each of which
stays committed by its own capture's leaf.

- `StoryEvent`: one per story and episode. `at` is the moment the episode reached the
  threshold (the recorded time of the removal that made it N outlets), fixed once set;
  `detail` names every copy's removal and is extended by later removals of the same
  episode (its `updated_at` says when). `merged_into` is set when two stories merge
  and their episodes turn out to be one.
- `StoryEventRemoval`: which removal (`change_events.id`) belongs to which event; a
  removal belongs to one episode at most.
- `StoryEventOutbox`: articles whose story must be looked at again: a removal was
  recorded, or the article joined a story (which may have merged two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.store.models import Base


class StoryEvent(Base):
    __tablename__ = "story_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # The copy whose removal reached the threshold: the row `changes` lists it under.
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    # The episode: the first removal's date, and the window's end (first + days).
    first_removed_at: Mapped[datetime]
    window_ends_at: Mapped[datetime]
    outlets: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    merged_into: Mapped[int | None] = mapped_column(Integer)


class StoryEventRemoval(Base):
    __tablename__ = "story_event_removals"

    change_event_id: Mapped[int] = mapped_column(
        ForeignKey("change_events.id"), primary_key=True, autoincrement=False
    )
    story_event_id: Mapped[int] = mapped_column(ForeignKey("story_events.id"), index=True)
    article_id: Mapped[int] = mapped_column(Integer, index=True)


class StoryEventOutbox(Base):
    __tablename__ = "story_event_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
