"""A submission's answer does not wait for the outbox: where the process runs the sender (the default), the
sender's thread queues the mails after the answer; the Server-Timing header shows the parts the answer did
wait for. On SQLite, or on PostgreSQL when CATALOGUE_DATABASE_URL is set."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from catalogue.auth import accounts
from catalogue.db import database_of
from catalogue.notify.models import OutboxMail
from tests.conftest import DATA, app_on_empty_database

GOOD = (DATA / "good.yaml").read_text("utf-8")


def _timing(header: str) -> dict[str, float]:
    parts = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        parts[name] = float(duration)
    return parts


def _submit(tmp_path: Path, **settings) -> tuple[object, dict[str, float], list[str]]:
    """Submit the good descriptor as an ISTAT submitter, with an INSEE reviewer who may review it; returns the
    app, the answer's Server-Timing parts and the recipients queued at the moment the answer came."""
    with app_on_empty_database(tmp_path, **settings) as app:
        with database_of(app).transaction() as session:
            _user, token = accounts.create_user(session, "submitter@istat.example", "ISTAT", "submitter")
            accounts.create_user(session, "reviewer@insee.example", "INSEE", "reviewer")
        answer = app.test_client().post(
            "/api/v1/services",
            data=GOOD,
            content_type="application/yaml",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)[:300]
        queued = _recipients(app)
        parts = _timing(answer.headers["Server-Timing"])
        # Whoever queues them, the mails are there soon, none lost and none twice.
        deadline = time.monotonic() + 10
        while _recipients(app) != ["reviewer@insee.example"]:
            assert time.monotonic() < deadline, f"the mails were not queued: {_recipients(app)}"
            time.sleep(0.05)
        return app, parts, queued


def _recipients(app) -> list[str]:
    with database_of(app).sessionmaker() as session:
        return list(session.scalars(select(OutboxMail.recipient).order_by(OutboxMail.id)))


def test_the_answer_names_its_parts_and_leaves_the_mails_to_the_sender(tmp_path):
    _app, parts, _queued = _submit(tmp_path)
    # Validation is part of the transaction; the answer waited for nothing else of note.
    assert set(parts) == {"validate", "transaction", "total"}, parts
    assert 0 < parts["validate"] <= parts["transaction"] <= parts["total"]


def test_without_the_sender_the_request_queues_the_mails_itself(tmp_path):
    _app, parts, queued = _submit(tmp_path, notify_worker=False)
    assert queued == ["reviewer@insee.example"]  # already there when the answer came
    assert set(parts) == {"validate", "transaction", "notify", "total"}, parts


def test_a_read_has_no_server_timing(tmp_path):
    with app_on_empty_database(tmp_path) as app:
        assert "Server-Timing" not in app.test_client().get("/api/v1/services").headers
