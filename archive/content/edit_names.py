"""People and organisations named in a text, and those an edit removed (the evidence of
``names_removed``).

A documented heuristic, not a model: in Latin script, runs of capitalised words and
acronyms, minus a short list of places and sentence openers (one capitalised word is a
name only as an acronym or after a title, "Mr Sokha"); in Khmer, the words after a
title (លោក, ឯកឧត្តម…) and words starting like an organisation (ក្រសួង, អង្គការ…). No NER
model: none for Khmer runs offline from a package index, and a rule that can be read
explains its own mistakes.

Pure; a long hostile line costs linear time.
"""

from __future__ import annotations

import regex

from archive.content.edit_text import folded, has_khmer

__all__ = [
    "names_removed",
]


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
                if not has_khmer(part) or _graphemes(part) > _KM_NAME_PART:
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
        if not has_khmer(cluster) or tail.startswith(_KM_ORG_STOPS):
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


def names_removed(old: str, new: str) -> list[str]:
    """The people and organisations ``old`` names that ``new`` no longer does."""
    new_flat = folded(new)
    gone = []
    for name in _names(old):
        words = name.split()
        # "Police Lt. Chea Sokha" still named as "Lt. Chea Sokha" is not removed.
        core = " ".join(words[-2:]) if not has_khmer(name) else name
        if folded(name) not in new_flat and folded(core) not in new_flat:
            gone.append(name)
    return gone
