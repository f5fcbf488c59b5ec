"""The mail outbox, each user's notification settings, and how far the notifier has read the event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalogue.db import Base, utcnow

KINDS = {
    "submitted": "A version of another organisation's service waits for review (reviewers and admins)",
    "decision": "A reviewer decided on a version of your organisation's service",
    "comment": "Someone commented on a version of your organisation's service",
}
"""The kinds of notification a user may switch off (invitations and password resets are always sent)."""


class OutboxMail(Base):
    """One mail to one address, kept until it is delivered (then marked sent, never deleted unsent).

    `claimed_until` is a short lease: a sender takes a row by moving it forward, so two senders (the
    background thread of each worker, `catalogue notify send`) never send the same row at the same time.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (UniqueConstraint("event_id", "recipient", name="uq_mail_outbox_event_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # An invitation or reset: its token is rebuilt when the mail is sent, never stored (auth/links.py).
    link_id: Mapped[int | None] = mapped_column(ForeignKey("account_links.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]


class NotificationSetting(Base):
    """A user's choice for one kind of notification (no row: the kind is on)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)


class NotifierCursor(Base):
    """The id of the last event the notifier turned into mails (one row; the migration starts it at the
    newest event, so upgrading a catalogue mails nobody about its past)."""

    __tablename__ = "notifier_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
