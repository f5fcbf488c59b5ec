"""Fixtures for the operations tests: a database that starts and ends truly empty (the version table too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import database_url


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
