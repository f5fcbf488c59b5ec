"""Notifications by e-mail: events become mails in an outbox after their commit; a sender delivers them.

No request waits for a mail server, nor for the outbox. After a commit that recorded events, the request wakes
the sender, a background thread of the web process, which writes the mails those events make into the outbox
(`outbox.queue_new_events`) and delivers them (`outbox.deliver_due`), retrying failures with a growing wait.
Where no sender runs (commands, CATALOGUE_NOTIFY_WORKER off), the mails are queued right after the commit. `catalogue notify send` does the same from the command line (or a timer). A mail stays in the
outbox until a server accepted it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from catalogue.db import database_of
from catalogue.events import EVENTS_WRITTEN
from catalogue.exports.catalogue import Links, request_links
from catalogue.notify import outbox
from catalogue.notify.smtp import MailTransport, SmtpTransport
from catalogue.timing import timed

log = logging.getLogger(__name__)

_QUEUE = "catalogue.notify.queue"
"""Key in Session.info: this transaction recorded events, so queue their mails after it commits."""

DEVELOPMENT_BASE = "http://127.0.0.1:5000/"
"""Where links in mails point when CATALOGUE_BASE_URL is not set and no request tells (development only)."""

POLL_SECONDS = 60.0
"""The sender looks for due retries at least this often, even when nothing wakes it."""


class Notifier:
    """One app's outbox: queues mails after commits, and sends them from a background thread."""

    def __init__(self, app: Flask, transport: MailTransport | None = None) -> None:
        self.config = app.config["CATALOGUE"]
        self.sessions = database_of(app).sessionmaker
        self.secret = str(app.config["SECRET_KEY"])
        self.transport = transport or (
            SmtpTransport(
                self.config.smtp_host,
                self.config.smtp_port,
                self.config.smtp_security,
                self.config.smtp_username,
                self.config.smtp_password,
            )
            if self.config.smtp_host
            else None
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._woken_by: Links | None = None

    def links(self) -> Links:
        """The absolute links written into mails: CATALOGUE_BASE_URL, else the request's host."""
        if self.config.base_url:
            return Links(self.config.base_url)
        if has_request_context():
            return request_links()
        return Links(DEVELOPMENT_BASE)

    def queue(self, links: Links | None = None) -> int:
        """Write the mails of every event not yet queued into the outbox, with links (default: links());
        returns how many."""
        return outbox.queue_new_events(self.sessions, links or self.links())

    def deliver(self) -> outbox.Delivery:
        """Send every mail whose time has come (nothing when no SMTP server is configured)."""
        if self.transport is None:
            return outbox.Delivery()
        return outbox.deliver_due(self.sessions, self.transport, self.config.mail_from, self.secret, self.links())

    def after_commit(self) -> None:
        """Queue the mails of a transaction that recorded events (never raises).

        In a web request of a process that runs the sender, the sender's thread queues them, so the answer
        never waits for the outbox; elsewhere (commands, or the sender switched off) they are queued here.
        """
        if has_request_context() and self.config.notify_worker:
            self._woken_by = self.links()  # the sender's mails link to the host of the request that woke it
            self.start()
            self._wake.set()
            return
        try:
            with timed("notify"):
                self.queue()
        except Exception:
            log.exception("queueing notifications failed; the next commit or `catalogue notify send` catches up")

    def start(self) -> None:
        """Start the background sender once per process."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="catalogue-mail-sender", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the background sender (tests; a daemon thread ends with its process anyway)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.queue(self._woken_by)
                self.deliver()
            except Exception:
                log.exception("the mail sender failed a pass; it tries again")
            self._wake.wait(POLL_SECONDS)


def init_app(app: Flask) -> Notifier:
    """Give app its notifier, queueing mails after every commit that recorded events."""
    notifier = Notifier(app)
    app.extensions["catalogue.notify"] = notifier
    sessions = notifier.sessions

    # The search index pops EVENTS_WRITTEN in its own after_commit; reading it before the commit keeps the
    # two listeners independent of the order they were registered in. The mails are queued once the
    # transaction has ended and given its connection back: on SQLite, a transaction that used a savepoint
    # still holds the write lock during after_commit, and a write there would wait for itself.
    def before_commit(session: Session) -> None:
        if session.info.get(EVENTS_WRITTEN):
            session.info[_QUEUE] = "pending"

    def after_commit(session: Session) -> None:
        if session.info.get(_QUEUE) == "pending":
            session.info[_QUEUE] = "committed"

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and session.info.get(_QUEUE) == "committed":
            del session.info[_QUEUE]
            notifier.after_commit()

    def after_rollback(session: Session, _previous: Any = None) -> None:
        session.info.pop(_QUEUE, None)

    event.listen(sessions, "before_commit", before_commit)
    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_transaction_end", after_transaction_end)
    event.listen(sessions, "after_soft_rollback", after_rollback)
    return notifier


def notifier_of(app: Flask) -> Notifier:
    """The notifier of app."""
    return app.extensions["catalogue.notify"]  # type: ignore[no-any-return]
