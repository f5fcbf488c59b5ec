"""Accounts without a shell: invitations and password resets by e-mail, through links that work once.

An admin invites a person (a user without a password yet, and an invitation link); anyone may ask for a
reset link for an address, and is told the same whether an account uses it or not. A link's token is never
stored: the row keeps its SHA-256, and the mail sender rebuilds the token from the row under the secret key
(`link_token`). Each use-case records an event; the notifier (catalogue/notify) turns the event into a mail
after the commit, so no request waits for a mail server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalogue.auth.accounts import create_user, set_password
from catalogue.auth.actors import Actor, check_admin
from catalogue.auth.models import AccountLink, User
from catalogue.db import utcnow
from catalogue.events import record_event
from catalogue.exceptions import Conflict, NotFound


class LinkSpent(NotFound):
    """The link exists but expired or was used already (a page says so: the holder asks for a new one)."""

    status = 410
    title = "Link expired or used"


def link_token(secret: str, link: AccountLink) -> str:
    """The token of link: an HMAC of its id, purpose and nonce under the catalogue's secret key."""
    message = f"account-link:{link.id}:{link.purpose}:{link.nonce}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _issue(session: Session, secret: str, user: User, purpose: str, hours: float) -> AccountLink:
    """A new link for user, replacing every open link of the same purpose (only the newest mail works)."""
    now = utcnow()
    session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.purpose == purpose, AccountLink.used_at.is_(None))
        .values(used_at=now)
    )
    link = AccountLink(
        user=user, purpose=purpose, nonce=secrets.token_urlsafe(24), expires_at=now + timedelta(hours=hours)
    )
    session.add(link)
    session.flush()
    link.token_hash = _hash(link_token(secret, link))
    session.flush()
    return link


def invite_user(
    session: Session,
    actor: Actor,
    secret: str,
    email: str,
    org_code: str,
    role: str,
    display_name: str | None = None,
    hours: float = 48,
) -> AccountLink:
    """Invite a person (admins): a user without a password, and an invitation link mailed after commit.

    Inviting again someone who never set a password sends a new link (the old one stops working); a person
    who has a password already is told to use "forgot password" instead.
    """
    check_admin(actor, "invite_user")
    existing = session.scalar(select(User).where(User.email == email.strip().lower()))
    if existing is not None and existing.password_hash is not None:
        raise Conflict(f"{existing.email} has an account already; they can ask for a new password on the sign-in page")
    if existing is None:
        user, _token = create_user(
            session, email, org_code, role, display_name, password=None, token_days=None, actor=actor
        )
    else:
        user = existing
    link = _issue(session, secret, user, "invitation", hours)
    record_event(
        session,
        "user.invited",
        actor.user_id,
        data={"user": user.id, "email": user.email, "link": link.id, "expires_at": link.expires_at.isoformat()},
    )
    return link


def request_reset(session: Session, secret: str, email: str, hours: float = 1) -> AccountLink | None:
    """A reset link for the active user with this address, mailed after commit; None when there is none.

    The caller answers the same either way, so nobody learns which addresses have accounts.
    """
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        return None
    link = _issue(session, secret, user, "reset", hours)
    record_event(session, "user.reset_requested", None, data={"user": user.id, "link": link.id})
    return link


def open_link(session: Session, token: str) -> AccountLink:
    """The unexpired, unused link of this token; NotFound when unknown, LinkSpent when expired or used."""
    link = session.scalar(select(AccountLink).where(AccountLink.token_hash == _hash(token)))
    if link is None or not link.user.active:
        raise NotFound("this link is not known: check that you copied all of it")
    if link.used_at is not None or link.expires_at < utcnow():
        raise LinkSpent("this link has expired or has been used already")
    return link


def redeem(session: Session, token: str, password: str) -> User:
    """Set the password of the link's user and spend the link (and every other open link of theirs)."""
    link = open_link(session, token)
    user = link.user
    set_password(session, Actor(user=user), user, password)
    now = utcnow()
    session.execute(
        update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None)).values(used_at=now)
    )
    record_event(session, "user.link_used", user.id, data={"user": user.id, "link": link.id, "purpose": link.purpose})
    return user
