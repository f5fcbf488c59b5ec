"""REST API /api/v1: read the catalogue, validate a descriptor, submit a service."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from catalogue import exceptions
from catalogue.auth import accounts
from catalogue.auth.identity import request_actor
from catalogue.conditional import conditional
from catalogue.db import committed, session
from catalogue.exceptions import RegistryError
from catalogue.services import descriptors, diff, family, history, reads, workflow
from catalogue.services.schemas import (
    CommentArgs,
    ConversationEntry,
    DescriptorBody,
    DiffArgs,
    EventSchema,
    LayerSchema,
    LayerSummary,
    ListArgs,
    QueueItem,
    ReviewArgs,
    ReviewSchema,
    ServicePage,
    ServiceSchema,
    TokenArgs,
    TokenSchema,
    TransitionArgs,
    ValidationReportSchema,
    VersionDetail,
    VersionSummary,
    page_of,
)

blp = Blueprint("services_api", __name__, url_prefix="/api/v1", description="CSPA statistical services")

_DESCRIPTOR_BODY = {
    "required": True,
    "description": "A CSPA service descriptor (see /schemas/cspa-service-descriptor.schema.json)",
    "content": {
        "application/json": {"schema": DescriptorBody},
        # YAML text is read by the same parser as JSON, then checked by the same validator.
        "application/yaml": {"schema": {"type": "string", "minLength": 1}},
    },
}


class UnsupportedMediaType(RegistryError):
    """The body is neither JSON nor YAML."""

    status = 415
    title = "Unsupported media type"


def _read_descriptor() -> tuple[descriptors.Descriptor, str]:
    mimetype = request.mimetype or ""
    if mimetype in ("application/json",) or mimetype.endswith("+json"):
        fmt = "json"
    elif mimetype in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", ""):
        fmt = "yaml"
    else:
        raise UnsupportedMediaType(f"send the descriptor as application/json or application/yaml, not {mimetype}")
    limits = current_app.config["CATALOGUE"].limits
    data = request.get_data(cache=False)
    return descriptors.parse(data, fmt, limits), fmt


@blp.get("/services")
@conditional
@blp.arguments(ListArgs(), location="query", as_kwargs=True)
@blp.response(200, ServicePage)
def list_services(**args: Any) -> dict[str, Any]:
    """List the services you may see, filtered by GSBPM, organisation or status."""
    items, total = reads.list_services(session(), request_actor(), **args)
    return page_of(items, total, args["page"], args["per_page"])


@blp.get("/services/<slug>")
@conditional
@blp.response(200, ServiceSchema)
def get_service(slug: str) -> Any:
    """One service."""
    actor = request_actor()
    return reads.view_service(reads.get_service(session(), actor, slug), actor)


@blp.get("/services/<slug>/versions")
@conditional
@blp.response(200, VersionSummary(many=True))
def list_versions(slug: str) -> Any:
    """Every version of a service, oldest first."""
    actor = request_actor()
    return reads.visible_versions(reads.get_service(session(), actor, slug), actor)


@blp.get("/services/<slug>/versions/<version>")
@conditional
@blp.response(200, VersionDetail)
def get_version(slug: str, version: str) -> Any:
    """One version with its descriptor, validation report and compliance report."""
    return reads.get_version(session(), request_actor(), slug, version)


@blp.post("/validate")
@blp.doc(requestBody=_DESCRIPTOR_BODY)
@blp.response(200, ValidationReportSchema)
def validate_descriptor() -> dict[str, Any]:
    """Validate a descriptor and report every problem; nothing is stored."""
    descriptor, _fmt = _read_descriptor()
    report, assessment = workflow.check_descriptor(descriptor)
    return {**report.to_dict(), "compliance": assessment.to_dict()}


class SubmitArgs(Schema):
    """Query of POST /services."""

    status = fields.String(
        load_default="submitted",
        validate=validate.OneOf(("draft", "submitted")),
        metadata={
            "description": "draft keeps it to your organisation, unfinished if need be (any descriptor with a "
            "valid id, version and implementation.owner is kept, with its validation report); submitted queues "
            "it for review and needs a valid descriptor"
        },
    )


@blp.post("/services")
@blp.doc(requestBody=_DESCRIPTOR_BODY)
@blp.arguments(SubmitArgs(), location="query", as_kwargs=True)
@blp.response(201, VersionDetail)
@blp.alt_response(200, schema=VersionDetail, description="The same content was stored already")
def submit_service(status: str) -> Any:
    """Submit a new service or a new version of one (needs a token of a submitter of the owning organisation)."""
    actor = request_actor(required=True)
    descriptor, fmt = _read_descriptor()
    with committed() as db_session:
        version, created = workflow.submit_version(
            db_session, actor, descriptor, fmt, status, current_app.config["CATALOGUE"].semver_breaking
        )
    headers = {"Location": f"/api/v1/services/{version.service.slug}/versions/{version.version}"}
    return version, (201 if created else 200), headers


@blp.post("/services/<slug>/versions/<version>/transitions")
@blp.arguments(TransitionArgs())
@blp.response(200, VersionDetail)
def transition_version(args: dict[str, Any], slug: str, version: str) -> Any:
    """Move a version along the state machine (submit a draft, start a review, deprecate, retire)."""
    actor = request_actor(required=True)
    with committed() as db_session:
        return workflow.transition(db_session, actor, slug, version, args["to"], args["comment"])


@blp.post("/services/<slug>/versions/<version>/reviews")
@blp.arguments(ReviewArgs())
@blp.response(201, ReviewSchema)
def review_version(args: dict[str, Any], slug: str, version: str) -> Any:
    """Decide on a version in review: approve, request changes or reject, with verdicts per criterion."""
    actor = request_actor(required=True)
    with committed() as db_session:
        reviewed = workflow.transition(
            db_session, actor, slug, version, args["decision"], args["comment"], args["items"]
        )
        return reads.reviews_of(db_session, reviewed)[-1]


@blp.get("/services/<slug>/versions/<version>/reviews")
@conditional
@blp.response(200, ReviewSchema(many=True))
def list_reviews(slug: str, version: str) -> Any:
    """The decisions taken on a version, oldest first."""
    db_session = session()
    return reads.reviews_of(db_session, reads.get_version(db_session, request_actor(), slug, version))


@blp.get("/services/<slug>/versions/<version>/diff")
@conditional
@blp.arguments(DiffArgs(), location="query", as_kwargs=True)
@blp.response(200)
def diff_version(slug: str, version: str, against: str | None = None) -> Any:
    """What changed from an earlier version (default: the one the review page shows, reads.previous_version)."""
    db_session = session()
    actor = request_actor()
    new = reads.get_version(db_session, actor, slug, version)
    old = reads.get_version(db_session, actor, slug, against) if against else reads.previous_version(new, actor).version
    if old is None:
        raise exceptions.NotFound(f"version {version} of {slug!r} has no earlier version to compare with")
    return {"from": old.version, "to": new.version, **diff.diff_versions(old.descriptor, new.descriptor).to_dict()}


@blp.get("/services/<slug>/history")
@conditional
@blp.response(200, EventSchema(many=True))
def service_history(slug: str) -> Any:
    """The audit trail of a service, oldest first."""
    return history.history_lines(session(), request_actor(), slug)


@blp.get("/services/<slug>/versions/<version>/conversation")
@conditional
@blp.response(200, ConversationEntry(many=True))
def version_conversation(slug: str, version: str) -> Any:
    """A version's conversation in order: its submission, the reviewers' decisions with their notes per
    criterion, and the comments and replies, each naming its author."""
    db_session = session()
    return reads.conversation(db_session, reads.get_version(db_session, request_actor(), slug, version))


@blp.post("/services/<slug>/versions/<version>/comments")
@blp.arguments(CommentArgs())
@blp.response(201, ConversationEntry)
def comment_on_version(args: dict[str, Any], slug: str, version: str) -> Any:
    """Write in a version's conversation: a submitter's reply to a review, or a reviewer's remark."""
    actor = request_actor(required=True)
    with committed() as db_session:
        comment = workflow.comment_on_version(db_session, actor, slug, version, args["body"])
        return reads.conversation(db_session, comment.version)[-1]


