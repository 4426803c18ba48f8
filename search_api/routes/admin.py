"""`/api/admin/…`: add, update and disable a source; ask for a recheck of one URL;
list, add and remove notification subscriptions.

Every route needs an admin's token (`Authorization: Bearer`) or the server's
`PRESSWATCH_API_KEY` in the `X-API-Key` header (compared in constant time,
`search_api.auth.require_admin`); without either they change nothing. Each change of a
source and each recheck asked for is an audit entry (a leaf of the transparency log)
naming who asked.

Sources written here are the archive's Source rows (`archive.store.queries.upsert_source`),
the same rows `sources.toml` is synced into: a crawl started from a sources.toml that
names the same source writes its own values over them.

A recheck is recorded, not run: the article's `next_check` becomes now, so the next
`presswatch recheck` (or `run`, from cron) fetches it first. Fetching inside a web
request would tie a worker to a slow outlet, and this package may not start the
crawler.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy.orm import Session

from archive.accounts import record_audit
from archive.content import normalize_url, url_pattern_problem
from archive.egress import Networks, parse_networks, url_refusal
from archive.errors import BadInput, NotFound
from archive.notify import (
    NotifierEgress,
    SubscriptionSpec,
    add_subscription,
    notify_health,
    remove_subscription,
    subscription_by_name,
)
from archive.store import (
    API_FIELDS,
    Source,
    SourceOptions,
    SourceOwner,
    bring_check_forward,
    find_article,
    source_by_name,
    upsert_source,
)
from search_api.auth import AdminDep, Who
from search_api.deps import NowDep, StateDep, WriteSessionDep
from search_api.routes import ERRORS, MAX_VALUE_CHARS, NOT_FOUND, bad_request
from search_api.routes.sources import load_source
from search_api.schemas import (
    ErrorOut,
    NotifyIn,
    NotifyList,
    NotifyOut,
    RecheckIn,
    RecheckOut,
    SourceIn,
    SourceOut,
    SourcePatch,
)

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses={
        **ERRORS,
        401: {"model": ErrorOut, "description": "Missing or wrong API key."},
        403: {"model": ErrorOut, "description": "The admin API is disabled on this server."},
    },
)

SourceName = Annotated[str, Path(min_length=1, max_length=MAX_VALUE_CHARS, examples=["daily"])]


def _api_options(base: SourceOptions, given: dict[str, Any]) -> SourceOptions:
    """`base` with the given options the API sets (`API_FIELDS`), owned by the API: the
    crawler crawls such sources beside those of sources.toml
    (presswatch.sources.with_archive_sources)."""
    changes: dict[str, Any] = {
        key: tuple(given[key]) if isinstance(given[key], list) else given[key]
        for key in API_FIELDS
        if key in given
    }
    return replace(base, **changes, owner=SourceOwner.API)


def _check_url(what: str, value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise bad_request(f"{what} {value[:80]!r} does not parse as a URL: {exc}") from exc
    if not parts.hostname:
        raise bad_request(f"{what} {value[:80]!r} has no host; use e.g. https://outlet.example/")
    if any(ch.isspace() for ch in value):
        raise bad_request(f"{what} {value[:80]!r}: a URL has no spaces; percent-encode them")


def _check_egress(what: str, value: str, allow: Networks) -> None:
    """The crawler would refuse this URL whatever DNS says (a non-http(s) scheme, an
    internal IP literal, `localhost`): refuse the source now (400), not at every crawl."""
    reason = url_refusal(value, allow)
    if reason is not None:
        raise HTTPException(400, f"{what} {value[:80]!r} would never be fetched: {reason}")


def check_source(body: SourceIn | SourcePatch, allow: Networks = ()) -> None:
    """What the schema cannot say, each a 400 (the request is well formed, but this
    server cannot use it): URLs have hosts, the crawler's egress policy allows them
    (`allow` is the server's allow_networks), and RE2 can run the pattern."""
    if body.base_url is not None:
        _check_url("base_url", body.base_url)
        _check_egress("base_url", body.base_url, allow)
    for key in ("sitemaps", "feeds", "listings"):
        for url in getattr(body, key) or ():
            _check_url(key, url)
            _check_egress(key, url, allow)
    if body.article_url_pattern:
        # Run by RE2 in the crawler (linear time): a syntax error, or a valid `re`
        # pattern RE2 cannot run (backreference, lookaround), says what to write.
        problem = url_pattern_problem(body.article_url_pattern)
        if problem is not None:
            raise HTTPException(400, problem.message)


def _audit(
    session: Session, admin: Who, action: str, name: str, now: datetime, detail: dict[str, Any]
) -> None:
    assert admin.actor is not None  # require_admin let it through
    record_audit(session, admin.actor, action, "source", name, now=now, detail=detail)


def _source(session: Session, name: str) -> Source:
    source = source_by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}; GET /api/sources lists them")
    return source


