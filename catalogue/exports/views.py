"""Non-API exports: the Atom feed of approved services, and per service its badge and catalog-info.yaml."""

from __future__ import annotations

from flask import Blueprint, Response

from catalogue.conditional import conditional
from catalogue.db import session
from catalogue.errors import problem
from catalogue.exceptions import NotFound
from catalogue.exports import backstage, badge, documents
from catalogue.exports.catalogue import public_service, request_links

bp = Blueprint("exports", __name__)

BADGE_CACHE = "public, max-age=300"
"""Badges are embedded in READMEs that image proxies cache; five minutes keeps them near current."""


@bp.get("/feeds/approved.atom")
@conditional
def approved_feed() -> Response:
    """The Atom feed of approved services, newest approval first."""
    document = documents.cached_export(session(), "atom", request_links())
    return Response(document.text, content_type=document.media_type)


@bp.get("/services/<slug>/catalog-info.yaml")
@conditional
def catalog_info(slug: str) -> Response:
    """One public service as a Backstage API entity."""
    record = public_service(session(), slug)
    return Response(backstage.entity_yaml(record, request_links()), content_type=backstage.MEDIA_TYPE)


@bp.get("/services/<slug>/badge.svg")
@conditional
def service_badge(slug: str) -> Response:
    """The service's compliance badge (status and score of its public version); 404 problem+json if none."""
    try:
        record = public_service(session(), slug)
    except NotFound as error:
        # An image tag shows nothing useful for an HTML error page; a small JSON problem is honest.
        return problem(404, error.title, error.detail, "not-found")
    response = Response(badge.badge_svg(record), content_type=badge.MEDIA_TYPE)
    response.headers["Cache-Control"] = BADGE_CACHE
    return response
