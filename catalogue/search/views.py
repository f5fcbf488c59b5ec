"""The search page: results, facets in a sidebar, did-you-mean and paging, all working without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from marshmallow import ValidationError

from catalogue import reference
from catalogue.auth.identity import request_actor
from catalogue.search import searching
from catalogue.search.api import search_request
from catalogue.search.index import FACETS
from catalogue.search.query import SORTS
from catalogue.search.schemas import SearchArgs
from catalogue.services import registry

bp = Blueprint("search", __name__)

FACET_LABELS = {
    "phase": "GSBPM phase", "subprocess": "GSBPM sub-process", "organisation": "Organisation", "gsim": "GSIM object",
    "licence": "Licence", "status": "Status", "maturity": "Maturity", "technology": "Technology", "protocol": "Protocol",
}


def value_label(facet: str, value: str) -> str:
    """A facet value as readers know it (GSBPM codes with their names)."""
    model = reference.gsbpm()
    if facet == "phase" and value in model.phases:
        return f"{value} {model.phases[value]['name']}"
    if facet == "subprocess" and value in model.subprocesses:
        return f"{value} {model.subprocesses[value]['name']}"
    return value


@bp.get("/search")
def search_page() -> tuple[str, int]:
    """Search results for the query string (every state of the page is a shareable URL)."""
    raw: dict[str, Any] = {key: request.args.getlist(key) for key in FACETS}
    for key in ("q", "sort", "page", "per_page"):
        if key in request.args:
            raw[key] = request.args[key]
    error, status = None, 200
    try:
        args = SearchArgs().load(raw)
    except ValidationError as exc:
        error = "Some search settings were not understood and were ignored: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.normalized_messages().items()
        )
        args, status = SearchArgs().load({"q": str(raw.get("q", ""))[:500]}), 400
    search = search_request(args)
    result = searching().search(search, registry.visibility(request_actor()))

    def page_url(**changes: Any) -> str:
        params: dict[str, Any] = {"q": search.q, "sort": search.sort, "page": search.page, **search.filter_dict()}
        params.update(changes)
        return url_for("search.search_page", **{k: v for k, v in params.items() if v not in ("", None)})

    return render_template("search/search.html", result=result, error=error, facet_labels=FACET_LABELS,
                           value_label=value_label, sorts=SORTS, page_url=page_url), status