def _editable(source: Source) -> Source:
    """Sources defined in sources.toml are the file's: every crawl re-reads it, so an
    API change would be silently undone. Say so instead (409)."""
    if source.config.owner is SourceOwner.FILE:
        raise HTTPException(
            409,
            f"source {source.name!r} is defined in sources.toml; change it there "
            "(`presswatch sources --check` validates the file)",
        )
    return source


def _out(session: Session, name: str) -> SourceOut:
    out = load_source(session, name)
    assert out is not None  # written in this request
    return out


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorOut, "description": "A source by that name exists."}},
)
def add_source(
    body: SourceIn, admin: AdminDep, session: WriteSessionDep, now: NowDep, state: StateDep
) -> SourceOut:
    """Add an outlet to watch."""
    check_source(body, parse_networks(state.settings.allow_networks))
    with session.begin():
        if source_by_name(session, body.name) is not None:
            raise HTTPException(
                409, f"a source named {body.name!r} exists; PATCH /api/admin/sources/{body.name}"
            )
        upsert_source(
            session,
            name=body.name,
            base_url=body.base_url,
            languages=body.languages,
            config=_api_options(SourceOptions(), body.model_dump(include=set(API_FIELDS))),
            now=now,
            enabled=body.enabled,
        )
        _audit(session, admin, "source.add", body.name, now, body.model_dump(mode="json"))
    return _out(session, body.name)


_FILE_OWNED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The source is defined in sources.toml."}
}


@router.patch("/sources/{name}", response_model=SourceOut, responses=NOT_FOUND | _FILE_OWNED)
def update_source(
    name: SourceName,
    body: SourcePatch,
    admin: AdminDep,
    session: WriteSessionDep,
    now: NowDep,
    state: StateDep,
) -> SourceOut:
    """Change an outlet: only the keys sent change (see SourcePatch)."""
    check_source(body, parse_networks(state.settings.allow_networks))
    with session.begin():
        source = _editable(_source(session, name))
        given = {k: getattr(body, k) for k in body.model_fields_set if getattr(body, k) is not None}
        # An empty string clears a pattern or a topic.
        cleared = {key: value if value != "" else None for key, value in given.items()}
        upsert_source(
            session,
            name=name,
            base_url=given.get("base_url", source.base_url),
            languages=given.get("languages", list(source.languages or [])),
            config=_api_options(source.config, cleared),
            now=now,
            enabled=given.get("enabled", source.enabled),
        )
        _audit(
            session,
            admin,
            "source.update",
            name,
            now,
            body.model_dump(mode="json", exclude_unset=True),
        )
    return _out(session, name)


@router.post("/sources/{name}/disable", response_model=SourceOut, responses=NOT_FOUND | _FILE_OWNED)
def disable_source(
    name: SourceName, admin: AdminDep, session: WriteSessionDep, now: NowDep
) -> SourceOut:
    """Stop crawling an outlet; everything archived from it stays."""
    with session.begin():
        _editable(_source(session, name)).enabled = False
        _audit(session, admin, "source.disable", name, now, {})
    return _out(session, name)


