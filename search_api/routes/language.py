"""`/lang/{code}`: the language switcher on every page. Sets the `lang` cookie for a
year and goes back to the page it was clicked on (a path on this site only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import RedirectResponse

from archive.i18n import LANGS, known_lang
from search_api.language import COOKIE

router = APIRouter(include_in_schema=False)

_YEAR_S = 365 * 24 * 3600


def _local(path: str) -> str:
    """Only a path of this site: never `//host` or a scheme (an open redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/lang/{code}")
def switch_language(
    code: str, next: Annotated[str, Query(max_length=2000)] = "/"
) -> RedirectResponse:
    lang = known_lang(code)
    if lang is None or code != lang:
        raise HTTPException(404, f"no interface language {code!r}; use one of {', '.join(LANGS)}")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, lang, max_age=_YEAR_S, path="/", samesite="lax", httponly=True)
    return response
