"""Who is asking: a signed-in person (session cookie), a per-person API token
(`Authorization: Bearer pw_…`), or the server's `PRESSWATCH_API_KEY` (`X-API-Key`, kept
for cron and scripts; it acts as an admin named `api-key`); and what each may do.

- `identify` runs for every request (an app-wide dependency): it finds the actor, puts
  it on the request's scope for the pages (`pw_who`), and, with `private` on, refuses
  every read of a page or the API to nobody (pages send them to /signin; the sign-in
  and invitation pages, /healthz, /readyz and /static/ stay open).
- `require_role(role)`: a route's dependency; 401 for nobody, 403 for a role too low.
- Writes through the API take only headers (a token or the key), never the session
  cookie: a browser never sends those headers on its own, so no cross-site request can
  forge an API write. Forms use the session and its CSRF token (`check_csrf`).

The cookie is HttpOnly, SameSite=Lax, Path=/, and Secure when `public_url` is https.

Must not: log, echo or store a password, token or session secret.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from archive.accounts import API_KEY, Actor, Role, actor_for_token, session_actor, touch_token
from archive.errors import NotAllowed
from search_api.deps import API_KEY_HEADER, StateDep

SESSION_COOKIE = "pw_session"
# Before signing in there is no session to hold a CSRF token: the sign-in and invitation
# forms repeat this cookie's random value instead (double submit).
FORM_COOKIE = "pw_form"
OPEN_PATHS = ("/signin", "/invite", "/healthz", "/readyz", "/static/")

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The server's PRESSWATCH_API_KEY, for cron and scripts (acts as an admin).",
)
_bearer = HTTPBearer(
    auto_error=False, description="A per-person API token: `presswatch accounts token create`."
)


@dataclass(frozen=True, slots=True)
class Who:
    """The actor of a request (None: nobody), how it was known, and the session's CSRF
    token when it came by the session cookie."""

    actor: Actor | None
    via: str  # "session", "token", "api-key", "" (nobody)
    csrf_token: str | None = None
    key_refused: bool = False  # an X-API-Key was sent that is not the server's


NOBODY = Who(None, "")


def _key_matches(state: Any, given: str) -> bool:
    configured = state.settings.api_key
    if configured is None or not configured.get_secret_value():
        return False
    # compare_digest on bytes: on str it refuses non-ASCII, and a header may carry any.
    return hmac.compare_digest(given.encode("utf-8"), configured.get_secret_value().encode("utf-8"))


def find_who(request: Request, state: Any, key: str | None, bearer: str | None) -> Who:
    now = state.clock()
    if bearer:
        try:
            with state.read_sessions() as session:
                use = actor_for_token(session, bearer, now=now)
        except NotAllowed as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        if use.stale:  # a write at most once a minute a token, not on every read
            with state.sessions.begin() as session:
                touch_token(session, use.token_id, now=now)
        return Who(use.actor, "token")
    if key is not None:
        if _key_matches(state, key):
            return Who(API_KEY, "api-key")
        return Who(None, "", key_refused=True)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with state.read_sessions() as session:
            found = session_actor(session, secret, now=now)
        if found is not None:
            return Who(found.actor, "session", found.csrf_token)
    return NOBODY


def _is_private(state: Any) -> bool:
    return bool(getattr(state.settings, "private", False))


def _is_open(path: str) -> bool:
    # The language switcher too: a sign-in page must be readable in one's own language.
    return path in OPEN_PATHS or path.startswith(("/static/", "/lang/"))


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def identify(request: Request, state: StateDep) -> Who:
    # Headers read here, not through FastAPI's security classes: those would mark every
    # route as needing credentials in the OpenAPI schema; routes that do need them
    # declare the schemes themselves (`_Credentials`).
    who = find_who(request, state, request.headers.get(API_KEY_HEADER), _bearer_token(request))
    request.scope["pw_who"] = who
    if who.actor is None and _is_private(state) and not _is_open(request.url.path):
        if request.url.path.startswith(
            ("/api", "/feeds", "/charts", "/timemap", "/timegate", "/memento")
        ):
            raise HTTPException(
                401,
                "this archive is private: sign in, or send a token as `Authorization: Bearer`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise HTTPException(303, "sign in first", headers={"Location": "/signin"})
    return who


WhoDep = Annotated[Who, Depends(identify)]


def _credentials(
    key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> None:
    """Declares the API key and bearer schemes in the OpenAPI schema of the routes that
    need credentials (`identify` has read them already)."""


_Credentials = Annotated[None, Depends(_credentials)]


def require_role(role: Role) -> Any:
    def check(who: WhoDep, _declared: _Credentials) -> Who:
        if who.actor is None:
            raise HTTPException(
                401,
                f"sign in, or send a token as `Authorization: Bearer` (the {role.value} role "
                "or above is needed)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            who.actor.require(role)
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from None
        return who

    return check


def require_header_role(role: Role) -> Any:
    """`require_role` for API writes: a token or the key, never the session cookie."""
    inner = require_role(role)

    def check(who: WhoDep, _declared: _Credentials) -> Who:
        if who.via == "session":
            raise HTTPException(
                401,
                "API writes take a token (`Authorization: Bearer`) or the API key, not a "
                "browser's session: use the page's form",
                headers={"WWW-Authenticate": "Bearer"},
            )
        result: Who = inner(who, None)
        return result

    return check


def require_admin(who: WhoDep, state: StateDep, _declared: _Credentials) -> Who:
    """The admin API: an admin's token, or the server's key (cron and scripts)."""
    if who.actor is None:
        configured = state.settings.api_key
        if configured is None or not configured.get_secret_value():
            raise HTTPException(
                403,
                "the admin API needs an admin's token (`presswatch accounts token create "
                "NAME`, sent as `Authorization: Bearer`) or the server's PRESSWATCH_API_KEY, "
                "which is not set on this server",
            )
    if who.actor is None:
        raise HTTPException(
            401,
            f"missing or wrong API key: send an admin's token as `Authorization: Bearer`, "
            f"or the server's PRESSWATCH_API_KEY in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    result: Who = require_header_role(Role.ADMIN)(who, None)
    return result


AdminDep = Annotated[Who, Depends(require_admin)]
ViewerDep = Annotated[Who, Depends(require_role(Role.VIEWER))]
EditorDep = Annotated[Who, Depends(require_role(Role.EDITOR))]
EditorApiDep = Annotated[Who, Depends(require_header_role(Role.EDITOR))]


def check_csrf(request: Request, who: Who, given: str | None) -> None:
    """A form POST must repeat its session's CSRF token (or, before signing in, the
    form cookie's value); 403 otherwise."""
    expected = who.csrf_token if who.via == "session" else request.cookies.get(FORM_COOKIE)
    if (
        not expected
        or not given
        or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
    ):
        raise HTTPException(
            403, "the form has expired or did not come from this site: reload the page and retry"
        )


def cookie_secure(state: Any) -> bool:
    public = getattr(state.settings, "public_url", None) or ""
    return str(public).lower().startswith("https://")
