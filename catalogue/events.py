"""The event log: the audit trail of every change and refusal, and the feed the search index follows.

Its last event id is the catalogue's version: every change records an event, so a reader that remembers
that id knows whether anything changed since (the search index, conditional answers, the readiness probe).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalogue.db import Base, utcnow
from catalogue.exceptions import PermissionDenied


class Event(Base):
    """The audit trail, and the feed the search index follows (ids only ever grow)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_service", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("service_versions.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


EVENTS_WRITTEN = "catalogue.events_written"
"""Key in Session.info set when a transaction records an Event (the search index syncs after commit)."""

_EVENT_LOCK = 0x43535041  # "CSPA": one PostgreSQL advisory lock serialises event writers


def serialise_writers(session: Session) -> None:
    """Wait until no other transaction that writes events is open (PostgreSQL; SQLite has one writer at a time).

    The lock is transaction-scoped: it is held until this transaction commits or rolls back, and taking it
    again in the same transaction costs nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})


def record_event(
    session: Session,
    kind: str,
    actor_id: int | None,
    *,
    service_id: int | None = None,
    version_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an Event to the audit trail and flush it.

    Followers (the search index) remember the last event id they applied. On PostgreSQL two
    transactions could otherwise commit their events out of id order, and a follower that saw the
    later one first would skip the earlier one for ever; a transaction-scoped advisory lock taken
    just before the insert makes commit order equal id order. SQLite has one writer at a time.
    """
    serialise_writers(session)
    event = Event(kind=kind, service_id=service_id, version_id=version_id, actor_id=actor_id, data=data or {})
    session.add(event)
    session.flush()
    session.info[EVENTS_WRITTEN] = True
    return event


def record_refusal(session: Session, error: PermissionDenied) -> Event:
    """Record a refused action in the audit trail (in a transaction of its own: the refused one was rolled back)."""
    error.recorded = True
    return record_event(
        session,
        "permission.denied",
        error.actor_id,
        service_id=error.service_id,
        version_id=error.version_id,
        data={"action": error.action, "detail": error.detail},
    )


@dataclass(frozen=True)
class CatalogueState:
    """How far the catalogue has come: its last event, which every change records."""

    event_id: int
    changed_at: datetime | None


def catalogue_state(bind: Session | Connection) -> CatalogueState:
    """The id and time of the newest event (0 and None on an empty catalogue)."""
    newest = bind.execute(select(Event.id, Event.created_at).order_by(Event.id.desc()).limit(1)).first()
    if newest is None:
        return CatalogueState(0, None)
    return CatalogueState(newest.id, newest.created_at)


def catalogue_version(bind: Session | Connection) -> int:
    """The catalogue's version: the id of its last event (0 on an empty catalogue)."""
    return catalogue_state(bind).event_id


def catalogue_version_on(dbapi_connection: Any) -> int:
    """catalogue_version read on a bare DB-API connection (conditional's SQLite clock keeps one of its own)."""
    row = dbapi_connection.execute("SELECT id FROM events ORDER BY id DESC LIMIT 1").fetchone()
    return int(row[0]) if row else 0
