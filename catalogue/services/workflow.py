"""The submission and review workflow: the status model of a version, submitting and moving versions.

Each use-case checks permission, validates, changes the models, records an Event and flushes; none
commits: the request or command that calls it commits once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import semver
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue import reference
from catalogue.auth.accounts import ensure_organisation
from catalogue.auth.actors import Actor
from catalogue.auth.models import Organisation
from catalogue.db import utcnow
from catalogue.events import record_event, serialise_writers
from catalogue.exceptions import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Problem,
    Unauthenticated,
    ValidationFailed,
)
from catalogue.services import compliance, diff, layers, linking, validation
from catalogue.services.descriptors import Descriptor
from catalogue.services.models import (
    PUBLIC_STATUSES,
    Review,
    Service,
    ServiceVersion,
    VersionComment,
    VersionSubprocess,
)
from catalogue.services.permissions import check_may_comment, check_may_edit, check_may_review
from catalogue.services.reads import get_service, services_of_id, visible_versions
from catalogue.timing import timed
from catalogue.wording import plural

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

# After the latest version reached one of these, a new version may follow; while it is a draft it is
# edited in place, and while it awaits review nothing new may be stacked on it.
_NEW_VERSION_AFTER = ("approved", "changes_requested", "rejected", "deprecated")

# Who may move a version into each status: the owning organisation's submitters, or its reviewers.
_OWNER_MOVES = ("submitted", "deprecated", "retired")
_REVIEWER_MOVES = ("in_review", *DECISIONS)

_VERDICTS = ("pass", "fail", "not-applicable")


def allowed_transitions(version: ServiceVersion) -> tuple[str, ...]:
    """The statuses version may move to next."""
    return TRANSITIONS[version.status]


# --- submitting --------------------------------------------------------------------------------


def check_descriptor(descriptor: Descriptor) -> tuple[validation.Report, compliance.ComplianceReport]:
    """Validate and assess a descriptor without storing anything (and without the database: each reference
    to a layer is reported as a warning, checked only when the descriptor is submitted)."""
    report = validation.validate(descriptor)
    report.warnings.extend(reference_warnings(descriptor))
    return report, compliance.assess(layers.bundle(descriptor.content), report)


def reference_warnings(descriptor: Descriptor) -> list[Problem]:
    """One warning per reference to a layer: only the registry, on submission, can check it."""
    return [
        Problem(
            ref.pointer,
            f"refers to {ref}; the registry checks it when you submit",
            "layers",
            descriptor.line_for(ref.pointer),
        )
        for ref in layers.references(descriptor.content)
    ]


@dataclass(frozen=True)
class _Submission:
    """One descriptor on its way in: its content, hash, validation report and requested status."""

    descriptor: Descriptor
    fmt: str
    status: str
    digest: str
    report: validation.Report

    @property
    def content(self) -> dict[str, Any]:
        return self.descriptor.content


def submit_version(
    session: Session,
    actor: Actor,
    descriptor: Descriptor,
    fmt: str,
    status: str = "submitted",
    breaking_without_major: str = "error",
) -> tuple[ServiceVersion, bool]:
    """Store a version as a draft or submitted for review; returns (version, created).

    An identical resubmission is idempotent. A draft is edited in place by saving again; once
    submitted a version is immutable, and a new one may follow only after a decision on it. The
    system (seed loader, bulk import) may store a version directly as approved.

    breaking_without_major ("error" or "warning", the catalogue's setting) is what the report says of a
    version whose interface breaks callers of the last approved version without raising its major version.
    """
    _check_may_submit(actor, status)
    submission = _validated(descriptor, fmt, status)
    owner_code = submission.content["implementation"]["owner"]
    organisation = _owner_checked(session, actor, owner_code)
    submission = _with_semver_finding(session, organisation, submission, breaking_without_major)
    # An unfinished draft links no layer: its layers are resolved and stored once it is valid.
    plan = (
        linking.plan(session, actor, descriptor, organisation)
        if submission.report.valid
        else linking.Plan(layers.bundle(submission.content))
    )
    _check_id_free(session, organisation, submission.content["id"])
    service = _own_service(session, organisation, submission.content["id"])
    draft = None
    if service is not None:
        resubmitted = _identical_resubmission(service, organisation, submission)
        if resubmitted is not None:
            return resubmitted, False
        draft = _draft_to_replace(service)
        _check_version_number(service, submission.content["version"])
    if organisation is None:
        implementation = submission.content["implementation"]
        organisation = ensure_organisation(
            session, owner_code, implementation.get("owner_name") or owner_code, implementation.get("country")
        )
    if service is None:
        service = Service(slug=submission.content["id"], organisation=organisation, status=status)
        session.add(service)
    if status == "approved":
        reserve_id(session, service)
    if draft is not None and draft.content_hash == submission.digest and status == "draft":
        return draft, False
    version, kind, data = _store(session, service, draft, submission, actor, plan.bundle)
    _make_latest(service, version, status, data)
    record_event(
        session, kind, actor.user_id, service_id=service.id, version_id=version.id, data={**data, "status": status}
    )
    linking.apply(session, actor, plan, organisation, version)
    return version, True


def _check_may_submit(actor: Actor, status: str) -> None:
    """A new version starts as a draft or submitted (the system may also store it approved), from someone known."""
    if status not in ("draft", "submitted") and not (actor.system and status == "approved"):
        raise InvalidRequest(
            f"a new version starts as draft or submitted, not {status}", allowed=["draft", "submitted"]
        )
    if actor.anonymous:
        raise Unauthenticated("submitting a service needs an API token")


def _validated(descriptor: Descriptor, fmt: str, status: str) -> _Submission:
    """The submission, or ValidationFailed with every error of the descriptor.

    A draft may be unfinished (its report is stored with it), as long as it says which service and
    version it is and who owns it; only submission needs a valid descriptor."""
    with timed("validate"):
        digest = validation.content_hash(descriptor.content)
        report = validation.validate(descriptor, digest)
    if not report.valid:
        missing = draft_identity_problems(descriptor)
        if status != "draft":
            raise ValidationFailed(
                f"the descriptor has {plural(len(report.errors), 'error')}",
                report.errors,
                warnings=report.warnings,
            )
        if missing:
            raise ValidationFailed(
                "a draft needs at least a valid id, version and owner (implementation.owner) to be saved; "
                f"the descriptor has {plural(len(report.errors), 'error')}",
                [*missing, *report.errors],
                warnings=report.warnings,
            )
    return _Submission(descriptor, fmt, status, digest, report)


def _with_semver_finding(
    session: Session, organisation: Organisation | None, submission: _Submission, severity: str
) -> _Submission:
    """The submission with the semantic-versioning finding in its report, if any (semver_problem); an error
    refuses a submission and leaves a draft unfinished."""
    if organisation is None:
        return submission
    service = session.scalar(
        select(Service).where(Service.slug == submission.content["id"], Service.organisation_id == organisation.id)
    )
    number = str(submission.content.get("version"))
    if service is None or not semver.Version.is_valid(number):
        return submission
    # The basis is the newest approved version below this one: the same number sent again is not a change of
    # version (an identical resubmission is taken as it is, a different one is refused elsewhere).
    earlier = [
        v
        for v in service.versions
        if v.status in (*PUBLIC_STATUSES, "retired")
        and semver.Version.is_valid(v.version)
        and semver.Version.parse(v.version) < semver.Version.parse(number)
    ]
    if not earlier:
        return submission
    problem = semver_problem(max(earlier, key=lambda v: semver.Version.parse(v.version)), submission.descriptor)
    if problem is None:
        return submission
    report = submission.report
    if severity == "warning":
        report.warnings.append(problem)
        return submission
    report.errors.append(problem)
    if submission.status != "draft":
        raise ValidationFailed(
            f"the descriptor has {plural(len(report.errors), 'error')}", report.errors, warnings=report.warnings
        )
    return submission


def semver_problem(basis: ServiceVersion, descriptor: Descriptor) -> Problem | None:
    """What is wrong with descriptor's version number if its interface breaks callers of basis (the last
    approved version) and the number does not say so, naming the changes that break; else None.

    Semantic Versioning 2.0.0 (https://semver.org/#spec-item-8): an incompatible change raises the major
    version. Under 1.0.0 anything may change (https://semver.org/#spec-item-4); the catalogue follows the
    common reading of npm's and Cargo's caret ranges (https://github.com/npm/node-semver#caret-ranges-123-025-004):
    in 0.y.z the first non-zero part is the major one, so a breaking change raises y (or the major version).
    """
    old, new = semver.Version.parse(basis.version), semver.Version.parse(descriptor.content["version"])
    if new.major > old.major or (old.major == 0 and new.minor > old.minor):
        return None
    breaking = diff.diff_versions(basis.descriptor, descriptor.content).interface.breaking_changes()
    if not breaking:
        return None
    wanted = str(old.bump_major()) if old.major > 0 else str(old.bump_minor())
    shown = "; ".join(breaking[:10]) + (f"; and {len(breaking) - 10} more" if len(breaking) > 10 else "")
    return Problem(
        "/version",
        f"version {new} breaks callers of version {old} but does not say so: a breaking change needs version "
        f"{wanted} or higher (semantic versioning). What breaks: {shown}",
        "semver",
        descriptor.line_for("/version"),
    )


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_OWNER = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


def draft_identity_problems(descriptor: Descriptor) -> list[Problem]:
    """What a draft lacks to be stored at all: a valid id, a semantic version and an owner's code."""
    content = descriptor.content if isinstance(descriptor.content, dict) else {}
    implementation = content.get("implementation")
    owner = implementation.get("owner") if isinstance(implementation, dict) else None
    number = content.get("version")
    checks = (
        ("/id", isinstance(content.get("id"), str) and _SLUG.match(content["id"]) is not None, "a valid id"),
        ("/version", isinstance(number, str) and semver.Version.is_valid(number), "a semantic version"),
        ("/implementation/owner", isinstance(owner, str) and _OWNER.match(owner) is not None, "an owner's code"),
    )
    return [
        Problem(pointer, f"a draft needs {what} here", "schema", descriptor.line_for(pointer))
        for pointer, ok, what in checks
        if not ok
    ]


def _owner_checked(session: Session, actor: Actor, owner_code: str) -> Organisation | None:
    """The owning organisation (None if new), once actor is known to be allowed to submit for it."""
    organisation = session.scalar(select(Organisation).where(Organisation.code == owner_code))
    try:
        check_may_edit(actor, organisation.id if organisation is not None else None, "submit")
    except PermissionDenied as refusal:
        if actor.user is not None and actor.user.role == "submitter" and actor.has_scope("submit"):
            refusal.detail = f"you may only submit services owned by your own organisation, not {owner_code}"
        raise
    return organisation


def _check_id_free(session: Session, organisation: Organisation | None, slug: str) -> None:
    """Refuse an id reserved by another organisation's approved service.

    An id is reserved only by an approved version: another organisation's drafts and versions in review
    of the same id neither block this submission nor change its answer, so they cannot be detected.
    """
    holder = session.scalar(select(Service).where(Service.reserved_slug == slug))
    if holder is not None and (organisation is None or holder.organisation_id != organisation.id):
        raise Conflict(f"the id {slug!r} belongs to another organisation's approved service; choose another id")


def _own_service(session: Session, organisation: Organisation | None, slug: str) -> Service | None:
    """The owning organisation's service of this id, locked for the submission, or None if it has none."""
    if organisation is None:
        return None
    query = select(Service).where(Service.slug == slug, Service.organisation_id == organisation.id)
    return session.scalar(query.with_for_update())


def reserve_id(session: Session, service: Service) -> None:
    """Reserve service's id for it on its first approval, or refuse if another service holds it already."""
    if service.reserved_slug is not None:
        return
    # Two organisations' versions of one id approved at the same moment would both find no holder and the
    # second commit would break the unique constraint (a 500). Approvals record events, so waiting for the
    # event writers' lock first makes the second approval see the first one's reservation and answer 409.
    serialise_writers(session)
    holder = session.scalar(select(Service).where(Service.reserved_slug == service.slug, Service.id != service.id))
    if holder is not None:
        raise Conflict(
            f"the id {service.slug!r} was reserved by another organisation's service approved first; "
            "this version cannot be approved: its organisation must submit it under another id"
        )
    service.reserved_slug = service.slug


def _identical_resubmission(
    service: Service, organisation: Organisation | None, submission: _Submission
) -> ServiceVersion | None:
    """The stored version this submission repeats exactly (nothing to do), or None if it is new.

    Refuses a version number already stored with other content.
    """
    content = submission.content
    for existing in service.versions:
        if existing.version != content["version"] or existing.status == "draft":
            continue
        if existing.content_hash == submission.digest and _already_reached(existing, submission.status):
            return existing
        if existing.content_hash == submission.digest:
            raise Conflict(
                f"version {existing.version} is already {existing.status}", allowed=list(allowed_transitions(existing))
            )
        raise Conflict(
            f"version {content['version']} of {content['id']!r} is already stored with other content; versions are immutable, so give this one a new version number"
        )
    return None


# The statuses a stored version may have when an identical submission asking for a status is already
# satisfied: a version submitted, in review or decided on has been submitted, whatever came after.
_REACHED = {
    "draft": ("submitted", "in_review", "approved", "changes_requested", "rejected", "deprecated", "retired"),
    "submitted": ("submitted", "in_review", "approved", "changes_requested", "rejected", "deprecated", "retired"),
    "approved": ("approved", "deprecated", "retired"),
}


def _already_reached(existing: ServiceVersion, requested: str) -> bool:
    """Whether existing (same version, same content) already is where the submission asks it to be, so that
    sending it again changes nothing: the README's idempotence, also after approval."""
    return existing.status in _REACHED.get(requested, (requested,))


def _draft_to_replace(service: Service) -> ServiceVersion | None:
    """The draft a new submission replaces, if the latest version is one; refuses while one awaits review."""
    latest = service.latest_version
    if latest is not None and latest.status == "draft":
        return latest
    if latest is not None and latest.status not in _NEW_VERSION_AFTER:
        raise Conflict(
            f"version {latest.version} is {latest.status.replace('_', ' ')}; a new version may follow once it has been "
            "decided on (approved, changes requested or rejected)",
            allowed=list(allowed_transitions(latest)),
        )
    return None


def _check_version_number(service: Service, number: str) -> None:
    """Refuse a version number not higher than the latest settled (not draft) version's."""
    settled = [v for v in service.versions if v.status != "draft"]
    if settled and semver.Version.parse(number) <= semver.Version.parse(settled[-1].version):
        raise Conflict(f"version {number} is not higher than the latest version {settled[-1].version}")


def _store(
    session: Session,
    service: Service,
    draft: ServiceVersion | None,
    submission: _Submission,
    actor: Actor,
    bundle: dict[str, Any],
) -> tuple[ServiceVersion, str, dict[str, Any]]:
    """Write the version (replacing draft, if given); returns it with the kind and data of its event.

    Compliance assesses the bundle: a layer referred to counts as if it were written here."""
    content, status = submission.content, submission.status
    assessment = compliance.assess(bundle, submission.report)
    fields = {
        "version": content["version"],
        "status": status,
        "name": (layers.display_name(bundle) or content["id"])[:200],
        "descriptor_text": submission.descriptor.text if submission.descriptor.text is not None else "",
        "descriptor_format": submission.fmt,
        "descriptor": content,
        "bundle": bundle,
        "content_hash": submission.digest,
        "validation": submission.report.to_dict(),
        "compliance": assessment.to_dict(),
        "compliance_score": assessment.score,
        "submitted_by_id": actor.user_id,
    }
    subprocesses = [VersionSubprocess(code=code) for code in _subprocess_codes(bundle)]
    if draft is not None:
        # A draft is the submitter's working copy: saving again replaces it (its history stays in the events).
        previous = draft.status
        for name, value in fields.items():
            setattr(draft, name, value)
        draft.subprocesses = subprocesses
        draft.created_at = utcnow()
        kind = "version.edited" if status == "draft" else "version.submitted"
        session.flush()
        return draft, kind, {"version": draft.version, "from": previous, "to": status}
    version = ServiceVersion(service=service, **fields, subprocesses=subprocesses)
    session.add(version)
    session.flush()
    return (
        version,
        "version.created" if status == "draft" else "version.submitted",
        {"version": version.version, "to": status},
    )


def _subprocess_codes(bundle: dict[str, Any]) -> list[str]:
    """The GSBPM codes a version serves; an unfinished draft's are kept only where they are real codes."""
    definition = bundle.get("definition")
    codes = definition.get("gsbpm") if isinstance(definition, dict) else None
    known = reference.gsbpm().subprocesses
    return list(dict.fromkeys(c for c in codes if isinstance(c, str) and c in known)) if isinstance(codes, list) else []


def _make_latest(service: Service, version: ServiceVersion, status: str, data: dict[str, Any]) -> None:
    """Make version the service's latest (and its public one, if stored approved)."""
    service.latest_version = version
    if status == "approved":
        service.public_version = version
        data["to"] = "approved"
    service.status = status
    service.updated_at = utcnow()


# --- moving a version --------------------------------------------------------------------------


def transition(
    session: Session,
    actor: Actor,
    slug: str,
    version_label: str,
    to: str,
    comment: str = "",
    items: list[dict[str, Any]] | None = None,
) -> ServiceVersion:
    """Move one version to status to, if the state machine and actor's role allow it.

    Decisions (approved, changes_requested, rejected) record a Review with the reviewer's comment
    and verdicts per compliance criterion; any decision other than approval needs a comment.
    """
    service = _service_to_move(session, actor, slug, version_label, to)
    session.refresh(service, with_for_update=True)  # one decision at a time per service
    version = _version_to_move(service, actor, slug, version_label, to)
    _check_may_move(actor, service, version, to)
    if to == "submitted" and version.validation.get("errors"):
        errors = version.validation["errors"]
        raise ValidationFailed(
            f"this draft has {plural(len(errors), 'error')}; only a valid descriptor may be submitted",
            [
                Problem(e.get("pointer", ""), e.get("message", ""), e.get("source", "schema"), e.get("line"))
                for e in errors
            ],
        )
    comment = _checked_comment(to, comment)
    if to == "approved":
        reserve_id(session, service)
    previous = version.status
    version.status = to
    if to in DECISIONS:
        session.add(
            Review(
                version=version,
                reviewer_id=actor.user_id,
                decision=to,
                comment=comment,
                items=_review_items(version, items or []),
            )
        )
    _follow_on_service(service, version, to)
    session.flush()
    record_event(
        session,
        f"version.{to}",
        actor.user_id,
        service_id=service.id,
        version_id=version.id,
        data={"version": version.version, "from": previous, "to": to, "comment": comment},
    )
    return version


def _service_to_move(session: Session, actor: Actor, slug: str, version_label: str, to: str) -> Service:
    """The service of that id whose version version_label may move to to; else the one actor is shown.

    Until an id is reserved, two organisations may each have a version of that number: a reviewer
    moves the one that can make this move (a draft of one cannot be put in review).
    """
    services = services_of_id(session, actor, slug)
    for service in services:
        for version in visible_versions(service, actor):
            if version.version == version_label and to in TRANSITIONS.get(version.status, ()):
                return service
    return get_service(session, actor, slug)


def _version_to_move(service: Service, actor: Actor, slug: str, version_label: str, to: str) -> ServiceVersion:
    """The version actor names, if actor may read it and to is a status."""
    version = next((v for v in visible_versions(service, actor) if v.version == version_label), None)
    if version is None:
        raise NotFound(f"service {slug!r} has no version {version_label!r}")
    if to not in TRANSITIONS:
        raise InvalidRequest(f"{to!r} is not a status", allowed=list(TRANSITIONS))
    return version


def _check_may_move(actor: Actor, service: Service, version: ServiceVersion, to: str) -> None:
    """Refuse unless actor's role allows the move (reviewers decide, owners submit and retire) and the
    state machine allows it from the version's status."""
    if to in _REVIEWER_MOVES:
        check_may_review(actor, version, "review" if to in DECISIONS else "start_review")
    else:
        check_may_edit(actor, service.organisation_id, to if to != "submitted" else "submit", service)
    allowed = allowed_transitions(version)
    if to not in allowed:
        names = ", ".join(allowed) if allowed else "none (a new version is the way forward)"
        raise Conflict(
            f"version {version.version} is {version.status}; it cannot become {to}. Allowed: {names}",
            allowed=list(allowed),
        )


def _checked_comment(to: str, comment: str) -> str:
    """The comment, trimmed; refused when empty on a decision other than approval."""
    comment = (comment or "").strip()
    if to in DECISIONS and to != "approved" and not comment:
        raise InvalidRequest(
            "say why: a comment is required unless you approve",
            [
                Problem(
                    pointer="/comment", line=None, message="a comment is required unless you approve", source="request"
                )
            ],
        )
    return comment


def _follow_on_service(service: Service, version: ServiceVersion, to: str) -> None:
    """Carry the move over to the service: its status follows its latest version, and its public version
    is the newest approved one (a retired public version hands over to the one approved before)."""
    if version.id == service.latest_version_id:
        service.status = to
    if to == "approved":
        if service.public_version is None or service.public_version.id < version.id:
            service.public_version = version
    elif to == "retired" and service.public_version_id == version.id:
        service.public_version = next(
            (v for v in reversed(service.versions) if v.status in PUBLIC_STATUSES and v.id != version.id), None
        )
    service.updated_at = utcnow()


def _review_items(version: ServiceVersion, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reviewer's verdicts, checked against the version's compliance criteria."""
    criteria = {item["id"] for item in version.compliance.get("items", [])}
    checked, problems = [], []
    for index, item in enumerate(items):
        criterion, verdict = item.get("criterion"), item.get("verdict")
        if criterion not in criteria:
            problems.append(
                Problem(
                    pointer=f"/items/{index}/criterion",
                    line=None,
                    message=f"{criterion!r} is not a compliance criterion of this version",
                    source="request",
                )
            )
        elif verdict not in _VERDICTS:
            problems.append(
                Problem(
                    pointer=f"/items/{index}/verdict",
                    line=None,
                    message=f"the verdict must be one of {', '.join(_VERDICTS)}",
                    source="request",
                )
            )
        else:
            checked.append(
                {"criterion": criterion, "verdict": verdict, "comment": str(item.get("comment") or "").strip()}
            )
    if problems:
        raise InvalidRequest("some review items are not valid", problems)
    return checked


# --- the conversation of a version -----------------------------------------------------------

MAX_COMMENT_LENGTH = 10_000


def comment_on_version(session: Session, actor: Actor, slug: str, version_label: str, body: str) -> VersionComment:
    """Add a message to a version's conversation (a submitter's reply, a reviewer's remark); a draft has none."""
    version = next(
        (v for v in visible_versions(get_service(session, actor, slug), actor) if v.version == version_label), None
    )
    if version is None:
        raise NotFound(f"service {slug!r} has no version {version_label!r}")
    check_may_comment(actor, version)
    body = (body or "").strip()
    problem = None
    if not body:
        problem = "write a message"
    elif len(body) > MAX_COMMENT_LENGTH:
        problem = f"a message has at most {MAX_COMMENT_LENGTH} characters, this one {len(body)}"
    elif version.status == "draft":
        problem = "a draft has no conversation yet: submit it first"
    if problem is not None:
        raise InvalidRequest(problem, [Problem(pointer="/body", line=None, message=problem, source="request")])
    comment = VersionComment(version=version, author_id=actor.user_id, body=body)
    session.add(comment)
    session.flush()
    record_event(
        session,
        "version.commented",
        actor.user_id,
        service_id=version.service_id,
        version_id=version.id,
        data={"version": version.version, "comment": body},
    )
    return comment
