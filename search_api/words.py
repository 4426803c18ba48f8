"""The archive's closed sets (removal signs, capture outcomes) in the words a reader
says them, for every page and chart: `soft_404` is a "page not found" notice. The JSON
API keeps the raw values; pages show the raw value in a `title` beside the words."""

from __future__ import annotations

WORDS = {
    "http_404": "404 not found",
    "http_410": "410 gone",
    "http_451": "451 unavailable for legal reasons",
    "redirect_home": "redirected to the home page",
    "redirect_elsewhere": "redirected elsewhere",
    "soft_404": "“page not found” notice",
    "emptied": "page emptied",
    "removal_pending": "removal pending",
    "not_modified": "not modified (304)",
    "not_article": "not an article",
    "blocked": "blocked (bot check or paywall)",
    "degraded": "degraded (text collapsed)",
    "evidence": "kept as evidence only",
}


def words(value: object) -> str:
    """`value` (a string or a StrEnum) as a reader says it; unknown values unchanged."""
    text = str(getattr(value, "value", value) or "")
    return WORDS.get(text, text)
