"""`presswatch notify …`: subscriptions to change events, delivered through Apprise.

`add`, `list`, `remove` manage the subscriptions kept in the archive (sources.toml's
`[[notify]]` entries are synced into it by `run`, `notify send` and `notify list`, and
are changed in the file); `test` sends one message now; `send` queues new events and
sends what is due (what `run` does after its crawl); `retry` sends again what a crashed
sender left unconfirmed and lifts the backoff. Exit 1 when a send failed, 2 on bad
input (a malformed Apprise URL names what to fix).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import BadInput, ConfigError, NotFound
from archive.i18n import translations
from presswatch.commands.common import (
    JsonOpt,
    SourceOpt,
    archived_source_names,
    config_exit,
    echo_json,
    fail,
    get_runtime,
    refuse_unknown_sources,
)

if TYPE_CHECKING:
    from presswatch.runtime import Runtime

notify_app = typer.Typer(
    help="Notifications of edits and takedowns (email, chat, webhooks) through Apprise.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _sync_file(runtime: Runtime) -> None:
    """Bring sources.toml's `[[notify]]` into the archive, when the file exists."""
    from presswatch.notify import sync_notify
    from presswatch.sources import load_sources

    if not runtime.settings.sources.exists():
        return
    try:
        sources = load_sources(runtime.settings.sources)
    except ConfigError as exc:
        raise config_exit(exc) from exc
    sync_notify(runtime.sessions, sources, egress=runtime.notifier_egress())


def _topic_keywords(runtime: Runtime, topic: str) -> list[str]:
    from presswatch.sources import load_sources

    try:
        sources = load_sources(runtime.settings.sources)
    except ConfigError as exc:
        raise config_exit(exc) from exc
    if topic not in sources.topics:
        known = ", ".join(sorted(sources.topics)) or "none"
        raise fail(f"--topic {topic!r}: no [topics.{topic}] in sources.toml (known: {known})", 2)
    return list(sources.topics[topic].keywords)


