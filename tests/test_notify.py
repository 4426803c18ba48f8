"""Notifications deliver for real: email to a local SMTP server (aiosmtpd) and JSON
webhooks to a local HTTP server, through Apprise; what arrived is read back.

Also the bad input of issue 15: an unreachable notifier (retried with backoff, shown,
the crawl unaffected), a malformed Apprise URL (rejected naming the line), a
subscription that matches nothing (fine and visible), a 10,000-event burst (one
digest), and a sender that dies between sending and recording (not sent twice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

import presswatch.notify as notify_module
from archive.egress import parse_networks
from archive.notify import NotifierEgress, SubscriptionSpec, add_subscription, notify_health
from archive.store import ChangeEvent, NotifyOutbox, SourceOptions, SourceOwner, Version
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.notify import SendReport, send_due
from presswatch.runtime import Runtime
from tests.archive_helpers import add_sentence, en_story, exchange, km_story, record
from tests.site_server import NewsSite, cli, cli_env, free_port, write_sources
from tests.webhook_receiver import LOCAL, Webhook

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def send(sessions: Any, **options: Any) -> SendReport:
    return send_due(sessions, egress=LOCAL, **options)


# -- local receivers -----------------------------------------------------------------


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, f"mailto://127.0.0.1:{port}?from=presswatch@example.org&to=desk@example.org"
    finally:
        controller.stop()


# -- archive helpers -----------------------------------------------------------------


def subscribe(rt: Runtime, name: str, url: str, **fields: Any) -> None:
    with rt.sessions.begin() as session:
        add_subscription(
            session, SubscriptionSpec(name, url, **fields), origin="cli", now=T0, egress=LOCAL
        )


def discover_and_edit(rt: Runtime) -> int:
    """One English story found, then edited: its article id."""
    page = en_story()
    first = record(rt, exchange(page.url, page.html, at=T0))
    record(
        rt, exchange(page.url, add_sentence(page.html, page.snippet), at=T0 + timedelta(hours=1))
    )
    assert first.article_id is not None
    return first.article_id


def health(rt: Runtime, name: str) -> dict[str, Any]:
    with rt.sessions() as session:
        return next(s for s in notify_health(session) if s["name"] == name)


# -- delivery ------------------------------------------------------------------------


def test_email_and_webhook_arrive_and_are_sent_once(
    runtime: Runtime, webhook: Webhook, smtp: tuple[Mailbox, str]
) -> None:
    box, mail_url = smtp
    subscribe(runtime, "desk", mail_url, kinds=("edited",))
    subscribe(runtime, "hook", webhook.url, keywords=("scam compound",))
    article_id = discover_and_edit(runtime)

    report = send(runtime.sessions, public_url="https://watch.example", now=T0)
    assert report.failed == {}
    assert report.queued == 2 and report.messages == 2  # edited → desk; edited → hook

    assert len(box.messages) == 1
    rcpt, mail = box.messages[0]
    assert rcpt == ["desk@example.org"]
    assert "edited" in mail["subject"] and "212" in mail["subject"]  # the story's title
    text = mail.get_body(("plain",)).get_content()
    assert en_story().url in text
    assert f"https://watch.example/articles/{article_id}/diff" in text

    assert len(webhook.received) == 1
    assert "edited" in webhook.received[0]["title"]
    assert en_story().url in webhook.received[0]["message"]

    again = send(runtime.sessions, now=T0 + timedelta(minutes=5))
    assert (again.queued, again.messages) == (0, 0)
    assert len(box.messages) == 1 and len(webhook.received) == 1
    assert health(runtime, "desk")["sent"] == 1


def test_filters_by_source_topic_kind_and_significance(runtime: Runtime, webhook: Webhook) -> None:
    subscribe(runtime, "khmer-topic", webhook.url, keywords=("គណៈកម្មការ",), kinds=("discovered",))
    subscribe(runtime, "other-outlet", webhook.url, sources=("nobody",))
    subscribe(runtime, "big-edits", webhook.url, min_significance=0.5)
    subscribe(runtime, "edits", webhook.url)
    km = km_story()
    record(runtime, exchange(km.url, km.html, at=T0))
    discover_and_edit(runtime)

    send(runtime.sessions, now=T0)
    by_name = {
        name: health(runtime, name)
        for name in ("khmer-topic", "other-outlet", "big-edits", "edits")
    }
    assert by_name["khmer-topic"]["sent"] == 1  # the Khmer story mentions the committee
    assert by_name["edits"]["sent"] == 1
    # Matching nothing is fine and visible.
    assert by_name["other-outlet"]["matched"] == 0
    # An edit without a significance score counts as 0.
    assert by_name["big-edits"]["matched"] == 0
    titles = [m["title"] for m in webhook.received]
    assert sum("discovered" in t for t in titles) == 1 and sum("edited" in t for t in titles) == 1

    # Once helper F's scores are there, a significant edit passes the filter.
    page = en_story()
    edited = record(
        runtime,
        exchange(
            page.url,
            add_sentence(add_sentence(page.html, page.snippet), page.snippet),
            at=T0 + timedelta(hours=2),
        ),
    )
    with runtime.sessions.begin() as session:
        event = session.scalars(
            select(ChangeEvent).where(ChangeEvent.capture_id == edited.capture_id)
        ).one()
        event.detail = {
            **event.detail,
            "significance": 0.8,
            "classes": [{"name": "numbers_changed", "evidence": "212 → 200"}],
        }
        # A title is the outlet's text: it must not forge lines of the message.
        version = session.get(Version, event.to_version_id)
        assert version is not None
        version.title = "Police free 212 workers\n[ledger] removed: forged\x07"
    send(runtime.sessions, now=T0 + timedelta(hours=2))
    assert health(runtime, "big-edits")["sent"] == 1
    message = webhook.received[-1]["message"]
    assert "significance 0.80" in message and "classes: numbers changed" in message
    assert "\n[ledger] removed" not in message and "\x07" not in message
    assert "Police free 212 workers [ledger] removed: forged" in message


def test_a_burst_of_10000_events_is_one_digest(runtime: Runtime, webhook: Webhook) -> None:
    subscribe(runtime, "hook", webhook.url, keywords=("scam compound",))
    page = en_story()
    first = record(runtime, exchange(page.url, page.html, at=T0))
    with runtime.sessions.begin() as session:
        session.execute(
            insert(ChangeEvent),
            [
                {
                    "article_id": first.article_id,
                    "capture_id": first.capture_id,
                    "kind": "edited",
                    "how": ["body"],
                    "at": T0 + timedelta(seconds=i),
                    "detail": {},
                }
                for i in range(10_000)
            ],
        )
    report = send(runtime.sessions, now=T0 + timedelta(hours=3))
    assert report.queued == 10_000 and report.events_sent == 10_000
    assert len(webhook.received) == 1
    digest = webhook.received[0]
    assert "10000 change(s)" in digest["title"]
    assert "… and 9900 more" in digest["message"]
    assert health(runtime, "hook")["sent"] == 10_000


def test_daily_digest_waits_for_its_hour(runtime: Runtime, webhook: Webhook) -> None:
    subscribe(runtime, "daily", webhook.url, mode="digest")
    discover_and_edit(runtime)
    early = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    send(runtime.sessions, digest_hour=7, now=early)
    assert webhook.received == []
    send(runtime.sessions, digest_hour=7, now=early + timedelta(hours=1, minutes=5))
    assert len(webhook.received) == 1 and "daily digest" in webhook.received[0]["title"]
    send(runtime.sessions, digest_hour=7, now=early + timedelta(hours=3))
    assert len(webhook.received) == 1
    # An edit seen after today's digest hour waits for tomorrow's digest.
    page = en_story()
    html = add_sentence(add_sentence(page.html, page.snippet), page.snippet)
    record(runtime, exchange(page.url, html, at=early + timedelta(hours=3)))
    send(runtime.sessions, digest_hour=7, now=early + timedelta(hours=5))
    assert len(webhook.received) == 1
    send(runtime.sessions, digest_hour=7, now=early + timedelta(days=1, hours=2))
    assert len(webhook.received) == 2 and "1 change(s)" in webhook.received[1]["title"]


# -- failures ------------------------------------------------------------------------


def test_unreachable_notifier_is_retried_with_backoff_then_delivers(runtime: Runtime) -> None:
    port = free_port()
    subscribe(runtime, "hook", f"json://127.0.0.1:{port}/hook")
    discover_and_edit(runtime)

    first = send(runtime.sessions, now=T0)
    assert "hook" in first.failed
    state = health(runtime, "hook")
    assert state["failures"] == 1 and state["pending"] == 1 and state["last_error"]
    assert state["next_attempt_at"] == (T0 + timedelta(minutes=1)).isoformat()

    # Within the backoff nothing is tried; after it, the next try doubles the wait.
    assert send(runtime.sessions, now=T0 + timedelta(seconds=30)).failed == {}
    send(runtime.sessions, now=T0 + timedelta(minutes=2))
    assert health(runtime, "hook")["next_attempt_at"] == (T0 + timedelta(minutes=4)).isoformat()

    with Webhook(port) as hook:
        done = send(runtime.sessions, now=T0 + timedelta(minutes=5))
    assert done.failed == {} and len(hook.received) == 1
    state = health(runtime, "hook")
    assert (state["failures"], state["pending"], state["sent"], state["last_error"]) == (
        0,
        0,
        1,
        None,
    )


def test_a_crash_between_send_and_mark_does_not_send_twice(
    runtime: Runtime, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(runtime, "hook", webhook.url)
    discover_and_edit(runtime)

    real_finish = notify_module.finish_claim

    def crash(session: Any, token: str, *, sent: bool, **kw: Any) -> None:
        if sent:
            raise SystemExit("killed after the send, before recording it")
        real_finish(session, token, sent=sent, **kw)

    monkeypatch.setattr(notify_module, "finish_claim", crash)
    with pytest.raises(SystemExit):
        send(runtime.sessions, now=T0)
    monkeypatch.undo()
    assert len(webhook.received) == 1  # it went

    # A second sender soon after leaves the claim alone; once the claim is old, the
    # rows are unconfirmed, shown, and not sent again.
    send(runtime.sessions, now=T0 + timedelta(minutes=1))
    later = send(runtime.sessions, now=T0 + timedelta(minutes=20))
    assert later.unconfirmed == 1
    assert len(webhook.received) == 1
    state = health(runtime, "hook")
    assert (state["unconfirmed"], state["sent"], state["pending"]) == (1, 0, 0)
    with runtime.sessions() as session:
        states = list(session.scalars(select(NotifyOutbox.state)))
    assert states == ["unconfirmed"]

    from presswatch.commands.status import status_report

    _report, problems = status_report(runtime)
    assert any("1 event(s) unconfirmed" in p and "notify retry hook" in p for p in problems)


def test_a_crash_while_queueing_loses_and_doubles_nothing(
    runtime: Runtime, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(runtime, "hook", webhook.url)
    discover_and_edit(runtime)
    real_queue = notify_module.queue_deliveries

    def crash(*args: Any, **kw: Any) -> int:
        real_queue(*args, **kw)
        raise SystemExit("killed after queueing, before the commit")

    monkeypatch.setattr(notify_module, "queue_deliveries", crash)
    with pytest.raises(SystemExit):
        send(runtime.sessions, now=T0)
    monkeypatch.undo()
    with runtime.sessions() as session:
        assert list(session.scalars(select(NotifyOutbox.id))) == []
    assert webhook.received == []

    report = send(runtime.sessions, now=T0)
    assert (report.queued, report.messages) == (1, 1)
    assert send(runtime.sessions, now=T0).queued == 0
    assert len(webhook.received) == 1


# -- configuration and the command line ----------------------------------------------


def test_malformed_apprise_url_in_sources_toml_names_the_line(tmp_path: Path) -> None:
    from presswatch.sources import check_sources

    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "ledger"\nbase_url = "https://ledger.example/"\n'
        'feeds = ["https://ledger.example/feed/"]\n\n'
        '[[notify]]\nname = "desk"\nurl = "json://127.0.0.1/hook"\n\n'
        '[[notify]]\nname = "broken"\nurl = "mailto://"\nkinds = ["edited", "deleted"]\n',
        encoding="utf-8",
    )
    parsed, problems = check_sources(path)
    assert parsed is None
    lines = {str(p).split(": ", 2)[0]: str(p) for p in problems}
    assert f"{path}:12" in lines and "[notify broken] url" in lines[f"{path}:12"]
    assert "Apprise URL" in lines[f"{path}:12"]
    assert "'deleted' is not a change kind" in lines[f"{path}:13"]


def test_file_subscriptions_survive_api_sources_and_a_new_url_is_tried_at_once(
    runtime: Runtime, tmp_path: Path, webhook: Webhook
) -> None:
    from presswatch.notify import sync_notify
    from presswatch.sources import load_sources, with_archive_sources

    path = tmp_path / "sources.toml"
    dead = f"json://127.0.0.1:{free_port()}/hook"
    text = (
        '[[source]]\nname = "ledger"\nbase_url = "https://ledger.example/"\n'
        'feeds = ["https://ledger.example/feed/"]\n\n[[notify]]\nname = "desk"\nurl = "{}"\n'
    )
    path.write_text(text.format(dead), encoding="utf-8")
    api_row = (
        "extra",
        "https://extra.example/",
        ["en"],
        SourceOptions(owner=SourceOwner.API),
        True,
    )
    crawled = with_archive_sources(load_sources(path), [api_row])
    assert [s.name for s in crawled.source] == ["ledger", "extra"]
    assert [n.name for n in crawled.notify] == ["desk"]

    sync_notify(runtime.sessions, crawled, egress=LOCAL, now=T0)
    discover_and_edit(runtime)
    assert "desk" in send(runtime.sessions, now=T0).failed
    assert health(runtime, "desk")["next_attempt_at"] is not None

    path.write_text(text.format(webhook.url), encoding="utf-8")
    sync_notify(runtime.sessions, load_sources(path), egress=LOCAL, now=T0)
    assert send(runtime.sessions, now=T0).failed == {}
    assert len(webhook.received) == 1
    assert health(runtime, "desk")["origin"] == "file"


def test_cli_add_list_test_remove(tmp_path: Path, webhook: Webhook) -> None:
    from typer.testing import CliRunner

    from presswatch.cli import app

    data = tmp_path / "data"
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[topics.trafficking]\nkeywords = ["scam compound"]\n\n'
        '[[source]]\nname = "ledger"\nbase_url = "https://ledger.example/"\n'
        'feeds = ["https://ledger.example/feed/"]\n\n'
        f'[[notify]]\nname = "from-file"\nurl = "{webhook.url}"\ntopic = "trafficking"\n',
        encoding="utf-8",
    )

    def run(*args: str) -> Any:
        return CliRunner().invoke(
            app, ["--data-dir", str(data), "--sources", str(sources), *args], env=cli_env()
        )

    assert run("init").exit_code == 0
    bad = run("notify", "add", "x", "mailto://")
    assert bad.exit_code == 2 and "Apprise URL" in bad.stderr
    secret = f"json://user:s3cret@127.0.0.1:{webhook.port}/hook"
    added = run("notify", "add", "desk", secret, "--kind", "removed", "--json")
    assert added.exit_code == 0, added.output
    assert "s3cret" not in added.stdout and json.loads(added.stdout)["kinds"] == ["removed"]
    # Unset PRESSWATCH_PUBLIC_URL: the messages' links would be bare paths; said once here.
    assert "warning: PRESSWATCH_PUBLIC_URL is unset" in added.stderr

    rows = {r["name"]: r for r in json.loads(run("notify", "list", "--json").stdout)}
    assert rows["from-file"]["origin"] == "file"
    assert rows["from-file"]["keywords"] == ["scam compound"]
    assert rows["desk"]["matched"] == 0
    assert "nothing matched yet" in run("notify", "list").stdout
    # A name in neither the archive nor sources.toml is a typo: refused, nothing added.
    unknown = run("notify", "add", "elsewhere", webhook.url, "--source", "nowhere")
    assert unknown.exit_code == 2 and "no source named 'nowhere'" in unknown.stderr
    assert "elsewhere" not in run("notify", "list").stdout

    tested = run("notify", "test", "desk")
    assert tested.exit_code == 0, tested.output
    assert webhook.received[-1]["title"] == "Presswatch test"
    refused = run("notify", "test", f"json://127.0.0.1:{free_port()}/x")
    assert refused.exit_code == 1 and "failed" in refused.stderr

    assert run("notify", "remove", "from-file").exit_code == 2
    assert run("notify", "remove", "desk").exit_code == 0
    listed = json.loads(run("notify", "list", "--json").stdout)
    assert [r["name"] for r in listed] == ["from-file"]


def test_dead_notifier_never_fails_or_slows_a_run(tmp_path: Path) -> None:
    """`run` with a subscription to a closed port: the crawl records everything, exits 0
    quietly; `status` then shows the failing notifier (exit 1)."""
    from presswatch.settings import Settings

    data = tmp_path / "data"
    env = cli_env()
    with NewsSite(articles=DEMO_ARTICLES[:2]) as site:
        sources = write_sources(
            tmp_path / "sources.toml", site, topic=False, listings=[site.base_url]
        )
        # Made here rather than by `presswatch init`: a process start saved.
        made = Runtime(Settings(data_dir=data))
        made.init()
        made.close()
        dead = f"json://127.0.0.1:{free_port()}/hook"
        added = cli(data, sources, "notify", "add", "dead", dead, "--kind", "discovered", env=env)
        assert added.returncode == 0, added.stderr
        run = cli(data, sources, "run", "--json", env=env)
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    log_text = (data / "logs" / "presswatch.log").read_text(encoding="utf-8")
    assert "notification dead failed (retry after 0:01:00)" in log_text
    doc = json.loads(run.stdout)
    assert doc["discovered"] >= 1
    assert "dead" in doc["notified"]["failed"]

    status = cli(data, sources, "status", "--json", env=env)
    assert status.returncode == 1
    report = json.loads(status.stdout)
    dead_row = next(s for s in report["notify"] if s["name"] == "dead")
    assert dead_row["failures"] == 1 and dead_row["pending"] >= 1
    assert any("notification dead is failing" in p for p in report["problems"])


# -- the admin API and the sources page ----------------------------------------------


def test_admin_api_manages_subscriptions_and_sources_shows_their_health(
    tmp_path: Path, webhook: Webhook
) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from archive.notify import DEFAULT_NOTIFY_KINDS
    from presswatch.settings import Settings
    from search_api.app import create_app
    from search_api.schemas import NotifyIn

    rt = Runtime(
        Settings(
            data_dir=tmp_path / "data",
            api_key=SecretStr("k" * 32),
            allow_networks=["127.0.0.1/32"],
        )
    )
    rt.init()
    try:
        app = create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)
        admin = TestClient(app, headers={"X-API-Key": "k" * 32})
        public = TestClient(app)
        assert public.post("/api/admin/notify", json={}).status_code == 401
        bad = admin.post("/api/admin/notify", json={"name": "x", "url": "mailto://"})
        assert bad.status_code == 400 and "Apprise URL" in bad.json()["detail"]

        secret = f"json://user:s3cret@127.0.0.1:{webhook.port}/hook"
        created = admin.post("/api/admin/notify", json={"name": "desk", "url": secret})
        assert created.status_code == 201, created.text
        assert "s3cret" not in created.text
        assert tuple(created.json()["kinds"]) == DEFAULT_NOTIFY_KINDS
        assert NotifyIn(name="x", url="json://h/p").kinds == list(DEFAULT_NOTIFY_KINDS)
        assert (
            admin.post("/api/admin/notify", json={"name": "desk", "url": secret}).status_code == 409
        )
        dead = f"json://127.0.0.1:{free_port()}/hook"
        assert (
            admin.post("/api/admin/notify", json={"name": "dead", "url": dead}).status_code == 201
        )

        discover_and_edit(rt)
        send(rt.sessions)
        assert len(webhook.received) == 1

        listed = admin.get("/api/admin/notify").json()
        rows = {r["name"]: r for r in listed["data"]}
        assert rows["desk"]["sent"] == 1 and rows["dead"]["last_error"]

        # The public view: health, but neither URLs nor error text.
        health_doc = public.get("/api/sources/notify").json()
        by_name = {r["name"]: r for r in health_doc["data"]}
        assert by_name["dead"]["failures"] == 1 and by_name["desk"]["sent"] == 1
        assert "url" not in by_name["desk"] and "last_error" not in by_name["dead"]
        page = public.get("/sources").text
        assert "Notifications" in page and "failing (1 tries)" in page and "s3cret" not in page

        removed = admin.delete("/api/admin/notify/dead")
        assert removed.status_code == 200 and removed.json()["failures"] == 1
        assert admin.delete("/api/admin/notify/dead").status_code == 404
        assert [r["name"] for r in admin.get("/api/admin/notify").json()["data"]] == ["desk"]
    finally:
        rt.close()


@pytest.mark.postgres
def test_queue_and_claims_on_postgres(pg_url: str, tmp_path: Path, webhook: Webhook) -> None:
    from presswatch.settings import Settings

    rt = Runtime(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    rt.init()
    try:
        subscribe(rt, "hook", webhook.url)
        discover_and_edit(rt)
        first = send(rt.sessions, now=T0)
        second = send(rt.sessions, now=T0 + timedelta(minutes=1))
        assert (first.queued, first.messages, second.queued, second.messages) == (1, 1, 0, 0)
        assert len(webhook.received) == 1
    finally:
        rt.close()


@pytest.mark.postgres
def test_two_runs_adding_one_new_file_subscription_at_once_both_go_on(pg_url: str) -> None:
    """Two machines' runs meet a new `[[notify]]` entry together: the one that loses
    the race to insert it makes the winner's row the file's instead of failing."""
    from sqlalchemy import func, select

    from archive.notify.subscriptions import SubscriptionSpec, sync_file_subscriptions
    from archive.store.db import make_engine, make_session_factory
    from archive.store.models import NotifySubscription
    from tests.conftest import second_waits_on_first

    sessions = make_session_factory(make_engine(pg_url))

    def sync(url: str) -> Callable[[Any], None]:
        return lambda session: sync_file_subscriptions(
            session, [SubscriptionSpec("desk", url)], now=T0, egress=LOCAL
        )

    failures = second_waits_on_first(
        sessions, sync("json://127.0.0.1:9/first"), sync("json://127.0.0.1:9/second")
    )
    assert failures == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotifySubscription)) == 1
        row = session.scalars(select(NotifySubscription)).one()
        assert (row.origin, row.url) == ("file", "json://127.0.0.1:9/second")


# -- the egress policy (issue 22, item 2) --------------------------------------------


@pytest.fixture
def internal() -> Iterator[Webhook]:
    """A stand-in for an internal service (169.254.169.254…): Linux routes all of 127/8
    to loopback, and only 127.0.0.1 is allowed; it must never see a request."""
    with Webhook(host="127.0.0.2") as hook:
        yield hook


def _internal_forms(port: int) -> list[str]:
    return [
        f"json://127.0.0.2:{port}/hook",
        f"json://2130706434:{port}/hook",  # 127.0.0.2 as one number
        f"json://0x7f000002:{port}/hook",  # and in hex
    ]


def test_internal_notifier_urls_are_refused_when_configured(internal: Webhook) -> None:
    forms = [
        *_internal_forms(internal.port),
        "json://169.254.169.254/latest/meta-data",
        "json://[::1]:8080/hook",
        "json://10.1.2.3/hook",
        "json://localhost/hook",
        "mailto://localhost?from=a@example.org&to=b@example.org",
    ]
    for url in forms:
        problems = SubscriptionSpec("desk", url).problems(NotifierEgress())
        assert problems and "refused address" in problems[0], url
        assert "allow_networks" in problems[0], url  # says what to change
    # Allowing 127.0.0.1 opens that address only, not the rest of 127/8.
    for url in _internal_forms(internal.port):
        assert SubscriptionSpec("desk", url).problems(LOCAL), url
    assert SubscriptionSpec("desk", "json://localhost/hook").problems(LOCAL) == []
    assert SubscriptionSpec("desk", "json://hooks.example.org/hook").problems(LOCAL) == []
    # A hosted service's URL carries a token where the host would be: never resolved.
    assert SubscriptionSpec("desk", "tgram://123456789:ABCdefGHIjkl/12345").problems() == []


def test_a_name_resolving_to_a_refused_address_is_refused_when_configured() -> None:
    egress = NotifierEgress(resolve=lambda host: ["169.254.169.254", "10.0.0.7"])
    problems = SubscriptionSpec("desk", "json://hooks.example.org/hook").problems(egress)
    assert problems and "hooks.example.org resolves to 169.254.169.254" in problems[0]


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2", "::1"])  # what the policy must refuse
def test_internal_notifier_urls_are_not_delivered_to(internal: Webhook) -> None:
    from presswatch.notify import deliver

    for url in _internal_forms(internal.port):
        error = deliver(url, "t", "b", LOCAL)
        assert error is not None and "refused address" in error, url
    assert internal.received == []


def test_the_policy_is_applied_again_at_send_time(runtime: Runtime, webhook: Webhook) -> None:
    """Configured while its name resolved to an allowed address; refused once it
    does not (here: the operator closed loopback): nothing is sent, the failure shows."""
    url = f"json://localhost:{webhook.port}/hook"
    subscribe(runtime, "desk", url)
    discover_and_edit(runtime)
    report = send_due(runtime.sessions, egress=NotifierEgress(), now=T0)
    assert "loopback" in report.failed["desk"]
    assert webhook.received == []
    assert "refused address" in health(runtime, "desk")["last_error"]


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2", "::1"])  # what the policy must refuse
def test_a_webhook_redirect_to_an_internal_address_is_not_followed(
    internal: Webhook,
) -> None:
    from presswatch.notify import deliver

    target = f"http://127.0.0.2:{internal.port}/hook"
    with Webhook(redirect=target) as hostile:
        deliver(hostile.url, "t", "b", LOCAL)
        # Even a URL asking Apprise to follow redirects reaches no refused address.
        deliver(hostile.url + "?redirect=yes", "t", "b", LOCAL)
        assert len(hostile.received) == 2
    assert internal.received == []


def test_guarded_lookups_answer_only_allowed_addresses() -> None:
    import socket

    from presswatch.egress import AddressRefused, guarded

    with guarded(LOCAL.allow):
        with pytest.raises(AddressRefused, match="loopback"):
            socket.getaddrinfo("127.0.0.2", 80)
        with pytest.raises(AddressRefused, match="loopback"):
            socket.getaddrinfo("2130706434", 80)
        answers = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
        assert {a[4][0] for a in answers} == {"127.0.0.1"}  # ::1 dropped
    assert socket.getaddrinfo("127.0.0.2", 80)  # other code is untouched


def test_mail_relay_networks_open_loopback_to_mail_only(
    smtp: tuple[Mailbox, str], webhook: Webhook
) -> None:
    from presswatch.notify import deliver

    box, mail_url = smtp
    closed = deliver(mail_url, "t", "b", NotifierEgress())
    assert closed is not None and "mail_relay_networks" in closed
    assert box.messages == []
    relay = NotifierEgress(mail_relay=parse_networks("127.0.0.1/32"))
    assert SubscriptionSpec("desk", mail_url).problems(relay) == []
    assert deliver(mail_url, "Presswatch", "hello", relay) is None
    assert len(box.messages) == 1
    assert SubscriptionSpec("hook", webhook.url).problems(relay)  # not for webhooks
    assert deliver(webhook.url, "t", "b", relay) is not None
    assert webhook.received == []


def test_mail_relay_networks_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from presswatch.settings import Settings

    monkeypatch.setenv("PRESSWATCH_MAIL_RELAY_NETWORKS", "127.0.0.1/32, ::1")
    settings = Settings(data_dir=tmp_path)
    assert settings.mail_relay_networks == ["127.0.0.1/32", "::1/128"]
    assert Runtime(settings).notifier_egress().mail_relay == parse_networks("127.0.0.1/32,::1")


TOKEN = "Zq7PATHtoken0123456789"


def test_a_webhook_path_token_is_never_shown(tmp_path: Path, webhook: Webhook) -> None:
    """Not in `notify list`, `status`, the admin API, nor a failure's reason."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr
    from typer.testing import CliRunner

    from presswatch.cli import app
    from presswatch.settings import Settings
    from search_api.app import create_app

    data = tmp_path / "data"
    url = f"json://127.0.0.1:{webhook.port}/hooks/{TOKEN}?+X-Token=H3adersecret"

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, ["--data-dir", str(data), *args], env=cli_env())

    assert run("init").exit_code == 0
    added = run("notify", "add", "desk", url)
    assert added.exit_code == 0, added.output
    dead = f"json://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    assert run("notify", "add", "dead", dead).exit_code == 0
    tested = run("notify", "test", "dead")
    assert tested.exit_code == 1
    shown = [added.output, tested.output, tested.stderr]
    shown += [run("notify", "list").output, run("notify", "list", "--json").output]
    shown += [run("status").output, run("status", "--json").output]
    rt = Runtime(
        Settings(data_dir=data, api_key=SecretStr("k" * 32), allow_networks=["127.0.0.1/32"])
    )
    try:
        client = TestClient(create_app(rt.settings, sessions=rt.sessions, warc=rt.warc))
        shown.append(client.get("/api/admin/notify", headers={"X-API-Key": "k" * 32}).text)
    finally:
        rt.close()
    assert "json://127.0.0.1:" in shown[3]  # the subscription is listed…
    for text in shown:
        assert TOKEN not in text and "H3adersecret" not in text  # …its secrets are not


def test_apprise_log_lines_do_not_reach_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    import logging
    import sys

    from archive.notify import apprise_url_problem
    from presswatch.notify import deliver

    handler = logging.StreamHandler(sys.stderr)  # what the CLI's logging does
    logging.getLogger().addHandler(handler)
    try:
        dead = f"json://127.0.0.1:{free_port()}/hooks/{TOKEN}"
        error = deliver(dead, "t", "b", LOCAL)
        apprise_url_problem(f"mailto://{TOKEN}@")  # a warning while parsing
    finally:
        logging.getLogger().removeHandler(handler)
    assert error is not None and TOKEN not in error
    assert TOKEN not in capfd.readouterr().err


def test_sources_check_refuses_an_internal_notifier_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "ledger"\nbase_url = "https://ledger.example/"\n\n'
        '[[notify]]\nname = "desk"\nurl = "json://0x7f000002/hook"\n',
        encoding="utf-8",
    )
    result = cli(tmp_path / "data", path, "sources", "--check", env=cli_env())
    assert result.returncode == 2
    assert "sources.toml:7:" in result.stderr and "127.0.0.2 is a loopback address" in result.stderr
