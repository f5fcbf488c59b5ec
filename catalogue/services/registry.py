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
from werkzeug.security import check_password_hash, generate_password_hash

from catalogue.auth.models import ROLES, ApiToken, User
from catalogue.db import utcnow
from catalogue.services import compliance, validation
from catalogue.services.descriptors import Descriptor
from catalogue.services.models import (
    Event,
    Organisation,
    Review,
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
    """The actor may not do this; the refusal itself is recorded as an Event (see record_refusal)."""

    status = 403
    title = "Permission denied"

    def __init__(self, detail: str, *, actor: Actor | None = None, action: str = "",
                 service: Service | None = None, version: ServiceVersion | None = None) -> None:
        super().__init__(detail)
        self.actor = actor
        self.action = action
        self.service_id = service.id if service is not None else None
        self.version_id = version.id if version is not None else None
        self.recorded = False  # set once the refusal is on the audit trail


class InvalidRequest(RegistryError):
    """The request is well-formed but incomplete or contradictory (a refusal without a comment, say)."""

    status = 422
    title = "The request is not valid"


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


# --- the status model --------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted",),
    "submitted": ("in_review",),
    "in_review": ("approved", "changes_requested", "rejected"),
    # The answer to a request for changes, or to a rejection, is a new version (submit_version).
    "changes_requested": (),
    "rejected": (),
    "approved": ("deprecated",),
    "deprecated": ("retired",),
    "retired": (),
}
"""The one state machine of a version: status → the statuses it may move to."""

DECISIONS = ("approved", "changes_requested", "rejected")
"""The outcomes of a review; every other move is a plain transition."""

PUBLIC_STATUSES = ("approved", "deprecated")
"""A version in one of these may be a service's public version."""

# After the latest version reached one of these, a new version may follow; while it is a draft it is
# edited in place, and while it awaits review nothing new may be stacked on it.
_NEW_VERSION_AFTER = ("approved", "changes_requested", "rejected", "deprecated")

# Who may move a version into each status: the owning organisation's submitters, or its reviewers.
_OWNER_MOVES = ("submitted", "deprecated", "retired")
_REVIEWER_MOVES = ("in_review", *DECISIONS)


def allowed_transitions(version: ServiceVersion) -> tuple[str, ...]:
    """The statuses version may move to next."""
    return TRANSITIONS[version.status]


def _refuse(actor: Actor, action: str, detail: str, service: Service | None = None,
            version: ServiceVersion | None = None) -> PermissionDenied:
    return PermissionDenied(detail, actor=actor, action=action, service=service, version=version)


def check_may_edit(actor: Actor, organisation_id: int | None, action: str, service: Service | None = None) -> None:
    """Refuse unless actor may create or change services of organisation_id (its submitters, admins)."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in or send an API token to change services")
    user = actor.user
    if user.role == "admin":
        return
    if user.role != "submitter":
        raise _refuse(actor, action, f"a {user.role} may not {action.replace('_', ' ')}; submitters of the owning organisation may", service)
    if organisation_id is None or user.organisation_id != organisation_id:
        raise _refuse(actor, action, "you may only change services of your own organisation", service)


def check_may_review(actor: Actor, version: ServiceVersion, action: str = "review") -> None:
    """Refuse unless actor may review version: a reviewer of another organisation, or an admin,
    and never the person who submitted it."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in or send an API token to review services")
    user = actor.user
    service = version.service
    if user.role not in ("reviewer", "admin"):
        raise _refuse(actor, action, "only reviewers and admins review services", service, version)
    if version.submitted_by_id == user.id:
        raise _refuse(actor, action, "nobody may review a version they submitted", service, version)
    if user.role == "reviewer" and user.organisation_id == service.organisation_id:
        raise _refuse(actor, action, "reviewers may not review their own organisation's services", service, version)


def may_review(actor: Actor, version: ServiceVersion) -> bool:
    """Whether actor may review version (for showing or hiding controls; the check itself stays above)."""
    try:
        check_may_review(actor, version)
    except RegistryError:
        return False
    return True


def may_edit(actor: Actor, service: Service) -> bool:
    """Whether actor may change service (for showing or hiding controls)."""
    try:
        check_may_edit(actor, service.organisation_id, "edit")
    except RegistryError:
        return False
    return True


