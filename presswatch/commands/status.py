"""`presswatch status` (what an operator checks first) and `presswatch outbox retry`.

`status` reads and changes nothing: who holds the archive's lock (from the lock file,
without taking it, so a `run` starting meanwhile is never turned away), the search
outbox (depth, oldest row, refusals) and its dead letters, the search backend's health
and size, each source's last crawl and last error, and each notification
subscription's health. Exit 1 when something needs the operator: dead letters, a
search backend that does not answer, a lock file left by a process that is gone, a
failing notifier or notifications left unconfirmed by a crash; 0 otherwise.

`outbox retry` puts the dead letters back in the outbox and drains it at once, under
the archive's lock (a drain must not run during `reindex`). Articles the backend still
refuses go straight back to the dead letters (exit 1).
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import typer

from presswatch.commands.common import JsonOpt, archive_lock, echo_json, fail, get_runtime
from presswatch.lock import Holder, pid_alive

if TYPE_CHECKING:
    from presswatch.runtime import Runtime

__all__ = ["lock_state", "register", "status_report"]


def lock_state(runtime: Runtime) -> dict[str, Any]:
    """The lock file's holder, read without locking. `stale` when the holder's pid is
    gone on this host (the next command takes the lock over)."""
    path = runtime.settings.lock_path
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return {"held": False, "holder": None, "stale": False}
    except (OSError, ValueError):
        data = {}
    pid = data.get("pid") if isinstance(data.get("pid"), int) else None
    holder = Holder(
        pid=pid,
        host=data.get("host") if isinstance(data.get("host"), str) else None,
        since=data.get("since") if isinstance(data.get("since"), str) else None,
        command=data.get("command") if isinstance(data.get("command"), str) else None,
    )
    here = holder.host in (None, socket.gethostname())
    stale = pid is not None and here and not pid_alive(pid)
    return {
        "held": not stale,
        "holder": holder.describe(),
        "pid": holder.pid,
        "host": holder.host,
        "command": holder.command,
        "since": holder.since,
        "stale": stale,
    }


def _search_state(runtime: Runtime) -> dict[str, Any]:
    from search_api.factory import make_backend

    backend = make_backend(runtime.settings)
    try:
        health = backend.health()
        out: dict[str, Any] = {"backend": health.backend, "ok": health.ok, "detail": health.detail}
        if health.ok:
            stats = backend.stats()
            out.update(documents=stats.documents, articles=stats.articles)
        return out
    finally:
        backend.close()


def _frontier_state(runtime: Runtime) -> dict[str, Any]:
    """The crawl frontier: Scrapy's own per machine, or the shared Redis (pinged)."""
    url = runtime.settings.redis_url
    if not url:
        return {"backend": "local", "ok": True, "detail": "Scrapy's scheduler on this machine"}
    import redis

    from crawler.frontier import redact

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        return {"backend": "redis", "ok": False, "detail": f"{redact(url)} unreachable: {exc}"}
    finally:
        client.close()
    return {"backend": "redis", "ok": True, "detail": f"{redact(url)} answers"}


def _browser_state(runtime: Runtime, render_sources: list[str]) -> dict[str, Any]:
    """Whether new versions are rendered (screenshots), and with which browser or why
    not. Off is a choice or a missing package, not a failure: crawls go on without,
    except for the `render = true` sources, which are named then (a crawl leaves them
    out with a problem line)."""
    from presswatch.browser import browser_status

    on, detail = browser_status(runtime.settings)
    if render_sources:
        names = ", ".join(render_sources)
        detail += (
            f"; render = true sources: {names}"
            if on
            else f"; render = true sources not crawled: {names}"
        )
    return {"screenshots": on, "detail": detail, "render_sources": render_sources}


def status_report(runtime: Runtime) -> tuple[dict[str, Any], list[str]]:
    """The status document and the problems that need the operator (empty: all well)."""
    from archive.notify import notify_health
    from archive.store import list_sources
    from search_api.indexer import outbox_state

    with runtime.read_sessions() as session:
        outbox = outbox_state(session)
        rows = list_sources(session)
        sources = [
            {
                "name": s.name,
                "enabled": s.enabled,
                "last_crawl": s.last_crawl_at.isoformat() if s.last_crawl_at else None,
                "last_error": s.last_error,
            }
            for s in rows
        ]
        render_sources = [s.name for s in rows if s.enabled and s.config.render]
        notify = notify_health(session)
    report: dict[str, Any] = {
        "lock": lock_state(runtime),
        "outbox": outbox.as_dict(),
        "search": _search_state(runtime),
        "frontier": _frontier_state(runtime),
        "sources": sources,
        "notify": notify,
        "browser": _browser_state(runtime, render_sources),
    }
    problems = []
    for sub in notify:
        if sub["failures"]:
            problems.append(
                f"notification {sub['name']} is failing ({sub['failures']} tries, next "
                f"{sub['next_attempt_at']}): {sub['last_error']}; `presswatch notify test "
                f"{sub['name']}` checks it"
            )
        if sub["unconfirmed"]:
            problems.append(
                f"notification {sub['name']}: {sub['unconfirmed']} event(s) unconfirmed (a "
                f"sender stopped mid-send); `presswatch notify retry {sub['name']}` sends "
                "them again (some may arrive twice)"
            )
    if outbox.dead_letters:
        problems.append(
            f"{outbox.dead_letters} article(s) refused by the search backend are in the dead "
            "letters: fix the cause (see their errors), then run `presswatch outbox retry`"
        )
    if not report["search"]["ok"]:
        problems.append(f"search backend: {report['search']['detail']}")
    if not report["frontier"]["ok"]:
        problems.append(
            f"crawl frontier: Redis {report['frontier']['detail']}; crawls stop after "
            "redis_outage_s until it is back"
        )
    if report["lock"]["stale"]:
        problems.append(
            f"lock file left by {report['lock']['holder']}, which is not running; the next "
            "command takes it over"
        )
    return report, problems


