"""Two apps in one process, each on its own SQLite file: each reads and writes its own database only.

The engine and session factory belong to the app (app.extensions), never to a module: an app made
later must not take over the database of an app made earlier.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from catalogue import create_app
from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import database_of, db, session
from catalogue.events import catalogue_version
from tests.conftest import close_app


def _app(folder: Path) -> Flask:
    folder.mkdir()
    app = create_app(
        Config(
            instance_path=folder, database_url=f"sqlite:///{folder / 'catalogue.sqlite3'}", index_dir=folder / "index"
        )
    )
    database_of(app).create_all()
    return app


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    first = _app(tmp_path / "first")
    second = _app(tmp_path / "second")  # made after the first: it must not rebind the first one's database
    try:
        yield first, second
    finally:
        for app in (first, second):
            close_app(app)


def _submit(app: Flask, token: str, text: str) -> int:
    response = app.test_client().post(
        "/api/v1/services", data=text, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}
    )
    return response.status_code


def _services(app: Flask, token: str) -> list[str]:
    """The services the token's owner sees in app."""
    response = app.test_client().get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})
    return [item["id"] for item in response.json["items"]] if response.status_code == 200 else []


def test_each_app_has_its_own_engine_on_its_own_file(two_apps: tuple[Flask, Flask], tmp_path: Path) -> None:
    first, second = two_apps
    assert database_of(first).engine is not database_of(second).engine
    assert database_of(first).engine.url.database == str(tmp_path / "first" / "catalogue.sqlite3")
    assert database_of(second).engine.url.database == str(tmp_path / "second" / "catalogue.sqlite3")
    for app in (first, second):
        with app.app_context():
            assert session().get_bind() is database_of(app).engine
            assert db.engine is database_of(app).engine


def test_each_app_reads_and_writes_its_own_database(two_apps: tuple[Flask, Flask], good_text: str) -> None:
    first, second = two_apps
    with database_of(first).transaction() as db_session:
        _user, first_token = accounts.create_user(db_session, "submitter@istat.example", "ISTAT", "submitter")
    # The token lives in the first app's database only: the second app does not know it.
    assert _submit(second, str(first_token), good_text) == 401
    assert _submit(first, str(first_token), good_text) == 201
    assert _services(first, str(first_token)) == ["demo-linkage"]

    with second.app_context():
        _user, second_token = accounts.create_user(session(), "other@cbs.example", "CBS", "submitter")
        session().commit()
    renamed = good_text.replace("id: demo-linkage", "id: cbs-linkage").replace("owner: ISTAT", "owner: CBS")
    assert _submit(second, str(second_token), renamed) == 201
    assert _services(first, str(first_token)) == ["demo-linkage"]
    assert _services(second, str(second_token)) == ["cbs-linkage"]
    assert _services(first, str(second_token)) == []  # unknown there: refused, and nothing leaks across

    with database_of(first).transaction() as first_session, database_of(second).transaction() as second_session:
        # In each: the user, their token, the two layers the descriptor describes inline (its Definition and
        # Specification, stored once) and their version. Tokens refused by the other app wrote nothing.
        assert catalogue_version(first_session) == 5
        assert catalogue_version(second_session) == 5