# --- writing -----------------------------------------------------------------------------------


def check_descriptor(descriptor: Descriptor) -> tuple[validation.Report, compliance.ComplianceReport]:
    """Validate and assess a descriptor without storing anything."""
    report = validation.validate(descriptor)
    return report, compliance.assess(descriptor.content, report)


def submit_version(
    session: Session, actor: Actor, descriptor: Descriptor, fmt: str, status: str = "submitted"
) -> tuple[ServiceVersion, bool]:
    """Store a version as a draft or submitted for review; returns (version, created).

    An identical resubmission is idempotent. A draft is edited in place by saving again; once
    submitted a version is immutable, and a new one may follow only after a decision on it. The
    system (seed loader, bulk import) may store a version directly as approved.
    """
    if status not in ("draft", "submitted") and not (actor.system and status == "approved"):
        raise InvalidRequest(f"a new version starts as draft or submitted, not {status}", allowed=["draft", "submitted"])
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
    try:
        check_may_edit(actor, organisation.id if organisation is not None else None, "submit")
    except PermissionDenied as refusal:
        if actor.user is not None and actor.user.role == "submitter":
            refusal.detail = f"you may only submit services owned by your own organisation, not {owner_code}"
        raise
    service = session.scalar(select(Service).where(Service.slug == content["id"]).with_for_update())
    draft: ServiceVersion | None = None
    if service is not None:
        if organisation is None or service.organisation_id != organisation.id:
            raise Conflict(f"the id {content['id']!r} belongs to another organisation's service")
        for existing in service.versions:
            if existing.version == content["version"] and existing.status != "draft":
                if existing.content_hash == digest and existing.status == status:
                    return existing, False
                if existing.content_hash == digest:
                    raise Conflict(f"version {existing.version} is already {existing.status}", allowed=list(allowed_transitions(existing)))
                raise Conflict(
                    f"version {content['version']} of {content['id']!r} is already stored with other content; versions are immutable, so give this one a new version number"
                )
        latest = service.latest_version
        if latest is not None and latest.status == "draft":
            draft = latest
        elif latest is not None and latest.status not in _NEW_VERSION_AFTER:
            raise Conflict(
                f"version {latest.version} is {latest.status.replace('_', ' ')}; a new version may follow once it has been "
                "decided on (approved, changes requested or rejected)",
                allowed=list(allowed_transitions(latest)),
            )
        settled = [v for v in service.versions if v.status != "draft"]
        if settled and semver.Version.parse(content["version"]) <= semver.Version.parse(settled[-1].version):
            raise Conflict(f"version {content['version']} is not higher than the latest version {settled[-1].version}")
    if organisation is None:
        organisation = _create_organisation(session, owner_code, impl.get("owner_name") or owner_code, impl.get("country"))
    if service is None:
        service = Service(slug=content["id"], organisation=organisation, status=status)
        session.add(service)
    if draft is not None and draft.content_hash == digest and status == "draft":
        return draft, False
    assessment = compliance.assess(content, report)
    fields = {
        "version": content["version"],
        "status": status,
        "name": content["definition"]["name"],
        "descriptor_text": descriptor.text if descriptor.text is not None else "",
        "descriptor_format": fmt,
        "descriptor": content,
        "content_hash": digest,
        "validation": report.to_dict(),
        "compliance": assessment.to_dict(),
        "compliance_score": assessment.score,
        "submitted_by_id": actor.user.id if actor.user else None,
    }
    if draft is not None:
        # A draft is the submitter's working copy: saving again replaces it (its history stays in the events).
        previous = draft.status
        for name, value in fields.items():
            setattr(draft, name, value)
        draft.subprocesses = [VersionSubprocess(code=code) for code in content["definition"]["gsbpm"]]
        draft.created_at = utcnow()
        version = draft
        kind = "version.edited" if status == "draft" else "version.submitted"
        data = {"version": version.version, "from": previous, "to": status}
    else:
        version = ServiceVersion(service=service, **fields,
                                 subprocesses=[VersionSubprocess(code=code) for code in content["definition"]["gsbpm"]])
        session.add(version)
        kind = "version.created" if status == "draft" else "version.submitted"
        data = {"version": version.version, "to": status}
    session.flush()
    service.latest_version = version
    if status == "approved":
        service.public_version = version
        data["to"] = "approved"
    service.status = status
    service.updated_at = utcnow()
    record_event(session, kind, actor, service=service, version=version, data={**data, "status": status})
    return version, True


