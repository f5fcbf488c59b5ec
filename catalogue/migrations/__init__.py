"""Database migrations (Alembic): bring any catalogue database, empty or older, to the schema the code needs.

The revisions live inside the package (catalogue/migrations/versions), so an installed catalogue finds them
without a checkout; alembic.ini at the repository root only serves `alembic revision --autogenerate`.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

MIGRATIONS_DIR = Path(__file__).resolve().parent
# Any fixed number: hosts starting at the same moment on one PostgreSQL migrate one after the other.
_LOCK_KEY = 7_461_737_302


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's settings for our migrations, running on connection when one is given."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head() -> str:
    """The revision the code's models correspond to."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


class SchemaNotCurrent(RuntimeError):
    """The database's tables are not at the revision the code needs."""


def check_at_head(connection: Connection) -> None:
    """Raise SchemaNotCurrent, naming the command that fixes it, unless the database is at head."""
    found, needed = current(connection), head()
    if found != needed:
        raise SchemaNotCurrent(
            f"the database is at schema revision {found or 'none (never migrated)'} but this version of the "
            f"catalogue needs {needed}: run `catalogue migrate` (it creates or upgrades the tables), then start again"
        )


def stamp_head(connection: Connection) -> None:
    """Record that the database is at head without running anything (after Base.metadata.create_all)."""
    command.stamp(alembic_config(connection), "head")


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the database at url to revision in one transaction; returns (before, after)."""
    # An engine of its own: on SQLite without the app's foreign-key pragma, which would refuse the table
    # copies that batch migrations make.
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            before = current(connection)
            if before is not None and not inspect(connection).has_table("services"):
                # A stamp left on a database whose tables were dropped (by hand, or by a test): it is empty.
                connection.execute(text("DELETE FROM alembic_version"))
            command.upgrade(alembic_config(connection), revision)
            return before, current(connection)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Take the database at url back to revision (for tests and for undoing a release)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
