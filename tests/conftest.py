"""Shared fixtures: an app on a real database (a SQLite file, or PostgreSQL when
CATALOGUE_DATABASE_URL is set), created through the same code paths users take."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text

from catalogue import create_app
from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import Base, database_of

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"  # real public OpenAPI documents with their verdicts (sources in verdicts.json)


def drop_tables(url: str) -> None:
    """Drop every catalogue table at url (a shared PostgreSQL test database starts and ends empty)."""
    import catalogue.auth.models
    import catalogue.events
    import catalogue.notify.models
    import catalogue.services.models  # noqa: F401

    engine = create_engine(url)
    try:
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()


def database_url(folder: Path) -> str:
    """The test database: CATALOGUE_DATABASE_URL when set (PostgreSQL in CI), else a SQLite file in folder."""
    return os.environ.get("CATALOGUE_DATABASE_URL") or f"sqlite:///{folder / 'test.sqlite3'}"


_RUNNING: list[Flask] = []


def running_app() -> Flask:
    """The app of the running test, for helpers that take none (each app has its own database)."""
    return _RUNNING[-1]


@contextmanager
def app_on_empty_database(folder: Path, index_dir: Path | None = None, **settings: Any) -> Iterator[Flask]:
    """An app on an empty database with its index in folder (settings: more Config fields, e.g. the SMTP
    server); the database is emptied again afterwards."""
    url = database_url(folder)
    if not url.startswith("sqlite"):
        drop_tables(url)  # whatever an interrupted run left behind
    app = create_app(
        Config(instance_path=folder, database_url=url, index_dir=index_dir or folder / "index", **settings)
    )
    database = database_of(app)
    database.create_all()
    # No app context stays pushed during the test: each request gets its own, as in production,
    # so a request's session is closed when the request ends and holds no lock afterwards.
    _RUNNING.append(app)
    try:
        yield app
    finally:
        _RUNNING.remove(app)
        app.extensions["catalogue.notify"].stop()
        app.extensions["catalogue.search"].index.close()
        if database.engine.dialect.name != "sqlite":  # a SQLite file dies with its folder
            Base.metadata.drop_all(database.engine)
        database.engine.dispose()


@contextmanager
def seeded_app(folder: Path) -> Iterator[Flask]:
    """An app on an empty database with the seed services loaded through `catalogue seed`."""
    from catalogue.cli import main

    with app_on_empty_database(folder) as app:
        result = app.test_cli_runner().invoke(main, ["seed"])
        assert result.exit_code == 0, result.output
        yield app


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One seeded app for a whole test module (modules that write keep their changes to themselves)."""
    with seeded_app(tmp_path_factory.mktemp("seeded")) as app:
        yield app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask):
    """Create a user through the registry and return its API token."""

    def make(email: str = "submitter@istat.example", org: str = "ISTAT", role: str = "submitter") -> str:
        with database_of(app).transaction() as session:
            _user, token = accounts.create_user(session, email, org, role)
        return token

    return make


@pytest.fixture
def good_text() -> str:
    return (DATA / "good.yaml").read_text("utf-8")


def drop_everything(url: str) -> None:
    """Drop every table at url, Alembic's version table included (create_all's drop_all leaves it)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for name in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """The test database, with no table at all: a new SQLite file, or the PostgreSQL one emptied."""
    url = database_url(tmp_path)
    if not url.startswith("sqlite"):
        drop_everything(url)
    yield url
    if not url.startswith("sqlite"):
        drop_everything(url)
