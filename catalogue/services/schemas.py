"""Marshmallow shapes of the REST API's requests and responses."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from catalogue.services.models import STATUSES, Service, ServiceVersion


class ListArgs(Schema):
    """Filters and paging of GET /services."""

    gsbpm = fields.String(metadata={"description": "GSBPM phase (5) or sub-process (5.4)"}, validate=validate.Regexp(r"^[1-8](\.[1-9])?$"))
    organisation = fields.String(metadata={"description": "Owner organisation code, e.g. ISTAT"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
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


def _latest(service: Service) -> ServiceVersion | None:
    return service.latest_version


class ServiceSchema(Schema):
    """A service in the catalogue."""

    id = fields.String(attribute="slug")
    name = fields.Function(lambda s: _latest(s).name if _latest(s) else None)
    organisation = fields.Function(lambda s: s.organisation.code)
    status = fields.String()
    latest_version = fields.Function(lambda s: _latest(s).version if _latest(s) else None)
    compliance_score = fields.Function(lambda s: _latest(s).compliance_score if _latest(s) else None)
    gsbpm = fields.Function(lambda s: _latest(s).descriptor["definition"]["gsbpm"] if _latest(s) else [])
    purpose = fields.Function(lambda s: _latest(s).descriptor["definition"]["purpose"] if _latest(s) else None)
    updated_at = fields.DateTime()


class ServicePage(Schema):
    """A page of services."""

    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(ServiceSchema))


def page_of(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    """The body of a paged answer."""
    return {"items": items, "total": total, "page": page, "per_page": per_page}
