"""The search page: results, facets in a sidebar, did-you-mean and paging, all working without JavaScript.

Every state of the page (text, filters, sort, page, kind) lives in the query string, so any state can be
bookmarked or shared. Document sections matching the text are listed apart from the services, or are
the results themselves with ``kind=section`` (the document's own search box).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from marshmallow import ValidationError

from catalogue import reference
from catalogue.auth.identity import request_actor
from catalogue.search import searching
from catalogue.search.api import search_request
from catalogue.search.index import FACETS
from catalogue.search.query import SORTS, SearchRequest
from catalogue.search.schemas import SearchArgs
from catalogue.services import distributions, layers, permissions

bp = Blueprint("search", __name__)

FACET_LABELS = {
    "phase": "GSBPM phase",
    "subprocess": "GSBPM sub-process",
    "organisation": "Organisation",
    "gsim": "GSIM object",
    "licence": "Licence",
    "maturity": "Maturity",
    "technology": "Technology",
    "status": "Status",
    "protocol": "Protocol",
    "interface": "Interface",
    "distribution": "Get it from",
}
"""Facets in the order the sidebar shows them, with their labels."""
SORT_LABELS = {"relevance": "Relevance", "name": "Name", "updated": "Last update"}
SECTIONS_SHOWN = 5
"""Document sections listed beside the services."""
FACET_VALUES_SHOWN = 8
"""Values of a facet shown before the rest fold under "more"."""


def value_label(facet: str, value: str) -> str:
    """A facet value as readers know it (GSBPM codes with their names)."""
    model = reference.gsbpm()
    if facet == "phase" and value in model.phases:
        return f"{value} {model.phases[value]['name']}"
    if facet == "subprocess" and value in model.subprocesses:
        return f"{value} {model.subprocesses[value]['name']}"
    if facet == "interface":
        return layers.INTERFACE_LABELS.get(value, value)
    if facet == "distribution":
        return distributions.LABELS.get(value, value)
    return value


def gsbpm_intro(filters: dict[str, tuple[str, ...]]) -> dict[str, str] | None:
    """When the only filter is one GSBPM sub-process or phase (a cell or a phase of the home page's matrix), what
    it is: its code, name and description (catalogue/reference/gsbpm.yaml) and where the document explains it."""
    if len(filters) != 1:
        return None
    ((facet, values),) = filters.items()
    model = reference.gsbpm()
    known = {"subprocess": model.subprocesses, "phase": model.phases}.get(facet, {})
    if len(values) != 1 or values[0] not in known:
        return None
    code, found = values[0], known[values[0]]
    if facet == "subprocess":
        kind, url = "sub-process", url_for("document.gsbpm", sp=code, _anchor=f"sp-{code}")
    else:
        kind, url = "phase", url_for("document.gsbpm", _anchor=f"phase-{code}")
    return {"kind": kind, "code": code, "name": found["name"], "description": found["description"], "url": url}


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and those around page; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _url(search: SearchRequest, **changes: Any) -> str:
    """The page's URL for search with changes (filters given as a whole dict under "filters")."""
    params: dict[str, Any] = {
        "q": search.q,
        "kind": search.kind,
        "sort": search.sort,
        "page": search.page,
        "per_page": search.per_page,
        **changes.pop("filters", search.filter_dict()),
    }
    params.update(changes)
    if params.get("per_page") == SearchRequest.per_page:
        del params["per_page"]
    if params.get("page") == 1:
        del params["page"]
    if params.get("sort") == ("relevance" if params.get("q") else "name"):
        del params["sort"]  # the default order needs no parameter
    if params.get("kind") == "service":
        del params["kind"]
    return url_for("search.search_page", **{k: v for k, v in params.items() if v not in ("", None, (), [])})


def _messages(found: Any) -> list[str]:
    """marshmallow's messages of one field as plain strings: a list field's come per item ({0: [...]})."""
    if isinstance(found, dict):
        return [text for value in found.values() for text in _messages(value)]
    if isinstance(found, list | tuple):
        return [text for value in found for text in _messages(value)]
    return [str(found)]


@bp.get("/search")
def search_page() -> tuple[str, int]:
    """Search results for the query string (every state of the page is a shareable URL)."""
    raw: dict[str, Any] = {key: request.args.getlist(key) for key in FACETS}
    for key in ("q", "kind", "sort", "page", "per_page"):
        if key in request.args:
            raw[key] = request.args[key]
    error, status = None, 200
    try:
        args = SearchArgs().load(raw)
    except ValidationError as exc:
        error = "Some search settings were not understood and were ignored: " + "; ".join(
            f"{field}: {' '.join(_messages(messages))}" for field, messages in exc.normalized_messages().items()
        )
        args, status = SearchArgs().load({"q": str(raw.get("q", ""))[:500]}), 400
    # Services are the page's results, with the best document sections beside them; kind=section
    # (the document's own search box) makes the sections the results.
    beside = SECTIONS_SHOWN if args["q"] and args["kind"] != "section" else 0
    search = search_request({**args, "kind": "section" if args["kind"] == "section" else "service", "sections": beside})
    result = searching().search(search, permissions.visibility(request_actor()))
    filters = search.filter_dict()

    def page_url(**changes: Any) -> str:
        return _url(search, **changes)

    def without(facet: str, value: str) -> str:
        rest = {name: [v for v in values if not (name == facet and v == value)] for name, values in filters.items()}
        return _url(search, filters=rest, page=1)

    active = [(name, value) for name in FACET_LABELS for value in filters.get(name, ())]
    return render_template(
        "search/search.html",
        result=result,
        error=error,
        facet_labels=FACET_LABELS,
        sort_labels=SORT_LABELS,
        value_label=value_label,
        sorts=SORTS,
        page_url=page_url,
        without=without,
        active=active,
        page_numbers=page_numbers(search.page, result.pages),
        facet_values_shown=FACET_VALUES_SHOWN,
        gsbpm=None if args["q"] else gsbpm_intro(filters),
    ), status
