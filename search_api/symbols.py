"""Where Meilisearch must cut words at symbols, as SQLite FTS5 does.

FTS5's tokenizer (`sqlite_tables.TOKENIZER`) splits words at every symbol (Unicode
category S*). Meilisearch's default separators miss many (`<`, `>`, `=`, `|`, `$`, `°`,
`៛`...), so `<b>bold</b>` would hold no word `bold` there. Declaring every symbol as a
Meilisearch separator token works but is slow: the 3,844 symbols of the BMP cut
indexing to about a third (measured: 127 against 358 documents/s), while a list of a few
hundred costs nothing measurable. So:

- `DECLARED` (the symbols below U+2000 and the currency signs, where nearly every symbol
  in news text lies) goes to Meilisearch's `separatorTokens`;
- every other symbol is isolated between ZERO WIDTH SPACEs (`isolate`), in indexed text
  and in queries alike, so it never fuses with the words around it. It becomes a token
  of its own: a phrase typed across it must type it too, where FTS5 would ignore it.

ZERO WIDTH SPACE is the separator `search_api.khmer` already declares and strips from
snippets (archived text never contains one), so snippets show the symbol as archived.

Pure functions only.
"""

from __future__ import annotations

import re
import unicodedata

from search_api.khmer import SEPARATOR

__all__ = ["DECLARED", "isolate"]


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch).startswith("S")


def _declared(ch: str) -> bool:
    return ord(ch) < 0x2000 or unicodedata.category(ch) == "Sc"


_SYMBOLS = [ch for ch in map(chr, range(0x20, 0x10000)) if _is_symbol(ch)]
DECLARED = tuple(ch for ch in _SYMBOLS if _declared(ch))
_RARE = re.compile("[" + "".join(re.escape(ch) for ch in _SYMBOLS if not _declared(ch)) + "]")


def isolate(text: str) -> str:
    """`text` with every undeclared symbol between ZERO WIDTH SPACEs."""
    return _RARE.sub(lambda m: SEPARATOR + m.group(0) + SEPARATOR, text)
