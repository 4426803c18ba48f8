"""Loading the `.po` catalogs and choosing a language.

A catalog is read with Babel's `pofile`, written as a `.mo` into memory with `mofile`
and opened as `babel.support.Translations`, once per language per process (the
catalogs change only with the code). Fuzzy entries are left out, as `msgfmt` does:
a translator's unchecked guess never reaches a reader.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.support import Translations

DOMAIN = "presswatch"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Source language first: what a request falls back to when nothing else is known.
LANGS = ("en", "km")
DEFAULT_LANG = "en"
# An Accept-Language header is a client's text: only its start is read.
_MAX_ACCEPT_CHARS = 500
_MAX_ACCEPT_ITEMS = 20


def known_lang(value: object) -> str | None:
    """`value` as one of `LANGS` ("km", "KM", "km-KH", "km_KH" → "km"), else None."""
    text = str(value or "").strip().replace("_", "-").lower()
    base = text.split("-", 1)[0]
    return base if base in LANGS else None


@lru_cache(maxsize=len(LANGS))
def _load(lang: str) -> Translations:
    # Babel is loaded when a text is first translated, not by `presswatch --help`.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translations(lang: str | None) -> Translations:
    """The catalog of `lang` (any spelling `known_lang` accepts); English otherwise."""
    return _load(known_lang(lang) or DEFAULT_LANG)


def negotiate_lang(accept_language: str | None) -> str | None:
    """The best of `LANGS` for an `Accept-Language` header (q-values honoured), or None
    when the header names none of them."""
    if not accept_language:
        return None
    from babel.core import Locale

    weighted: list[tuple[float, int, str]] = []
    items = accept_language[:_MAX_ACCEPT_CHARS].split(",")[:_MAX_ACCEPT_ITEMS]
    for i, item in enumerate(items):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            weighted.append((-q, i, tag.strip().replace("-", "_")))
    preferred = [tag for _, _, tag in sorted(weighted)]
    # Babel matches `km_KH` to `km` and aliases; `*` means "anything", i.e. no preference.
    found = Locale.negotiate([t for t in preferred if t != "*"], list(LANGS), sep="_")
    return known_lang(str(found)) if found is not None else None


def choose_lang(asked: str | None, accept_language: str | None, default: str | None) -> str:
    """The interface language: what the person chose (switcher cookie or `?lang=`),
    else their browser's `Accept-Language`, else the `lang` setting, else English."""
    return (
        known_lang(asked) or negotiate_lang(accept_language) or known_lang(default) or DEFAULT_LANG
    )
