"""Marshmallow shapes of the REST API's requests and responses."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from catalogue.auth.models import SCOPES
from catalogue.services.models import STATUSES


class ListArgs(Schema):
    """Filters and paging of GET /services."""

    gsbpm = fields.String(
        metadata={"description": "GSBPM phase (5) or sub-process (5.4)"}, validate=validate.Regexp(r"^[1-8](\.[1-9])?$")
    )
    organisation = fields.String(metadata={"description": "Owner organisation code, e.g. ISTAT"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProblemItem(Schema):
    """One problem in a descriptor."""

    pointer = fields.String()
    line = fields.Integer(allow_none=True)
    message = fields.String()
    source = fields.String()


class ValidationReportSchema(Schema):
    """Result of POST /validate."""

    valid = fields.Boolean()
    errors = fields.List(fields.Nested(ProblemItem))
    warnings = fields.List(fields.Nested(ProblemItem))
    compliance = fields.Dict()


class VersionSummary(Schema):
    """A version in a list."""

    version = fields.String()
    status = fields.String()
    name = fields.String()
    compliance_score = fields.Integer()
    content_hash = fields.String()
    created_at = fields.DateTime()


class VersionDetail(VersionSummary):
    """One version with its descriptor and reports."""

    service = fields.Function(lambda v: v.service.slug)
    descriptor = fields.Dict()
    descriptor_format = fields.String()
    validation = fields.Dict()
    compliance = fields.Dict()


class ServiceSchema(Schema):
    """A service in the catalogue, at the version its reader is shown (see permissions.Visibility)."""

    id = fields.Function(lambda v: v.service.slug)
    name = fields.Function(lambda v: v.version.name if v.version else None)
    organisation = fields.Function(lambda v: v.service.organisation.code)
    status = fields.Function(lambda v: v.version.status if v.version else v.service.status)
    version = fields.Function(lambda v: v.version.version if v.version else None)
    latest_version = fields.Function(lambda v: v.service.latest_version.version if v.service.latest_version else None)
    compliance_score = fields.Function(lambda v: v.version.compliance_score if v.version else None)
    gsbpm = fields.Function(lambda v: v.version.descriptor["definition"]["gsbpm"] if v.version else [])
    purpose = fields.Function(lambda v: v.version.descriptor["definition"]["purpose"] if v.version else None)
    updated_at = fields.Function(lambda v: v.service.updated_at.isoformat())


class ServicePage(Schema):
    """A page of services."""

    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(ServiceSchema))


def page_of(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    """The body of a paged answer."""
    return {"items": items, "total": total, "page": page, "per_page": per_page}


class TransitionArgs(Schema):
    """POST .../transitions: move a version to another status."""

    to = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "The status to move to (see the state machine in the README)"},
    )
    comment = fields.String(load_default="", validate=validate.Length(max=20_000))


class ReviewItemArgs(Schema):
    """A reviewer's verdict on one compliance criterion."""

    criterion = fields.String(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(("pass", "fail", "not-applicable")))
    comment = fields.String(load_default="", validate=validate.Length(max=5_000))


class ReviewArgs(Schema):
    """POST .../reviews: a decision on a version in review."""

    decision = fields.String(required=True, validate=validate.OneOf(("approved", "changes_requested", "rejected")))
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=20_000),
        metadata={"description": "Required unless the decision is approved"},
    )
    items = fields.List(fields.Nested(ReviewItemArgs), load_default=list)


class ReviewSchema(Schema):
    """A decision taken on a version."""

    decision = fields.String()
    comment = fields.String()
    items = fields.List(fields.Dict())
    reviewer = fields.Function(lambda r: r.reviewer_id)
    created_at = fields.DateTime()


class QueueItem(Schema):
    """A version awaiting review."""

    service = fields.Function(lambda v: v.service.slug)
    organisation = fields.Function(lambda v: v.service.organisation.code)
    version = fields.String()
    name = fields.String()
    status = fields.String()
    compliance_score = fields.Integer()
    created_at = fields.DateTime()


class EventSchema(Schema):
    """One entry of the audit trail."""

    id = fields.Integer()
    kind = fields.String()
    version = fields.Function(lambda e: (e.data or {}).get("version"))
    actor = fields.Function(lambda e: e.actor_id)
    created_at = fields.DateTime()
    data = fields.Dict()


class DiffArgs(Schema):
    """GET .../diff: the version to compare against (default: the previous approved one)."""

    against = fields.String(metadata={"description": "An earlier version; default the previous approved version"})


class TokenArgs(Schema):
    """POST /tokens: a new API token."""

    name = fields.String(load_default="", validate=validate.Length(max=100))
    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=730))
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        load_default=None,
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={
            "description": "What the token may do: read, submit, review, admin. Default: all your role and the "
            "token you use allow; never more. A token made by a token expires no later than it and is revoked "
            "with it."
        },
    )


class TokenSchema(Schema):
    """An API token as listed (the token itself is shown only once, on creation)."""

    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    scopes = fields.List(fields.String(), attribute="scope_list", metadata={"description": "What the token may do"})
    parent_id = fields.Integer(allow_none=True, metadata={"description": "The token that made this one, if any"})
    token = fields.String(metadata={"description": "Only in the answer to POST: copy it now"})
