"""Marshmallow shapes of the REST API's requests and responses."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from catalogue.auth.models import SCOPES
from catalogue.services import distributions, layers
from catalogue.services.models import STATUSES


class ListArgs(Schema):
    """Filters and paging of GET /services."""

    gsbpm = fields.String(
        metadata={"description": "GSBPM phase (5) or sub-process (5.4)"}, validate=validate.Regexp(r"^[1-8](\.[1-9])?$")
    )
    organisation = fields.String(
        metadata={"description": "Owner organisation code, e.g. ISTAT"}, validate=validate.Regexp(r"^[^\x00]*$")
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


_LAYER_ID = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
_SEMVER = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"


class _DescriptorPart(Schema):
    """A part of a descriptor, which may hold more than these fields: the published OpenAPI document says
    additionalProperties true, as the descriptor's JSON Schema allows every field it names (and x-...)."""

    class Meta:
        unknown = INCLUDE


class _Layer(_DescriptorPart):
    """What a Definition or Specification has whether it is described inline or referred to."""

    ref = fields.String(
        validate=validate.Regexp(_LAYER_ID),
        metadata={
            "description": "The id of a layer already in the catalogue; with ref, the layer is not described here"
        },
    )
    id = fields.String(
        validate=validate.Regexp(_LAYER_ID), metadata={"description": "The layer's own id (default: the descriptor's)"}
    )
    version = fields.String(
        validate=validate.Regexp(_SEMVER),
        metadata={"description": "The layer's own version, or the version referred to (default: the descriptor's)"},
    )
    owner = fields.String(metadata={"description": "With ref: the organisation whose layer is meant"})


class DescriptorDefinition(_Layer):
    """The business view of a service (CSPA 2.0 Annex 1, Statistical Service Definition), described here or
    referred to with ref; name, purpose and gsbpm are required when it is described here."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    purpose = fields.String(validate=validate.Length(min=1, max=5_000))
    gsbpm = fields.List(
        fields.String(validate=validate.Regexp(r"^[1-8]\.[1-9]$")),
        validate=validate.Length(min=1),
        metadata={"description": "GSBPM 5.1 sub-process codes, e.g. 5.1"},
    )
    dependencies = fields.List(
        fields.String(), metadata={"description": "Other services, data or standards the service needs"}
    )


class MessageSchema(Schema):
    """A message the service takes in or gives back (CSPA 2.0 Annex 1, Specification)."""

    name = fields.String()
    gsim = fields.String(required=True, metadata={"description": "The GSIM 1.2 information object it carries"})
    format = fields.String(metadata={"description": "A media type or a format name"})
    schema = fields.Raw(metadata={"description": "The message's schema, or the address of one"})
    description = fields.String()


INTERFACE_KINDS = layers.INTERFACE_KINDS


class DescriptorSpecification(_Layer):
    """How a service is called (CSPA 2.0 Annex 1, Statistical Service Specification), described here or referred
    to with ref; protocol is required when it is described here."""

    protocol = fields.String(
        metadata={"description": "REST, SOAP, GraphQL, gRPC, messaging, command-line, batch or library"}
    )
    architectural_pattern = fields.List(fields.String())
    input_messages = fields.List(fields.Nested(MessageSchema))
    output_messages = fields.List(fields.Nested(MessageSchema))
    methodologies = fields.List(
        fields.Dict(), metadata={"description": "Methods applied: {name, reference, description}"}
    )
    interface = fields.Dict(
        metadata={
            "description": "Machine-readable interfaces, by kind: openapi (object), wsdl (XML text), asyncapi "
            "(object), command_line, library"
        }
    )


DISTRIBUTION_KINDS = distributions.ECOSYSTEMS


class DistributionSchema(Schema):
    """One place the implementation can be got from (the descriptor's implementation.distributions)."""

    kind = fields.String(required=True, validate=validate.OneOf(DISTRIBUTION_KINDS))
    package = fields.String(metadata={"description": "For cran, pypi, npm and nuget"})
    group = fields.String(metadata={"description": "For maven: the groupId"})
    artifact = fields.String(metadata={"description": "For maven: the artifactId"})
    image = fields.String(metadata={"description": "For container: the image reference"})
    version = fields.String()
    url = fields.String(metadata={"description": "For download: the address; otherwise the package's page"})


class DescriptorImplementation(_DescriptorPart):
    """Who owns one implementation and under which licence, which software version it is and where to get it."""

    owner = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z][A-Z0-9-]{1,31}$"),
        metadata={"description": "Code of the owning organisation, e.g. ISTAT"},
    )
    licence = fields.String(required=True, metadata={"description": "An SPDX licence expression, e.g. EUPL-1.2"})
    builder = fields.String(metadata={"description": "The organisation that built it, when it is not the owner"})
    software_version = fields.String(metadata={"description": "The version of the software described"})
    distributions = fields.List(fields.Nested(DistributionSchema))


