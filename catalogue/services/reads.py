"""Reading the registry: services and versions as one actor may see them, their reviews and history.

Nothing here changes the database. What an actor may see is decided in catalogue/services/permissions.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session, joinedload

from catalogue.auth.actors import Actor
from catalogue.auth.models import Organisation, User
from catalogue.events import Event
from catalogue.exceptions import NotFound
from catalogue.services.models import (
    PUBLIC_STATUSES,
    Review,
    Service,
    ServiceVersion,
    VersionComment,
    VersionSubprocess,
)
from catalogue.services.permissions import (
    check_may_see_review_queue,
    may_review,
    shown_version,
    shown_version_id,
    visibility,
    visible_services,
)


@dataclass(frozen=True)
class ServiceView:
    """A service as one actor sees it: the service, the version shown to them and the newest version
    they may read (never a draft or a version in review that they may not see)."""

    service: Service
    version: ServiceVersion | None
    latest: ServiceVersion | None


def view_service(service: Service, actor: Actor) -> ServiceView:
    """service as actor sees it."""
    readable = visible_versions(service, actor)
    return ServiceView(service, shown_version(service, actor), readable[-1] if readable else None)


def list_services(
    session: Session,
    actor: Actor,
    *,
    gsbpm: str | None = None,
    organisation: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[ServiceView], int]:
    """A page of the services the actor may see, filtered, with the total count.

    The status filter reads the status of the version the actor is shown (permissions.shown_version_id),
    as the search index's status filter does: a service whose newer version is a draft or in review is
    listed as approved to those who see only its approved version, and never as a draft.
    """
    query = visible_services(actor)
    if organisation:
        query = query.join(Service.organisation).where(Organisation.code == organisation.upper())
    if status:
        query = query.where(
            shown_version_id(actor).in_(select(ServiceVersion.id).where(ServiceVersion.status == status))
        )
    if gsbpm:
        codes = select(VersionSubprocess.version_id)
        codes = (
            codes.where(VersionSubprocess.code.like(f"{gsbpm}.%"))
            if "." not in gsbpm
            else codes.where(VersionSubprocess.code == gsbpm)
        )
        query = query.where(shown_version_id(actor).in_(codes))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Service.slug).offset((page - 1) * per_page).limit(per_page)).all()
    return [view_service(s, actor) for s in rows], total


def services_of_id(session: Session, actor: Actor, slug: str) -> list[Service]:
    """The services of one id that actor may see, the one they are shown first.

    Several organisations may hold services of one id until one is approved (workflow.reserve_id): a
    reader is shown their own organisation's first, then the one that reserved the id, then those past
    the draft stage, oldest first.
    """
    rule = visibility(actor)
    own = Service.organisation_id == rule.organisation_id if rule.organisation_id is not None else false()
    preference = case((own, 0), (Service.reserved_slug.is_not(None), 1), (Service.status != "draft", 2), else_=3)
    query = visible_services(actor).where(Service.slug == slug).order_by(preference, Service.id)
    return list(session.scalars(query))


def get_service(session: Session, actor: Actor, slug: str) -> Service:
    """The service of that id actor is shown (see services_of_id), or NotFound."""
    services = services_of_id(session, actor, slug)
    if not services:
        raise NotFound(f"no service with id {slug!r}")
    return services[0]


def visible_versions(service: Service, actor: Actor) -> list[ServiceVersion]:
    """The versions of service that actor may read, oldest first: all of them for those who see its
    latest version (Visibility), else the approved and deprecated ones."""
    if visibility(actor).sees_latest(service.organisation_id):
        return list(service.versions)
    return [v for v in service.versions if v.status in PUBLIC_STATUSES]


def get_version(session: Session, actor: Actor, slug: str, version: str) -> ServiceVersion:
    """One version of a visible service that actor may read, or NotFound."""
    service = get_service(session, actor, slug)
    for candidate in visible_versions(service, actor):
        if candidate.version == version:
            return candidate
    raise NotFound(f"service {slug!r} has no version {version!r}")


@dataclass(frozen=True)
class PreviousVersion:
    """What a version is compared with: the newest earlier approved one, else the newest earlier one
    that was not a draft (approved False), else nothing."""

    version: ServiceVersion | None
    approved: bool


def previous_version(version: ServiceVersion, actor: Actor) -> PreviousVersion:
    """The version that version is compared with, among those actor may read (see PreviousVersion).

    The one rule for the review page and the API's diff. A version once approved and since deprecated
    or retired still counts as approved.
    """
    earlier = [v for v in visible_versions(version.service, actor) if v.id < version.id and v.status != "draft"]
    approved = [v for v in earlier if v.status in (*PUBLIC_STATUSES, "retired")]
    if approved:
        return PreviousVersion(approved[-1], True)
    return PreviousVersion(earlier[-1] if earlier else None, False)


def recent_public_versions(session: Session, limit: int = 6) -> list[ServiceVersion]:
    """The newest public versions, newest first, with their service and organisation loaded."""
    # Ids are sorted first and rows loaded after: sorting whole rows would drag every descriptor along.
    newest = (
        select(ServiceVersion.id)
        .join(Service, Service.public_version_id == ServiceVersion.id)
        .order_by(ServiceVersion.created_at.desc(), ServiceVersion.id.desc())
        .limit(limit)
    )
    rows = session.scalars(
        select(ServiceVersion)
        .where(ServiceVersion.id.in_(newest.scalar_subquery()))
        .options(joinedload(ServiceVersion.service).joinedload(Service.organisation))
    ).all()
    return sorted(rows, key=lambda version: (version.created_at, version.id), reverse=True)


def review_queue(session: Session, actor: Actor) -> list[ServiceVersion]:
    """Versions awaiting review (submitted or in review), oldest first; only reviewers and admins see it."""
    check_may_see_review_queue(actor)
    query = (
        select(ServiceVersion)
        .where(ServiceVersion.status.in_(("submitted", "in_review")))
        .order_by(ServiceVersion.created_at, ServiceVersion.id)
    )
    return list(session.scalars(query))


def reviews_of(session: Session, version: ServiceVersion) -> list[Review]:
    """The decisions taken on version, oldest first."""
    return list(session.scalars(select(Review).where(Review.version_id == version.id).order_by(Review.id)))


def service_history(session: Session, actor: Actor, slug: str) -> list[Event]:
    """The events of one visible service, oldest first. Anonymous readers see only public versions' events."""
    service = get_service(session, actor, slug)
    query = select(Event).where(Event.service_id == service.id).order_by(Event.id)
    events = list(session.scalars(query))
    if visibility(actor).sees_latest(service.organisation_id):
        return events
    public_ids = {v.id for v in visible_versions(service, actor)}
    return [e for e in events if e.version_id in public_ids and e.kind != "permission.denied"]


