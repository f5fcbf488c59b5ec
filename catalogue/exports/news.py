"""What happened in public to one service or one organisation's services: approvals, deprecations,
retirements, newest first, for their Atom feeds (drafts, reviews in progress and refusals never appear)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from catalogue.auth import actors
from catalogue.auth.models import Organisation
from catalogue.events import Event
from catalogue.exceptions import NotFound
from catalogue.services import permissions
from catalogue.services.models import Service, ServiceVersion

MAX_ENTRIES = 100

_WORDS = {"approved": "approved", "deprecated": "deprecated", "retired": "retired"}


@dataclass(frozen=True)
class News:
    """One public happening: a version approved, deprecated or retired."""

    slug: str
    name: str
    version: str
    what: str
    purpose: str
    organisation: str
    organisation_name: str
    at: datetime


PUBLIC_MOVES = ("version.approved", "version.deprecated", "version.retired", "version.submitted")
"""Events that may put a version in public or take it out: approvals (also versions stored approved by the
system, a `version.submitted` whose `to` is approved), deprecations and retirements."""


def _news(session: Session, services: list[Service]) -> list[News]:
    ids = [s.id for s in services]
    if not ids:
        return []
    rows = session.execute(
        select(Event, ServiceVersion)
        .join(ServiceVersion, ServiceVersion.id == Event.version_id)
        .where(Event.service_id.in_(ids), Event.kind.in_(PUBLIC_MOVES))
        .order_by(Event.id.desc())
    ).all()
    found: list[News] = []
    for event, version in rows:
        what = str(event.data.get("to") or "")
        if what not in _WORDS:
            continue
        service = version.service
        found.append(
            News(
                slug=service.slug,
                name=version.name,
                version=version.version,
                what=_WORDS[what],
                purpose=str((version.bundle or {}).get("definition", {}).get("purpose") or ""),
                organisation=service.organisation.code,
                organisation_name=service.organisation.name,
                at=event.created_at,
            )
        )
        if len(found) >= MAX_ENTRIES:
            break
    return found


def _public(session: Session, query: Select[Service]) -> list[Service]:
    services = session.scalars(query).unique().all()
    return [s for s in services if permissions.shown_version(s, actors.ANONYMOUS) is not None]


def service_news(session: Session, slug: str) -> tuple[str, list[News]]:
    """The public service's name and its news; NotFound when anonymous readers see no such service."""
    query = permissions.visible_services(actors.ANONYMOUS).where(Service.slug == slug)
    services = _public(session, query)
    if not services:
        raise NotFound(f"no service with id {slug!r}")
    shown = permissions.shown_version(services[0], actors.ANONYMOUS)
    assert shown is not None
    return shown.name, _news(session, services)


def organisation_news(session: Session, code: str) -> tuple[Organisation, list[News]]:
    """The organisation and the news of its public services; NotFound when there is no such organisation."""
    organisation = session.scalar(select(Organisation).where(Organisation.code == code.upper()))
    if organisation is None:
        raise NotFound(f"no organisation {code!r}")
    query = permissions.visible_services(actors.ANONYMOUS).where(Service.organisation_id == organisation.id)
    return organisation, _news(session, _public(session, query))