class DescriptorContact(_DescriptorPart):
    """A person or team to contact."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DescriptorBody(_DescriptorPart):
    """A CSPA service descriptor sent as JSON: the parts every descriptor has. The full contract, with every
    optional field and extension (x-...), is the JSON Schema at /schemas/cspa-service-descriptor.schema.json,
    and the validator also checks what no schema says (GSBPM codes that exist, operation ids, licences):
    a descriptor of this shape that breaks those rules is answered 422 with every problem."""

    cspa = fields.String(required=True, validate=validate.OneOf(("2.0",)))
    id = fields.String(
        required=True,
        validate=validate.Regexp(_LAYER_ID),
        metadata={"description": "The service's id: lower-case letters, digits and hyphens"},
    )
    version = fields.String(
        required=True,
        validate=validate.Regexp(_SEMVER),
        metadata={"description": "A semantic version, MAJOR.MINOR.PATCH"},
    )
    definition = fields.Nested(
        DescriptorDefinition, metadata={"description": "Required unless the specification is a reference (ref)"}
    )
    specification = fields.Nested(DescriptorSpecification)
    implementation = fields.Nested(DescriptorImplementation, required=True)
    contacts = fields.List(fields.Nested(DescriptorContact))


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


def _bundle(version: Any) -> dict[str, Any]:
    """The version's bundle: every layer inline, references resolved (ServiceVersion.bundle)."""
    return version.bundle  # type: ignore[no-any-return]


class GetItSchema(Schema):
    """What a user types to get the implementation from one distribution (the service page's "Get it" box)."""

    kind = fields.String(validate=validate.OneOf(DISTRIBUTION_KINDS))
    label = fields.String(metadata={"description": "The kind as readers know it, e.g. CRAN (R)"})
    command = fields.String(
        allow_none=True, metadata={"description": "The command or snippet to copy; none for a download link"}
    )
    one_line = fields.String(allow_none=True, metadata={"description": "The same on one line, or the link"})
    url = fields.String(allow_none=True, metadata={"description": "The package's page or the download address"})


class LayerLink(Schema):
    """A Definition or Specification version, named by owner, id and version."""

    owner = fields.Function(lambda layer: layer.organisation.code)
    id = fields.String(attribute="slug")
    version = fields.String()


class VersionDetail(VersionSummary):
    """One version with its descriptor (as written), its bundle (every layer inline, references resolved),
    the layers it links to, and its reports."""

    service = fields.Function(lambda v: v.service.slug)
    descriptor = fields.Dict(metadata={"description": "The descriptor as submitted"})
    bundle = fields.Dict(metadata={"description": "The descriptor with every layer inline, references resolved"})
    definition = fields.Nested(LayerLink, attribute="definition_version", allow_none=True)
    specification = fields.Nested(
        LayerLink,
        attribute="specification_version",
        allow_none=True,
        metadata={"description": "None when the descriptor gives no specification"},
    )
    interface_kinds = fields.Function(
        lambda v: layers.interface_kinds(_bundle(v)),
        metadata={"description": "The kinds of interface its Specification gives: " + ", ".join(INTERFACE_KINDS)},
    )
    software_version = fields.Function(
        lambda v: (_bundle(v).get("implementation") or {}).get("software_version"),
        allow_none=True,
        metadata={"description": "The version of the software the implementation describes"},
    )
    get_it = fields.Function(
        lambda v: GetItSchema(many=True).dump(distributions.instructions(_bundle(v))),
        metadata={"description": "What a user types to get it, one entry per distribution"},
    )
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
    latest_version = fields.Function(lambda v: v.latest.version if v.latest else None)
    compliance_score = fields.Function(lambda v: v.version.compliance_score if v.version else None)
    # From the bundle: a Definition given by reference has no gsbpm or purpose written in the descriptor.
    gsbpm = fields.Function(
        lambda v: (_bundle(v.version).get("definition") or {}).get("gsbpm", []) if v.version else []
    )
    purpose = fields.Function(
        lambda v: (_bundle(v.version).get("definition") or {}).get("purpose") if v.version else None
    )
    interface_kinds = fields.Function(
        lambda v: layers.interface_kinds(_bundle(v.version)) if v.version else [],
        metadata={"description": "The kinds of interface its Specification gives: " + ", ".join(INTERFACE_KINDS)},
    )
    distributions = fields.Function(
        lambda v: distributions.ecosystems(_bundle(v.version)) if v.version else [],
        metadata={"description": "Where it is published: " + ", ".join(DISTRIBUTION_KINDS)},
    )
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
    reviewer = fields.Function(
        lambda r: r.reviewer.display_name if r.reviewer is not None else "the catalogue",
        metadata={"description": "The reviewer's display name"},
    )
    reviewer_organisation = fields.Function(
        lambda r: r.reviewer.organisation.code if r.reviewer is not None and r.reviewer.organisation else None,
        allow_none=True,
    )
    created_at = fields.DateTime()


