"""Search over the seed catalogue on a real on-disk index: relevance, facets, highlights, paging, visibility."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from catalogue.auth import accounts
from catalogue.auth.models import Organisation
from catalogue.db import database_of
from catalogue.services.models import Service, ServiceVersion, VersionSubprocess
from tests.test_seed import SEEDS


@pytest.fixture
def client(seeded: Flask) -> FlaskClient:
    return seeded.test_client()


def _search(client: FlaskClient, **params: object) -> dict:
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


# query, the service expected, the rank it must reach (1 = first)
RELEVANCE = [
    ("record linkage", "relais", 1),
    ("a record linkage tool that runs in R", "relais", 1),
    ("record linakge", "relais", 1),
    # Four seeds implement the one seasonal-adjustment Definition (JDemetra+ describes it; X-13ARIMA-SEATS,
    # rjd3x13 and rjd3tramoseats refer to it): its words score them alike, so any of the four may lead.
    ("seasonal adjustment", "jdemetra-plus", 4),
    ("seasonal adjustment", "x13arima-seats", 4),
    ("seasonnal adjustement", "jdemetra-plus", 3),
    ("imputation for business surveys", "banff", 3),
    ("edit and imputation", "banff", 3),
    ("cell suppression", "gausssuppression", 1),
    ("microdata anonymisation", "sdcmicro", 3),
    ("synthetic population", "simpop", 1),
    ("questionnaire design", "pogues", 3),
    ("electronic questionnaire", "lunatic", 3),
    ("calibration of weights", "regenesees", 3),
    ("variance estimation", "gustave", 3),
    ("temporal disaggregation", "disaggr", 3),
    ("VTL", "trevas", 3),
    ("SDMX web services", "sdmx-ri", 3),
    ("Eurostat", "restatapi", 1),
    ("kernel density", "btb", 1),
    ("missing values", "vim", 3),
    ("validation rules", "validate", 3),
    ('"disclosure control"', "rtauargus", 3),
    ("seasonal*", "jdemetra-plus", 3),
]


@pytest.mark.parametrize(("q", "expected", "rank"), RELEVANCE, ids=[f"{q}->{e}" for q, e, _ in RELEVANCE])
def test_relevance(client: FlaskClient, q: str, expected: str, rank: int) -> None:
    body = _search(client, q=q, per_page=10)
    ids = [hit["id"] for hit in body["hits"]]
    assert expected in ids[:rank], (q, ids)


def test_misspelt_query_suggests_the_right_spelling_and_answers_it(client: FlaskClient) -> None:
    body = _search(client, q="record linakge")
    assert body["suggestion"] == "record linkage"
    assert body["corrected"] is True
    assert body["hits"][0]["id"] == "relais"
    # Known words get no suggestion.
    assert _search(client, q="record linkage")["suggestion"] is None


def test_highlights_mark_the_matched_words(client: FlaskClient) -> None:
    hit = _search(client, q="linkage")["hits"][0]
    snippets = " ".join(hit["highlights"].values())
    marked = re.findall(r"<mark[^>]*>([^<]+)</mark>", snippets)
    assert marked and all(word.lower().startswith("link") for word in marked), snippets


def test_highlights_escape_descriptor_text(seeded: Flask, client: FlaskClient) -> None:
    hit = _search(client, q="relais")["hits"][0]
    assert "<script" not in str(hit["highlights"])


def test_short_technology_names_match(client: FlaskClient) -> None:
    ids = {h["id"] for h in _search(client, technology="R", per_page=100)["hits"]}
    assert {"relais", "sdcmicro", "vim"} <= ids and "banff" not in ids


def _sql_counts(app: Flask) -> dict[str, Counter[str]]:
    """Facet counts computed independently from the database, for what anonymous readers see."""
    counts: dict[str, Counter[str]] = {
        "subprocess": Counter(),
        "phase": Counter(),
        "organisation": Counter(),
        "licence": Counter(),
    }
    with database_of(app).transaction() as session:
        rows = (
            session.execute(
                select(VersionSubprocess.code).join(Service, Service.public_version_id == VersionSubprocess.version_id)
            )
            .scalars()
            .all()
        )
        counts["subprocess"].update(rows)
        for service in session.scalars(select(Service).where(Service.public_version_id.is_not(None))):
            counts["phase"].update(
                {code.split(".")[0] for code in service.public_version.bundle["definition"]["gsbpm"]}
            )
            counts["licence"][service.public_version.bundle["implementation"]["licence"]] += 1
        counts["organisation"].update(
            session.scalars(
                select(Organisation.code)
                .join(Service, Service.organisation_id == Organisation.id)
                .where(Service.public_version_id.is_not(None))
            ).all()
        )
    return counts


def test_facet_counts_equal_sql_counts(seeded: Flask, client: FlaskClient) -> None:
    body = _search(client, per_page=1)
    assert body["total"] == len(SEEDS)
    expected = _sql_counts(seeded)
    for facet, counter in expected.items():
        assert {f["value"]: f["count"] for f in body["facets"][facet]} == dict(counter), facet


def test_facet_counts_respect_the_other_filters(client: FlaskClient) -> None:
    body = _search(client, phase="6", per_page=100)
    ids = {h["id"] for h in body["hits"]}
    assert body["total"] == len(ids) > 0
    # The organisation facet counts only services in phase 6 ...
    assert sum(f["count"] for f in body["facets"]["organisation"]) == body["total"]
    # ... while the phase facet itself still counts every phase (so the reader can widen the choice).
    assert {f["value"] for f in body["facets"]["phase"]} >= {"3", "4", "5", "6", "7"}
    phase6 = next(f for f in body["facets"]["phase"] if f["value"] == "6")
    assert phase6["selected"] and phase6["count"] == body["total"]
    both = _search(client, phase="6", organisation="CBS", per_page=100)
    cbs = next(f["count"] for f in body["facets"]["organisation"] if f["value"] == "CBS")
    assert both["total"] == cbs
    assert all(h["organisation"] == "CBS" for h in both["hits"])


def test_filters_combine_any_within_a_facet(client: FlaskClient) -> None:
    five = {h["id"] for h in _search(client, phase="5", per_page=100)["hits"]}
    seven = {h["id"] for h in _search(client, phase="7", per_page=100)["hits"]}
    either = _search(client, phase=["5", "7"], per_page=100)
    assert five - seven and seven - five  # each phase has seeds of its own, so "any" is wider than either
    assert {h["id"] for h in either["hits"]} == five | seven and either["total"] == len(five | seven)


def test_pagination_is_stable_and_complete(client: FlaskClient) -> None:
    everything = [h["id"] for h in _search(client, q="R", per_page=100)["hits"]]
    paged = []
    page = 1
    while True:
        body = _search(client, q="R", per_page=4, page=page)
        paged += [h["id"] for h in body["hits"]]
        if page >= body["pages"]:
            break
        page += 1
    assert paged == everything and len(set(paged)) == len(paged)
    assert _search(client, q="R", per_page=4, page=999)["hits"] == []


def test_sort_by_name_and_by_update(client: FlaskClient) -> None:
    names = [h["name"].casefold() for h in _search(client, sort="name", per_page=100)["hits"]]
    assert names == sorted(names)
    assert len(_search(client, q="R", sort="updated", per_page=100)["hits"]) == _search(client, q="R")["total"]


def test_bad_arguments_are_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/search?sort=colour&page=0")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert {e["pointer"] for e in response.json["errors"]} == {"/sort", "/page"}


def test_autocomplete_names_and_keywords(client: FlaskClient) -> None:
    found = client.get("/api/v1/search/suggest?q=sdc").json
    assert {"kind": "service", "value": "sdcMicro", "id": "sdcmicro"} in found
    assert all(s["value"].casefold().startswith("sdc") or " sdc" in s["value"].casefold() for s in found)
    assert client.get("/api/v1/search/suggest").status_code == 422


def test_drafts_are_seen_only_by_their_organisation(seeded: Flask, client: FlaskClient, good_text: str) -> None:
    with database_of(seeded).transaction() as session:
        _user, istat = accounts.create_user(session, "search@istat.example", "ISTAT", "submitter")
        _user, cbs = accounts.create_user(session, "search@cbs.example", "CBS", "submitter")
    text = good_text.replace("Demo record linkage", "Zanzibar linkage draft")
    assert (
        client.post(
            "/api/v1/services",
            data=text,
            headers={"Authorization": f"Bearer {istat}", "Content-Type": "application/yaml"},
        ).status_code
        == 201
    )

    def found(token: str | None) -> list[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return [h["id"] for h in client.get("/api/v1/search?q=zanzibar", headers=headers).json["hits"]]

    assert found(None) == []
    assert found(cbs) == []
    assert found(istat) == ["demo-linkage"]
    anonymous_total = _search(client, per_page=1)["total"]
    member = client.get("/api/v1/search?per_page=1", headers={"Authorization": f"Bearer {istat}"}).json
    assert member["total"] == anonymous_total + 1
    with database_of(seeded).transaction() as session:
        versions = session.scalars(
            select(ServiceVersion)
            .join(Service, ServiceVersion.service_id == Service.id)
            .where(Service.slug == "demo-linkage")
        ).all()
        assert [v.status for v in versions] == ["submitted"]


def test_search_page_renders_hits_facets_and_suggestion_without_javascript(client: FlaskClient) -> None:
    page = client.get("/search?q=record+linakge")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # scripts only from files: the page works without them
    assert "Showing results for" in html and "record linkage" in html
    assert 'href="/services/relais"' in html
    assert "<mark" in html
    filtered = client.get("/search?phase=6&organisation=CBS").get_data(as_text=True)
    assert 'name="phase" value="6" checked' in filtered
    assert "6 Analyse" in filtered  # facet values carry the GSBPM names


def test_search_page_with_bad_settings_explains_instead_of_failing(client: FlaskClient) -> None:
    page = client.get("/search?q=linkage&sort=colour&page=zero")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "not understood" in html and "sort" in html and "page" in html
    assert 'href="/services/relais"' in html  # the query itself still answered


def test_search_page_filters_are_shown_removable_and_counted_given_the_others(client: FlaskClient) -> None:
    html = client.get("/search?phase=6&organisation=CBS").get_data(as_text=True)
    # Each active filter is a link to the same search without it.
    assert 'href="/search?organisation=CBS"' in html and "Remove filter" in html
    assert 'href="/search?phase=6"' in html
    # The organisation facet counts services in phase 6 (the API's counts, which equal SQL's).
    counts = {f["value"]: f["count"] for f in _search(client, phase="6")["facets"]["organisation"]}
    shown = dict(
        re.findall(
            r'name="organisation" value="([^"]+)"[^>]*>\s*<span class="value">[^<]*</span> '
            r'<span class="count"><span class="visually-hidden">services: </span>(\d+)',
            html,
        )
    )
    assert {k: int(v) for k, v in shown.items()} == counts


def test_search_page_sorts_and_pages_with_shareable_links(client: FlaskClient) -> None:
    first = client.get("/search?q=R&per_page=4").get_data(as_text=True)
    assert 'aria-current="page"><span class="visually-hidden">Page </span>1</a>' in first
    assert 'rel="next" href="/search?q=R&amp;page=2&amp;per_page=4"' in first
    second = client.get("/search?q=R&page=2&per_page=4").get_data(as_text=True)
    assert 'aria-current="page"><span class="visually-hidden">Page </span>2</a>' in second
    listed = [re.findall(r'<h3><a href="/services/([^"]+)"', html) for html in (first, second)]
    assert len(listed[0]) == 4 and listed[1] and not set(listed[0]) & set(listed[1])
    by_name = client.get("/search?q=R&sort=name").get_data(as_text=True)
    assert re.search(r'<a href="/search\?q=R&amp;sort=name" aria-current="true">Name</a>', by_name)
    assert 'href="/search?q=R&amp;sort=updated"' in by_name


def test_search_page_has_landmarks_and_labels(client: FlaskClient) -> None:
    html = client.get("/search?q=linkage").get_data(as_text=True)
    assert '<aside class="facets-panel" aria-labelledby="filters-heading">' in html
    assert re.search(r'<section class="results" aria-labelledby="results-heading">', html)
    assert '<label for="search-q">' in html and 'id="search-q"' in html
    assert all(f"<legend>{label}</legend>" in html for label in ("GSBPM phase", "Organisation", "Licence"))
    assert 'style="' not in html and " onclick=" not in html


def test_field_lengths_read_whole_agree_with_whoosh_document_by_document(seeded: Flask) -> None:
    # BM25F needs each document's field length; the search reads a leaf's length column in one go (whoosh's
    # own call reads the file once per document). A whoosh whose internals differ must not change a score.
    from catalogue.search.postings import field_lengths
    from catalogue.search.query import TEXT_FIELDS

    search_index = seeded.extensions["catalogue.search"].index
    with search_index.lock:
        leaves = search_index.searcher().reader().leaf_readers()
        longest = dict.fromkeys(TEXT_FIELDS, 0)
        for leaf, _offset in leaves:
            for fieldname in TEXT_FIELDS:
                one_by_one = [
                    leaf.doc_field_length(docnum, fieldname, 1) or 1 for docnum in range(leaf.doc_count_all())
                ]
                assert list(field_lengths(leaf, fieldname)) == one_by_one, fieldname
                longest[fieldname] = max(longest[fieldname], *one_by_one)
    assert all(length > 1 for length in longest.values()), (
        longest
    )  # every field has text: the comparison says something


def test_a_facet_value_too_long_is_explained_not_a_server_error(client: FlaskClient) -> None:
    """A list field's messages come per item from marshmallow ({0: [...]}): the page still says them."""
    page = client.get("/search?q=linkage&distribution=" + "a" * 300)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "not understood" in html and "distribution" in html