def _print_report(report: dict[str, Any], problems: list[str], lang: str) -> None:
    """The report for a person, in `lang` (the `lang` setting); `--json` stays as is.
    Names, hosts and the backends' own details are data and stay as they are."""
    from archive.i18n import translations

    _ = translations(lang).gettext  # the name `pybabel extract` looks for
    never = _("never")
    lock = report["lock"]
    if lock["holder"] is None:
        typer.echo(_("lock: free"))
    elif lock["stale"]:
        typer.echo(_("lock: stale, holder gone: %(holder)s") % {"holder": lock["holder"]})
    else:
        typer.echo(_("lock: held: %(holder)s") % {"holder": lock["holder"]})
    outbox = report["outbox"]
    values = {
        "rows": outbox["pending"],
        "articles": outbox["pending_articles"],
        "oldest": outbox["oldest_pending"],
        "refusals": outbox["most_rejections"],
    }
    if outbox["oldest_pending"]:
        said = _(
            "outbox: %(rows)s row(s) for %(articles)s article(s), oldest %(oldest)s; "
            "most refusals %(refusals)s"
        )
    else:
        said = _("outbox: %(rows)s row(s) for %(articles)s article(s); most refusals %(refusals)s")
    typer.echo(said % values)
    typer.echo(_("dead letters: %(n)s") % {"n": outbox["dead_letters"]})
    for letter in outbox["dead_letter_articles"]:
        typer.echo(
            "  "
            + _("article %(id)s: refused %(n)s time(s), last %(when)s: %(error)s")
            % {
                "id": letter["article_id"],
                "n": letter["attempts"],
                "when": letter["failed_at"],
                "error": letter["error"][:200],
            }
        )
    for name in ("search", "frontier"):
        part = report[name]
        state = _("ok") if part["ok"] else _("FAILING")
        line = f"{name}: {part['backend']} {state}: {part['detail']}"
        if name == "search" and "documents" in part:
            size = _("%(documents)s versions of %(articles)s articles") % {
                "documents": part["documents"],
                "articles": part["articles"],
            }
            line += f"; {size}"
        typer.echo(line)
    typer.echo(f"browser: {report['browser']['detail']}")
    typer.echo(_("sources:"))
    if not report["sources"]:
        typer.echo("  " + _("none yet"))
    for source in report["sources"]:
        name = source["name"] if source["enabled"] else _("%(name)s (disabled)") % source
        said = _("%(name)s: last crawl %(when)s") % {
            "name": name,
            "when": source["last_crawl"] or never,
        }
        if source["last_error"]:
            said += "; " + _("last error: %(error)s") % {"error": source["last_error"]}
        typer.echo(f"  {said}")
    typer.echo(_("notifications:"))
    if not report["notify"]:
        typer.echo("  " + _("none"))
    for sub in report["notify"]:
        failing = _("FAILING (%(n)sx)") % {"n": sub["failures"]}
        state = failing if sub["failures"] else _("ok")
        said = _(
            "%(name)s: %(state)s; %(matched)s matched, %(sent)s sent, %(pending)s waiting, "
            "%(unconfirmed)s unconfirmed; last sent %(last)s"
        ) % {**sub, "state": state, "last": sub["last_success_at"] or never}
        typer.echo(f"  {said}")
    for problem in problems:
        typer.echo(f"presswatch: {problem}", err=True)


def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Lock, search outbox and dead letters, backend, last crawls."""
    runtime = get_runtime(ctx)
    report, problems = status_report(runtime)
    if as_json:
        echo_json({**report, "problems": problems})
    else:
        _print_report(report, problems, runtime.settings.lang)
    if problems:
        raise typer.Exit(1)


outbox_app = typer.Typer(
    help="The search outbox: articles waiting for the search index.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@outbox_app.command("retry")
def retry(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Put the dead letters back in the outbox and index them now."""
    from search_api.factory import make_backend
    from search_api.indexer import drain_outbox, outbox_state, retry_dead_letters

    runtime = get_runtime(ctx)
    settings = runtime.settings
    with archive_lock(runtime, "outbox retry"):
        requeued = retry_dead_letters(runtime.sessions, max_attempts=settings.outbox_max_attempts)
        backend = make_backend(settings)
        try:
            backend.configure()
            indexed = drain_outbox(
                runtime.sessions, backend, max_attempts=settings.outbox_max_attempts
            )
        except Exception as exc:  # noqa: BLE001 - configure() failing: report it, keep the rows
            raise fail(f"outbox retry: the search backend failed: {exc}") from exc
        finally:
            backend.close()
    with runtime.read_sessions() as session:
        after = outbox_state(session, limit=0)
    result = {
        "requeued": requeued,
        "indexed": indexed,
        "dead_letters": after.dead_letters,
        "pending": after.pending,
    }
    if as_json:
        echo_json(result)
    else:
        typer.echo(
            f"retried {requeued} dead letter(s): {indexed} outbox row(s) indexed; "
            f"{after.dead_letters} dead letter(s), {after.pending} row(s) still waiting"
        )
    if after.dead_letters or after.pending:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `status` and `outbox retry` to the main app."""
    app.command("status")(status)
    app.add_typer(outbox_app, name="outbox")
