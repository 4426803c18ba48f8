"""Whether a changed headline was softened, sharpened or only reworded, judged with two
short word lists, English and Khmer: ``STRONG_WORDS`` (words that accuse or alarm) and
``HEDGE_WORDS`` (words that distance or doubt). Fewer strong words or more hedges is
softened; the reverse is sharpened.

Pure. Latin-script terms match whole words, or words starting with them when they end
in "*" ("kill*": killed, killings); Khmer ones match as substrings, since Khmer writes
no spaces between words.
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.content.edit_text import has_khmer, latin_words

__all__ = [
    "HEDGE_WORDS",
    "STRONG_WORDS",
    "headline_tone",
]

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


def _count_terms(text: str, terms: Iterable[str]) -> int:
    folded = text.casefold()
    latin = latin_words(text)
    count = 0
    for term in terms:
        if has_khmer(term) or " " in term:
            count += folded.count(term)
        elif term.endswith("*"):
            count += sum(1 for w in latin if w.startswith(term[:-1]))
        else:
            count += latin.count(term)
    return count


def headline_tone(old: str, new: str) -> str:
    """``softened``, ``sharpened`` or ``reworded``: the headline's move from ``old`` to
    ``new``, as the module docstring describes."""
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