@blp.get("/definitions")
@conditional
@blp.response(200, LayerSummary(many=True))
def list_definitions() -> Any:
    """The Statistical Service Definitions you may see, by owner and id."""
    return family.list_layers(session(), request_actor(), "definition")


@blp.get("/definitions/<owner>/<slug>")
@conditional
@blp.response(200, LayerSchema)
def get_definition(owner: str, slug: str) -> Any:
    """One Definition: its versions, the Specifications of each and their implementations."""
    return family.layer_family(session(), request_actor(), "definition", owner, slug)


@blp.get("/specifications")
@conditional
@blp.response(200, LayerSummary(many=True))
def list_specifications() -> Any:
    """The Statistical Service Specifications you may see, by owner and id."""
    return family.list_layers(session(), request_actor(), "specification")


@blp.get("/specifications/<owner>/<slug>")
@conditional
@blp.response(200, LayerSchema)
def get_specification(owner: str, slug: str) -> Any:
    """One Specification: its versions, the Definition each specifies and their implementations."""
    return family.layer_family(session(), request_actor(), "specification", owner, slug)


@blp.get("/reviews")
@blp.response(200, QueueItem(many=True))
def review_queue() -> Any:
    """Versions awaiting review, oldest first (reviewers and admins)."""
    return reads.review_queue(session(), request_actor(required=True))


@blp.get("/tokens")
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> Any:
    """Your API tokens (never the tokens themselves)."""
    return accounts.list_tokens(session(), request_actor(required=True))


@blp.post("/tokens")
@blp.arguments(TokenArgs())
@blp.response(201, TokenSchema)
def create_token(args: dict[str, Any]) -> Any:
    """A new API token for you, shown once in this answer."""
    actor = request_actor(required=True)
    with committed() as db_session:
        token = accounts.create_token(db_session, actor, args["days"], args["name"], args["scopes"])
        row = accounts.list_tokens(db_session, actor)[0]
        fields_of_row = ("id", "name", "prefix", "created_at", "expires_at", "revoked_at", "scope_list", "parent_id")
        return {**{name: getattr(row, name) for name in fields_of_row}, "token": token}


@blp.delete("/tokens/<int(max=2147483647):token_id>")
@blp.response(200, TokenSchema)
def revoke_token(token_id: int) -> Any:
    """Revoke one of your tokens."""
    actor = request_actor(required=True)
    with committed() as db_session:
        return accounts.revoke_token(db_session, actor, token_id)
