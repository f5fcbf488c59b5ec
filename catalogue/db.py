"""SQLAlchemy 2 engine and sessions, bound to the app in create_app (no connection on import)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it without the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSONDocument, list[dict[str, Any]]: JSONDocument,
    }


class Database:
    """One engine and session factory per app; requests and commands get a session from here."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None

    def init_app(self, app: Flask, url: str) -> None:
        """Create the engine for url and close the request's session when the request ends."""
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # pool_pre_ping: a connection the database dropped (a restart, a network cut) is replaced before
        # use, so the first requests after an outage succeed instead of failing on a dead connection.
        self.engine = create_engine(url, pool_pre_ping=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        app.extensions["catalogue.db"] = self
        app.teardown_appcontext(_close_session)

    def create_all(self) -> None:
        """Create every table that does not exist yet; a database made whole here is stamped as migrated.

        For tests and benchmarks (fast); `catalogue init` and `catalogue migrate` make databases through
        the migrations, which tests/ops/test_migrations.py holds to the same schema.
        """
        from sqlalchemy import inspect

        import catalogue.auth.models
        import catalogue.services.models  # noqa: F401
        from catalogue import migrations

        assert self.engine is not None
        with self.engine.begin() as connection:
            empty = not inspect(connection).has_table("services")
            Base.metadata.create_all(connection)
            if empty:
                migrations.stamp_head(connection)

    def check_schema(self) -> None:
        """Raise migrations.SchemaNotCurrent unless the database is at the migrations' head revision."""
        from catalogue import migrations

        assert self.engine is not None
        with self.engine.connect() as connection:
            migrations.check_at_head(connection)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits once at the end, or rolls everything back on any error."""
        assert self.sessionmaker is not None
        with self.sessionmaker() as session, session.begin():
            yield session


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session() -> Session:
    """The session of the current request or command (created on first use)."""
    from flask import current_app

    if "db_session" not in g:
        database: Database = current_app.extensions["catalogue.db"]
        assert database.sessionmaker is not None
        g.db_session = database.sessionmaker()
    return g.db_session  # type: ignore[no-any-return]


@contextmanager
def committed() -> Iterator[Session]:
    """The request's session, committed once at the end of the block, or rolled back on any error."""
    db_session = session()
    try:
        yield db_session
        db_session.commit()
    except BaseException as error:
        db_session.rollback()
        audit_refusal(error)
        raise


def audit_refusal(error: BaseException) -> None:
    """Put a refused action on the audit trail in a transaction of its own (the refused one was rolled back)."""
    from catalogue.services.registry import PermissionDenied, record_refusal

    if not isinstance(error, PermissionDenied) or error.recorded:
        return
    database: Database = current_app.extensions["catalogue.db"]
    try:
        with database.transaction() as audit_session:
            record_refusal(audit_session, error)
    except Exception:  # the refusal is still answered if the audit trail cannot be written right now
        log.exception("could not record a permission refusal")


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


db = Database()
