"""What each event tells whom: the mails one event makes, in plain words, each with the link to its page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue.auth.actors import Actor
from catalogue.auth.models import AccountLink, User
from catalogue.events import Event
from catalogue.exports.catalogue import Links
from catalogue.notify.models import NotificationSetting
from catalogue.services import permissions
from catalogue.services.models import Review, ServiceVersion, VersionComment

LINK_SLOT = "{account_token}"
"""Stands in an account mail's link for its token, which is rebuilt only when the mail is sent."""

COMMENT_KINDS = ("version.commented",)
"""Events of a comment on a version (data: version, comment): the owner organisation and the reviewers who
took part in the version's conversation are told."""

_DECISIONS = {
    "version.approved": ("Approved", "approved"),
    "version.changes_requested": ("Changes requested", "asked for changes to"),
    "version.rejected": ("Rejected", "rejected"),
}

_FOOTER = (
    "\n\n-- \nYou receive this because you have an account in the CSPA Catalogue. "
    "Choose which notifications you get at {settings}"
)


@dataclass(frozen=True)
class Mail:
    """One mail to write into the outbox."""

    user: User
    kind: str
    subject: str
    body: str
    link_id: int | None = None


def mails_for(session: Session, event: Event, links: Links) -> list[Mail]:
    """The mails event makes (none for most events)."""
    if event.kind in ("user.invited", "user.reset_requested"):
        return _account_mail(session, event, links)
    if event.version_id is None:
        return []
    version = session.get(ServiceVersion, event.version_id)
    if version is None:
        return []
    actor = session.get(User, event.actor_id) if event.actor_id is not None else None
    if event.kind == "version.submitted" and event.data.get("to") == "submitted":
        return _submitted(session, version, actor, links)
    if event.kind in _DECISIONS:
        return _decided(session, event, version, actor, links)
    if event.kind in COMMENT_KINDS:
        return _commented(session, event, version, actor, links)
    return []


def _name(user: User | None) -> str:
    if user is None:
        return "The catalogue"
    organisation = user.organisation
    return f"{user.display_name} ({organisation.name})" if organisation is not None else user.display_name


def _wanting(session: Session, users: list[User], kind: str, actor: User | None) -> list[User]:
    """users who keep kind on, never the person who acted."""
    off = set(
        session.scalars(
            select(NotificationSetting.user_id).where(
                NotificationSetting.kind == kind, NotificationSetting.enabled.is_(False)
            )
        )
    )
    return [u for u in users if u.id not in off and (actor is None or u.id != actor.id)]


def _footer(links: Links) -> str:
    return _FOOTER.format(settings=links.to("account/notifications"))


def _submitted(session: Session, version: ServiceVersion, actor: User | None, links: Links) -> list[Mail]:
    candidates = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(("reviewer", "admin"))).order_by(User.id)
    )
    reviewers = [u for u in candidates if permissions.may_review(Actor(user=u), version)]
    service = version.service
    subject = f"Review wanted: {version.name} {version.version} ({service.organisation.code})"
    body = (
        f"{_name(actor)} submitted {version.name}, version {version.version}, for review.\n\n"
        f"Review it here:\n{links.to(f'review/{service.slug}/{version.version}')}\n\n"
        f"The version as submitted:\n{links.to(f'services/{service.slug}/versions/{version.version}')}" + _footer(links)
    )
    return [Mail(u, "submitted", subject, body) for u in _wanting(session, reviewers, "submitted", actor)]


def _members(session: Session, version: ServiceVersion) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), User.organisation_id == version.service.organisation_id)
            .order_by(User.id)
        )
    )


def _quoted(comment: str) -> str:
    return "\n".join(f"> {line}" for line in comment.strip().splitlines())


def _decided(session: Session, event: Event, version: ServiceVersion, actor: User | None, links: Links) -> list[Mail]:
    title, verb = _DECISIONS[event.kind]
    comment = str(event.data.get("comment") or "")
    subject = f"{title}: {version.name} {version.version}"
    body = f"{_name(actor)} {verb} {version.name}, version {version.version}."
    if comment.strip():
        body += f"\n\nTheir comment:\n{_quoted(comment)}"
    if event.kind == "version.changes_requested":
        body += "\n\nTo answer, submit a new version with the changes."
    body += (
        f"\n\nSee the version and the review:\n{links.to(f'services/{version.service.slug}/versions/{version.version}')}"
        + _footer(links)
    )
    return [
        Mail(u, "decision", subject, body) for u in _wanting(session, _members(session, version), "decision", actor)
    ]


def _commented(session: Session, event: Event, version: ServiceVersion, actor: User | None, links: Links) -> list[Mail]:
    comment = str(event.data.get("comment") or "")
    subject = f"New comment: {version.name} {version.version}"
    body = (
        f"{_name(actor)} commented on {version.name}, version {version.version}:\n\n{_quoted(comment)}\n\n"
        f"Read and answer it here:\n{links.to(f'services/{version.service.slug}/versions/{version.version}')}"
        + _footer(links)
    )
    return [
        Mail(u, "comment", subject, body) for u in _wanting(session, _conversation(session, version), "comment", actor)
    ]


def _conversation(session: Session, version: ServiceVersion) -> list[User]:
    """The owner organisation's members, then the reviewers who decided on or wrote about version: a reply
    reaches the reviewer it answers."""
    members = _members(session, version)
    took_part = (
        select(Review.reviewer_id)
        .where(Review.version_id == version.id)
        .union(select(VersionComment.author_id).where(VersionComment.version_id == version.id))
    )
    others = session.scalars(select(User).where(User.active.is_(True), User.id.in_(took_part)).order_by(User.id))
    return members + [u for u in others if u not in members]


def _account_mail(session: Session, event: Event, links: Links) -> list[Mail]:
    link = session.get(AccountLink, event.data.get("link"))
    if link is None:
        return []
    user = link.user
    url = links.to("auth/account/") + LINK_SLOT
    hours = max(1, round((link.expires_at - link.created_at).total_seconds() / 3600))
    lasting = f"{hours} hour" if hours == 1 else f"{hours} hours"
    if link.purpose == "invitation":
        organisation = user.organisation.name if user.organisation is not None else "your organisation"
        subject = "Your invitation to the CSPA Catalogue"
        body = (
            f"You are invited to the CSPA Catalogue as a {user.role} of {organisation}.\n\n"
            f"Choose your password here (the link works once, for {lasting}):\n{url}\n\n"
            f"Then sign in with this address, {user.email}:\n{links.to('auth/sign-in')}\n\n"
            "If you did not expect this invitation, ignore this mail."
        )
    else:
        subject = "Choose a new password for the CSPA Catalogue"
        body = (
            "Someone asked for a new password for this address.\n\n"
            f"Choose a new password here (the link works once, for {lasting}):\n{url}\n\n"
            "If it was not you, ignore this mail: your password stays as it is."
        )
    return [Mail(user, link.purpose, subject, body, link_id=link.id)]
