"""Use-cases of the registry: check permission, validate, change models, record an Event, flush.

Functions here never commit: the request or command that calls them commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import semver
from sqlalchemy import Select, case, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalogue.auth.models import ApiToken, User
from catalogue.db import utcnow
from catalogue.services import compliance, validation
from catalogue.services.descriptors import Descriptor
from catalogue.services.models import (
    Event,
    Organisation,
    Service,
    ServiceVersion,
    VersionSubprocess,
)
from catalogue.services.report import Problem


class RegistryError(Exception):
    """A refusal by the registry, mapped to an HTTP status in catalogue/errors.py."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, problems: list[Problem] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []
        self.extra = extra


class ValidationFailed(RegistryError):
    """The descriptor has errors; they are all in problems."""

    status = 422
    title = "The descriptor is not valid"


class Conflict(RegistryError):
    """The request contradicts what is stored."""

    status = 409
    title = "Conflict"


class NotFound(RegistryError):
    """No such record."""

    status = 404
    title = "Not found"


class Unauthenticated(RegistryError):
    """No valid credentials were given."""

    status = 401
    title = "Authentication required"


class PermissionDenied(RegistryError):
    """The actor may not do this."""

    status = 403
    title = "Permission denied"


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, nobody (anonymous), or the system itself (seed loader)."""

    user: User | None = None
    system: bool = False

    @property
    def anonymous(self) -> bool:
        """True for a reader with no credentials."""
        return self.user is None and not self.system


SYSTEM = Actor(system=True)
ANONYMOUS = Actor()


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """The one visibility rule, as data that SQL and the search index both apply.

    Everyone sees each service's public (latest approved) version. Members of an organisation see
    their own services at their latest version, whatever its status; reviewers, admins and the
    system see every service at its latest version.
    """

    everything: bool = False
    organisation_id: int | None = None

    def sees_latest(self, organisation_id: int) -> bool:
        """Whether a service of organisation_id is shown at its latest version (else its public one)."""
        return self.everything or (self.organisation_id is not None and organisation_id == self.organisation_id)


def visibility(actor: Actor) -> Visibility:
    """What actor may see."""
    if actor.system or (actor.user is not None and actor.user.role in ("reviewer", "admin")):
        return Visibility(everything=True)
    if actor.user is not None:
        return Visibility(organisation_id=actor.user.organisation_id)
    return Visibility()


def visible_services(actor: Actor) -> Select[tuple[Service]]:
    """The services actor may see (see Visibility)."""
    rule = visibility(actor)
    query = select(Service)
    if rule.everything:
        return query
    if rule.organisation_id is not None:
        return query.where(Service.public_version_id.is_not(None) | (Service.organisation_id == rule.organisation_id))
    return query.where(Service.public_version_id.is_not(None))


def shown_version(service: Service, actor: Actor) -> ServiceVersion | None:
    """The version of service that actor is shown."""
    return service.latest_version if visibility(actor).sees_latest(service.organisation_id) else service.public_version


@dataclass(frozen=True)
class ServiceView:
    """A service as one actor sees it: the service and the version shown to them."""

    service: Service
    version: ServiceVersion | None


def view_service(service: Service, actor: Actor) -> ServiceView:
    """service as actor sees it."""
    return ServiceView(service, shown_version(service, actor))


def _shown_version_id(actor: Actor) -> Any:
    rule = visibility(actor)
    if rule.everything:
        return Service.latest_version_id
    if rule.organisation_id is not None:
        return case((Service.organisation_id == rule.organisation_id, Service.latest_version_id), else_=Service.public_version_id)
    return Service.public_version_id


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
    """A page of the services the actor may see, filtered, with the total count."""
    query = visible_services(actor)
    if organisation:
        query = query.join(Service.organisation).where(Organisation.code == organisation.upper())
    if status:
        query = query.where(Service.status == status)
    if gsbpm:
        codes = select(VersionSubprocess.version_id)
        codes = codes.where(VersionSubprocess.code.like(f"{gsbpm}.%")) if "." not in gsbpm else codes.where(VersionSubprocess.code == gsbpm)
        query = query.where(_shown_version_id(actor).in_(codes))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Service.slug).offset((page - 1) * per_page).limit(per_page)).all()
    return [view_service(s, actor) for s in rows], total


def get_service(session: Session, actor: Actor, slug: str) -> Service:
    """One service the actor may see, or NotFound."""
    service = session.scalar(visible_services(actor).where(Service.slug == slug))
    if service is None:
        raise NotFound(f"no service with id {slug!r}")
    return service


def get_version(session: Session, actor: Actor, slug: str, version: str) -> ServiceVersion:
    """One version of a visible service, or NotFound."""
    service = get_service(session, actor, slug)
    for candidate in service.versions:
        if candidate.version == version:
            return candidate
    raise NotFound(f"service {slug!r} has no version {version!r}")


# --- writing -----------------------------------------------------------------------------------


def check_descriptor(descriptor: Descriptor) -> tuple[validation.Report, compliance.ComplianceReport]:
    """Validate and assess a descriptor without storing anything."""
    report = validation.validate(descriptor)
    return report, compliance.assess(descriptor.content, report)


def submit_version(
    session: Session, actor: Actor, descriptor: Descriptor, fmt: str, status: str = "submitted"
) -> tuple[ServiceVersion, bool]:
    """Store a new immutable version; returns (version, created). Identical resubmission is idempotent."""
    if actor.anonymous:
        raise Unauthenticated("submitting a service needs an API token")
    digest = validation.content_hash(descriptor.content)
    report = validation.validate(descriptor, digest)
    if not report.valid:
        raise ValidationFailed(f"the descriptor has {len(report.errors)} error(s)", report.errors, warnings=report.warnings)
    content = descriptor.content
    impl = content["implementation"]
    owner_code = impl["owner"]
    organisation = session.scalar(select(Organisation).where(Organisation.code == owner_code))
    if not actor.system:
        assert actor.user is not None
        if actor.user.role != "admin" and (organisation is None or actor.user.organisation_id != organisation.id):
            raise PermissionDenied(f"you may only submit services owned by your own organisation, not {owner_code}")
    service = session.scalar(select(Service).where(Service.slug == content["id"]))
    if service is not None:
        if organisation is None or service.organisation_id != organisation.id:
            raise Conflict(f"the id {content['id']!r} belongs to another organisation's service")
        for existing in service.versions:
            if existing.version == content["version"]:
                if existing.content_hash == digest:
                    return existing, False
                raise Conflict(
                    f"version {content['version']} of {content['id']!r} is already stored with other content; versions are immutable, so give this one a new version number"
                )
        latest = service.latest_version
        if latest is not None and semver.Version.parse(content["version"]) < semver.Version.parse(latest.version):
            raise Conflict(f"version {content['version']} is lower than the latest version {latest.version}")
    if organisation is None:
        organisation = _create_organisation(session, owner_code, impl.get("owner_name") or owner_code, impl.get("country"))
    if service is None:
        service = Service(slug=content["id"], organisation=organisation, status=status)
        session.add(service)
    assessment = compliance.assess(content, report)
    version = ServiceVersion(
        service=service,
        version=content["version"],
        status=status,
        name=content["definition"]["name"],
        descriptor_text=descriptor.text if descriptor.text is not None else "",
        descriptor_format=fmt,
        descriptor=content,
        content_hash=digest,
        validation=report.to_dict(),
        compliance=assessment.to_dict(),
        compliance_score=assessment.score,
        submitted_by_id=actor.user.id if actor.user else None,
        subprocesses=[VersionSubprocess(code=code) for code in content["definition"]["gsbpm"]],
    )
    session.add(version)
    session.flush()
    service.latest_version = version
    if status == "approved":
        service.public_version = version
    service.status = status
    service.updated_at = utcnow()
    record_event(session, "version.submitted", actor, service=service, version=version,
                 data={"version": version.version, "status": status})
    return version, True


def _create_organisation(session: Session, code: str, name: str, country: str | None = None) -> Organisation:
    """Create an organisation, or take the one another transaction created at the same moment."""
    try:
        with session.begin_nested():
            organisation = Organisation(code=code, name=name, country=country)
            session.add(organisation)
    except IntegrityError:
        found = session.scalar(select(Organisation).where(Organisation.code == code))
        if found is None:
            raise
        return found
    return organisation


# --- events ------------------------------------------------------------------------------------

EVENTS_WRITTEN = "catalogue.events_written"
"""Key in Session.info set when a transaction records an Event (the search index syncs after commit)."""

_EVENT_LOCK = 0x43535041  # "CSPA": one PostgreSQL advisory lock serialises event writers


def record_event(
    session: Session, kind: str, actor: Actor, *, service: Service | None = None,
    version: ServiceVersion | None = None, data: dict[str, Any] | None = None,
) -> Event:
    """Add an Event to the audit trail and flush it.

    Followers (the search index) remember the last event id they applied. On PostgreSQL two
    transactions could otherwise commit their events out of id order, and a follower that saw the
    later one first would skip the earlier one for ever; a transaction-scoped advisory lock taken
    just before the insert makes commit order equal id order. SQLite has one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})
    event = Event(kind=kind, service_id=service.id if service else None, version_id=version.id if version else None,
                  actor_id=actor.user.id if actor.user else None, data=data or {})
    session.add(event)
    session.flush()
    session.info[EVENTS_WRITTEN] = True
    return event


# --- accounts ----------------------------------------------------------------------------------

TOKEN_PREFIX = "cspa_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(
    session: Session, email: str, org_code: str, role: str, display_name: str | None = None,
    token_days: int = 365,
) -> tuple[User, str]:
    """Create a user of an organisation (created if new) and an API token, returned once in clear."""
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists already")
    organisation = session.scalar(select(Organisation).where(Organisation.code == org_code))
    if organisation is None:
        organisation = _create_organisation(session, org_code, org_code)
    user = User(email=email, display_name=display_name or email.split("@")[0], organisation=organisation, role=role)
    session.add(user)
    session.flush()
    token = create_token(session, user, token_days)
    return user, token


def create_token(session: Session, user: User, days: int = 365) -> str:
    """A new API token for user; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_token_hash(token), prefix=token[:12],
                         expires_at=utcnow() + timedelta(days=days)))
    record_event(session, "token.created", Actor(user=user), data={"prefix": token[:12]})
    return token


def authenticate_token(session: Session, token: str) -> Actor:
    """The actor owning a valid, unexpired, unrevoked token, or Unauthenticated."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at < now):
        raise Unauthenticated("the API token is unknown, expired or revoked")
    return Actor(user=row.user)

