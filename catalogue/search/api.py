"""REST API /api/v1/search: full-text search with facets, and autocomplete."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from catalogue.auth.identity import request_actor
from catalogue.conditional import cacheable
from catalogue.document import content
from catalogue.search import searching
from catalogue.search.index import FACETS
from catalogue.search.query import SearchRequest, SearchResult
from catalogue.search.schemas import (
    SearchArgs,
    SearchResultSchema,
    SuggestArgs,
    SuggestionSchema,
)
from catalogue.services import permissions

blp = Blueprint("search_api", __name__, url_prefix="/api/v1", description="Search the catalogue")


def search_request(args: dict[str, Any]) -> SearchRequest:
    """A SearchRequest from parsed query arguments (shared with the search page)."""
    return SearchRequest.build(
        q=args.get("q", ""),
        filters={name: args.get(name, []) for name in FACETS},
        sort=args.get("sort"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 20),
        kind=args.get("kind", "service"),
        sections=args.get("sections", 0),
    )


@blp.get("/search")
@cacheable(also=content.readable_chapters)
@blp.arguments(SearchArgs(), location="query")
@blp.response(200, SearchResultSchema)
def search(args: dict[str, Any]) -> SearchResult:
    """Search the services you may see, or the CSPA 2.0 document's sections (kind): ranked hits with
    highlights, facet counts (of services) and a did-you-mean."""
    return searching().search(search_request(args), permissions.visibility(request_actor()))


@blp.get("/search/suggest")
@cacheable()
@blp.arguments(SuggestArgs(), location="query")
@blp.response(200, SuggestionSchema(many=True))
def suggest(args: dict[str, Any]) -> list[dict[str, str]]:
    """Autocomplete: names and keywords starting with q."""
    return searching().suggest(args["q"], permissions.visibility(request_actor()), args["limit"])
