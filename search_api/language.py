"""The interface language of one request, and the template functions that speak it.

A request's language is, in order: `?lang=` (on every page but search, where `lang`
already narrows the results to articles in a language), the `lang` cookie the
switcher sets (`/lang/{code}`), the browser's `Accept-Language`, the `lang` setting
(`PRESSWATCH_LANG`), English. It is worked out once per request and kept in the
ASGI scope. The catalogs and the rules live in `archive.i18n`; this module only
reads the request and hands Jinja2 `_`, `gettext`, `ngettext` (newstyle, so
`{{ _("Found %(n)s articles", n=count) }}` escapes `n`) and the filters that put
codes, dates and numbers in the reader's words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2
from babel.support import Translations
from starlette.requests import Request

from archive.i18n import (
    DEFAULT_LANG,
    choose_lang,
    describe_edit_class,
    format_day,
    format_number,
    format_when,
    known_lang,
    label,
    translations,
)

COOKIE = "lang"
# The search page's own `lang` parameter filters articles by their language.
_LANG_IS_A_FILTER = ("/",)


def request_lang(request: Request) -> str:
    cached = request.scope.get("pw_lang")
    if isinstance(cached, str):
        return cached
    asked = None
    if request.url.path not in _LANG_IS_A_FILTER:
        asked = known_lang(request.query_params.get("lang"))
    asked = asked or known_lang(request.cookies.get(COOKIE))
    state = getattr(request.app.state, "presswatch", None)
    setting = getattr(getattr(state, "settings", None), "lang", None)
    lang = choose_lang(asked, request.headers.get("accept-language"), setting)
    request.scope["pw_lang"] = lang
    return lang


def _lang(context: Any) -> str:
    request = context.get("request")
    return request_lang(request) if isinstance(request, Request) else DEFAULT_LANG


def _t(context: Any) -> Translations:
    return translations(_lang(context))


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return _t(context).gettext(message)


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return _t(context).ngettext(singular, plural, n)


@jinja2.pass_context
def ui_lang(context: Any) -> str:
    return _lang(context)


@jinja2.pass_context
def words(context: Any, value: object) -> str:
    return label(value, _t(context).gettext)


@jinja2.pass_context
def edit_class(context: Any, item: dict[str, Any]) -> str:
    return describe_edit_class(item, _t(context).gettext)


@jinja2.pass_context
def when(context: Any, at: datetime | str | None) -> str:
    # The case pages render the API's JSON shapes, whose times are ISO text.
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return format_when(at, _lang(context))


@jinja2.pass_context
def day(context: Any, at: datetime | None) -> str:
    return format_day(at, _lang(context))


@jinja2.pass_context
def number(context: Any, value: float | int | None) -> str:
    return format_number(value, _lang(context))


def install(env: jinja2.Environment) -> None:
    """`_`, `gettext`, `ngettext` and `ui_lang()` as globals of every template (a
    macro file must be imported `with context` to see the request), and the filters
    `words`, `edit_class`, `when`, `day`, `number`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["ui_lang"] = ui_lang
    env.filters.update(words=words, edit_class=edit_class, when=when, day=day, number=number)
