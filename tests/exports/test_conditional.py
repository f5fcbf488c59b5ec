"""Conditional requests: a strong ETag and Last-Modified on read endpoints, 304 while nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.http import http_date, parse_date

READS = ["/api/v1/export/catalogue.json", "/api/v1/export/catalogue.csv", "/api/v1/export/dcat.ttl",
         "/api/v1/export/dcat.jsonld", "/api/v1/export/backstage.yaml", "/feeds/approved.atom",
         "/services/demo-linkage/badge.svg", "/services/demo-linkage/catalog-info.yaml"]


@pytest.fixture
def published(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.approve("demo-linkage", "1.0.0")
    return workflow


@pytest.mark.parametrize("url", READS)
def test_if_none_match_gets_304_until_the_catalogue_changes(client, published, good_text, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert first.headers["Last-Modified"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304
    # Any change (here: another service submitted for review) is a new event, so a new tag.
    published.submit(good_text.replace("id: demo-linkage", "id: another-linkage"))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_if_modified_since(client, published):
    url = "/api/v1/export/catalogue.json"
    last_modified = client.get(url).headers["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = http_date(parse_date(last_modified) - timedelta(seconds=5))
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    both = client.get(url, headers={"If-Modified-Since": last_modified, "If-None-Match": '"other"'})
    assert both.status_code == 200


def test_the_tag_depends_on_the_representation(client, published):
    url = "/api/v1/export/catalogue.json"
    plain = client.get(url).headers["ETag"]
    assert client.get(url, headers={"Accept": "application/json"}).headers["ETag"] != plain
    assert client.get(url, query_string={"x": "1"}).headers["ETag"] != plain
    assert client.get(url).headers["ETag"] == plain
    assert "Accept" in client.get(url).headers["Vary"]


def test_errors_carry_no_tag(client, published):
    response = client.get("/services/no-such/catalog-info.yaml", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_head_is_conditional_too(client, published):
    etag = client.get("/feeds/approved.atom").headers["ETag"]
    assert client.head("/feeds/approved.atom", headers={"If-None-Match": etag}).status_code == 304


def test_documents_are_built_once_per_catalogue_state(client, published, good_text):
    url = "/api/v1/export/catalogue.json"
    first = client.get(url).json
    assert client.get(url).json["generated_at"] == first["generated_at"]  # served from the cache
    published.submit(good_text.replace("id: demo-linkage", "id: another-linkage"))
    published.approve("another-linkage", "1.0.0")
    rebuilt = client.get(url).json
    assert rebuilt["generated_at"] != first["generated_at"]
    assert [s["id"] for s in rebuilt["services"]] == ["another-linkage", "demo-linkage"]


def test_an_unchanged_answer_is_served_from_memory_and_a_change_is_not(app, make_user, good_text):
    from catalogue.conditional import ResponseCache

    client = app.test_client()
    token = make_user()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/services", data=good_text, headers={**headers, "Content-Type": "application/yaml"}).status_code == 201
    first = client.get("/api/v1/services/demo-linkage", headers=headers)
    cache = app.extensions["catalogue.responses"]
    assert isinstance(cache, ResponseCache) and cache.size > 0
    second = client.get("/api/v1/services/demo-linkage", headers=headers)
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    # Another reader gets their own answer, not the cached one (anonymous: not public yet).
    assert client.get("/api/v1/services/demo-linkage").status_code == 404
    # A write moves the catalogue on: the next read is built again and shows it.
    changed = good_text.replace("Demo record linkage", "Demo record linkage, renamed").replace("version: 1.0.0", "version: 1.0.1")
    reviewer = make_user("reviewer@cbs.example", "CBS", "reviewer")
    bearer = {"Authorization": f"Bearer {reviewer}"}
    for body in ({"to": "in_review"},):
        assert client.post("/api/v1/services/demo-linkage/versions/1.0.0/transitions", json=body, headers=bearer).status_code == 200
    assert client.post("/api/v1/services/demo-linkage/versions/1.0.0/reviews", json={"decision": "approved"},
                       headers=bearer).status_code == 201
    assert client.post("/api/v1/services", data=changed, headers={**headers, "Content-Type": "application/yaml"}).status_code == 201
    third = client.get("/api/v1/services/demo-linkage", headers=headers)
    assert third.headers["ETag"] != first.headers["ETag"] and "renamed" in third.get_data(as_text=True)


def test_the_cache_keeps_to_its_byte_budget():
    from flask import Flask, Response

    from catalogue.conditional import ResponseCache

    cache = ResponseCache(max_bytes=8000)
    with Flask(__name__).test_request_context():
        for i in range(20):
            cache.put(f'"{i}"', Response(b"x" * 900))
        assert cache.size <= 8000
        assert cache.get('"0"') is None and cache.get('"19"') is not None
        cache.put('"cookie"', Response(b"y", headers={"Set-Cookie": "a=b"}))
        assert cache.get('"cookie"') is None  # never keep an answer that sets a cookie
