"""The search API's answer is dumped by a direct path (SearchResultSchema.dump); it gives what marshmallow's
walk over the schema's fields gives, for every kind of answer, so the documented shape and the sent one agree."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema

from catalogue.auth.actors import ANONYMOUS
from catalogue.search import searching
from catalogue.search.api import search_request
from catalogue.search.schemas import SearchArgs, SearchResultSchema
from catalogue.services.permissions import visibility

QUERIES = [
    {},  # no words: every service, by name
    {"q": "data"},
    {"q": "seasonal adjustment", "per_page": 5},
    {"q": "statistical disclosure control", "kind": "all"},
    {"q": "loose coupling", "kind": "section"},
    {"q": "validaton"},  # misspelt: a suggestion, the hits of the corrected words
    {"q": "editing zzqqxx"},  # one word matches nothing: hits match some of the words
    {"q": "sdmx", "phase": ["5"], "organisation": ["ISTAT", "INSEE"]},
    {"q": "R", "sort": "updated", "page": 2, "per_page": 3},
    {"q": "nothing-matches-this-qq"},
]


@pytest.mark.parametrize("params", QUERIES, ids=[json.dumps(p) for p in QUERIES])
def test_the_direct_dump_gives_what_the_schema_gives(seeded, params):
    with seeded.test_request_context("/api/v1/search"):
        result = searching().search(search_request(SearchArgs().load(params)), visibility(ANONYMOUS))
    schema = SearchResultSchema()
    direct = schema.dump(result)
    assert direct == Schema.dump(schema, result)
    assert json.dumps(direct, sort_keys=True) == json.dumps(Schema.dump(schema, result), sort_keys=True)
    # The answer sent is that dump.
    sent = seeded.test_client().get("/api/v1/search", query_string=params)
    assert sent.status_code == 200 and sent.json == direct


def test_a_partial_dump_still_goes_through_the_schema(seeded):
    with seeded.test_request_context("/api/v1/search"):
        result = searching().search(search_request(SearchArgs().load({"q": "data"})), visibility(ANONYMOUS))
    assert SearchResultSchema(only=("q", "total")).dump(result) == {"q": "data", "total": result.total}


def test_the_queries_above_cover_every_kind_of_answer(seeded):
    client = seeded.test_client()
    answers = [client.get("/api/v1/search", query_string=params).json for params in QUERIES]
    assert any(a["corrected"] and a["suggestion"] for a in answers)
    assert any(a["partial"] and a["notice"] for a in answers)
    assert any(h["kind"] == "section" and h["url"] and h["audiences"] for a in answers for h in a["hits"])
    assert any(h["highlights"] and h["score"] is not None and h["subprocesses"] for a in answers for h in a["hits"])
    assert any(v["selected"] for a in answers for values in a["facets"].values() for v in values)
    assert any(a["total"] == 0 for a in answers) and any(a["page"] == 2 for a in answers)
