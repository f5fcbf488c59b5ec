"""Non-API exports: the Atom feed of approved services, and per service its badge and catalog-info.yaml."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from catalogue.conditional import conditional
from catalogue.db import session, utcnow
from catalogue.errors import problem
from catalogue.exceptions import NotFound
from catalogue.exports import atom, backstage, badge, documents, news
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


@bp.get("/feeds/services/<slug>.atom")
@conditional
def service_feed(slug: str) -> Response:
    """The Atom feed of one public service: its versions approved, deprecated and retired, newest first."""
    name, items = news.service_news(session(), slug)
    path = url_for("exports.service_feed", slug=slug).lstrip("/")
    text = atom.news_feed(f"CSPA Catalogue: {name}", path, f"services/{slug}", items, request_links(), utcnow())
    return Response(text, content_type=atom.MEDIA_TYPE)


@bp.get("/feeds/organisations/<code>.atom")
@conditional
def organisation_feed(code: str) -> Response:
    """The Atom feed of one organisation's public services, newest news first."""
    organisation, items = news.organisation_news(session(), code)
    path = url_for("exports.organisation_feed", code=organisation.code).lstrip("/")
    page = f"search?organisation={organisation.code}"
    title = f"CSPA Catalogue: services of {organisation.name or organisation.code}"
    return Response(atom.news_feed(title, path, page, items, request_links(), utcnow()), content_type=atom.MEDIA_TYPE)


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
