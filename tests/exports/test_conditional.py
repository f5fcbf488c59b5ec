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
