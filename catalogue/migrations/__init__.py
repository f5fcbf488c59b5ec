"""Database migrations (Alembic): bring any catalogue database, empty or older, to the schema the code needs.

The revisions live inside the package (catalogue/migrations/versions), so an installed catalogue finds them
without a checkout; alembic.ini at the repository root only serves `alembic revision --autogenerate`.

Every worker checks the schema on its first request (`check_at_head`), and the gunicorn master before it forks
them: that check reads Alembic's version table with SQLAlchemy alone and compares it with HEAD, because
importing Alembic (~11 MB with Mako and Pygments) would put it in the memory of every worker. Alembic is
imported only by the functions that run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, column, create_engine, inspect, select, table, text

from catalogue import resources

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = resources.MIGRATIONS_DIR
# The newest revision in versions/: the schema the code's models correspond to. A new migration updates it;
# tests/ops/test_migrations.py fails while it differs from the head Alembic finds in versions/.
HEAD = "0007_accounts_mail"
# Where Alembic records the revision a database is at: its default table, which env.py does not change.
_VERSION_TABLE = table("alembic_version", column("version_num"))
# Any fixed number: hosts starting at the same moment on one PostgreSQL migrate one after the other.
_LOCK_KEY = 7_461_737_302


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's settings for our migrations, running on connection when one is given."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision the code's models correspond to."""
    return HEAD


class SchemaNotCurrent(RuntimeError):
    """The database's tables are not at the revision the code needs."""


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated), read as Alembic records it."""
    if not inspect(connection).has_table(_VERSION_TABLE.name):
        return None
    revisions = list(connection.scalars(select(_VERSION_TABLE.c.version_num)))
    if len(revisions) > 1:
        # Our history is one line, so one row; Alembic refuses to name a single revision here too.
        raise SchemaNotCurrent(f"the database records several schema revisions at once: {', '.join(revisions)}")
    return revisions[0] if revisions else None


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
    from alembic import command

    command.stamp(alembic_config(connection), "head")


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the database at url to revision in one transaction; returns (before, after)."""
    from alembic import command

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
    from alembic import command

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
