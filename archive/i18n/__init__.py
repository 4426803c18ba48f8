"""Message catalogs and the interface language, for every text a person reads: web
pages (`search_api`), notifications (`archive.notify`) and human CLI output.

One gettext domain, `presswatch`, with English as the source language and Khmer as a
first-class one; the catalogs are the `.po` files under `locale/`, compiled in memory
when first asked for (no build step, no `.mo` in the repository). Babel reads them,
negotiates `Accept-Language` and formats dates and numbers for the language.

It lives in `archive/` because all three packages need the same catalogs and the
same language rules, and `archive` is the one package they may all import. It never
reads the environment or the request: callers hand in the setting and the header.

    translations(lang) -> Translations        cached; an unknown language gives English
    choose_lang(asked, accept_language, default) -> "en" | "km"
    label(code, t) -> str                     a state, outcome, event, removal or part
    describe_edit_class(item, t) -> str       an edit class and the gist of its evidence
    format_when(at, lang), format_number(n, lang)
"""

from archive.i18n.catalogs import (
    DEFAULT_LANG,
    DOMAIN,
    LANGS,
    LOCALE_DIR,
    choose_lang,
    known_lang,
    negotiate_lang,
    translations,
)
from archive.i18n.formats import format_day, format_number, format_when
from archive.i18n.labels import LABELS, N_, describe_edit_class, label

__all__ = [
    "DEFAULT_LANG",
    "DOMAIN",
    "LABELS",
    "LANGS",
    "LOCALE_DIR",
    "N_",
    "choose_lang",
    "describe_edit_class",
    "format_day",
    "format_number",
    "format_when",
    "known_lang",
    "label",
    "negotiate_lang",
    "translations",
]