@router.post(
    "/recheck",
    response_model=RecheckOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
)
def recheck(body: RecheckIn, admin: AdminDep, session: WriteSessionDep, now: NowDep) -> RecheckOut:
    """Put one archived article first in line for the next `presswatch recheck`."""
    try:
        normalize_url(body.url)
    except (BadInput, ValueError) as exc:
        raise bad_request(f"url: {exc}") from exc
    with session.begin():
        try:
            article = find_article(session, body.url)
        except NotFound as exc:
            raise NotFound(
                f"no archived article at {body.url}; only archived articles can be rechecked "
                "(`presswatch crawl` discovers new ones)"
            ) from exc
        bring_check_forward(article, now)
        assert admin.actor is not None
        record_audit(
            session,
            admin.actor,
            "recheck.request",
            "article",
            article.id,
            now=now,
            detail={"url": body.url},
        )
        due = article.next_check
        assert due is not None  # brought forward to now at the latest
        article_id, url = article.id, article.url
    return RecheckOut(
        article_id=article_id,
        url=url,
        next_check=due,
        detail="queued: the next `presswatch recheck` or `presswatch run` fetches it first",
    )


# -- notification subscriptions --------------------------------------------------------
# Kept in the archive like those of `presswatch notify add`; those of sources.toml's
# `[[notify]]` are the file's (409 here, as for sources). Sending is `presswatch run`'s
# or `presswatch notify send`'s: never inside a web request.


def _notify_list(session: Session) -> NotifyList:
    data = [NotifyOut.model_validate(row) for row in notify_health(session)]
    return NotifyList(data=data, count=len(data))


@router.get("/notify", response_model=NotifyList)
def list_notify(_admin: AdminDep, session: WriteSessionDep) -> NotifyList:
    """Every notification subscription (URLs redacted) with its delivery health."""
    return _notify_list(session)


@router.post(
    "/notify",
    response_model=NotifyOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorOut, "description": "A subscription by that name exists."}},
)
def add_notify(
    body: NotifyIn, _admin: AdminDep, state: StateDep, session: WriteSessionDep, now: NowDep
) -> NotifyOut:
    """Subscribe an Apprise URL to change events (400 names what is wrong with it)."""
    spec = SubscriptionSpec(
        name=body.name,
        url=body.url,
        sources=tuple(body.sources),
        keywords=tuple(body.keywords),
        kinds=tuple(body.kinds),
        min_significance=body.min_significance,
        mode=body.mode,
        enabled=body.enabled,
    )
    egress = NotifierEgress(
        allow=parse_networks(state.settings.allow_networks),
        mail_relay=parse_networks(state.settings.mail_relay_networks),
        resolve=state.resolve_host,
    )
    problems = spec.problems(egress)
    if problems:
        raise bad_request("; ".join(problems))
    with session.begin():
        if subscription_by_name(session, body.name) is not None:
            raise HTTPException(409, f"a subscription named {body.name!r} exists; DELETE it first")
        add_subscription(session, spec, origin="api", now=now, egress=egress)
    return next(s for s in _notify_list(session).data if s.name == body.name)


@router.delete(
    "/notify/{name}",
    response_model=NotifyOut,
    responses=NOT_FOUND
    | {409: {"model": ErrorOut, "description": "The subscription is in sources.toml."}},
)
def remove_notify(name: SourceName, _admin: AdminDep, session: WriteSessionDep) -> NotifyOut:
    """Delete a subscription and what it still had waiting; returns it as it was."""
    with session.begin():
        row = subscription_by_name(session, name)
        if row is None:
            raise NotFound(f"no subscription named {name!r}; GET /api/admin/notify lists them")
        if row.origin == "file":
            raise HTTPException(
                409, f"subscription {name!r} is defined in sources.toml; remove it there"
            )
        removed = next(s for s in _notify_list(session).data if s.name == name)
        remove_subscription(session, name)
    return removed
