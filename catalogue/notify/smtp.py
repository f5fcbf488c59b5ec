"""Sending one mail through an SMTP server (settings from the environment: CATALOGUE_SMTP_*)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

SECURITY = ("starttls", "tls", "none")
"""How the connection is protected: STARTTLS on a plain port (587), TLS from the start (465), or nothing (a
relay on the same host)."""


class MailTransport(Protocol):
    """Something that sends one message or raises."""

    def send(self, message: EmailMessage) -> None:
        """Send message, or raise."""


@dataclass(frozen=True)
class SmtpTransport:
    """An SMTP server: a connection per message, so a broken connection never holds later mails back."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    timeout: float = 20

    def send(self, message: EmailMessage) -> None:
        """Send message through the server, or raise (smtplib.SMTPException, OSError)."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "tls":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)
