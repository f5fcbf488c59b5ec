"""Notifications go out as real mail through a real SMTP server (aiosmtpd on the loopback), after the commit,
retried until delivered; on SQLite, or on PostgreSQL when CATALOGUE_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from catalogue.auth import accounts
from catalogue.cli import main
from catalogue.config import Config
from catalogue.db import database_of, utcnow
from catalogue.events import record_event
from catalogue.notify import notifier_of, outbox
from catalogue.notify.models import OutboxMail
from catalogue.notify.smtp import SmtpTransport
from catalogue.services.models import ServiceVersion
from tests.conftest import DATA, app_on_empty_database
from tests.mail_server import Inbox, body, free_port, mail_server, smtp_settings

pytestmark = pytest.mark.enable_socket  # the loopback SMTP server

GOOD = (DATA / "good.yaml").read_text("utf-8")
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Inbox, dict[str, str]]]:
    """One app sending through a local SMTP server, with a submitter and a colleague at ISTAT, a reviewer at
    INSEE and one at ISTAT (who may not review ISTAT's services)."""
    with mail_server() as (inbox, port):
        folder = tmp_path_factory.mktemp("mail")
        with app_on_empty_database(folder, **smtp_settings(port, notify_worker=False)) as app:
            tokens = {}
            with database_of(app).transaction() as session:
                for email, org, role in (
                    ("submitter@istat.example", "ISTAT", "submitter"),
                    ("colleague@istat.example", "ISTAT", "submitter"),
                    ("reviewer@insee.example", "INSEE", "reviewer"),
                    ("reviewer@istat.example", "ISTAT", "reviewer"),
                ):
                    _user, token = accounts.create_user(session, email, org, role, password=PASSWORD)
                    assert token is not None
                    tokens[email] = token
            yield app, inbox, tokens


def _send(app: Flask) -> str:
    result = app.test_cli_runner().invoke(main, ["notify", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _api(app: Flask, token: str, path: str, **kwargs) -> int:
    response = app.test_client().post(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return response.status_code


def test_a_submission_is_queued_after_commit_and_mailed_to_the_reviewers_who_may_review_it(world) -> None:
    app, inbox, tokens = world
    status = _api(
        app,
        tokens["submitter@istat.example"],
        "/api/v1/services",
        data=GOOD,
        content_type="application/yaml",
    )
    assert status == 201
    # Queued by the request, after its commit; nothing was sent yet (no background sender in this app).
    with database_of(app).sessionmaker() as session:
        queued = list(session.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None))))
    assert [m.recipient for m in queued] == ["reviewer@insee.example"]
    assert inbox.messages == []
    assert "1 sent" in _send(app)
    [mail] = inbox.to("reviewer@insee.example")
    assert mail["Subject"].startswith("Review wanted: ")
    text = body(mail)
    assert "submitted" in text and "for review" in text
    assert "http://localhost/review/" in text
    # Neither the submitter, a colleague nor a reviewer of the owner's own organisation is asked to review.
    assert inbox.to("reviewer@istat.example") == []
    assert inbox.to("submitter@istat.example") == []


def test_a_decision_with_its_comment_is_mailed_to_the_submitters_organisation(world) -> None:
    app, inbox, tokens = world
    reviewer = tokens["reviewer@insee.example"]
    slug_version = _slug_version()
    base = f"/api/v1/services/{slug_version[0]}/versions/{slug_version[1]}"
    assert _api(app, reviewer, f"{base}/transitions", json={"to": "in_review"}) == 200
    comment = "Please name the GSIM objects of the outputs."
    assert _api(app, reviewer, f"{base}/reviews", json={"decision": "changes_requested", "comment": comment}) in (
        200,
        201,
    )
    before = len(inbox.messages)
    _send(app)
    new = inbox.messages[before:]
    assert sorted(m["To"] for m in new) == [
        "colleague@istat.example",
        "reviewer@istat.example",
        "submitter@istat.example",
    ]
    mail = inbox.to("submitter@istat.example")[-1]
    assert mail["Subject"].startswith("Changes requested: ")
    text = body(mail)
    assert f"> {comment}" in text
    assert "asked for changes" in text
    assert f"http://localhost/services/{slug_version[0]}/versions/{slug_version[1]}" in text
    assert mail.get_content_type() == "text/plain"


def _slug_version() -> tuple[str, str]:
    import yaml

    descriptor = yaml.safe_load(GOOD)
    return descriptor["id"], descriptor["version"]


def test_a_user_who_switched_a_kind_off_gets_no_such_mail(world) -> None:
    app, inbox, tokens = world
    client = app.test_client()
    page = client.get("/auth/sign-in").get_data(as_text=True)
    import re

    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert (
        client.post(
            "/auth/sign-in", data={"email": "colleague@istat.example", "password": PASSWORD, "csrf_token": csrf}
        ).status_code
        == 302
    )
    settings = client.get("/account/notifications").get_data(as_text=True)
    assert 'value="decision" checked' in settings
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', settings).group(1)  # type: ignore[union-attr]
    answer = client.post("/account/notifications", data={"kinds": ["comment"], "csrf_token": csrf})
    assert answer.status_code == 302
    assert 'value="decision" checked' not in client.get("/account/notifications").get_data(as_text=True)
    # A new version, then a rejection: the colleague is not told, the submitter is.
    slug, _version = _slug_version()
    second = GOOD.replace("version: 1.0.0", "version: 1.0.1", 1)
    assert second != GOOD
    assert (
        _api(app, tokens["submitter@istat.example"], "/api/v1/services", data=second, content_type="application/yaml")
        == 201
    )
    reviewer = tokens["reviewer@insee.example"]
    base = f"/api/v1/services/{slug}/versions/1.0.1"
    assert _api(app, reviewer, f"{base}/transitions", json={"to": "in_review"}) == 200
    assert _api(app, reviewer, f"{base}/reviews", json={"decision": "rejected", "comment": "Out of scope."}) in (
        200,
        201,
    )
    before = len(inbox.messages)
    _send(app)
    told = sorted(m["To"] for m in inbox.messages[before:] if m["Subject"].startswith("Rejected"))
    assert told == ["reviewer@istat.example", "submitter@istat.example"]


def test_a_comment_on_a_version_is_mailed_to_the_owners_organisation(world) -> None:
    app, inbox, _tokens = world
    slug, version_label = _slug_version()
    with database_of(app).transaction() as session:
        version = session.scalar(select(ServiceVersion).where(ServiceVersion.version == version_label))
        reviewer = accounts.user_by_email(session, "reviewer@insee.example")
        assert version is not None
        record_event(
            session,
            "version.commented",
            reviewer.id,
            service_id=version.service_id,
            version_id=version.id,
            data={"version": version_label, "comment": "Which GSIM object is the linkage key?"},
        )
    before = len(inbox.messages)
    _send(app)
    new = [m for m in inbox.messages[before:] if m["Subject"].startswith("New comment: ")]
    # The colleague switched decisions off but kept comments; the reviewer who commented is not told.
    assert sorted(m["To"] for m in new) == [
        "colleague@istat.example",
        "reviewer@istat.example",
        "submitter@istat.example",
    ]
    text = body(new[0])
    assert "commented on" in text and "> Which GSIM object is the linkage key?" in text
    # Recorded outside any request and with no CATALOGUE_BASE_URL: links use the development address.
    assert f"http://127.0.0.1:5000/services/{slug}/versions/{version_label}" in text


def test_the_mail_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CATALOGUE_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("CATALOGUE_SMTP_PORT", "465")
    monkeypatch.setenv("CATALOGUE_SMTP_SECURITY", "tls")
    monkeypatch.setenv("CATALOGUE_MAIL_FROM", "Catalogue <catalogue@example.org>")
    monkeypatch.setenv("CATALOGUE_INVITATION_HOURS", "72")
    monkeypatch.setenv("CATALOGUE_NOTIFY_WORKER", "0")
    config = Config.from_env()
    assert (config.smtp_host, config.smtp_port, config.smtp_security) == ("smtp.example.org", 465, "tls")
    assert config.mail_from == "Catalogue <catalogue@example.org>"
    assert (config.invitation_hours, config.reset_hours, config.notify_worker) == (72, 1, False)
    monkeypatch.setenv("CATALOGUE_SMTP_SECURITY", "ssl")
    with pytest.raises(ValueError, match="starttls, tls or none"):
        Config.from_env()


def test_a_failed_delivery_stays_in_the_outbox_is_logged_and_retried_later(world, caplog) -> None:
    app, inbox, _tokens = world
    sessions = database_of(app).sessionmaker
    notifier = notifier_of(app)
    with sessions() as session, session.begin():
        session.add(OutboxMail(kind="decision", recipient="someone@istat.example", subject="Test", body="Hello."))
    nobody = SmtpTransport("127.0.0.1", free_port(), "none", timeout=2)  # nothing listens there
    delivery = outbox.deliver_due(sessions, nobody, "catalogue@example.org", notifier.secret, notifier.links())
    assert delivery.sent == 0 and delivery.failed == 1
    assert "failed (attempt 1)" in caplog.text
    with sessions() as session:
        mail = session.scalar(select(OutboxMail).where(OutboxMail.recipient == "someone@istat.example"))
        assert mail is not None and mail.sent_at is None and mail.attempts == 1 and mail.last_error
        assert mail.next_attempt_at > utcnow() + timedelta(seconds=50)
    # Not due yet: a pass sends nothing; once due, it goes out through the working server.
    assert notifier.deliver().sent == 0
    with sessions() as session, session.begin():
        session.execute(update(OutboxMail).where(OutboxMail.id == mail.id).values(next_attempt_at=utcnow()))
    assert notifier.deliver().sent == 1
    assert inbox.to("someone@istat.example")[-1]["Subject"] == "Test"
    with sessions() as session:
        sent = session.get(OutboxMail, mail.id)
        assert sent is not None and sent.sent_at is not None and sent.attempts == 2


def test_retries_wait_longer_each_time_up_to_six_hours() -> None:
    waits = [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 10, 100)]
    assert waits == [60, 120, 240, 6 * 3600, 6 * 3600]


def test_the_background_sender_delivers_after_the_request_answered(tmp_path: Path) -> None:
    with mail_server() as (inbox, port), app_on_empty_database(tmp_path, **smtp_settings(port)) as app:
        with database_of(app).transaction() as session:
            _user, token = accounts.create_user(session, "reviewer@insee.example", "INSEE", "reviewer")
            _user, submitter = accounts.create_user(session, "submitter@istat.example", "ISTAT", "submitter")
        assert _api(app, submitter or "", "/api/v1/services", data=GOOD, content_type="application/yaml") == 201
        [mail] = inbox.wait_for(1)
        assert mail["To"] == "reviewer@insee.example"
        assert token
