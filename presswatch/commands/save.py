"""`presswatch save URL`: capture one address now and watch it from then on.

The save is an audit entry (a leaf of the transparency log) in the name of `--as
ACCOUNT` (an editor or admin), or of `cli:USER` when none is given; each person may
save `save_per_hour` pages an hour. The web pages' save form and `POST /api/save` run
this command (`presswatch.save_runner`) with `--as` and `--json`.

Exit codes: 0 saved; 1 not saved (robots.txt forbids it, the fetch gave no article,
the hourly quota is spent, the role is too low); 2 bad usage (an address the egress
policy refuses, no source for it, an unknown account or source).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import BadInput, ConfigError, NotAllowed, NotFound, PresswatchError, Throttled
from presswatch.commands.common import (
    JsonOpt,
    archive_lock,
    cli_actor,
    config_exit,
    echo_json,
    get_runtime,
    shown,
)

if TYPE_CHECKING:
    from archive.accounts import Actor
    from presswatch.runtime import Runtime


def _actor(runtime: Runtime, name: str | None) -> Actor:
    from archive.accounts import API_KEY, API_KEY_ACTOR, account_by_name, actor_of

    if name is None:
        return cli_actor()
    if name == API_KEY_ACTOR:  # the web server saving for a holder of the API key
        return API_KEY
    with runtime.read_sessions() as session:
        return actor_of(account_by_name(session, name))


def _refuse(message: str, kind: str, code: int, as_json: bool) -> typer.Exit:
    """The one line (or JSON document, `kind` naming why) of a save that did not happen."""
    if as_json:
        echo_json({"ok": False, "kind": kind, "error": message})
    else:
        typer.echo(f"presswatch save: {shown(message)}", err=True)
    return typer.Exit(code)


def save_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The address to capture now.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source", "-s", metavar="NAME", help="Record under this source (default: by host)."
        ),
    ] = None,
    note: Annotated[
        str, typer.Option(metavar="TEXT", help="Why it was saved (kept in the audit log).")
    ] = "",
    as_account: Annotated[
        str | None, typer.Option("--as", metavar="ACCOUNT", help="Save as this account.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Capture one address now and watch it from then on.

    Same egress policy, robots.txt rules, size limits and recording as a crawl; the
    browser renders it when it is on. The source is --source, else the one whose
    article pattern or host matches the address."""
    from presswatch.crawling.sources import load_crawl_sources
    from presswatch.saving import SaveFailed, save_page

    if len(note) > 1000:
        raise _refuse("--note: at most 1000 characters", "usage", 2, as_json)
    runtime = get_runtime(ctx)
    try:
        sources = load_crawl_sources(runtime)
    except ConfigError as exc:
        raise config_exit(exc) from exc
    try:
        actor = _actor(runtime, as_account)
        with archive_lock(runtime, "save"):
            outcome = save_page(
                runtime,
                sources,
                url,
                actor=actor,
                source=source,
                note=note,
                now=datetime.now(UTC),
            )
    except Throttled as exc:
        raise _refuse(str(exc), "throttled", 1, as_json) from exc
    except NotAllowed as exc:
        raise _refuse(str(exc), "forbidden", 1, as_json) from exc
    except (BadInput, NotFound) as exc:
        raise _refuse(str(exc), "refused", 2, as_json) from exc
    except SaveFailed as exc:
        raise _refuse(str(exc), "failed", 1, as_json) from exc
    except PresswatchError as exc:
        raise _refuse(f"save failed: {exc}", "failed", 1, as_json) from exc
    doc: dict[str, Any] = outcome.as_json()
    if as_json:
        echo_json(doc)
        if outcome.problem is not None:
            raise typer.Exit(1)
        return
    if outcome.problem is not None:
        raise _refuse(outcome.problem, "failed", 1, as_json)
    _print_saved(doc, runtime.settings.lang)


def _print_saved(doc: dict[str, Any], lang: str) -> None:
    """What was saved, in `lang`: in English the status and outcome stay codes (as in
    `--json`), in another language they are its words."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext

    def word(code: str) -> str:
        return code if lang == "en" else label(code, _)

    values = {**doc, "url": shown(doc["url"]), "status": word(doc["status"])}
    values["outcome"] = word(doc["outcome"])
    if doc["article_id"] is None:
        article = _("no article (the page was recorded as a capture only)")
    else:
        article = _("article %(article_id)s (%(status)s, %(versions)s version(s))") % values
    values["article"] = article
    if doc["next_check"]:
        said = _(
            "saved %(url)s under %(source)s: capture %(capture_id)s (%(outcome)s), "
            "%(article)s, next check %(next_check)s; audit leaf %(audit_leaf_index)s"
        )
    else:
        said = _(
            "saved %(url)s under %(source)s: capture %(capture_id)s (%(outcome)s), "
            "%(article)s; audit leaf %(audit_leaf_index)s"
        )
    typer.echo(said % values)


def register(app: typer.Typer) -> None:
    app.command("save")(save_cmd)
