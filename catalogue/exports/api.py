"""REST API /api/v1/export: the whole public catalogue as JSON, CSV, DCAT-AP 3 and Backstage entities.

Every document shows what anonymous readers see (each service at its latest approved version),
whoever asks; each answer carries an ETag and Last-Modified, and a conditional request gets 304.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from catalogue.conditional import conditional
from catalogue.db import session
from catalogue.exports import documents
from catalogue.exports.catalogue import request_links
from catalogue.exports.schemas import CatalogueExportSchema

blp = Blueprint(
    "exports_api",
    __name__,
    url_prefix="/api/v1/export",
    description="The public catalogue as JSON, CSV, DCAT-AP 3 and Backstage entities",
)


_JSON_LD = {
    "type": "object",
    "required": ["@context"],
    "properties": {"@context": {"type": "object"}, "@graph": {"type": "array", "items": {"type": "object"}}},
}


def _text(media_type: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI responses of an export that is not plain JSON: its body (text unless schema says), or 304."""
    return _described(media_type, description, {"schema": schema or {"type": "string"}})


def _described(media_type: str, description: str, media: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {media_type: media}},
        "304": {"description": "Not modified: the copy the client holds (If-None-Match, If-Modified-Since) is current"},
    }


def _send(fmt: str) -> Response:
    document = documents.cached_export(session(), fmt, request_links())
    return Response(document.text, content_type=document.media_type)


@blp.get("/catalogue.json")
@conditional
@blp.response(200, CatalogueExportSchema)
@blp.alt_response(304, description="Not modified: the copy the client holds is current")
def catalogue_json() -> Response:
    """Every public service, at its latest approved version, as JSON."""
    return _send("json")


@blp.get("/catalogue.csv")
@conditional
@blp.doc(responses=_text("text/csv", "One row per service; lists are joined with '; '"))
def catalogue_csv() -> Response:
    """Every public service as CSV (one row per service)."""
    return _send("csv")


@blp.get("/dcat.jsonld")
@conditional
@blp.doc(
    responses=_text(
        "application/ld+json",
        "A DCAT-AP 3.0 dcat:Catalog: each service a dcat:DataService (with an endpoint) or a dcat:Dataset of type Software",
        _JSON_LD,
    )
)
def dcat_jsonld() -> Response:
    """The catalogue as DCAT-AP 3 in JSON-LD, for European data portals to harvest."""
    return _send("jsonld")


@blp.get("/dcat.ttl")
@conditional
@blp.doc(
    responses=_text(
        "text/turtle",
        "A DCAT-AP 3.0 dcat:Catalog: each service a dcat:DataService (with an endpoint) or a dcat:Dataset of type Software",
    )
)
def dcat_turtle() -> Response:
    """The catalogue as DCAT-AP 3 in Turtle."""
    return _send("turtle")


@blp.get("/backstage.yaml")
@conditional
# A stream of several YAML documents is no one value a schema could describe, so the media type is
# given without one (a client reading it as one document would fail; Backstage reads streams).
@blp.doc(
    responses=_described(
        "application/yaml",
        "A Group per organisation, then a Component and its APIs per service, as a multi-document YAML stream",
        {},
    )
)
def backstage_yaml() -> Response:
    """Every public service as Backstage entities (catalog-info.yaml documents), with its owner's Group."""
    return _send("backstage")