# --- people and conversations ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Who did something, as a reader is told: a display name and an organisation, never a numeric id."""

    name: str
    organisation: str | None = None
    organisation_name: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name


CATALOGUE = Person("the catalogue")
"""What the system (seed loader, bulk import) is called when it acts."""


def people(session: Session, ids: set[int | None] | list[int | None]) -> dict[int | None, Person]:
    """The person behind each user id (None: the catalogue itself)."""
    wanted = {i for i in ids if i is not None}
    found: dict[int | None, Person] = {None: CATALOGUE}
    if wanted:
        rows = session.execute(
            select(User.id, User.display_name, User.email, Organisation.code, Organisation.name)
            .outerjoin(Organisation, User.organisation_id == Organisation.id)
            .where(User.id.in_(wanted))
        )
        for user_id, name, email, code, org_name in rows:
            found[user_id] = Person(name or email.split("@")[0], code, org_name)
    return found


@dataclass(frozen=True)
class Message:
    """One entry of a version's conversation: its submission, a reviewer's decision, or a comment."""

    kind: str  # "submitted", "decision" or "comment"
    author: Person
    created_at: datetime
    body: str = ""
    decision: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


def conversation(session: Session, version: ServiceVersion) -> list[Message]:
    """A version's conversation in order: who submitted it, then decisions and comments as they came."""
    reviews = reviews_of(session, version)
    comments = list(
        session.scalars(
            select(VersionComment).where(VersionComment.version_id == version.id).order_by(VersionComment.id)
        )
    )
    names = people(
        session, [version.submitted_by_id, *(r.reviewer_id for r in reviews), *(c.author_id for c in comments)]
    )
    messages = [
        Message("decision", names.get(r.reviewer_id, CATALOGUE), r.created_at, r.comment, r.decision, list(r.items))
        for r in reviews
    ] + [Message("comment", names.get(c.author_id, CATALOGUE), c.created_at, c.body) for c in comments]
    messages.sort(key=lambda m: m.created_at)
    if version.status == "draft":
        return messages
    return [Message("submitted", names.get(version.submitted_by_id, CATALOGUE), version.created_at), *messages]


