"""Marshmallow shapes of the search API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from catalogue.search.query import KINDS, SORTS, Hit, SearchResult

# The edge refuses text with a NUL character in any parameter (no database column can store it, see
# catalogue/security.py): the document says so, so that what it calls valid is accepted.
STORABLE_TEXT = validate.Regexp(r"^[^\x00]*$", error="the text contains a NUL character")


def _facet_filter(description: str) -> fields.List:
    return fields.List(
        fields.String(validate=[validate.Length(max=200), STORABLE_TEXT]),
        load_default=list,
        metadata={"description": description + " (repeat the parameter for any of several values)"},
    )


class SearchArgs(Schema):
    """Query string of GET /search."""

    q = fields.String(
        load_default="",
        validate=[validate.Length(max=500), STORABLE_TEXT],
        metadata={"description": 'Free text; "quoted phrases", prefix*'},
    )
    phase = _facet_filter("GSBPM phase code, e.g. 5")
    subprocess = _facet_filter("GSBPM sub-process code, e.g. 5.4")
    organisation = _facet_filter("Owner organisation code, e.g. ISTAT")
    gsim = _facet_filter("GSIM object name consumed or produced, e.g. Unit Data Set")
    licence = _facet_filter("SPDX licence, e.g. EUPL-1.2")
    status = _facet_filter("Status of the version shown")
    maturity = _facet_filter("prototype, pilot or production")
    technology = _facet_filter("Technology, e.g. R")
    protocol = _facet_filter("REST, SOAP, GraphQL, gRPC, batch or library")
    interface = _facet_filter("Kind of interface described: openapi, wsdl, asyncapi, command_line or library")
    distribution = _facet_filter(
        "Where the implementation is published: cran, pypi, maven, npm, nuget, container or download"
    )
    kind = fields.String(
        load_default="service",
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "service (default), section (sections of the CSPA 2.0 document) or all; "
            "sections have no facets: any filter leaves them out of all, section ignores filters"
        },
    )
    sort = fields.String(
        load_default=None,
        validate=validate.OneOf(SORTS),
        metadata={"description": "relevance (default with q), name (default without), updated"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SuggestArgs(Schema):
    """Query string of GET /search/suggest."""

    q = fields.String(required=True, validate=[validate.Length(min=1, max=100), STORABLE_TEXT])
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class HitSchema(Schema):
    """One service or document section found."""

    kind = fields.String(metadata={"description": "service or section"})
    id = fields.String(metadata={"description": "The service id, or chapter#anchor for a section"})
    version = fields.String()
    name = fields.String()
    organisation = fields.String()
    purpose = fields.String(metadata={"description": "For a section: the title of its chapter"})
    status = fields.String()
    subprocesses = fields.List(fields.String())
    score = fields.Float(allow_none=True)
    highlights = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "Field → passage as HTML: text escaped, matched words in <mark>"},
    )
    url = fields.String(allow_none=True, metadata={"description": "For a section: where it is read"})
    audiences = fields.List(fields.String(), metadata={"description": "For a section: overview, architect, builder"})


class FacetValueSchema(Schema):
    """A facet value and how many services have it, given the other filters."""

    value = fields.String()
    count = fields.Integer()
    selected = fields.Boolean()


class SearchResultSchema(Schema):
    """Answer of GET /search."""

    q = fields.Function(lambda r: r.request.q)
    total = fields.Integer()
    page = fields.Function(lambda r: r.request.page)
    per_page = fields.Function(lambda r: r.request.per_page)
    pages = fields.Integer()
    sort = fields.Function(lambda r: r.request.sort)
    kind = fields.Function(lambda r: r.request.kind)
    hits = fields.List(fields.Nested(HitSchema))
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValueSchema)))
    suggestion = fields.String(allow_none=True, metadata={"description": "The query with unknown words corrected"})
    corrected = fields.Boolean(
        metadata={"description": "True when nothing matched q and the hits are for the suggestion"}
    )
    # Not named partial: marshmallow's Schema has an attribute of that name.
    some_words = fields.Boolean(
        attribute="partial",
        data_key="partial",
        metadata={
            "description": "True when no hit matches every word of q, and the hits are those matching the most of them"
        },
    )
    notice = fields.String(
        allow_none=True,
        metadata={"description": "Said to the reader with the hits, e.g. that they match only some of the words"},
    )

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """Schema.dump; one whole SearchResult (every new search's answer) by a direct path: marshmallow's walk
        over each field of twenty hits and every facet value cost about a tenth of a new search. The two give
        the same (tests/search/test_answer_shape.py); a field added above must be added to _result too."""
        if isinstance(obj, SearchResult) and not (many or self.many) and self.only is None and not self.exclude:
            return _result(obj)
        return super().dump(obj, many=many)


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "kind": hit.kind,
        "id": hit.id,
        "version": hit.version,
        "name": hit.name,
        "organisation": hit.organisation,
        "purpose": hit.purpose,
        "status": hit.status,
        "subprocesses": [str(code) for code in hit.subprocesses],
        "score": None if hit.score is None else float(hit.score),
        "highlights": {str(name): str(text) for name, text in hit.highlights.items()},
        "url": hit.url,
        "audiences": [str(name) for name in hit.audiences],
    }


def _result(result: SearchResult) -> dict[str, Any]:
    """What SearchResultSchema().dump(result) gives."""
    request = result.request
    return {
        "q": request.q,
        "total": int(result.total),
        "page": request.page,
        "per_page": request.per_page,
        "pages": int(result.pages),
        "sort": request.sort,
        "kind": request.kind,
        "hits": [_hit(hit) for hit in result.hits],
        "facets": {
            str(name): [{"value": v.value, "count": int(v.count), "selected": bool(v.selected)} for v in values]
            for name, values in result.facets.items()
        },
        "suggestion": result.suggestion,
        "corrected": bool(result.corrected),
        "partial": bool(result.partial),
        "notice": result.notice,
    }


class SuggestionSchema(Schema):
    """One autocomplete entry."""

    kind = fields.String(metadata={"description": "service or keyword"})
    value = fields.String()
    id = fields.String(metadata={"description": "The service id, for kind service"})
