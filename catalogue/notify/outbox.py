"""The outbox: events turned into mails after their commit, and mails delivered, retried and kept until sent.

Queueing follows the event log as the search index does: a cursor row remembers the last event turned into
mails, and the mails and the cursor's new place are written in one transaction. Whatever stops a process
between a commit and its mails (a crash, a mail server down, a failed query), the next pass starts from the
cursor, so no event is missed and none is mailed twice (one row per event and address, unique).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalogue.auth.links import link_token
from catalogue.auth.models import AccountLink
from catalogue.db import utcnow
from catalogue.events import Event
from catalogue.exports.catalogue import Links
from catalogue.notify.compose import LINK_SLOT, mails_for
from catalogue.notify.models import NotifierCursor, OutboxMail
from catalogue.notify.smtp import MailTransport

log = logging.getLogger(__name__)

BATCH = 200
"""Events read, or mails sent, per transaction."""
LEASE = timedelta(minutes=5)
"""How long a sender holds a mail it is sending before another sender may take it over."""
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
"""Retries wait 1, 2, 4, ... minutes, at most 6 hours; a mail is retried until it is delivered."""


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the attempts-th failed attempt."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20)
    return min(wait, LAST_RETRY)


def _cursor(session: Session) -> NotifierCursor:
    found = session.scalar(select(NotifierCursor).where(NotifierCursor.id == 1).with_for_update())
    if found is None:
        found = NotifierCursor(id=1, last_event_id=0)
        session.add(found)
        session.flush()
    return found


def queue_new_events(sessions: sessionmaker[Session], links: Links) -> int:
    """Turn every event after the cursor into outbox mails; returns how many mails were queued."""
    queued = 0
    while True:
        try:
            with sessions() as session, session.begin():
                cursor = _cursor(session)
                events = list(
                    session.scalars(
                        select(Event).where(Event.id > cursor.last_event_id).order_by(Event.id).limit(BATCH)
                    )
                )
                for event in events:
                    for mail in mails_for(session, event, links):
                        session.add(
                            OutboxMail(
                                event_id=event.id,
                                kind=mail.kind,
                                user_id=mail.user.id,
                                recipient=mail.user.email,
                                subject=mail.subject,
                                body=mail.body,
                                link_id=mail.link_id,
                            )
                        )
                        queued += 1
                if events:
                    cursor.last_event_id = events[-1].id
        except IntegrityError:
            # Another process queued these events at the same moment (SQLite has no row lock to wait on).
            log.info("another process queued the same events; leaving them to it")
            return queued
        if len(events) < BATCH:
            return queued


@dataclass
class Delivery:
    """What one pass of the sender did."""

    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    """Take mail_id for this sender for LEASE, unless it was sent or another sender holds it."""
    result = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            OutboxMail.sent_at.is_(None),
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .values(claimed_until=now + LEASE)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _message(session: Session, mail: OutboxMail, sender: str, secret: str, links: Links) -> EmailMessage:
    body = mail.body
    if mail.link_id is not None:
        link = session.get(AccountLink, mail.link_id)
        if link is None:
            raise LookupError(f"account link {mail.link_id} is gone")
        body = body.replace(LINK_SLOT, link_token(secret, link))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=urlsplit(links.base).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to these
    message.set_content(body)
    return message


def due_mails(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of the mails waiting to be sent whose time has come, oldest first."""
    return list(
        session.scalars(
            select(OutboxMail.id)
            .where(
                OutboxMail.sent_at.is_(None),
                OutboxMail.next_attempt_at <= now,
                or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
            )
            .order_by(OutboxMail.id)
            .limit(limit)
        )
    )


def deliver_due(
    sessions: sessionmaker[Session], transport: MailTransport, sender: str, secret: str, links: Links
) -> Delivery:
    """Send every mail whose time has come; a failure is logged and the mail retried later, never dropped."""
    delivery = Delivery()
    with sessions() as session:
        ids = due_mails(session, utcnow())
    for mail_id in ids:
        _deliver_one(sessions, transport, sender, secret, links, mail_id, delivery)
    return delivery


def _deliver_one(
    sessions: sessionmaker[Session],
    transport: MailTransport,
    sender: str,
    secret: str,
    links: Links,
    mail_id: int,
    delivery: Delivery,
) -> None:
    with sessions() as session:
        with session.begin():
            if not _claim(session, mail_id, utcnow()):
                return
        with session.begin():  # the session keeps what it read (expire_on_commit=False) while the mail goes out
            mail = session.get(OutboxMail, mail_id)
            assert mail is not None
            try:
                message = _message(session, mail, sender, secret, links)
            except LookupError as gone:
                message, failure = None, gone
        try:
            if message is None:
                raise failure
            transport.send(message)
        except Exception as error:  # noqa: BLE001 - any failure of server or network: keep the mail, retry later
            with session.begin():
                mail.attempts += 1
                mail.last_error = f"{type(error).__name__}: {error}"[:500]
                mail.next_attempt_at = utcnow() + retry_delay(mail.attempts)
                mail.claimed_until = None
            delivery.failed += 1
            delivery.errors.append(mail.last_error)
            log.warning(
                "mail %s to %s failed (attempt %s), next try at %s: %s",
                mail.id,
                mail.recipient,
                mail.attempts,
                mail.next_attempt_at.isoformat(timespec="seconds"),
                mail.last_error,
            )
            return
        with session.begin():
            mail.attempts += 1
            mail.sent_at = utcnow()
            mail.claimed_until = None
            mail.last_error = None
        delivery.sent += 1
