"""What kind of edit one version made to the one before, with the evidence, and how
significant it is (a 0–1 score).

Pure: two ``VersionSide`` values in, a list of classes and a score out; no DB, clock or
network. ``judge_edit`` is the one entry point; capture stores its result on each
``edited`` event (``detail["classes"]``, ``detail["significance"]``) and
``archive.views.export`` computes it on the fly for events recorded before it existed.

Classes (each ``{"class": name, ...evidence}``):

- ``headline_changed``: ``old``, ``new``, ``tone`` (``softened``, ``sharpened`` or
  ``reworded``), judged with the short word lists below (``STRONG_WORDS``: words that
  accuse or alarm; ``HEDGE_WORDS``: words that distance or doubt). Fewer strong words or
  more hedges is softened; the reverse is sharpened.
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
  A documented heuristic (see ``_names``): in Latin script, runs of capitalised words
  and acronyms, minus a short list of places and sentence openers; in Khmer, the words
  after a title (លោក, ឯកឧត្តម…) and words starting like an organisation (ក្រសួង,
  អង្គការ…). No NER model: none for Khmer runs offline from a package index, and a
  rule that can be read explains its own mistakes.
- ``byline_removed`` / ``byline_changed``: ``old``, ``new``.
- ``date_moved``: the publication date changed: ``old``, ``new``, ``days``.
- ``correction_added``: ``notes``: paragraphs of the new text with a correction or
  editor's note (``NOTE_PATTERNS``) that the old text did not have.
- ``silent_edit``: the title or text changed and no correction note was added.

Significance (``significance``), rounded to 3 places: components combine as
``1 - Π(1 - c)`` so each adds and none can push past 1:

- size: ``0.5 · min(1, 2 · share) · lead``, where ``share`` is the words changed
  (the larger of added and removed) over the longer text's words, and ``lead`` is
  ``1 - 0.5 · p`` with ``p`` the relative position (0 top, 1 bottom) of the first
  changed paragraph: changes near the top are read by more people;
- each class: ``CLASS_WEIGHTS[class]``, times ``lead`` for classes of the body; the
  headline weighs most (``headline_changed`` 0.35, plus 0.15 more when its tone moved).

A typo fix scores about 0.05, a removed paragraph naming an official about 0.6, a
softened headline about 0.5.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import regex

from archive.content.align import Budget, align
from archive.content.diff import DiffOp, VersionSide, diff_stats, diff_text

__all__ = [
    "CLASS_NAMES",
    "CLASS_WEIGHTS",
    "HEDGE_WORDS",
    "NOTE_PATTERNS",
    "STRONG_WORDS",
    "classify_edit",
    "describe_class",
    "edit_significance",
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
    "correction_added",
    "silent_edit",
)

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
    "correction_added": 0.1,
    "silent_edit": 0.05,
}
TONE_WEIGHT = 0.15  # added to the headline's weight when it was softened or sharpened
_BODY_CLASSES = frozenset(
    {"paragraphs_removed", "paragraphs_added", "quote_removed", "numbers_changed"}
)

# Latin-script terms match whole words, or words starting with them when they end in
# "*" ("kill*": killed, killings); Khmer ones match as substrings, since Khmer writes
# no spaces between words.
# fmt: off
STRONG_WORDS = {
    "en": (
        "kill*", "murder*", "dead", "death*", "die", "died", "dies", "dying", "tortur*",
        "abuse*", "abusing", "beat", "beaten", "beating*", "rape*", "raping", "traffick*",
        "slave*", "slavery", "forced", "enslav*", "kidnap*", "abduct*", "captiv*", "scam*",
        "fraud*", "corrupt*", "brib*", "illegal*", "crime*", "criminal*", "raid*",
        "arrest*", "crackdown*", "jail*", "convict*", "guilty", "massacre*", "violen*",
        "attack*", "cover-up*", "coverup*", "collud*", "complicit*", "brutal*",
    ),
    "km": (
        "សម្លាប់", "ស្លាប់", "ធ្វើទារុណកម្ម", "វាយដំ", "រំលោភ", "ជួញដូរ", "ទាសករ", "បង្ខំ",
        "ចាប់ជំរិត", "បោកប្រាស់", "ពុករលួយ", "សូកប៉ាន់", "ខុសច្បាប់", "ឧក្រិដ្ឋ",
        "ចាប់ខ្លួន", "បង្ក្រាប", "ឃុំខ្លួន", "ហិង្សា",
    ),
}
HEDGE_WORDS = {
    "en": (
        "alleg*", "reportedly", "suspect*", "claim*", "may", "might", "could", "possibl*",
        "denies", "denied", "deny", "denial*", "said to", "unconfirmed", "rumo*",
        "dispute*", "question*", "accus*",
    ),
    "km": (
        "ចោទប្រកាន់", "សង្ស័យ", "អាច", "តាមការរាយការណ៍", "ត្រូវបានគេរាយការណ៍", "បដិសេធ",
        "ពាក្យចចាមអារ៉ាម", "មិនទាន់បញ្ជាក់",
    ),
}
# fmt: on

# A correction or editor's note, as outlets word them (English, Khmer).
NOTE_PATTERNS = regex.compile(
    r"\bcorrection\b|\bcorrected\b|\bclarification\b|editor['’]s note|"
    r"an earlier version of this|this (?:article|story|report) (?:has been|was) "
    r"(?:updated|amended|changed|edited)|\bupdated\s*:|\bupdate\s*:|"
    r"កែតម្រូវ|កំណែតម្រូវ|កំណត់សម្គាល់(?:របស់)?និពន្ធនាយក|អត្ថបទនេះត្រូវបាន(?:កែប្រែ|ធ្វើបច្ចុប្បន្នភាព)|"
    r"ធ្វើបច្ចុប្បន្នភាព",
    regex.IGNORECASE,
)

_KHMER = regex.compile(r"\p{Khmer}")
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:[-'’][\p{L}\p{M}\p{N}]+)*")
_NUMBER = regex.compile(r"(?<![\p{L}\p{N}])[0-9០-៩]+(?:[.,][0-9០-៩]+)*(?![\p{L}\p{N}])")
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
# Double quotes of every kind; single ones only where a word cannot touch them, so the
# apostrophe of "city's" never opens or closes a quote.
# A quote is at most 600 characters long, which also bounds the search from each opening
# mark: a hostile line of unclosed quotes must not cost its length squared.
_QUOTE = regex.compile(
    r"“([^”\n]{8,600}?)”|\"([^\"\n]{8,600}?)\"|«([^»\n]{8,600}?)»"
    r"|(?<![\p{L}\p{N}])[‘']([^\n]{8,600}?)[’'](?![\p{L}\p{N}])"
)
_MAX_CANDIDATES = 12  # new paragraphs an old one is compared with, the nearest first
_WINDOW = 2 * _MAX_CANDIDATES  # how far from its own position they are looked for
_KEEP_RATIO = 0.5  # a paragraph with at least half its words kept was edited, not removed
_QUOTE_KEPT = 0.8  # a quote this close to one still there was reworded, not removed


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
    old_paras, new_paras = _paragraphs(old.text), _paragraphs(new.text)
    removed, added, pairs = _align(old_paras, new_paras, budget)

    if (old.title or "") != (new.title or ""):
        found.append(
            {
                "class": "headline_changed",
                "old": old.title,
                "new": new.title,
                "tone": _tone(old.title or "", new.title or ""),
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
    quotes = _quotes_removed(old.text, new.text, budget)
    if quotes:
        found.append({"class": "quote_removed", "quotes": quotes})
    numbers = _numbers_changed(
        [("title", old.title or "", new.title or "")]
        + [(f"paragraph {i + 1}", old_paras[i], new_paras[j]) for i, j in pairs],
        budget,
    )
    if numbers:
        found.append({"class": "numbers_changed", "changes": numbers})
    names = _names_removed(f"{old.title or ''}\n{old.text}", f"{new.title or ''}\n{new.text}")
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
    notes = _notes_added(old_paras, new_paras)
    if notes:
        found.append({"class": "correction_added", "notes": notes})
    text_changed = old.text != new.text or (old.title or "") != (new.title or "")
    if text_changed and not notes:
        found.append({"class": "silent_edit"})
    return found


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
    words = max(_count_words(old.text), _count_words(new.text), 1)
    share = max(stats.words_added, stats.words_removed) / words
    where = _first_change_position(_paragraphs(old.text), _paragraphs(new.text), budget)
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


def describe_class(item: dict[str, Any]) -> str:
    """An edit class in a few words, for pages, feeds and reports: its name, and the
    gist of its evidence (the headline's tone, how many paragraphs, which numbers)."""
    name = str(item.get("class", "?"))
    words = name.replace("_", " ")
    if name == "headline_changed" and item.get("tone"):
        return f"headline {item['tone']}"
    if name in ("paragraphs_removed", "paragraphs_added"):
        return f"{words} ({len(item.get('paragraphs', []))})"
    if name == "numbers_changed":
        pairs = [f"{c.get('old')} → {c.get('new')}" for c in item.get("changes", [])[:3]]
        return f"{words} ({', '.join(pairs)})"
    if name == "names_removed":
        return f"{words} ({', '.join(str(n) for n in item.get('names', [])[:3])})"
    return words


# -- paragraphs ---------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    """Words to compare: Latin-script words, and Khmer split into grapheme clusters
    (no spaces between its words, so a cluster is the unit the diff uses too)."""
    words: list[str] = _WORD.findall(text.casefold())
    if not _KHMER.search(text):  # one search for the text, not one per word
        return words
    out: list[str] = []
    for word in words:
        if _KHMER.search(word):
            out.extend(regex.findall(r"\X", word))
        else:
            out.append(word)
    return out


def _count_words(text: str) -> int:
    return len(_words(text))


def _kept(wa: list[str], wb: list[str], budget: Budget) -> float:
    """The share of ``wa``'s words that ``wb`` keeps in order. Out of budget the count
    comes from the linear alignment, a lower bound: an edit may then read as a removal."""
    if not wa or not wb:
        return 0.0
    matched = sum(i2 - i1 for tag, i1, i2, _, _ in align(wa, wb, budget) if tag == "equal")
    return matched / len(wa)


def _align(
    old: list[str], new: list[str], budget: Budget
) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Old paragraphs removed, new ones added, and (old, new) pairs edited in place."""
    removed: list[int] = []
    added: list[int] = []
    pairs: list[tuple[int, int]] = []
    words: dict[str, list[str]] = {}  # each paragraph cut into words once

    def words_of(paragraph: str) -> list[str]:
        if paragraph not in words:
            words[paragraph] = _words(paragraph)
        return words[paragraph]

    for tag, i1, i2, j1, j2 in align(old, new, budget):
        if tag == "equal":
            continue
        taken: set[int] = set()
        for i in range(i1, i2):
            # Compare with the nearest candidates only, looked for in a window around
            # the same position: a rewrite of a long article would otherwise cost a
            # comparison (and a search) per pair of paragraphs.
            here = j1 + (i - i1)
            window = range(max(j1, here - _WINDOW), min(j2, here + _WINDOW + 1))
            free = [j for j in window if j not in taken]
            near = sorted(free, key=lambda j: abs(j - here))[:_MAX_CANDIDATES]
            wa = words_of(old[i])
            scored = [(_kept(wa, words_of(new[j]), budget), j) for j in near]
            kept, best = max(scored, default=(0.0, -1))
            if kept >= _KEEP_RATIO:
                pairs.append((i, best))
                taken.add(best)
            else:
                removed.append(i)
        added.extend(j for j in range(j1, j2) if j not in taken)
    return removed, sorted(added), pairs


def _first_change_position(old: list[str], new: list[str], budget: Budget) -> float:
    """Where the first changed paragraph sits in the old text: 0 top, 1 bottom."""
    for tag, i1, _i2, _j1, _j2 in align(old, new, budget):
        if tag != "equal":
            return min(1.0, i1 / max(len(old), 1))
    return 0.0


# -- headline tone ------------------------------------------------------------------------


def _count_terms(text: str, terms: Iterable[str]) -> int:
    folded = text.casefold()
    latin = [w for w in _WORD.findall(folded) if not _KHMER.search(w)]
    count = 0
    for term in terms:
        if _KHMER.search(term) or " " in term:
            count += folded.count(term)
        elif term.endswith("*"):
            count += sum(1 for w in latin if w.startswith(term[:-1]))
        else:
            count += latin.count(term)
    return count


def _tone(old: str, new: str) -> str:
    strong = [*STRONG_WORDS["en"], *STRONG_WORDS["km"]]
    hedge = [*HEDGE_WORDS["en"], *HEDGE_WORDS["km"]]
    delta = (_count_terms(new, strong) - _count_terms(old, strong)) - (
        _count_terms(new, hedge) - _count_terms(old, hedge)
    )
    if delta < 0:
        return "softened"
    if delta > 0:
        return "sharpened"
    return "reworded"


# -- quotes and numbers -------------------------------------------------------------------


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _quotes(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTE.finditer(text)]


def _quotes_removed(old: str, new: str, budget: Budget) -> list[str]:
    new_flat = _flat(new)
    new_quotes = [_flat(q) for q in _quotes(new)]
    gone = []
    for quote in _quotes(old):
        flat = _flat(quote)
        if flat in new_flat:
            continue
        if _reworded(flat, new_quotes, budget):
            continue
        if quote not in gone:
            gone.append(quote)
    return gone


def _reworded(flat: str, new_quotes: list[str], budget: Budget) -> bool:
    """Whether a new quote is close to ``flat`` (``_QUOTE_KEPT`` of its characters kept,
    as SequenceMatcher.ratio() counts). Each comparison is paid from the budget, so
    thousands of quotes cannot cost a pass over all pairs; out of budget, a quote is
    kept only when it is still there word for word."""
    for q in new_quotes:
        if budget.exhausted or not budget.charge(1):
            return False
        if 2 * min(len(flat), len(q)) < _QUOTE_KEPT * (len(flat) + len(q)):
            continue  # the lengths alone rule it out
        ops = align(flat, q, budget)
        if budget.exhausted:
            return False
        matched = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
        if 2 * matched >= _QUOTE_KEPT * (len(flat) + len(q)):
            return True
    return False


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


# -- names --------------------------------------------------------------------------------

# Capitalised words that start sentences or name places, not people or organisations.
# fmt: off
_NOT_NAMES = frozenset((
    "a", "after", "an", "and", "april", "as", "asia", "at", "august", "battambang", "bavet",
    "before", "but", "by", "cambodia", "cambodian", "china", "chinese", "december", "dr",
    "during", "february", "for", "friday", "from", "he", "i", "if", "in", "indonesia", "it",
    "its", "january", "july", "june", "kandal", "koh", "kong", "laos", "malaysia", "march",
    "may", "monday", "mr", "mrs", "ms", "myanmar", "november", "october", "of", "on", "or",
    "over", "penh", "philippines", "phnom", "poipet", "preah", "reap", "saturday",
    "september", "she", "siem", "sihanouk", "sihanoukville", "since", "southeast", "sunday",
    "thai", "thailand", "that", "the", "these", "they", "this", "those", "thursday", "to",
    "tuesday", "under", "vietnam", "we", "wednesday", "when", "while", "with", "without",
))
_TITLES_EN = frozenset((
    "capt", "col", "dr", "gen", "governor", "judge", "lord", "lt", "maj", "minister", "mr",
    "mrs", "ms", "sgt",
))
# fmt: on
_CAP_RUN = regex.compile(
    r"(?<![\p{L}\p{N}])\p{Lu}[\p{L}\p{M}'’.-]*"
    r"(?:[ \t]+(?:\p{Lu}[\p{L}\p{M}'’.-]*|of|for|and|de|al-|bin))*"
)
_ACRONYM = regex.compile(r"^\p{Lu}{2,8}s?$")
# fmt: off
_KM_TITLES = (
    "លោកស្រី", "អ្នកស្រី", "លោក", "ឯកឧត្តម", "លោកជំទាវ", "សម្តេច", "សម្ដេច", "ឧត្តមសេនីយ៍",
    "វរសេនីយ៍", "អនុសេនីយ៍", "កញ្ញា", "ព្រះតេជព្រះគុណ", "ចៅក្រម",
)
_KM_ORGS = (
    "ក្រសួង", "អង្គការ", "សមាគម", "ក្រុមហ៊ុន", "តុលាការ", "ស្នងការដ្ឋាន", "នាយកដ្ឋាន",
    "គណៈកម្មាធិការ", "គណបក្ស", "សហជីព", "មន្ទីរ", "ធនាគារ",
)
# fmt: on
_KM_NAME_PART = 8  # clusters: a Khmer name part is short; a longer chunk is a phrase
_KM_ORG_PART = 8  # clusters of an organisation's name kept after its prefix
# Function words that end a Khmer name run: did, that, will, not, and, of, which, at, must.
_KM_STOPS = ("បាន", "ថា", "នឹង", "មិន", "និង", "របស់", "ដែល", "នៅ", "ត្រូវ", "ក៏", "បញ្ជាក់", "និយាយ")
# An organisation's name also ends at "is", "in", "from", "this".
_KM_ORG_STOPS = (*_KM_STOPS, "ជា", "ក្នុង", "ពី", "នេះ")
_KM_ORG_START = regex.compile("|".join(sorted(_KM_ORGS, key=len, reverse=True)))
_LINKS = frozenset({"of", "for", "and", "de", "al-", "bin"})


def _names(text: str) -> list[str]:
    """People and organisations named in ``text`` (the heuristic of the module docstring)."""
    found: list[str] = []
    for line in text.splitlines():
        for m in _CAP_RUN.finditer(line):
            found.extend(_latin_name(line, m.start(), m.group()))
        found.extend(_khmer_names(line))
    seen: dict[str, None] = {}
    for name in found:
        seen.setdefault(name, None)
    return list(seen)


def _latin_name(line: str, start: int, run: str) -> list[str]:
    words = run.split()
    before = line[max(0, start - 16) : start].split()  # the word before: a title?
    titled = _is_title(before[-1]) if before else False
    # Sentence openers, titles and places at the edges are not part of a name.
    while words and words[0].casefold().rstrip(".") in _NOT_NAMES:
        titled = titled or _is_title(words[0])
        words = words[1:]
    while words and (words[-1] in _LINKS or words[-1].casefold().rstrip(".") in _NOT_NAMES):
        words = words[:-1]
    if not words:
        return []
    if len(words) == 1:
        word = words[0].rstrip(".")
        # One capitalised word is a name only as an acronym or after a title ("Mr Sokha").
        return [word] if _ACRONYM.match(word) or titled else []
    return [" ".join(words).rstrip(".")]


def _is_title(word: str) -> bool:
    return word.casefold().rstrip(".") in _TITLES_EN


def _khmer_names(line: str) -> list[str]:
    chunks = line.split()
    out: list[str] = []
    for i, chunk in enumerate(chunks):
        if chunk in _KM_TITLES:
            parts = []
            for part in chunks[i + 1 : i + 3]:
                part = _strip_khmer_punct(part)
                if not _KHMER.search(part) or _graphemes(part) > _KM_NAME_PART:
                    break
                if part.startswith(_KM_STOPS):
                    break
                parts.append(part)
            if parts:
                out.append(" ".join(parts))
    for m in _KM_ORG_START.finditer(line):
        # A name is short: a bounded look ahead keeps a long hostile line linear.
        name = _khmer_org(m.group(), line[m.end() : m.end() + 120])
        if name:
            out.append(name)
    return out


def _khmer_org(prefix: str, rest: str) -> str | None:
    """The organisation's name: its prefix and what follows up to a function word,
    punctuation or ``_KM_ORG_PART`` clusters (Khmer runs words together)."""
    clusters: list[str] = []
    for cluster in _clusters(_strip_khmer_punct(rest)):
        tail = rest[len("".join(clusters)) :]
        if not _KHMER.search(cluster) or tail.startswith(_KM_ORG_STOPS):
            break
        clusters.append(cluster)
        if len(clusters) >= _KM_ORG_PART:
            break
    return prefix + "".join(clusters) if clusters else None


def _clusters(text: str) -> list[str]:
    """Grapheme clusters, with a coeng (U+17D2) keeping the consonant after it."""
    out: list[str] = []
    for g in regex.findall(r"\X", text):
        if out and out[-1].endswith("\u17d2"):
            out[-1] += g
        else:
            out.append(g)
    return out


def _graphemes(text: str) -> int:
    return len(_clusters(text))


def _strip_khmer_punct(text: str) -> str:
    return text.strip("។៕,.!?()“”«»:;")


def _names_removed(old: str, new: str) -> list[str]:
    new_flat = _flat(new)
    gone = []
    for name in _names(old):
        words = name.split()
        # "Police Lt. Chea Sokha" still named as "Lt. Chea Sokha" is not removed.
        core = " ".join(words[-2:]) if not _KHMER.search(name) else name
        if _flat(name) not in new_flat and _flat(core) not in new_flat:
            gone.append(name)
    return gone


def _notes_added(old_paras: list[str], new_paras: list[str]) -> list[str]:
    before = {_flat(p) for p in old_paras}
    old_count = sum(len(NOTE_PATTERNS.findall(p)) for p in old_paras)
    notes = [p for p in new_paras if NOTE_PATTERNS.search(p) and _flat(p) not in before]
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
