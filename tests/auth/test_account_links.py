"""Accounts without a shell: invitations and password resets by real e-mail, links that work once, expire and
are stored only as hashes; the same answer whether an address has an account or not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from catalogue.auth import accounts
from catalogue.auth.models import AccountLink
from catalogue.cli import main
from catalogue.db import database_of, utcnow
from catalogue.notify import notifier_of
from catalogue.notify.models import OutboxMail
from tests.conftest import app_on_empty_database
from tests.mail_server import Inbox, body, link_in, mail_server, smtp_settings

pytestmark = pytest.mark.enable_socket  # the loopback SMTP server

ADMIN_PASSWORD = "the admin's long password"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Inbox]]:
    with mail_server() as (inbox, port):
        folder = tmp_path_factory.mktemp("links")
        with app_on_empty_database(folder, **smtp_settings(port, notify_worker=False)) as app:
            with database_of(app).transaction() as session:
                accounts.create_user(session, "admin@istat.example", "ISTAT", "admin", password=ADMIN_PASSWORD)
            yield app, inbox


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str) -> int:
    token = csrf(client, "/auth/sign-in")
    answer = client.post("/auth/sign-in", data={"email": email, "password": password, "csrf_token": token})
    return answer.status_code


def deliver(app: Flask) -> None:
    notifier = notifier_of(app)
    notifier.queue()
    assert notifier.deliver().failed == 0


def set_password(client: FlaskClient, link: str, password: str) -> int:
    path = urlsplit(link).path
    token = csrf(client, path)
    return client.post(path, data={"new": password, "again": password, "csrf_token": token}).status_code


def test_an_admin_invites_and_the_link_sets_a_password_once(world) -> None:
    app, inbox = world
    admin = app.test_client()
    assert sign_in(admin, "admin@istat.example", ADMIN_PASSWORD) == 302
    token = csrf(admin, "/admin/invitations")
    answer = admin.post(
        "/admin/invitations",
        data={"email": "new@insee.example", "organisation": "INSEE", "role": "reviewer", "csrf_token": token},
        follow_redirects=True,
    )
    assert "An invitation to new@insee.example is on its way by e-mail." in answer.get_data(as_text=True)
    deliver(app)
    [mail] = inbox.to("new@insee.example")
    assert mail["Subject"] == "Your invitation to the CSPA Catalogue"
    assert "for 48 hours" in body(mail)
    link = link_in(mail)
    # The token is in the mail only: neither the link row nor the outbox holds it.
    secret = link.rsplit("/", 1)[1]
    with database_of(app).sessionmaker() as session:
        stored = session.scalar(select(AccountLink).where(AccountLink.user.has(email="new@insee.example")))
        assert stored is not None and stored.token_hash and secret not in stored.token_hash
        assert all(secret not in m.body for m in session.scalars(select(OutboxMail)))
    person = app.test_client()
    assert sign_in(person, "new@insee.example", "anything at all!") == 401  # no password yet
    page = person.get(urlsplit(link).path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "new@insee.example" in page.get_data(as_text=True)
    assert set_password(person, link, "my own long password") == 302
    assert sign_in(person, "new@insee.example", "my own long password") == 302
    # Used once: the same link is refused and says why.
    again = app.test_client().get(urlsplit(link).path)
    assert again.status_code == 410
    assert "does not work any more" in again.get_data(as_text=True)


def test_the_command_line_invites_and_refuses_someone_with_a_password(world) -> None:
    app, inbox = world
    result = app.test_cli_runner().invoke(main, ["invite", "--email", "cli@istat.example", "--org", "ISTAT"])
    assert result.exit_code == 0, result.output
    assert "1 mail sent" in result.output
    assert inbox.to("cli@istat.example")
    refused = app.test_cli_runner().invoke(main, ["invite", "--email", "admin@istat.example", "--org", "ISTAT"])
    assert refused.exit_code == 1
    assert "has an account already" in refused.output


def test_forgot_password_answers_the_same_and_mails_only_an_existing_account(world) -> None:
    app, inbox = world
    client = app.test_client()
    answers = []
    for email in ("admin@istat.example", "nobody@istat.example"):
        token = csrf(client, "/auth/forgot-password")
        answer = client.post("/auth/forgot-password", data={"email": email, "csrf_token": token}, follow_redirects=True)
        assert answer.status_code == 200
        answers.append(re.sub(r'value="[^"]+"', "", answer.get_data(as_text=True)))
    assert answers[0] == answers[1]
    deliver(app)
    assert inbox.to("nobody@istat.example") == []
    mail = inbox.to("admin@istat.example")[-1]
    assert mail["Subject"] == "Choose a new password for the CSPA Catalogue"
    assert "for 1 hour" in body(mail)
    link = link_in(mail)
    assert set_password(app.test_client(), link, "a new admin password") == 302
    assert sign_in(app.test_client(), "admin@istat.example", ADMIN_PASSWORD) == 401
    assert sign_in(app.test_client(), "admin@istat.example", "a new admin password") == 302


def test_an_expired_link_is_refused_and_an_unknown_one_is_not_found(world) -> None:
    app, inbox = world
    client = app.test_client()
    token = csrf(client, "/auth/forgot-password")
    client.post("/auth/forgot-password", data={"email": "cli@istat.example", "csrf_token": token})
    deliver(app)
    link = link_in(inbox.to("cli@istat.example")[-1])
    with database_of(app).transaction() as session:
        session.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    late = app.test_client()
    page = late.get(urlsplit(link).path)
    assert page.status_code == 410 and "ask for a new link" in page.get_data(as_text=True)
    token = csrf(late, "/auth/forgot-password")
    data = {"new": "too late a password", "again": "too late a password", "csrf_token": token}
    assert late.post(urlsplit(link).path, data=data).status_code == 410
    assert app.test_client().get("/auth/account/not-a-real-token").status_code == 404


def test_reset_requests_are_limited_per_address_asked_for(world) -> None:
    app, _inbox = world
    client = app.test_client()
    codes = []
    for _ in range(4):
        token = csrf(client, "/auth/forgot-password")
        codes.append(
            client.post(
                "/auth/forgot-password",
                data={"email": "limited@istat.example", "csrf_token": token},
                environ_base={"REMOTE_ADDR": "192.0.2.44"},
            ).status_code
        )
    assert codes == [302, 302, 302, 429]


def test_the_sign_in_page_says_how_to_get_an_account(world) -> None:
    app, _inbox = world
    page = app.test_client().get("/auth/sign-in").get_data(as_text=True)
    assert "No account yet?" in page and "invite you" in page
    assert 'href="/auth/forgot-password"' in page
