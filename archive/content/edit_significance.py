"""How significant an edit is: a 0–1 score from its size, where it starts and its
classes (`archive.content.editclass`).

Components combine as ``1 - Π(1 - c)`` so each adds and none can push past 1; the score
is rounded to 3 places:

- size: ``0.5 · min(1, 2 · share) · lead``, where ``share`` is the words changed
  (the larger of added and removed) over the longer text's words, and ``lead`` is
  ``1 - 0.5 · p`` with ``p`` the relative position (0 top, 1 bottom) of the first
  changed paragraph: changes near the top are read by more people;
- each class: ``CLASS_WEIGHTS[class]``, times ``lead`` for classes of the body; the
  headline weighs most (``headline_changed`` 0.35, plus ``TONE_WEIGHT`` 0.15 more when
  its tone moved).

A photo swapped under its address (``images_changed``) alone scores 0.3: text size
adds nothing, and 0.3 is the report's default bar. A typo fix scores about 0.05, a
removed paragraph naming an official about 0.6, a softened headline about 0.5. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archive.content.align import Budget
from archive.content.diff import DiffOp, VersionSide, diff_stats, diff_text
from archive.content.edit_text import edit_words, first_change_position, paragraphs

__all__ = [
    "CLASS_WEIGHTS",
    "TONE_WEIGHT",
    "edit_significance",
]

CLASS_WEIGHTS = {
    "headline_changed": 0.35,
    "paragraphs_removed": 0.3,
    "paragraphs_added": 0.15,
    "quote_removed": 0.3,
    "numbers_changed": 0.3,
    "names_removed": 0.35,
    "byline_removed": 0.25,
    "byline_changed": 0.15,
    "date_moved": 0.2,
    # A photo swapped or taken out changes what readers saw as much as a paragraph.
    "images_changed": 0.3,
    "correction_added": 0.1,
    "silent_edit": 0.05,
}
TONE_WEIGHT = 0.15  # added to the headline's weight when it was softened or sharpened
_BODY_CLASSES = frozenset(
    {"paragraphs_removed", "paragraphs_added", "quote_removed", "numbers_changed"}
)


def edit_significance(
    old: VersionSide,
    new: VersionSide,
    classes: Sequence[dict[str, Any]],
    *,
    budget: Budget | None = None,
    body: Sequence[DiffOp] | None = None,
) -> float:
    """The documented 0–1 score (module docstring) of an edit and its classes; ``body``
    is the body's diff if the caller has it (else it is computed here)."""
    budget = Budget() if budget is None else budget
    stats = diff_stats(diff_text(old.text, new.text) if body is None else body)
    words = max(len(edit_words(old.text)), len(edit_words(new.text)), 1)
    share = max(stats.words_added, stats.words_removed) / words
    where = first_change_position(paragraphs(old.text), paragraphs(new.text), budget)
    lead = 1.0 - 0.5 * where
    components = [0.5 * min(1.0, 2 * share) * lead]
    for item in classes:
        name = item["class"]
        weight = CLASS_WEIGHTS.get(name, 0.0)
        if name == "headline_changed" and item.get("tone") in ("softened", "sharpened"):
            weight += TONE_WEIGHT
        components.append(weight * (lead if name in _BODY_CLASSES else 1.0))
    keep = 1.0
    for c in components:
        keep *= 1.0 - min(1.0, max(0.0, c))
    return round(1.0 - keep, 3)