@notify_app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A slug naming the subscription.")],
    url: Annotated[str, typer.Argument(help="Apprise URL: mailto://…, json://…, tgram://…")],
    source: SourceOpt = None,
    topic: Annotated[
        str | None, typer.Option(metavar="TOPIC", help="A [topics.NAME] of sources.toml.")
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option(metavar="WORD", help="Only articles mentioning a keyword (repeatable)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KIND",
            # archive.notify.DEFAULT_NOTIFY_KINDS, spelled out so that building the
            # CLI imports no archive (test_cli_usability checks that they agree).
            help="Change kinds (repeatable; default edited, removed, restored, removed_together).",
        ),
    ] = None,
    min_significance: Annotated[
        float, typer.Option(min=0.0, max=1.0, metavar="X", help="Skip edits scoring less.")
    ] = 0.0,
    digest: Annotated[
        bool, typer.Option("--digest", metavar="", help="One daily digest, not each event.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe an Apprise URL to change events."""
    from archive.notify import DEFAULT_NOTIFY_KINDS, SubscriptionSpec, add_subscription
    from archive.store import source_names

    runtime = get_runtime(ctx)
    if source:
        with runtime.read_sessions() as session:
            refuse_unknown_sources(source, archived_source_names(runtime, session))
    keywords = [*(_topic_keywords(runtime, topic) if topic else []), *(keyword or [])]
    spec = SubscriptionSpec(
        name=name,
        url=url,
        sources=tuple(source or ()),
        topic=topic,
        keywords=tuple(keywords),
        kinds=tuple(kind or DEFAULT_NOTIFY_KINDS),
        min_significance=min_significance,
        mode="digest" if digest else "immediate",
    )
    try:
        with runtime.sessions.begin() as session:
            add_subscription(
                session, spec, origin="cli", now=datetime.now(UTC), egress=runtime.notifier_egress()
            )
            known = set(source_names(session).values())
    except BadInput as exc:
        raise fail(str(exc), 2) from exc
    for name_ in spec.sources:
        if name_ not in known:
            typer.echo(
                f"presswatch: warning: no source named {name_!r} in the archive yet; "
                "this subscription hears nothing from it until one is crawled",
                err=True,
            )
    if not runtime.settings.public_url:
        typer.echo(
            "presswatch: warning: PRESSWATCH_PUBLIC_URL is unset: messages link to the "
            "archive's pages by path only (/articles/…), which a reader cannot open; set it "
            "to the address the pages are served at",
            err=True,
        )
    _print_added(runtime, name, as_json)


def _print_added(runtime: Runtime, name: str, as_json: bool) -> None:
    from archive.notify import notify_health

    with runtime.read_sessions() as session:
        row = next(s for s in notify_health(session) if s["name"] == name)
    if as_json:
        echo_json(row)
    else:
        _ = translations(runtime.settings.lang).gettext
        said = _("added %(name)s: %(mode)s to %(url)s")
        typer.echo(said % {"name": name, "mode": row["mode"], "url": row["url"]})


def _describe(row: dict[str, Any], _: Callable[[str], str] = str) -> str:
    """A subscription in two lines, its health in the words of `_` (a catalog's
    gettext). `kinds=`, `sources=`, `topic=` are the keys `notify add` and
    sources.toml take, and the mode and kinds are codes: they stay as written."""
    parts = [row["mode"], "kinds=" + ",".join(row["kinds"] or ["all"])]
    if row["sources"]:
        parts.append("sources=" + ",".join(row["sources"]))
    if row["topic"] or row["keywords"]:
        parts.append(f"topic={row['topic'] or ','.join(row['keywords'])}")
    if row["min_significance"]:
        parts.append(f"min_significance={row['min_significance']}")
    if not row["enabled"]:
        parts.append(_("disabled"))
    health = _("%(matched)s matched, %(sent)s sent, %(pending)s waiting") % row
    if not row["matched"]:
        health = _("nothing matched yet")
    if row["unconfirmed"]:
        health += ", " + _("%(unconfirmed)s unconfirmed") % row
    if row["failures"]:
        health += "; " + _("FAILING (%(failures)sx, next try %(next_attempt_at)s)") % row
    return f"{row['name']} [{row['origin']}] {row['url']}\n  {' '.join(parts)}; {health}"


@notify_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Subscriptions with what each matched, sent, and its last error."""
    from archive.notify import notify_health

    runtime = get_runtime(ctx)
    _sync_file(runtime)
    with runtime.read_sessions() as session:
        rows = notify_health(session)
    if as_json:
        echo_json(rows)
        return
    _ = translations(runtime.settings.lang).gettext
    if not rows:
        typer.echo(
            _("no subscriptions: `presswatch notify add NAME URL` or [[notify]] in sources.toml")
        )
    for row in rows:
        typer.echo(_describe(row, _))
        if row["last_error"]:
            typer.echo("  " + _("last error: %(error)s") % {"error": row["last_error"]})


@notify_app.command("remove")
def remove_cmd(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The subscription.")]
) -> None:
    """Delete a subscription and the messages it still had waiting."""
    from archive.notify import remove_subscription, subscription_by_name

    runtime = get_runtime(ctx)
    with runtime.sessions.begin() as session:
        row = subscription_by_name(session, name)
        if row is not None and row.origin == "file":
            raise fail(f"subscription {name!r} is defined in sources.toml; remove it there", 2)
        try:
            remove_subscription(session, name)
        except NotFound as exc:
            raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("removed %(name)s") % {"name": name})


@notify_app.command("test")
def test_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A subscription name, or an Apprise URL.")],
) -> None:
    """Send one test message now (exit 1 when it does not go)."""
    from archive.notify import apprise_url_problem, redact_url, subscription_by_name
    from presswatch.notify import deliver

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        row = subscription_by_name(session, target)
        url = row.url if row is not None else target
    if row is None:
        problem = apprise_url_problem(url)
        if problem is not None:
            raise fail(f"{target!r} is neither a subscription nor an Apprise URL: {problem}", 2)
    error = deliver(
        url,
        "Presswatch test",
        "A test message from presswatch notify test.",
        runtime.notifier_egress(),
    )
    if error is not None:
        raise fail(f"test message to {redact_url(url)} failed: {error}")
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("test message sent to %(url)s") % {"url": redact_url(url)})


def _send(runtime: Runtime, as_json: bool) -> None:
    from presswatch.notify import send_due

    settings = runtime.settings
    report = send_due(
        runtime.sessions,
        egress=runtime.notifier_egress(),
        public_url=settings.public_url,
        burst_limit=settings.notify_burst_limit,
        digest_hour=settings.notify_digest_hour,
        lang=settings.lang,
    )
    if as_json:
        echo_json(report.as_json())
    else:
        _ = translations(settings.lang).gettext
        said = _("queued %(queued)s event(s); sent %(messages)s message(s) for %(sent)s event(s)")
        counts = {"queued": report.queued, "messages": report.messages, "sent": report.events_sent}
        typer.echo(said % counts)
    for name, error in report.failed.items():
        typer.echo(f"presswatch: notification {name} failed (will retry): {error}", err=True)
    if report.failed:
        raise typer.Exit(1)


@notify_app.command("send")
def send_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Queue new events for the subscriptions and send what is due."""
    runtime = get_runtime(ctx)
    _sync_file(runtime)
    _send(runtime, as_json)


@notify_app.command("retry")
def retry_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this subscription.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send now: lift the backoff, and send again the events a crashed sender left
    unconfirmed (they may arrive twice)."""
    from archive.notify import list_subscriptions, requeue_unconfirmed

    runtime = get_runtime(ctx)
    with runtime.sessions.begin() as session:
        try:
            requeue_unconfirmed(session, name)
        except NotFound as exc:
            raise fail(str(exc), 2) from exc
        for row in list_subscriptions(session):
            if name is None or row.name == name:
                row.next_attempt_at = None
    _send(runtime, as_json)


def register(app: typer.Typer) -> None:
    """Add `notify …` to the main app."""
    app.add_typer(notify_app, name="notify")