def transition(
    session: Session, actor: Actor, slug: str, version_label: str, to: str, comment: str = "",
    items: list[dict[str, Any]] | None = None,
) -> ServiceVersion:
    """Move one version to status to, if the state machine and actor's role allow it.

    Decisions (approved, changes_requested, rejected) record a Review with the reviewer's comment
    and verdicts per compliance criterion; any decision other than approval needs a comment.
    """
    service = get_service(session, actor, slug)
    session.refresh(service, with_for_update=True)  # one decision at a time per service
    version = next((v for v in visible_versions(service, actor) if v.version == version_label), None)
    if version is None:
        raise NotFound(f"service {slug!r} has no version {version_label!r}")
    if to not in TRANSITIONS:
        raise InvalidRequest(f"{to!r} is not a status", allowed=list(TRANSITIONS))
    if to in _REVIEWER_MOVES:
        check_may_review(actor, version, "review" if to in DECISIONS else "start_review")
    else:
        check_may_edit(actor, service.organisation_id, to if to != "submitted" else "submit", service)
    allowed = allowed_transitions(version)
    if to not in allowed:
        names = ", ".join(allowed) if allowed else "none (a new version is the way forward)"
        raise Conflict(f"version {version.version} is {version.status}; it cannot become {to}. Allowed: {names}",
                       allowed=list(allowed))
    comment = (comment or "").strip()
    if to in DECISIONS and to != "approved" and not comment:
        raise InvalidRequest("say why: a comment is required unless you approve",
                             [Problem(pointer="/comment", line=None, message="a comment is required unless you approve", source="request")])
    previous = version.status
    version.status = to
    if to in DECISIONS:
        assert actor.user is not None or actor.system
        session.add(Review(version=version, reviewer_id=actor.user.id if actor.user else None, decision=to,
                           comment=comment, items=_review_items(version, items or [])))
    if version.id == service.latest_version_id:
        service.status = to
    if to == "approved":
        if service.public_version is None or service.public_version.id < version.id:
            service.public_version = version
    elif to == "retired" and service.public_version_id == version.id:
        service.public_version = next(
            (v for v in reversed(service.versions) if v.status in PUBLIC_STATUSES and v.id != version.id), None)
    service.updated_at = utcnow()
    session.flush()
    record_event(session, f"version.{to}", actor, service=service, version=version,
                 data={"version": version.version, "from": previous, "to": to, "comment": comment})
    return version


_VERDICTS = ("pass", "fail", "not-applicable")


