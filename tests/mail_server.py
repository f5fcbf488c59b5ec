"""A real SMTP server on the loopback (aiosmtpd) that keeps every message it receives, for the tests to read."""

from __future__ import annotations

import email
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """The messages the server accepted, in order of arrival."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to address."""
        return [m for m in self.messages if m["To"] == address]

    def wait_to(self, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        """Wait until count messages to address arrived (a background sender delivers them); returns them."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.to(address)) >= count, timeout)
        return self.to(address)

    def wait_for(self, count: int, timeout: float = 15) -> list[EmailMessage]:
        """Wait until count messages arrived in all (a background sender delivers them); returns them all."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


def body(message: EmailMessage) -> str:
    """The plain-text body of message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path: str = "/auth/account/") -> str:
    """The first link in message's body whose path starts with path."""
    found = re.search(r"https?://[^\s]+" + re.escape(path) + r"[^\s]*", body(message))
    assert found, body(message)
    return found.group(0)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mail_server() -> Iterator[tuple[Inbox, int]]:
    """A running SMTP server on 127.0.0.1: its inbox and port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_settings(port: int, **more: Any) -> dict[str, Any]:
    """Config fields for an app that sends through the test server."""
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", **more}


@contextmanager
def app_sending_mail(app: Any) -> Iterator[Inbox]:
    """A running app (e.g. the browser tests' live one) sends its notifications through a real SMTP server on
    the loopback, with its own background sender, until the block ends: that server's inbox."""
    from catalogue.notify import notifier_of
    from catalogue.notify.smtp import SmtpTransport

    notifier = notifier_of(app)
    with mail_server() as (inbox, port):
        notifier.transport = SmtpTransport("127.0.0.1", port, "none", timeout=5)
        try:
            yield inbox
        finally:
            notifier.stop()
            notifier.transport = None
