"""Who may see, edit and review services: the visibility rule as data, and the checks that refuse.

Who acts (Actor) and the admin rule are in catalogue/auth/actors.py; this module adds the rules that
need services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, exists, or_, select

from catalogue.auth.actors import Actor, check_scope, refuse
from catalogue.exceptions import RegistryError, Unauthenticated
from catalogue.services.models import PUBLIC_STATUSES, LayerVersion, Service, ServiceVersion


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
    """What actor may see (a token without the scope 'read' sees what anonymous readers see)."""
    if not actor.has_scope("read"):
        return Visibility()
    if actor.system or (actor.user is not None and actor.user.role in ("reviewer", "admin")):
        return Visibility(everything=True)
    if actor.user is not None:
        return Visibility(organisation_id=actor.user.organisation_id)
    return Visibility()


def visible_services(actor: Actor) -> Select[Service]:
    """The services actor may see (see Visibility)."""
    rule = visibility(actor)
    query = select(Service)
    if rule.everything:
        return query
    if rule.organisation_id is not None:
        return query.where(Service.public_version_id.is_not(None) | (Service.organisation_id == rule.organisation_id))
    return query.where(Service.public_version_id.is_not(None))


def public_layer() -> Any:
    """The SQL condition that a layer version is public: an approved or deprecated version implements it."""
    return exists().where(
        ServiceVersion.status.in_(PUBLIC_STATUSES),
        or_(
            ServiceVersion.definition_version_id == LayerVersion.id,
            ServiceVersion.specification_version_id == LayerVersion.id,
        ),
    )


def visible_layers(actor: Actor) -> Select[LayerVersion]:
    """The layer versions actor may see and refer to: the public ones and, for its members, their own
    organisation's (the Visibility of services, applied to the layers they implement)."""
    rule = visibility(actor)
    query = select(LayerVersion)
    if rule.everything:
        return query
    if rule.organisation_id is not None:
        return query.where(public_layer() | (LayerVersion.organisation_id == rule.organisation_id))
    return query.where(public_layer())


def may_read_version(actor: Actor, version: ServiceVersion) -> bool:
    """Whether actor may read version (the rule of reads.visible_versions, for one version)."""
    return version.status in PUBLIC_STATUSES or visibility(actor).sees_latest(version.service.organisation_id)


def shown_version_id(actor: Actor) -> Any:
    """The SQL expression of the id of the version actor is shown of each service (see Visibility)."""
    rule = visibility(actor)
    if rule.everything:
        return Service.latest_version_id
    if rule.organisation_id is not None:
        return case(
            (Service.organisation_id == rule.organisation_id, Service.latest_version_id),
            else_=Service.public_version_id,
        )
    return Service.public_version_id


def shown_version(service: Service, actor: Actor) -> ServiceVersion | None:
    """The version of service that actor is shown."""
    return service.latest_version if visibility(actor).sees_latest(service.organisation_id) else service.public_version


def check_may_edit(actor: Actor, organisation_id: int | None, action: str, service: Service | None = None) -> None:
    """Refuse unless actor may create or change services of organisation_id (its submitters, admins)."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in or send an API token to change services")
    check_scope(actor, "submit", action)
    user = actor.user
    if user.role == "admin":
        return
    service_id = service.id if service is not None else None
    if user.role != "submitter":
        raise refuse(
            actor,
            action,
            f"a {user.role} may not {action.replace('_', ' ')}; submitters of the owning organisation may",
            service_id,
        )
    if organisation_id is None or user.organisation_id != organisation_id:
        raise refuse(actor, action, "you may only change services of your own organisation", service_id)


def check_may_review(actor: Actor, version: ServiceVersion, action: str = "review") -> None:
    """Refuse unless actor may review version: a reviewer of another organisation, or an admin,
    and never the person who submitted it."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in or send an API token to review services")
    check_scope(actor, "review", action)
    user = actor.user
    service = version.service
    if user.role not in ("reviewer", "admin"):
        raise refuse(actor, action, "only reviewers and admins review services", service.id, version.id)
    if version.submitted_by_id == user.id:
        raise refuse(actor, action, "nobody may review a version they submitted", service.id, version.id)
    if user.role == "reviewer" and user.organisation_id == service.organisation_id:
        raise refuse(
            actor, action, "reviewers may not review their own organisation's services", service.id, version.id
        )


def check_may_see_review_queue(actor: Actor) -> None:
    """Refuse unless actor is a reviewer or an admin."""
    if actor.user is None or actor.user.role not in ("reviewer", "admin"):
        if actor.anonymous:
            raise Unauthenticated("sign in to see the review queue")
        raise refuse(actor, "see_review_queue", "only reviewers and admins see the review queue")
    check_scope(actor, "review", "see_review_queue")


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


def may_comment(actor: Actor, version: ServiceVersion) -> bool:
    """Whether actor may write in version's conversation: the owning organisation's submitters (their
    replies), the reviewers who may review it, and admins."""
    return may_edit(actor, version.service) or may_review(actor, version)


def check_may_comment(actor: Actor, version: ServiceVersion) -> None:
    """Refuse unless actor may write in version's conversation (may_comment)."""
    if actor.anonymous:
        raise Unauthenticated("sign in to reply to a review")
    if actor.user is not None and not (actor.has_scope("submit") or actor.has_scope("review")):
        # A submitter replies with the submit scope, a reviewer remarks with the review scope.
        check_scope(actor, "submit" if actor.user.role == "submitter" else "review", "comment")
    if not may_comment(actor, version):
        raise refuse(
            actor,
            "comment",
            "only the owning organisation's submitters and the reviewers who may review it write in a version's "
            "conversation",
            version.service_id,
            version.id,
        )
