"""The query language users type into search, parsed once and rendered for each engine.

What a user can write::

    scam compound            both words (AND is implicit)
    "forced labour"          a phrase: the words next to each other, in order
    -casino  -"press release"  exclude a word or a phrase
    raid OR rescue           either word; OR binds tighter than the implicit AND, so
                             `police raid OR rescue` is police AND (raid OR rescue)

Nothing else is syntax. `*`, `^`, `:`, parentheses, `NEAR(`, `AND`, `NOT` and column
names are ordinary text: a word without any letter, digit or mark is dropped, and
every other word reaches FTS5 only inside a double-quoted string (design rule 6,
datasette's `escape_fts`), so a user cannot write FTS5 syntax. An unbalanced quote
makes the rest of the query one phrase. Control characters, lone surrogates and
private-use characters become spaces. What cannot be run raises `BadQuery` with what
to change: a query longer than `MAX_QUERY_CHARS`, more than `MAX_TERMS` words and
phrases, only exclusions, an exclusion joined by OR, or (on Meilisearch, which has no
OR) more than `MAX_ALTERNATIVES` combinations of OR alternatives.

Queries are normalized with `archive.content.normalize.normalize_text`, exactly as indexed
text is, so Khmer typed in any code-point order matches the archive's canonical order,
and Khmer is segmented by `search_api.khmer` on both sides (cluster pairs for FTS5,
clusters for Meilisearch).
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass

from archive.content import normalize_text
from archive.errors import BadQuery
from search_api import symbols
from search_api.khmer import SEPARATOR, ends_with_khmer, has_khmer, query_bigrams, segment

__all__ = [
    "MAX_ALTERNATIVES",
    "MEILI_MAX_TERMS",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "AnyOf",
    "Atom",
    "ParsedQuery",
    "fts5_string",
    "meili_queries",
    "parse_query",
    "to_fts5",
]

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_ALTERNATIVES = 16
# Meilisearch keeps the first 10 words and phrases of a query and ignores the rest
# (milli's `words_limit`, not settable over HTTP).
MEILI_MAX_TERMS = 10


@dataclass(frozen=True, slots=True)
class Atom:
    """One word or phrase, normalized. `phrase` is True when the user quoted it."""

    text: str
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A clause that matches when any of its atoms does (one atom: a plain term)."""

    atoms: tuple[Atom, ...]


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """All `clauses` must match and no `excluded` atom may. Empty: list everything."""

    clauses: tuple[AnyOf, ...] = ()
    excluded: tuple[Atom, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.clauses

    def atoms(self) -> list[Atom]:
        """Every positive atom, in the order typed."""
        return [atom for clause in self.clauses for atom in clause.atoms]

    def alternatives(self) -> list[tuple[Atom, ...]]:
        """The query as a disjunction of plain conjunctions (for engines without OR)."""
        return [tuple(combo) for combo in itertools.product(*(c.atoms for c in self.clauses))]


# -- parsing -----------------------------------------------------------------------------

_OR = object()  # marker for the OR operator in the scanned item list
_OR_WITH_EXCLUSION = (
    "OR joins words or phrases to look for, not exclusions: remove the OR next to the "
    "-word, or the minus"
)
_DROPPED_CATEGORIES = ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")
# Invisible word-break hints and joiners: `normalize_text` removes them exactly as it
# does from archived text, so they must reach it rather than become spaces.
_LEFT_TO_NORMALIZE = frozenset("\u200b\ufeff\u200c\u200d")


def _clean(raw: str) -> str:
    out: list[str] = []
    for ch in raw:
        # Lone surrogates (possible from JSON) cannot be encoded for SQLite; control,
        # format and private-use characters are separators to the tokenizer anyway,
        # and private-use ones are our snippet sentinels.
        if ch not in _LEFT_TO_NORMALIZE and unicodedata.category(ch) in _DROPPED_CATEGORIES:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _searchable(text: str) -> bool:
    """True when the FTS tokenizer would find a token in `text` (letters, digits, marks)."""
    return any(unicodedata.category(ch)[0] in "LNM" for ch in text)


def _scan(text: str) -> tuple[list[object], bool]:
    """Split into atoms (with their exclusion flag) and OR markers; also report
    whether something typed was dropped as unsearchable."""
    items: list[object] = []
    dropped = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = False
        if ch == "-":
            j = i
            while j < n and text[j] == "-":
                j += 1
            if j >= n or text[j].isspace():
                i = j  # a free-standing minus is punctuation
                dropped = True
                continue
            negated = True
            i = j
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            body = text[i + 1 :] if end < 0 else text[i + 1 : end]
            i = n if end < 0 else end + 1
            atom = Atom(" ".join(body.split()), phrase=True)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != '"':
                j += 1
            word = text[i:j]
            i = j
            if word == "OR" and not negated:
                items.append(_OR)
                continue
            atom = Atom(word)
        if not _searchable(atom.text):
            dropped = True
            continue
        items.append((negated, atom))
    return items, dropped


def parse_query(raw: str) -> ParsedQuery:
    """Parse what a user typed. Raises `BadQuery` saying what to change."""
    if not isinstance(raw, str):
        raise BadQuery(f"the query must be text, not {type(raw).__name__}")
    if len(raw) > MAX_QUERY_CHARS:
        raise BadQuery(
            f"the query is {len(raw)} characters long; shorten it to at most "
            f"{MAX_QUERY_CHARS} characters"
        )
    text = normalize_text(_clean(raw)).replace("\n", " ")
    items, dropped = _scan(text)

    clauses: list[list[Atom]] = []
    excluded: list[Atom] = []
    previous = "start"  # start | term | excluded | or
    for item in items:
        if item is _OR:
            if previous == "excluded":
                raise BadQuery(_OR_WITH_EXCLUSION)
            previous = "or" if previous == "term" else previous  # dangling OR: ignored
            continue
        assert isinstance(item, tuple)
        negated, atom = item
        if negated:
            if previous == "or":
                raise BadQuery(_OR_WITH_EXCLUSION)
            if atom not in excluded:
                excluded.append(atom)
            previous = "excluded"
        elif previous == "or":
            if atom not in clauses[-1]:
                clauses[-1].append(atom)
            previous = "term"
        else:
            clauses.append([atom])
            previous = "term"

    terms = sum(len(c) for c in clauses) + len(excluded)
    if terms > MAX_TERMS:
        raise BadQuery(
            f"the query has {terms} words and phrases; use at most {MAX_TERMS} "
            "(quote a long passage as one phrase)"
        )
    if not clauses and excluded:
        raise BadQuery(
            "the query only excludes (-word); add at least one word or phrase to look for"
        )
    if not clauses and dropped:
        raise BadQuery(
            "the query has no letters or digits to search for; wildcards such as * and "
            "operators other than quotes, -word and OR are not supported"
        )
    return ParsedQuery(
        clauses=tuple(AnyOf(tuple(c)) for c in clauses),
        excluded=tuple(excluded),
    )


# -- SQLite FTS5 -------------------------------------------------------------------------


def fts5_string(text: str) -> str:
    """`text` as an FTS5 string literal: inside double quotes every character is
    literal except the double quote, which is doubled."""
    return '"' + text.replace('"', '""') + '"'


def _fts5_atom(atom: Atom) -> str:
    literal = fts5_string(query_bigrams(atom.text))
    # A Khmer search word stops where the user stopped typing, often inside a written
    # cluster (a final subscript or vowel left off): its last cluster pair is a prefix.
    return literal + "*" if ends_with_khmer(atom.text) else literal


def to_fts5(query: ParsedQuery) -> str:
    """The FTS5 MATCH expression for `query` (bind it as a parameter, never format it
    into SQL). Raises `BadQuery` for an empty query: list without MATCH instead."""
    if query.is_empty:
        raise BadQuery("an empty query has no MATCH expression; list without one")
    parts = []
    for clause in query.clauses:
        rendered = [_fts5_atom(a) for a in clause.atoms]
        parts.append(rendered[0] if len(rendered) == 1 else "(" + " OR ".join(rendered) + ")")
    expr = " AND ".join(parts)
    if query.excluded:
        expr = "(" + expr + ")" + "".join(" NOT " + _fts5_atom(a) for a in query.excluded)
    return expr


# -- Meilisearch -------------------------------------------------------------------------


def _meili_words(atom: Atom) -> list[str]:
    # Meilisearch's q syntax has two operators: "phrase" and a leading minus. Neither a
    # double quote nor a leading minus can survive parsing, but strip them anyway so
    # this function is safe on its own.
    text = symbols.isolate(segment(atom.text))
    words = text.replace(SEPARATOR, " ").replace('"', " ").split()
    return [w.lstrip("-") or w for w in words]


def _meili_phrase(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


def _meili_positive(atoms: tuple[Atom, ...]) -> tuple[list[str], int]:
    """The positive part of one alternative, and how many query terms it makes.

    Every word is sent as a phrase, even alone: a phrase matches exactly (no typo
    tolerance, no prefix), as FTS5 does, and a word in a phrase is never dropped. The
    one exception: an alternative whose last atom ends in Khmer ends the `q` with that
    atom's last cluster as a bare word, which Meilisearch matches as a prefix (the last
    word of a query), so a Khmer word typed shorter than its written cluster matches, as
    the FTS5 backend's last-pair prefix does."""
    parts: list[str] = []
    for i, atom in enumerate(atoms):
        words = _meili_words(atom)
        if i == len(atoms) - 1 and ends_with_khmer(atom.text):
            if len(words) > 1:
                parts.append(_meili_phrase(words[:-1]))
            parts.append(words[-1])
        else:
            parts.append(_meili_phrase(words))
    return parts, len(parts)


def meili_queries(query: ParsedQuery) -> list[str]:
    """Meilisearch `q` strings whose results, united, are exactly the results of
    `query`.

    Meilisearch has no OR: each combination of OR alternatives becomes one `q`.
    Exclusions come first (`-word`, `-"phrase"`), then every positive word or phrase
    quoted (see `_meili_positive`). Meilisearch reads at most `MEILI_MAX_TERMS` positive
    terms and silently ignores the rest, so a longer alternative raises `BadQuery`
    rather than match more than was asked for.
    """
    if query.is_empty:
        return [""]
    alternatives = query.alternatives()
    if len(alternatives) > MAX_ALTERNATIVES:
        raise BadQuery(
            f"the OR alternatives in this query combine into {len(alternatives)} searches; "
            f"use fewer ORs (at most {MAX_ALTERNATIVES} combinations)"
        )
    exclusions = []
    for atom in query.excluded:
        words = _meili_words(atom)
        exclusions.append(
            "-"
            + (
                _meili_phrase(words)
                if atom.phrase or len(words) > 1 or has_khmer(atom.text)
                else words[0]
            )
        )
    out = []
    for combo in alternatives:
        parts, terms = _meili_positive(combo)
        if terms > MEILI_MAX_TERMS:
            raise BadQuery(
                f"this query has {terms} words and phrases to look for; the Meilisearch "
                f"backend runs at most {MEILI_MAX_TERMS}: quote a passage as one phrase"
            )
        out.append(" ".join([*exclusions, *parts]))
    return out
