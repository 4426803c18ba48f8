"""Accounts on the web: sign-in with a secure session cookie, CSRF on every form POST,
throttled sign-ins, roles on the admin API and case files, revoked tokens refused,
private archives, and no password or token in pages, logs or `status`."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from archive.accounts import API_KEY, create_account, create_token, revoke_token
from archive.store import AuditEntry
from presswatch.cli import app as cli_app
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from search_api.backends.sqlite_fts import SqliteFtsBackend
from tests import archive_helpers as h

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
URL = "https://news.example/story/1/"
PASSWORDS = {"ana": "ana's long password", "ed": "ed's long password!", "vi": "vi's password 123"}
API_KEY_VALUE = "s3cret-api-key-for-cron"


@dataclass
class Team:
    runtime: Runtime
    tokens: dict[str, str]
    article_id: int

    def client(self, **settings: Any) -> TestClient:
        merged = self.runtime.settings.model_copy(update=settings)
        backend = SqliteFtsBackend(self.runtime.settings.search_index_path)
        return TestClient(
            create_app(
                merged,
                sessions=self.runtime.sessions,
                warc=self.runtime.warc,
                backend=backend,
                clock=lambda: NOW,
            ),
            base_url="https://testserver",
        )


@pytest.fixture
def team(tmp_path: Path, at: Any) -> Iterator[Team]:
    settings = Settings(data_dir=tmp_path / "data", api_key=API_KEY_VALUE)
    rt = Runtime(settings)
    rt.init()
    result = h.record(rt, h.exchange(URL, h.en_story(URL).html, at=at(0)))
    tokens = {}
    with rt.sessions.begin() as s:
        for name, role in (("ana", "admin"), ("ed", "editor"), ("vi", "viewer")):
            create_account(s, API_KEY, name, role, PASSWORDS[name], now=NOW)
            tokens[name] = create_token(s, API_KEY, name, "tests", now=NOW).token
    assert result.article_id is not None
    yield Team(rt, tokens, result.article_id)
    rt.close()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: TestClient, name: str) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"name": name, "password": PASSWORDS[name], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_sets_a_secure_http_only_lax_cookie_and_shows_who(team: Team) -> None:
    with team.client(public_url="https://watch.example") as c:
        token = csrf_of(c.get("/signin").text)
        response = c.post(
            "/signin",
            data={"name": "ed", "password": PASSWORDS["ed"], "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
        assert "pw_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
        page = c.get(f"/articles/{team.article_id}").text
        assert "ed (editor)" in page and "Add to case" in page
        # Signing out ends the session on the server, not only in the browser.
        secret = c.cookies.get("pw_session")
        c.post("/signout", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        c.cookies.set("pw_session", secret or "")
        assert "Sign in" in c.get("/").text and "ed (editor)" not in c.get("/").text


def test_cookie_is_not_secure_without_an_https_public_url(team: Team) -> None:
    with team.client(public_url="http://127.0.0.1:8000") as c:
        token = csrf_of(c.get("/signin").text)
        response = c.post(
            "/signin",
            data={"name": "vi", "password": PASSWORDS["vi"], "csrf_token": token},
            follow_redirects=False,
        )
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
        assert "HttpOnly" in cookie and "Secure" not in cookie


def test_every_form_post_without_its_csrf_token_fails(team: Team) -> None:
    with team.client() as c:
        assert (
            c.post(
                "/signin", data={"name": "ed", "password": PASSWORDS["ed"], "csrf_token": "forged"}
            ).status_code
            == 403
        )
        sign_in(c, "ed")
        for path, data in (
            ("/cases/add", {"case": "raid", "article_id": str(team.article_id)}),
            ("/signout", {}),
        ):
            assert c.post(path, data=data, follow_redirects=False).status_code in (403, 422)
            forged = {**data, "csrf_token": "x" * 43}
            assert c.post(path, data=forged, follow_redirects=False).status_code == 403
        with team.runtime.sessions() as s:
            assert (
                s.scalars(select(AuditEntry).where(AuditEntry.action == "case.add")).first() is None
            )


def test_sign_in_is_throttled(team: Team) -> None:
    with team.client() as c:
        token = csrf_of(c.get("/signin").text)
        codes = [
            c.post(
                "/signin", data={"name": "ed", "password": f"wrong {i}", "csrf_token": token}
            ).status_code
            for i in range(6)
        ]
        assert codes == [401] * 5 + [429]
        right = {"name": "ed", "password": PASSWORDS["ed"], "csrf_token": token}
        response = c.post("/signin", data=right, follow_redirects=False)
        assert response.status_code == 429 and "too many failed sign-ins" in response.text


def test_a_viewer_cannot_change_a_source_annotate_or_add_to_a_case(team: Team) -> None:
    with team.client() as c:
        viewer = bearer(team.tokens["vi"])
        body = {"name": "daily", "base_url": "https://daily.example/"}
        assert c.post("/api/admin/sources", json=body, headers=viewer).status_code == 403
        assert (
            c.post(
                "/api/cases/raid/articles", json={"article": str(team.article_id)}, headers=viewer
            ).status_code
            == 403
        )
        sign_in(c, "vi")
        page = c.get(f"/articles/{team.article_id}").text
        assert "Add to case" not in page
        form = {"case": "raid", "article_id": str(team.article_id), "csrf_token": csrf_of(page)}
        assert c.post("/cases/add", data=form, follow_redirects=False).status_code == 403


def test_an_editor_builds_a_case_on_the_page_and_through_the_api(team: Team) -> None:
    with team.client() as c:
        editor = bearer(team.tokens["ed"])
        made = c.post(
            "/api/cases/raid/articles",
            json={"article": URL, "tags": ["raid"]},
            headers=editor,
        )
        assert made.status_code == 201, made.text
        note = c.post("/api/cases/raid/notes", json={"text": "first note"}, headers=editor)
        assert note.status_code == 201 and note.json()["notes"][0]["author"] == "ed"
        sign_in(c, "ed")
        page = c.get("/cases/raid").text
        posted = c.post(
            "/cases/raid/notes",
            data={"text": "seen on the page", "csrf_token": csrf_of(page)},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        shown = c.get("/api/cases/raid", headers=bearer(team.tokens["vi"])).json()
        assert [n["text"] for n in shown["notes"]] == ["first note", "seen on the page"]
        # Nobody (not signed in, no token) reads no case file.
        c.cookies.clear()
        assert c.get("/api/cases/raid").status_code == 401


def test_the_admin_api_takes_an_admins_token_or_the_key_and_audits_both(team: Team) -> None:
    with team.client() as c:
        body = {"name": "daily", "base_url": "https://daily.example/"}
        assert (
            c.post("/api/admin/sources", json=body, headers=bearer(team.tokens["ana"])).status_code
            == 201
        )
        again = {"name": "weekly", "base_url": "https://weekly.example/"}
        assert (
            c.post(
                "/api/admin/sources", json=again, headers={"X-API-Key": API_KEY_VALUE}
            ).status_code
            == 201
        )
        # An editor's token is not enough.
        other = {"name": "monthly", "base_url": "https://monthly.example/"}
        assert (
            c.post("/api/admin/sources", json=other, headers=bearer(team.tokens["ed"])).status_code
            == 403
        )
    with team.runtime.sessions() as s:
        rows = [
            (e.actor, e.object_id)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "source.add"))
        ]
    assert rows == [("ana", "daily"), ("api-key", "weekly")]


def test_a_revoked_token_is_refused(team: Team) -> None:
    with team.client() as c:
        assert c.get("/api/cases", headers=bearer(team.tokens["ed"])).status_code == 200
        with team.runtime.sessions.begin() as s:
            from archive.store import ApiToken

            row = s.scalars(select(ApiToken).where(ApiToken.prefix == team.tokens["ed"][:10])).one()
            assert row.last_used_at == NOW  # its use is recorded
            revoke_token(s, API_KEY, row.id, now=NOW)
        assert c.get("/api/cases", headers=bearer(team.tokens["ed"])).status_code == 401


def test_a_private_archive_needs_a_person_or_a_token_to_read(team: Team) -> None:
    with team.client(private=True) as c:
        assert c.get("/api/articles").status_code == 401
        assert c.get(f"/articles/{team.article_id}", follow_redirects=False).status_code == 303
        assert c.get("/healthz").status_code == 200
        assert c.get("/signin").status_code == 200
        assert c.get("/api/articles", headers=bearer(team.tokens["vi"])).status_code == 200
        sign_in(c, "vi")
        assert c.get(f"/articles/{team.article_id}").status_code == 200
    with team.client() as c:
        assert c.get("/api/articles").status_code == 200  # public by default


def test_no_password_or_token_in_pages_logs_or_status(
    team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [*PASSWORDS.values(), *team.tokens.values()]
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG), team.client() as c:
        token = csrf_of(c.get("/signin").text)
        seen.append(
            c.post(
                "/signin",
                data={"name": "ed", "password": PASSWORDS["ed"] + "x", "csrf_token": token},
            ).text
        )
        sign_in(c, "ed")
        seen.append(c.get(f"/articles/{team.article_id}").text)
        seen.append(c.get("/api/cases", headers=bearer(team.tokens["vi"])).text)
    runner = CliRunner()
    data = ["--data-dir", str(team.runtime.settings.data_dir)]
    for args in (
        ["status"],
        ["status", "--json"],
        ["accounts", "list", "--json"],
        ["accounts", "token", "list"],
    ):
        seen.append(runner.invoke(cli_app, [*data, *args]).output)
    seen.append(caplog.text)
    log_dir = team.runtime.settings.log_dir
    seen += [p.read_text(errors="replace") for p in log_dir.glob("*") if p.is_file()]
    with team.runtime.sessions() as s:
        seen += [e.leaf for e in s.scalars(select(AuditEntry))]
    text = "\n".join(seen)
    assert "ed (editor)" in text  # the pages were read
    for secret in secrets:
        assert secret not in text


def test_cli_create_reads_the_password_from_a_prompt_or_a_file(team: Team, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(team.runtime.settings.data_dir)]
    made = runner.invoke(
        cli_app,
        [*data, "accounts", "create", "sok", "--role", "editor"],
        input="a long password 1\na long password 1\n",
    )
    assert made.exit_code == 0 and "a long password 1" not in made.stdout
    secret_file = tmp_path / "pw"
    secret_file.write_text("another long password\n")
    made = runner.invoke(
        cli_app, [*data, "accounts", "create", "dara", "--password-file", str(secret_file)]
    )
    assert made.exit_code == 0, made.output
    invited = runner.invoke(cli_app, [*data, "accounts", "invite", "mealea", "--role", "viewer"])
    assert invited.exit_code == 0 and "/invite" in invited.stderr
    code = invited.stdout.strip()
    with team.client() as c:
        token = csrf_of(c.get("/invite").text)
        form = {"code": code, "password": "mealea's own password", "csrf_token": token}
        assert c.post("/invite", data=form, follow_redirects=False).status_code == 303
        again = c.post("/invite", data={**form, "password": "mealea's other password"})
        assert again.status_code == 400  # an invitation works once
    listed = runner.invoke(cli_app, [*data, "accounts", "list"]).stdout
    assert "sok\teditor\tactive" in listed and "mealea\tviewer\tactive" in listed
