"""REST API /api/v1: read the catalogue, validate a descriptor, submit a service."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint

from catalogue.auth.identity import request_actor
from catalogue.db import session
from catalogue.services import descriptors, registry
from catalogue.services.registry import RegistryError
from catalogue.services.schemas import (
    ListArgs,
    ServicePage,
    ServiceSchema,
    ValidationReportSchema,
    VersionDetail,
    VersionSummary,
    page_of,
)

blp = Blueprint("services_api", __name__, url_prefix="/api/v1", description="CSPA statistical services")

_DESCRIPTOR_BODY = {
    "required": True,
    "description": "A CSPA service descriptor (see /schemas/cspa-service-descriptor.schema.json)",
    "content": {"application/json": {"schema": {"type": "object"}}, "application/yaml": {"schema": {"type": "string"}}},
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
@blp.arguments(ListArgs, location="query", as_kwargs=True)
@blp.response(200, ServicePage)
def list_services(**args: Any) -> dict[str, Any]:
    """List the services you may see, filtered by GSBPM, organisation or status."""
    items, total = registry.list_services(session(), request_actor(), **args)
    return page_of(items, total, args["page"], args["per_page"])


@blp.get("/services/<slug>")
@blp.response(200, ServiceSchema)
def get_service(slug: str) -> Any:
    """One service."""
    actor = request_actor()
    return registry.view_service(registry.get_service(session(), actor, slug), actor)


@blp.get("/services/<slug>/versions")
@blp.response(200, VersionSummary(many=True))
def list_versions(slug: str) -> Any:
    """Every version of a service, oldest first."""
    return registry.get_service(session(), request_actor(), slug).versions


@blp.get("/services/<slug>/versions/<version>")
@blp.response(200, VersionDetail)
def get_version(slug: str, version: str) -> Any:
    """One version with its descriptor, validation report and compliance report."""
    return registry.get_version(session(), request_actor(), slug, version)


@blp.post("/validate")
@blp.doc(requestBody=_DESCRIPTOR_BODY)
@blp.response(200, ValidationReportSchema)
def validate_descriptor() -> dict[str, Any]:
    """Validate a descriptor and report every problem; nothing is stored."""
    descriptor, _fmt = _read_descriptor()
    report, assessment = registry.check_descriptor(descriptor)
    return {**report.to_dict(), "compliance": assessment.to_dict()}


@blp.post("/services")
@blp.doc(requestBody=_DESCRIPTOR_BODY)
@blp.response(201, VersionDetail)
@blp.alt_response(200, schema=VersionDetail, description="The same content was stored already")
def submit_service() -> Any:
    """Submit a new service or a new version of one (needs a token of the owning organisation)."""
    actor = request_actor(required=True)
    descriptor, fmt = _read_descriptor()
    db_session = session()
    try:
        version, created = registry.submit_version(db_session, actor, descriptor, fmt)
        db_session.commit()
    except Exception:
        db_session.rollback()
        raise
    headers = {"Location": f"/api/v1/services/{version.service.slug}/versions/{version.version}"}
    return version, (201 if created else 200), headers
