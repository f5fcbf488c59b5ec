"""Marshmallow shapes of the exports: the JSON export is dumped through these, so the document and
its description in the registry's OpenAPI are one and the same."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalogue.services.schemas import INTERFACE_KINDS, DistributionSchema, MessageSchema

FORMATS = ("json", "csv", "jsonld", "turtle", "backstage")
"""The formats `catalogue export` and /api/v1/export write."""


class ContactSchema(Schema):
    """A person or team to contact."""

    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    url = fields.String(allow_none=True, required=True)


class ExportedServiceSchema(Schema):
    """One service at its public (latest approved) version."""

    id = fields.String(required=True, metadata={"description": "The service's stable id"})
    version = fields.String(required=True, metadata={"description": "The public version"})
    status = fields.String(required=True, validate=validate.OneOf(("approved", "deprecated")))
    name = fields.String(required=True)
    purpose = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "Markdown"})
    keywords = fields.List(fields.String(), required=True)
    gsbpm = fields.List(fields.String(), required=True, metadata={"description": "GSBPM 5.1 sub-process codes"})
    organisation = fields.String(required=True, metadata={"description": "Owner organisation code"})
    organisation_name = fields.String(required=True)
    country = fields.String(allow_none=True, required=True)
    protocol = fields.String(allow_none=True, required=True)
    operations = fields.List(fields.String(), required=True, metadata={"description": "operationIds"})
    licence = fields.String(required=True, metadata={"description": "SPDX licence identifier or expression"})
    maturity = fields.String(allow_none=True, required=True)
    technology = fields.List(fields.String(), required=True)
    deployment = fields.List(fields.String(), required=True)
    documentation = fields.String(allow_none=True, required=True)
    homepage = fields.String(allow_none=True, required=True)
    source = fields.String(allow_none=True, required=True)
    contacts = fields.List(fields.Nested(ContactSchema), required=True)
    compliance_score = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    approved_at = fields.DateTime(required=True, metadata={"description": "When this version became public"})
    endpoint_url = fields.String(
        allow_none=True, required=True, metadata={"description": "Where the service answers, per its OpenAPI document"}
    )
    has_openapi = fields.Boolean(required=True)
    interface_kinds = fields.List(
        fields.String(validate=validate.OneOf(INTERFACE_KINDS)),
        required=True,
        metadata={"description": "The kinds of machine-readable interface the Specification gives"},
    )
    dependencies = fields.List(
        fields.String(), required=True, metadata={"description": "What the service needs (Definition)"}
    )
    architectural_pattern = fields.List(fields.String(), required=True)
    input_messages = fields.List(fields.Nested(MessageSchema), required=True)
    output_messages = fields.List(fields.Nested(MessageSchema), required=True)
    methodologies = fields.List(fields.String(), required=True, metadata={"description": "Names of the methods"})
    builder = fields.String(allow_none=True, required=True, metadata={"description": "Who built the implementation"})
    software_version = fields.String(
        allow_none=True, required=True, metadata={"description": "The software version the implementation describes"}
    )
    formats_accepted = fields.List(fields.String(), required=True)
    formats_produced = fields.List(fields.String(), required=True)
    distributions = fields.List(fields.Nested(DistributionSchema), required=True)
    install = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "What a user types to get it, one entry per distribution (a link for a download)"},
    )
    url = fields.String(required=True, metadata={"description": "The service's page"})
    openapi_url = fields.String(
        allow_none=True, required=True, metadata={"description": "The OpenAPI document, as JSON"}
    )


class CatalogueExportSchema(Schema):
    """The whole public catalogue."""

    generated_at = fields.DateTime(required=True)
    source = fields.String(required=True, metadata={"description": "The registry this came from"})
    count = fields.Integer(required=True)
    services = fields.List(fields.Nested(ExportedServiceSchema), required=True)
