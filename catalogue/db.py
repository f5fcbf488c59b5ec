"""The declarative base and column types of every model, and each app's own engine and sessions.

No engine exists at module level: create_app makes a Database per app (no connection on import)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from werkzeug.local import LocalProxy

from catalogue.exceptions import PermissionDenied
from catalogue.timing import timed

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
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
        list[dict[str, Any]]: JSONDocument,
    }


RefusalRecorder = Callable[[Session, PermissionDenied], object]
"""Writes a refusal on the audit trail (catalogue.events.record_refusal; the app factory hands it over)."""


class Database:
    """One app's engine and session factory: requests and commands of that app get their sessions here.

    Each app makes its own (create_app), so two apps in one process never share an engine.
    """

    def __init__(self, url: str, record_refusal: RefusalRecorder | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # pool_pre_ping: a connection the database dropped (a restart, a network cut) is replaced before
        # use, so the first requests after an outage succeed instead of failing on a dead connection.
        self.engine: Engine = create_engine(url, pool_pre_ping=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self._record_refusal = record_refusal

    def init_app(self, app: Flask) -> None:
        """Make this the database of app, and close the request's session when the request ends."""
        app.extensions[_EXTENSION] = self
        app.teardown_appcontext(_close_session)

    def create_all(self) -> None:
        """Create every table that does not exist yet; a database made whole here is stamped as migrated.

        For tests and benchmarks (fast); `catalogue init` and `catalogue migrate` make databases through
        the migrations, which tests/ops/test_migrations.py holds to the same schema. The model modules are
        imported by the app factory, so Base.metadata knows every table by then.
        """
        from sqlalchemy import inspect

        from catalogue import migrations

        with self.engine.begin() as connection:
            empty = not inspect(connection).has_table("services")
            Base.metadata.create_all(connection)
            if empty:
                migrations.stamp_head(connection)

    def check_schema(self) -> None:
        """Raise migrations.SchemaNotCurrent unless the database is at the migrations' head revision."""
        from catalogue import migrations

        with self.engine.connect() as connection:
            migrations.check_at_head(connection)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits once at the end, or rolls everything back on any error (a refusal is
        then kept on the audit trail: see keep_refusal)."""
        try:
            with self.sessionmaker() as session, session.begin():
                yield session
        except BaseException as error:
            self.keep_refusal(error)
            raise

    def keep_refusal(self, error: BaseException) -> None:
        """Put a refused action on the audit trail in a transaction of its own (the refused one was rolled
        back). The one place refusals are written: every unit of work ends here, and so does the error
        handler for refusals of reads. A refusal is written once, however many of these it passes."""
        if not isinstance(error, PermissionDenied) or error.recorded or self._record_refusal is None:
            return
        try:
            with self.sessionmaker() as session, session.begin():
                self._record_refusal(session, error)
        except Exception:  # the refusal is still answered if the audit trail cannot be written right now
            log.exception("could not record a permission refusal")


_EXTENSION = "catalogue.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def database_of(app: Flask) -> Database:
    """The database of app."""
    return app.extensions[_EXTENSION]  # type: ignore[no-any-return]


def current_database() -> Database:
    """The database of the current app."""
    return database_of(current_app)


db: Database = LocalProxy(current_database)  # type: ignore[assignment]
"""The current app's Database, found when used (like flask.current_app): it holds no engine of its own."""


def session() -> Session:
    """The session of the current request or command (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_database().sessionmaker()
    return g.db_session  # type: ignore[no-any-return]


@contextmanager
def committed() -> Iterator[Session]:
    """The request's session, committed once at the end of the block, or rolled back on any error."""
    db_session = session()
    try:
        with timed("transaction"):
            yield db_session
            db_session.commit()
    except BaseException as error:
        db_session.rollback()
        current_database().keep_refusal(error)
        raise


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def unstorable(text: str) -> str | None:
    """Why text cannot be stored or looked up as database text, or None when it can.

    PostgreSQL refuses NUL in text and JSONB (SQLite accepts it), and a lone surrogate (JSON's
    "\\ud800") has no UTF-8 form, so either would reach the database driver as an error: a 500.
    """
    if "\x00" in text:
        return "a NUL character (U+0000), which no database column can store"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"an unpaired surrogate (U+{ord(text[exc.start]):04X}), which is not Unicode text"
    return None
