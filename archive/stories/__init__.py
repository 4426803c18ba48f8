"""Stories: the same text at several outlets (issue 25). Versions of different articles
(other outlets, other sections, another language site of one outlet) that are
near-duplicates or share a long passage belong to one story. Pure rules and rows: no
network, no clock it is not handed; sessions are the caller's.

How (constants in `sketch` and `index`, each explained there):
- each version's normalized text is cut into words (Khmer into the orthographic
  clusters search uses, two clusters counted as one word), shingled 5 words at a time,
  and sketched as a 64-bucket
  one-permutation MinHash signature;
- the signature's 16 LSH bands (4 buckets each) and the hashes of its long passages
  (runs of whole sentences of at least 25 words) are stored as rows (`story_bands`,
  `story_passages`) keyed for lookup, so adding a version costs a bounded number of
  indexed lookups on SQLite and PostgreSQL alike, never a scan;
- a candidate joins the story when its estimated Jaccard similarity is at least 0.6, or
  when it is at another source and shares passages covering at least 60 words; two
  stories an article bridges are merged (the older keeps its id, the younger records
  `merged_into`); each member's `shared` says whom it was matched with, how, and the
  passages they share (its strongest matches only, at most `MAX_SHARED_ENTRIES`).

Public names:
- `sketch_version(session, version, *, now) -> list[Match]`: sketch, index and join
  one version; idempotent.
- `sketch_pending(session, *, now, limit=200) -> int`: drain up to `limit` rows of the
  story outbox (which `record_capture` fills); 0 when empty.
- `story_of(session, article_id) -> StoryView | None`: `{id, copies, shared}`, the
  copies (`Copy(article_id, url, source, status)`) excluding the article itself; None
  when it stands alone.
- `stories_of(session, article_ids) -> {article_id: story_id}`: for grouping hits.
- `copies_with_passage(session, text, exclude_article_id) -> list[Copy]`: live copies
  (live or edited) whose current version still carries `text` word for word.
- `find_removed_together(session, *, outlets, days, now, limit=200)`: drain the
  story-event outbox (removals recorded, articles that joined a story) and create or
  extend the `removed_together` events of the stories touched (archive.stories.together);
  `story_events_of(session, article_id)`: those naming the article's removals;
  `episodes_of`: the pure grouping of removals into episodes.
- `sketch_text`, `tokens_of`, `passages_of`, `estimate_jaccard`: the pure steps, and
  the thresholds `NEAR_DUPLICATE`, `PASSAGE_WORDS`, `SHARED_WORDS`.
"""

from archive.stories.index import (
    SHARED_WORDS,
    Match,
    find_matches,
    sketch_pending,
    sketch_version,
)
from archive.stories.lookup import Copy, StoryView, copies_with_passage, stories_of, story_of
from archive.stories.sketch import (
    NEAR_DUPLICATE,
    PASSAGE_WORDS,
    Passage,
    Sketch,
    estimate_jaccard,
    passages_of,
    sketch_text,
    tokens_of,
)
from archive.stories.together import (
    DEFAULT_TOGETHER_DAYS,
    DEFAULT_TOGETHER_OUTLETS,
    Removal,
    episodes_of,
    find_removed_together,
    story_events_of,
)

__all__ = [
    "DEFAULT_TOGETHER_DAYS",
    "DEFAULT_TOGETHER_OUTLETS",
    "Removal",
    "episodes_of",
    "find_removed_together",
    "story_events_of",
    "NEAR_DUPLICATE",
    "PASSAGE_WORDS",
    "SHARED_WORDS",
    "Copy",
    "Match",
    "Passage",
    "Sketch",
    "StoryView",
    "copies_with_passage",
    "estimate_jaccard",
    "find_matches",
    "passages_of",
    "sketch_pending",
    "sketch_text",
    "sketch_version",
    "stories_of",
    "story_of",
    "tokens_of",
]
