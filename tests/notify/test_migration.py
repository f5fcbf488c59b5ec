"""Revision 0007 (accounts and mail): an existing catalogue upgrades, and its past events mail nobody."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from catalogue import create_app, migrations
from catalogue.config import Config
from catalogue.db import database_of
from catalogue.notify import notifier_of
from tests.conftest import close_app


def test_upgrading_starts_the_notifier_after_the_newest_event(empty_url: str, tmp_path: Path) -> None:
    migrations.upgrade(empty_url, "0005_linked_layers")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO organisations (id, code, name) VALUES (1, 'ISTAT', 'ISTAT')"))
            connection.execute(
                text(
                    "INSERT INTO users (id, email, display_name, organisation_id, role, active, session_version, "
                    "created_at) VALUES (1, 'reviewer@insee.example', 'reviewer', 1, 'reviewer', true, 1, "
                    "CURRENT_TIMESTAMP)"
                )
            )
            for number in range(3):
                connection.execute(
                    text("INSERT INTO events (kind, created_at, data) VALUES ('user.created', CURRENT_TIMESTAMP, :d)"),
                    {"d": f'{{"n": {number}}}'},
                )
            newest = connection.execute(text("SELECT MAX(id) FROM events")).scalar_one()
    finally:
        engine.dispose()
    before, after = migrations.upgrade(empty_url)
    assert (before, after) == ("0005_linked_layers", migrations.head())
    app = create_app(Config(instance_path=tmp_path, database_url=empty_url, index_dir=tmp_path / "index"))
    try:
        with database_of(app).engine.connect() as connection:
            assert connection.execute(text("SELECT last_event_id FROM notifier_cursor")).scalar_one() == newest
        assert notifier_of(app).queue() == 0
    finally:
        close_app(app)