# --- one person's work and one organisation's services ----------------------------------------

STATE_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("drafts", "Drafts", ("draft",)),
    ("in_review", "In review", ("submitted", "in_review")),
    ("changes_requested", "Changes requested or rejected", ("changes_requested", "rejected")),
    ("approved", "Approved", ("approved", "deprecated")),
    ("retired", "Retired", ("retired",)),
)
"""How services are grouped by the status of the version a reader is shown: key, heading, statuses."""


def by_state(views: list[ServiceView]) -> list[tuple[str, str, list[ServiceView]]]:
    """views grouped as STATE_GROUPS says (each group in name order), empty groups included."""
    groups = []
    for key, heading, statuses in STATE_GROUPS:
        found = [v for v in views if v.version is not None and v.version.status in statuses]
        groups.append((key, heading, sorted(found, key=lambda v: (v.version.name if v.version else "").casefold())))
    return groups


def organisation_services(session: Session, actor: Actor, organisation: Organisation) -> list[ServiceView]:
    """The services of organisation that actor may see, each at the version actor is shown."""
    query = visible_services(actor).where(Service.organisation_id == organisation.id).order_by(Service.slug)
    return [view_service(service, actor) for service in session.scalars(query)]


def get_organisation(session: Session, code: str) -> Organisation:
    """The organisation of that code (any case), or NotFound."""
    found = session.scalar(select(Organisation).where(Organisation.code == code.upper()))
    if found is None:
        raise NotFound(f"no organisation with code {code!r}")
    return found


def contacts_of(views: list[ServiceView]) -> list[dict[str, str]]:
    """The contacts named by the versions shown, each person or address once."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for view in views:
        contacts = (view.version.bundle or {}).get("contacts") if view.version is not None else None
        for contact in contacts if isinstance(contacts, list) else []:
            if not isinstance(contact, dict):
                continue
            entry = {k: str(contact[k]) for k in ("name", "email", "url") if contact.get(k)}
            key = (entry.get("name", "").casefold(), entry.get("email", "").casefold())
            if entry and key not in seen:
                seen[key] = entry
    return list(seen.values())


@dataclass(frozen=True)
class Task:
    """Something waiting for one person: a version and what to do next with it."""

    version: ServiceVersion
    action: str
    endpoint: str  # "review" (the review page), "conversation" (the version page) or "editor"


def tasks_of(session: Session, actor: Actor) -> list[Task]:
    """What waits for actor, oldest first: versions to review (reviewers, admins) and their own
    organisation's versions with changes requested and unfinished drafts (submitters, admins)."""
    user = actor.user
    tasks: list[Task] = []
    if user is None:
        return tasks
    if user.role in ("reviewer", "admin"):
        for version in review_queue(session, actor):
            if may_review(actor, version):
                action = "Start the review" if version.status == "submitted" else "Decide on it"
                tasks.append(Task(version, action, "review"))
    if user.organisation is not None and user.role in ("submitter", "admin"):
        for view in organisation_services(session, actor, user.organisation):
            latest = view.service.latest_version
            if latest is None:
                continue
            if latest.status == "changes_requested":
                tasks.append(Task(latest, "Read the review, reply and submit a new version", "conversation"))
            elif latest.status == "draft":
                valid = not (latest.validation or {}).get("errors")
                tasks.append(Task(latest, "Submit it for review" if valid else "Finish the draft", "editor"))
    return tasks