def _review_items(version: ServiceVersion, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reviewer's verdicts, checked against the version's compliance criteria."""
    criteria = {item["id"] for item in version.compliance.get("items", [])}
    checked, problems = [], []
    for index, item in enumerate(items):
        criterion, verdict = item.get("criterion"), item.get("verdict")
        if criterion not in criteria:
            problems.append(Problem(pointer=f"/items/{index}/criterion", line=None,
                                    message=f"{criterion!r} is not a compliance criterion of this version", source="request"))
        elif verdict not in _VERDICTS:
            problems.append(Problem(pointer=f"/items/{index}/verdict", line=None,
                                    message=f"the verdict must be one of {', '.join(_VERDICTS)}", source="request"))
        else:
            checked.append({"criterion": criterion, "verdict": verdict, "comment": str(item.get("comment") or "").strip()})
    if problems:
        raise InvalidRequest("some review items are not valid", problems)
    return checked


def review_queue(session: Session, actor: Actor) -> list[ServiceVersion]:
    """Versions awaiting review (submitted or in review), oldest first; only reviewers and admins see it."""
    if actor.user is None or actor.user.role not in ("reviewer", "admin"):
        if actor.anonymous:
            raise Unauthenticated("sign in to see the review queue")
        raise _refuse(actor, "see_review_queue", "only reviewers and admins see the review queue")
    query = (select(ServiceVersion).where(ServiceVersion.status.in_(("submitted", "in_review")))
             .order_by(ServiceVersion.created_at, ServiceVersion.id))
    return list(session.scalars(query))


def reviews_of(session: Session, version: ServiceVersion) -> list[Review]:
    """The decisions taken on version, oldest first."""
    return list(session.scalars(select(Review).where(Review.version_id == version.id).order_by(Review.id)))


def previous_approved(service: Service, version: ServiceVersion) -> ServiceVersion | None:
    """The newest version before version that was approved (or later deprecated): what a review compares against."""
    earlier = [v for v in service.versions if v.id < version.id and v.status in (*PUBLIC_STATUSES, "retired")]
    return earlier[-1] if earlier else None


def service_history(session: Session, actor: Actor, slug: str) -> list[Event]:
    """The events of one visible service, oldest first. Anonymous readers see only public versions' events."""
    service = get_service(session, actor, slug)
    query = select(Event).where(Event.service_id == service.id).order_by(Event.id)
    events = list(session.scalars(query))
    if visibility(actor).sees_latest(service.organisation_id):
        return events
    public_ids = {v.id for v in visible_versions(service, actor)}
    return [e for e in events if e.version_id in public_ids and e.kind != "permission.denied"]


def record_refusal(session: Session, error: PermissionDenied) -> Event:
    """Record a refused action in the audit trail (in a transaction of its own: the refused one was rolled back)."""
    actor = error.actor or ANONYMOUS
    error.recorded = True
    return _insert_event(session, "permission.denied", actor.user.id if actor.user else None,
                         error.service_id, error.version_id, {"action": error.action, "detail": error.detail})


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
    return _insert_event(session, kind, actor.user.id if actor.user else None,
                         service.id if service else None, version.id if version else None, data or {})


def _insert_event(session: Session, kind: str, actor_id: int | None, service_id: int | None,
                  version_id: int | None, data: dict[str, Any]) -> Event:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})
    event = Event(kind=kind, service_id=service_id, version_id=version_id, actor_id=actor_id, data=data)
    session.add(event)
    session.flush()
    session.info[EVENTS_WRITTEN] = True
    return event


# --- accounts ----------------------------------------------------------------------------------

TOKEN_PREFIX = "cspa_"  # the public mark of our tokens, not a secret  # nosec B105
MIN_PASSWORD_LENGTH = 12


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_admin(actor: Actor, action: str) -> None:
    """Refuse unless actor is an admin (or the system: commands run by the operator)."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in as an admin")
    if actor.user.role != "admin":
        raise _refuse(actor, action, "only admins manage organisations and users")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            [Problem(pointer="/password", line=None, message=f"use at least {MIN_PASSWORD_LENGTH} characters", source="request")],
        )


def create_user(
    session: Session, email: str, org_code: str, role: str, display_name: str | None = None,
    password: str | None = None, token_days: int | None = 365, actor: Actor = SYSTEM,
) -> tuple[User, str | None]:
    """Create a user of an organisation (created if new); returns the user and, if token_days, an API
    token shown once in clear."""
    check_admin(actor, "create_user")
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidRequest(f"{email!r} is not an e-mail address",
                             [Problem(pointer="/email", line=None, message="an e-mail address is needed", source="request")])
    if role not in ROLES:
        raise InvalidRequest(f"the role must be one of {', '.join(ROLES)}", allowed=list(ROLES))
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists already")
    organisation = session.scalar(select(Organisation).where(Organisation.code == org_code))
    if organisation is None:
        organisation = _create_organisation(session, org_code, org_code)
    user = User(email=email, display_name=display_name or email.split("@")[0], organisation=organisation, role=role)
    if password is not None:
        _check_password(password)
        user.password_hash = generate_password_hash(password)
    session.add(user)
    session.flush()
    record_event(session, "user.created", actor, data={"user": user.id, "email": email, "role": role,
                                                      "organisation": organisation.code})
    token = create_token(session, Actor(user=user), token_days) if token_days else None
    return user, token


def update_user(session: Session, actor: Actor, user_id: int, *, role: str | None = None,
                active: bool | None = None, organisation_code: str | None = None) -> User:
    """Change a user's role, organisation or active flag (admins); a change ends the user's sessions."""
    check_admin(actor, "update_user")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        if role not in ROLES:
            raise InvalidRequest(f"the role must be one of {', '.join(ROLES)}", allowed=list(ROLES))
        changes["role"] = [user.role, role]
        user.role = role
    if organisation_code is not None:
        organisation = session.scalar(select(Organisation).where(Organisation.code == organisation_code))
        if organisation is None:
            raise NotFound(f"no organisation {organisation_code!r}")
        if organisation.id != user.organisation_id:
            changes["organisation"] = organisation.code
            user.organisation = organisation
    if active is not None and active != user.active:
        changes["active"] = active
        user.active = active
    if changes:
        user.session_version += 1
        record_event(session, "user.updated", actor, data={"user": user.id, **changes})
    return user


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """Set user's password (the user themselves or an admin); every other session of theirs ends."""
    if actor.user is None or (actor.user.id != user.id and actor.user.role != "admin"):
        check_admin(actor, "set_password")
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    record_event(session, "user.password_changed", actor, data={"user": user.id})