class PersonSchema(Schema):
    """Who did something: a display name and an organisation's code and name."""

    name = fields.String()
    organisation = fields.String(allow_none=True)
    organisation_name = fields.String(allow_none=True)


class ConversationEntry(Schema):
    """One entry of a version's conversation, in order: its submission, a decision or a comment."""

    kind = fields.String(validate=validate.OneOf(("submitted", "decision", "comment")))
    author = fields.Nested(PersonSchema)
    created_at = fields.DateTime()
    body = fields.String(metadata={"description": "The decision's comment or the message"})
    decision = fields.String(allow_none=True)
    items = fields.List(fields.Dict(), metadata={"description": "A decision's verdict and note per criterion"})


class CommentArgs(Schema):
    """POST .../comments: a message in a version's conversation."""

    body = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=10_000), validate.Regexp(r"\S", error="write a message")],
        metadata={"description": "The message: at least one character that is not a space"},
    )


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
    actor = fields.Function(lambda e: e.person.name, metadata={"description": "Who did it: a display name"})
    actor_organisation = fields.Function(lambda e: e.person.organisation, allow_none=True)
    sentence = fields.String(metadata={"description": "What happened, as a plain sentence naming who did it"})
    created_at = fields.DateTime()
    data = fields.Dict()


class DiffArgs(Schema):
    """GET .../diff: the version to compare against (default: the previous approved one)."""

    against = fields.String(
        metadata={"description": "An earlier version; default the previous approved version"},
        validate=validate.Regexp(r"^[^\x00]*$"),
    )


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


class ImplementationLink(Schema):
    """A service version that implements a layer."""

    service = fields.Function(lambda v: v.service.slug)
    organisation = fields.Function(lambda v: v.service.organisation.code)
    version = fields.String()
    name = fields.String()
    status = fields.String()


class LayerVersionSchema(Schema):
    """One version of a Definition or Specification, with its family."""

    version = fields.Function(lambda node: node.layer.version)
    content = fields.Function(lambda node: node.layer.content)
    definition = fields.Function(
        lambda node: LayerLink().dump(node.layer.specifies) if node.layer.specifies is not None else None,
        metadata={"description": "For a specification: the definition it specifies"},
    )
    specifications = fields.Function(
        lambda node: [LayerLink().dump(child.layer) for child in node.specifications],
        metadata={"description": "For a definition: the specifications of this version"},
    )
    implementations = fields.Function(
        lambda node: ImplementationLink(many=True).dump(
            [*node.implementations, *(v for child in node.specifications for v in child.implementations)]
        ),
        metadata={"description": "The service versions implementing it (for a definition, through any specification)"},
    )


class LayerSchema(Schema):
    """A Definition or Specification: its owner, id, name and versions (newest first)."""

    kind = fields.Function(lambda family: family.key.kind)
    owner = fields.Function(lambda family: family.key.owner)
    id = fields.Function(lambda family: family.key.slug)
    name = fields.String()
    versions = fields.List(fields.Nested(LayerVersionSchema))


class LayerSummary(Schema):
    """A Definition or Specification in a list."""

    owner = fields.Function(lambda family: family.key.owner)
    id = fields.Function(lambda family: family.key.slug)
    name = fields.String()
    versions = fields.Function(lambda family: [node.layer.version for node in family.versions])
