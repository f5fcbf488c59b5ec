"""Conditional requests: a strong ETag and Last-Modified on read endpoints, 304 while nothing changed."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select
from werkzeug.http import http_date, parse_date

from catalogue.auth.models import ApiToken
from catalogue.conditional import CatalogueClock
from catalogue.db import db, utcnow
from catalogue.events import Event
from catalogue.services.models import ServiceVersion

READS = [
    "/api/v1/export/catalogue.json",
    "/api/v1/export/catalogue.csv",
    "/api/v1/export/dcat.ttl",
    "/api/v1/export/dcat.jsonld",
    "/api/v1/export/backstage.yaml",
    "/feeds/approved.atom",
    "/services/demo-linkage/badge.svg",
    "/services/demo-linkage/catalog-info.yaml",
]


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


def _answers(app):
    from catalogue.conditional import AnswerCache

    cache = app.extensions["catalogue.answers"]
    assert isinstance(cache, AnswerCache) and app.wsgi_app is cache
    return cache


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/demo-linkage",
        "/api/v1/services",
        "/api/v1/search?q=linkage",
        "/api/v1/search/suggest?q=dem",
        "/api/v1/export/catalogue.json",
    ],
)
def test_an_anonymous_read_of_an_unchanged_catalogue_is_answered_from_memory(app, client, published, good_text, url):
    answers = _answers(app)
    first = client.get(url, headers={"X-Request-ID": "first-1"})
    assert first.status_code == 200
    served = answers.served
    second = client.get(url, headers={"X-Request-ID": "second-2"})
    assert answers.served == served + 1, "the second read was built again"
    assert second.status_code == 200 and second.data == first.data
    assert second.headers["X-Request-ID"] == "second-2"  # its own id, not the first request's
    assert {k: v for k, v in second.headers.items() if k != "X-Request-ID"} == {
        k: v for k, v in first.headers.items() if k != "X-Request-ID"
    }  # security headers, ETag, Vary included
    assert "Content-Security-Policy" in second.headers
    head = client.head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(len(first.data))
    # A change through the registry moves the catalogue on: the next read is built again and shows it.
    published.submit(
        good_text.replace("id: demo-linkage", "id: demo-linkage-two").replace(
            "Demo record linkage", "Demo record linkage two"
        )
    )
    published.approve("demo-linkage-two", "1.0.0")
    served = answers.served
    third = client.get(url)
    assert answers.served == served and third.status_code == 200
    if "suggest" not in url and "/services/demo-linkage" not in url:
        assert b"demo-linkage-two" in third.data
    assert client.get(url).data == third.data and answers.served == served + 1


def test_a_change_written_by_another_connection_is_seen_at_once(app, client, published):
    answers = _answers(app)
    url = "/api/v1/services/demo-linkage"
    client.get(url)
    served = answers.served
    client.get(url)
    assert answers.served == served + 1
    # Another process would write through its own connection: the clock's connection sees the commit.
    with app.app_context(), db.transaction() as session:
        version = session.scalars(select(ServiceVersion)).one()
        version.name = "Renamed elsewhere"
        session.add(Event(kind="version.edited", service_id=version.service_id, version_id=version.id, data={}))
    renamed = client.get(url)
    assert answers.served == served + 1, "an answer older than the catalogue was given"
    assert renamed.json["name"] == "Renamed elsewhere"


def test_readers_with_a_token_or_a_cookie_are_answered_from_memory_by_audience(app, client, published):
    answers = _answers(app)
    url = "/api/v1/services/demo-linkage"
    bearer = {"Authorization": f"Bearer {published.submitter}"}
    served = answers.served
    first = client.get(url, headers=bearer)
    for _ in range(2):
        again = client.get(url, headers=bearer)
        assert again.status_code == 200 and again.data == first.data
    assert answers.served == served + 2, "a token holder's reads were built every time"
    audiences = {key[-1] for key in answers.requests()}
    assert any(name.startswith("org:") for name in audiences)  # the submitter sees its own organisation's services
    assert all("Bearer" not in part for key in answers.requests() for part in key)
    # An anonymous reader is of another audience: never given the organisation's answer.
    served = answers.served
    client.get(url)
    assert answers.served == served
    # A cookie (a browser that once opened a page) does not matter to the API: the public answer is given again.
    client.set_cookie("cspa_session", "anything")
    for _ in range(2):
        assert client.get(url).status_code == 200
    assert answers.served == served + 2
    # A conditional request is still answered by the app (304 when current), never from memory.
    served = answers.served
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert answers.served == served


def test_a_revoked_token_is_refused_though_its_audience_has_an_answer_kept(app, client, published):
    url = "/api/v1/services/demo-linkage"
    bearer = {"Authorization": f"Bearer {published.submitter}"}
    for _ in range(2):
        assert client.get(url, headers=bearer).status_code == 200
    with app.app_context(), db.transaction() as session:
        for token in session.scalars(select(ApiToken)):
            token.revoked_at = utcnow()
    assert client.get(url, headers=bearer).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer cspa_forged"}).status_code == 401


def test_an_expired_token_is_refused_even_when_its_copy_is_current(app, client, published):
    url = "/api/v1/services/demo-linkage"
    bearer = {"Authorization": f"Bearer {published.submitter}"}
    etag = client.get(url, headers=bearer).headers["ETag"]
    assert client.get(url, headers={**bearer, "If-None-Match": etag}).status_code == 304
    with app.app_context(), db.transaction() as session:
        for token in session.scalars(select(ApiToken)):
            token.expires_at = utcnow() - timedelta(minutes=1)
    refused = client.get(url, headers={**bearer, "If-None-Match": etag})
    assert refused.status_code == 401, refused.status_code


def test_the_answer_cache_keeps_to_its_byte_budget(app, client, published):
    answers = _answers(app)
    urls = [f"/api/v1/search?q=linkage+{word}" for word in "abcdefghijkl"]
    uncached = {"If-None-Match": '"none"'}  # a conditional request is never kept: this learns the sizes only
    largest = max(len(client.get(url, headers=uncached).data) for url in urls)
    answers.max_bytes = 8 * largest
    for url in urls:
        assert client.get(url).status_code == 200
        assert answers.size <= answers.max_bytes
    kept = [key[4] for key in answers.requests()]
    assert "q=linkage+l" in kept and "q=linkage+a" not in kept  # the least recently used went first
    assert 0 < len(kept) < len(urls)
    answers.max_bytes = 8 * 100  # an answer larger than an eighth of the budget is not kept at all
    client.get("/api/v1/search?q=record")
    assert "q=record" not in [key[4] for key in answers.requests()]


def test_the_clock_follows_a_sqlite_file_and_its_replacement(tmp_path):
    def catalogue(path, events):
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
        connection.executemany("INSERT INTO events (id) VALUES (?)", [(i,) for i in range(1, events + 1)])
        connection.commit()
        return connection

    path = tmp_path / "catalogue.sqlite3"
    clock = CatalogueClock(create_engine(f"sqlite:///{path}"))
    assert clock.version() is None and not path.exists()  # a missing file is not created
    writer = catalogue(path, 2)
    assert clock.version() == 2
    writer.execute("INSERT INTO events (id) VALUES (3)")
    writer.commit()
    assert clock.version() == 3
    writer.close()
    catalogue(tmp_path / "restored.sqlite3", 7).close()
    os.replace(tmp_path / "restored.sqlite3", path)  # a restore: same name, another file
    assert clock.version() == 7
