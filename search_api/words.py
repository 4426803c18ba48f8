"""The archive's closed sets (removal signs, capture outcomes) in the words an English
reader says them, for the charts' English text: `soft_404` is a "page not found"
notice. The words themselves, and their translations, live in `archive.i18n.LABELS`;
pages use the `words` filter, which speaks the reader's language."""

from __future__ import annotations

from archive.i18n import label


def words(value: object) -> str:
    """`value` (a string or a StrEnum) as a reader says it; unknown values unchanged."""
    return label(value, str)
