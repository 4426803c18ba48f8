"""What kind of edit one version made to the one before, with the evidence.

Pure: two ``VersionSide`` values in, a list of classes and a score out; no DB, clock or
network. ``judge_edit`` is the one entry point; capture stores its result on each
``edited`` event (``detail["classes"]``, ``detail["significance"]``) and
``archive.views.export`` computes it on the fly for events recorded before it existed.

This module is the classifier: which classes an edit has (``classify_edit``). The
evidence of the larger classes is found next to it (`edit_text` for paragraphs,
`edit_tone`, `edit_quotes`, `edit_names`), the 0–1 score in `edit_significance`. A new
class is a name in ``CLASS_NAMES``, a rule in ``classify_edit`` and a weight in
``edit_significance.CLASS_WEIGHTS``.

Classes (each ``{"class": name, ...evidence}``):

- ``headline_changed``: ``old``, ``new``, ``tone`` (``softened``, ``sharpened`` or
  ``reworded``), judged with the short word lists of `archive.content.edit_tone`.
- ``paragraphs_removed`` / ``paragraphs_added``: ``paragraphs`` (text) and
  ``positions`` (paragraph numbers from 1, in the old / new text). A paragraph is a line of the
  normalized text; one whose words are at least half kept is edited, not removed.
- ``quote_removed``: ``quotes``: quoted passages (“…”, "…", «…», ‘…’, '…') of the old text that
  the new one no longer has, nor anything close to them.
- ``numbers_changed``: ``changes``: ``[{"old": "212", "new": "200", "where": "title"}]``
  (``where``: ``title`` or ``paragraph N`` of the old text), numbers that
  took another value inside a paragraph kept in both versions (Khmer digits compared
  by value). Numbers in removed or added paragraphs are those classes' business.
- ``names_removed``: ``names``: people and organisations named before and no longer.
  A documented heuristic (see `archive.content.edit_names`): in Latin script, runs of
  capitalised words and acronyms, minus a short list of places and sentence openers; in
  Khmer, the words after a title (លោក, ឯកឧត្តម…) and words starting like an organisation
  (ក្រសួង, អង្គការ…). No NER model: none for Khmer runs offline from a package index,
  and a rule that can be read explains its own mistakes.
- ``byline_removed`` / ``byline_changed``: ``old``, ``new``.
- ``date_moved``: the publication date changed: ``old``, ``new``, ``days``.
- ``images_changed``: ``removed``, ``added`` (``[{src, alt, phash}]``) and ``replaced``
  (``[{src, alt, old_alt, old_phash, new_phash, distance}]``): the article's pictures
  changed; a photo replaced under the same address counts, the same photo recompressed
  or resized does not (`archive.content.edit_images`, threshold
  `archive.content.image_hash.PHASH_MAX_DISTANCE`). Never judged against a version
  whose images are unknown (recorded before images were kept).
- ``correction_added``: ``notes``: paragraphs of the new text with a correction or
  editor's note (``NOTE_PATTERNS``) that the old text did not have.
- ``silent_edit``: the title or text changed and no correction note was added.

Significance (``significance``), a 0–1 score: see `archive.content.edit_significance`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import regex

from archive.content.align import Budget, align
from archive.content.diff import DiffOp, VersionSide
from archive.content.edit_images import images_changed
from archive.content.edit_names import names_removed
from archive.content.edit_quotes import quotes_removed
from archive.content.edit_significance import edit_significance
from archive.content.edit_text import align_paragraphs, folded, paragraphs
from archive.content.edit_tone import headline_tone
from archive.i18n import describe_edit_class

__all__ = [
    "CLASS_NAMES",
    "NOTE_PATTERNS",
    "classify_edit",
    "describe_class",
    "judge_edit",
]

log = logging.getLogger(__name__)

CLASS_NAMES = (
    "headline_changed",
    "paragraphs_removed",
    "paragraphs_added",
    "quote_removed",
    "numbers_changed",
    "names_removed",
    "byline_removed",
    "byline_changed",
    "date_moved",
    "images_changed",
    "correction_added",
    "silent_edit",
)

# A correction or editor's note, as outlets word them (English, Khmer).
NOTE_PATTERNS = regex.compile(
    r"\bcorrection\b|\bcorrected\b|\bclarification\b|editor['’]s note|"
    r"an earlier version of this|this (?:article|story|report) (?:has been|was) "
    r"(?:updated|amended|changed|edited)|\bupdated\s*:|\bupdate\s*:|"
    r"កែតម្រូវ|កំណែតម្រូវ|កំណត់សម្គាល់(?:របស់)?និពន្ធនាយក|អត្ថបទនេះត្រូវបាន(?:កែប្រែ|ធ្វើបច្ចុប្បន្នភាព)|"
    r"ធ្វើបច្ចុប្បន្នភាព",
    regex.IGNORECASE,
)

_NUMBER = regex.compile(r"(?<![\p{L}\p{N}])[0-9០-៩]+(?:[.,][0-9០-៩]+)*(?![\p{L}\p{N}])")
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


def judge_edit(
    old: VersionSide, new: VersionSide, *, body: Sequence[DiffOp] | None = None
) -> dict[str, Any]:
    """``{"classes": [...], "significance": x}`` for the edit from ``old`` to ``new``;
    ``{}`` (and the traceback logged) if judging fails. A bug here must never cost a
    capture its record: the edit is archived either way, only unclassed.

    ``body``: the body's diff when the caller has it (capture computes it once). Every
    alignment here draws on one work budget (archive.content.align), as a diff does: archived
    text is hostile, and a text of repeated sentences must not stall a capture."""
    try:
        budget = Budget()
        classes = classify_edit(old, new, budget=budget)
        score = edit_significance(old, new, classes, budget=budget, body=body)
        return {"classes": classes, "significance": score}
    except Exception:  # noqa: BLE001 - see the docstring: judging is optional, capture is not
        log.exception(
            "could not judge an edit (%s → %s); recorded without classes", old.label, new.label
        )
        return {}


def classify_edit(
    old: VersionSide, new: VersionSide, *, budget: Budget | None = None
) -> list[dict[str, Any]]:
    """The classes of this edit in ``CLASS_NAMES`` order, each with its evidence."""
    budget = Budget() if budget is None else budget
    found: list[dict[str, Any]] = []
    old_paras, new_paras = paragraphs(old.text), paragraphs(new.text)
    removed, added, pairs = align_paragraphs(old_paras, new_paras, budget)

    if (old.title or "") != (new.title or ""):
        found.append(
            {
                "class": "headline_changed",
                "old": old.title,
                "new": new.title,
                "tone": headline_tone(old.title or "", new.title or ""),
            }
        )
    if removed:
        found.append(
            {
                "class": "paragraphs_removed",
                "paragraphs": [old_paras[i] for i in removed],
                "positions": [i + 1 for i in removed],
            }
        )
    if added:
        found.append(
            {
                "class": "paragraphs_added",
                "paragraphs": [new_paras[j] for j in added],
                "positions": [j + 1 for j in added],
            }
        )
    quotes = quotes_removed(old.text, new.text, budget)
    if quotes:
        found.append({"class": "quote_removed", "quotes": quotes})
    numbers = _numbers_changed(
        [("title", old.title or "", new.title or "")]
        + [(f"paragraph {i + 1}", old_paras[i], new_paras[j]) for i, j in pairs],
        budget,
    )
    if numbers:
        found.append({"class": "numbers_changed", "changes": numbers})
    names = names_removed(f"{old.title or ''}\n{old.text}", f"{new.title or ''}\n{new.text}")
    if names:
        found.append({"class": "names_removed", "names": names})
    if old.byline and not new.byline:
        found.append({"class": "byline_removed", "old": old.byline, "new": new.byline})
    elif (old.byline or "") != (new.byline or ""):
        found.append({"class": "byline_changed", "old": old.byline, "new": new.byline})
    if old.published and new.published and old.published != new.published:
        found.append(
            {
                "class": "date_moved",
                "old": old.published,
                "new": new.published,
                "days": _days_between(old.published, new.published),
            }
        )
    pictures = images_changed(old.images, new.images)
    if pictures is not None:
        found.append(pictures)
    notes = _notes_added(old_paras, new_paras)
    if notes:
        found.append({"class": "correction_added", "notes": notes})
    text_changed = old.text != new.text or (old.title or "") != (new.title or "")
    if text_changed and not notes:
        found.append({"class": "silent_edit"})
    return found


def describe_class(item: dict[str, Any]) -> str:
    """An edit class in a few words, in English, for feeds and reports: its name, and
    the gist of its evidence (the headline's tone, how many paragraphs, which numbers).
    The words are the message catalogs' own (`archive.i18n.describe_edit_class` says
    them in the reader's language)."""
    return describe_edit_class(item, str)


# -- numbers, notes and dates -------------------------------------------------------------


def _number_value(text: str) -> str:
    return text.translate(_KHMER_DIGITS).replace(",", "")


def _numbers_changed(pairs: Iterable[tuple[str, str, str]], budget: Budget) -> list[dict[str, str]]:
    changes: list[dict[str, str]] = []
    for where, old, new in pairs:
        a, b = _NUMBER.findall(old), _NUMBER.findall(new)
        values_a = [_number_value(n) for n in a]
        values_b = [_number_value(n) for n in b]
        for tag, i1, i2, j1, j2 in align(values_a, values_b, budget):
            if tag == "replace" and i2 - i1 == j2 - j1:
                changes.extend(
                    {"old": a[i], "new": b[j], "where": where}
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
    return changes


def _notes_added(old_paras: list[str], new_paras: list[str]) -> list[str]:
    before = {folded(p) for p in old_paras}
    old_count = sum(len(NOTE_PATTERNS.findall(p)) for p in old_paras)
    notes = [p for p in new_paras if NOTE_PATTERNS.search(p) and folded(p) not in before]
    new_count = sum(len(NOTE_PATTERNS.findall(p)) for p in new_paras)
    return notes if new_count > old_count else []


def _days_between(old: str, new: str) -> float | None:
    try:
        a, b = datetime.fromisoformat(old), datetime.fromisoformat(new)
        if (a.tzinfo is None) != (b.tzinfo is None):
            a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
        return round((b - a).total_seconds() / 86400, 2)
    except ValueError:
        return None