def user_by_email(session: Session, email: str) -> User:
    """The user with this e-mail address, or NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {email}")
    return user


def authenticate_password(session: Session, email: str, password: str) -> User:
    """The active user with this e-mail and password, or Unauthenticated (the same message either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    # Hash even for an unknown user, so the answer takes as long and says nothing about who exists.
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    if user is None or not user.password_hash or not ok or not user.active:
        raise Unauthenticated("the e-mail address or password is wrong")
    return user


_DUMMY_HASH = generate_password_hash("not a password of anyone")


def create_organisation(session: Session, actor: Actor, code: str, name: str, country: str | None = None) -> Organisation:
    """Create an organisation (admins)."""
    check_admin(actor, "create_organisation")
    code = code.strip().upper()
    if not code or len(code) > 32:
        raise InvalidRequest("an organisation code has 1 to 32 characters",
                             [Problem(pointer="/code", line=None, message="1 to 32 characters", source="request")])
    if session.scalar(select(Organisation).where(Organisation.code == code)) is not None:
        raise Conflict(f"organisation {code} exists already")
    organisation = Organisation(code=code, name=name.strip() or code, country=(country or None))
    session.add(organisation)
    session.flush()
    record_event(session, "organisation.created", actor, data={"organisation": code})
    return organisation


def list_users(session: Session, actor: Actor) -> list[User]:
    """Every user, by e-mail (admins)."""
    check_admin(actor, "list_users")
    return list(session.scalars(select(User).order_by(User.email)))


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, by code."""
    return list(session.scalars(select(Organisation).order_by(Organisation.code)))


def create_token(session: Session, actor: Actor, days: int | None = 365, name: str = "") -> str:
    """A new API token for the acting user, expiring after days; only its hash is stored, the token is returned once."""
    if actor.user is None:
        raise Unauthenticated("sign in to create an API token")
    if days is None or not 1 <= days <= 730:
        raise InvalidRequest("a token lives 1 to 730 days",
                             [Problem(pointer="/days", line=None, message="1 to 730 days", source="request")])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=actor.user, name=name.strip()[:100], token_hash=_token_hash(token), prefix=token[:12],
                   expires_at=utcnow() + timedelta(days=days))
    session.add(row)
    session.flush()
    record_event(session, "token.created", actor, data={"token": row.id, "prefix": row.prefix, "days": days})
    return token


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    """The acting user's tokens, newest first (never the tokens themselves)."""
    if actor.user is None:
        raise Unauthenticated("sign in to see your API tokens")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the acting user's tokens (admins may revoke anyone's)."""
    if actor.user is None:
        raise Unauthenticated("sign in to revoke an API token")
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user.id and actor.user.role != "admin"):
        raise NotFound(f"you have no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(session, "token.revoked", actor, data={"token": row.id, "prefix": row.prefix})
    return row


def authenticate_token(session: Session, token: str) -> Actor:
    """The actor owning a valid, unexpired, unrevoked token of an active user, or Unauthenticated."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    now = utcnow()
    if (row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at < now)
            or not row.user.active):
        raise Unauthenticated("the API token is unknown, expired or revoked")
    return Actor(user=row.user)
