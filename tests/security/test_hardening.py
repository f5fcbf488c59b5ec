"""Hardening, round two: each defect an outside attacker found, closed and kept closed.

Each test here failed before its fix. They run on SQLite, and on PostgreSQL when CATALOGUE_DATABASE_URL
points there (NUL bytes, for one, only ever broke PostgreSQL).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.auth import accounts, actors
from catalogue.db import db
from catalogue.services import descriptors, validation, workflow
from tests.conftest import DATA, app_on_empty_database

PASSWORD = "a long enough test password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
GOOD = (DATA / "good.yaml").read_text("utf-8")
LICENCE_LINE = next(n for n, line in enumerate(GOOD.splitlines(), 1) if line.strip().startswith("licence:"))

# Licence values that made license_expression raise instead of report (17 of 53 tried by the attacker).
BROKEN_LICENCES = [
    "MIT AND",
    "MIT OR",
    "()",
    "'",
    "%",
    "x>",
    "{{7*7}}",
    '"',
    "\\",
    "<",
    "MIT AND (",
    "(MIT",
    "MIT WITH",
    "AND",
    ")(",
    "a" * 10_000,
]


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with a submitter who has a password and an API token."""
    with app_on_empty_database(tmp_path_factory.mktemp("hardening")) as app:
        with app.app_context(), db.transaction() as session:
            _user, token = accounts.create_user(
                session, "harden@istat.example", "ISTAT", "submitter", password=PASSWORD
            )
        app.config["TEST_TOKEN"] = token
        yield app


@pytest.fixture
def client(hardened: Flask) -> FlaskClient:
    return hardened.test_client()


def _auth(app: Flask) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}


def _sign_in(client: FlaskClient, next_page: str | None = None) -> FlaskClient:
    token = _CSRF.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    url = "/auth/sign-in" if next_page is None else f"/auth/sign-in?next={next_page}"
    answer = client.post(url, data={"email": "harden@istat.example", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def _with_licence(value: str) -> str:
    return GOOD.replace("licence: EUPL-1.2", f"licence: {json.dumps(value)}")


# --- 1. a licence value never crashes validation ---------------------------------------------


@pytest.mark.parametrize("licence", BROKEN_LICENCES, ids=lambda v: repr(v[:12]))
def test_a_broken_licence_is_a_validation_error_with_pointer_and_line(licence: str) -> None:
    report = validation.validate(descriptors.parse(_with_licence(licence)))
    found = [p for p in report.errors if p.pointer == "/implementation/licence" and p.source == "reference"]
    assert found, report.errors
    assert found[0].line == LICENCE_LINE and "SPDX" in found[0].message and len(found[0].message) < 500


def test_a_broken_licence_is_a_422_from_the_api_and_an_error_on_the_submit_page(
    hardened: Flask, client: FlaskClient
) -> None:
    for licence in ("MIT AND", "{{7*7}}", "()"):
        checked = client.post("/api/v1/validate", data=_with_licence(licence), content_type="application/yaml")
        assert checked.status_code == 200 and checked.json["valid"] is False
        submitted = client.post(
            "/api/v1/services", data=_with_licence(licence), content_type="application/yaml", headers=_auth(hardened)
        )
        assert submitted.status_code == 422 and submitted.mimetype == "application/problem+json"
        assert {"pointer": "/implementation/licence", "line": LICENCE_LINE} in [
            {"pointer": e["pointer"], "line": e["line"]} for e in submitted.json["errors"]
        ]
    _sign_in(client)
    token = _CSRF.search(client.get("/submit").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    # Submitting needs a valid descriptor (a draft is kept in any state, with its report).
    page = client.post("/submit", data={"descriptor": _with_licence("MIT OR"), "action": "submit", "csrf_token": token})
    assert page.status_code == 422
    assert "/implementation/licence" in page.get_data(as_text=True)


def test_the_command_line_reports_a_broken_licence_and_keeps_the_other_files(tmp_path: Path) -> None:
    broken, good = tmp_path / "broken.yaml", tmp_path / "good.yaml"
    broken.write_text(_with_licence("MIT AND"), "utf-8")
    good.write_text(GOOD, "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "catalogue.cli", "validate", "--format", "json", str(broken), str(good)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CATALOGUE_INSTANCE_PATH": str(tmp_path / "instance")},
    )
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    first, second = json.loads(result.stdout)
    assert result.returncode == 1
    assert first["valid"] is False and [e["pointer"] for e in first["errors"]] == ["/implementation/licence"]
    assert second["valid"] is True


# --- 2. a NUL byte anywhere in a request is a 4xx, on PostgreSQL as on SQLite ------------------

NUL_PATHS = [
    "/api/v1/services/a%00b",
    "/api/v1/services/a%00b/history",
    "/api/v1/services/a%00b/versions",
    "/api/v1/services/demo/versions/1.0%00/reviews",
    "/services/a%00b",
    "/services/a%00b/badge.svg",
    "/services/a%00b/catalog-info.yaml",
    "/document/a%00b",
    "/review/a%00b/1.0.0",
]
NUL_QUERIES = [
    "/api/v1/services?organisation=%00",
    "/api/v1/services?status=%00",
    "/api/v1/search?q=a%00b",
    "/api/v1/search?organisation=%00",
    "/search?q=%00",
    "/search?organisation=IS%00TAT",
    "/api/v1/services?%00=1",
    "/auth/sign-in?next=/%00",
]


@pytest.mark.parametrize("url", NUL_PATHS + NUL_QUERIES)
def test_a_nul_byte_in_a_url_is_a_4xx(hardened: Flask, client: FlaskClient, url: str) -> None:
    for headers in ({}, _auth(hardened)):
        answer = client.get(url, headers=headers)
        assert answer.status_code == (404 if url in NUL_PATHS else 400), answer.get_data(as_text=True)[:500]
        if url.startswith("/api/"):
            assert answer.mimetype == "application/problem+json"


def test_a_nul_byte_or_lone_surrogate_in_a_json_body_or_form_field_is_a_400(
    hardened: Flask, client: FlaskClient
) -> None:
    for body in ('{"name": "a\\u0000b"}', '{"name": "a\\ud800b"}', '{"a\\u0000": 1}'):
        answer = client.post("/api/v1/tokens", data=body, content_type="application/json", headers=_auth(hardened))
        assert answer.status_code == 400 and answer.mimetype == "application/problem+json", answer.json
        assert answer.json["errors"][0]["pointer"] in ("/name", "/a\x00")
    signed_in = _sign_in(hardened.test_client())
    token = _CSRF.search(signed_in.get("/auth/tokens").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    form = signed_in.post("/auth/tokens", data={"name": "a\x00b", "days": "30", "csrf_token": token})
    assert form.status_code == 400
    sign_in = hardened.test_client().post("/auth/sign-in", data={"email": "a\x00@b.example", "password": "x"})
    assert sign_in.status_code == 400
    # the descriptor parser still names the place of a NUL in a JSON descriptor
    descriptor = client.post(
        "/api/v1/validate", data=json.dumps({"cspa": "2.0", "id": "a\x00b"}), content_type="application/json"
    )
    assert descriptor.status_code == 400 and descriptor.json["errors"][0]["pointer"] == "/id"
    assert "NUL" in descriptor.json["errors"][0]["message"]


# --- 3. one service never breaks the Turtle export ---------------------------------------------

IRI_UNSAFE_URLS = [
    "https://example.org/docs/{version}/index.html",
    'https://example.org/a"b',
    "https://example.org/a<b>",
    "https://example.org/a|b",
    "https://example.org/a\\b^c`d",
]
ODD_EMAILS = ['"quoted"@example.org', "<angle>@example.org", "a&b?c=d@example.org"]


def _approve(app: Flask, text: str) -> None:
    with app.app_context(), db.transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptors.parse(text), "yaml", "approved")


def _odd_service(slug: str, url: str, email: str) -> str:
    return (
        GOOD.replace("id: demo-linkage", f"id: {slug}")
        .replace("documentation: https://", f"documentation: {json.dumps(url)}\n  x-was: https://")
        .replace("url: https://example.org/contact}", f"url: https://example.org/contact, email: {json.dumps(email)}}}")
    )


@pytest.fixture(scope="module")
def odd_addresses(hardened: Flask) -> Flask:
    """The hardening app with approved services whose addresses no IRI may hold as they are."""
    for i, (url, email) in enumerate(zip(IRI_UNSAFE_URLS, ODD_EMAILS * 2, strict=False)):
        text = _odd_service(f"odd-address-{i}", url, email)
        assert validation.validate(descriptors.parse(text)).valid, validation.validate(descriptors.parse(text)).errors
        _approve(hardened, text)
    return hardened


def test_the_turtle_export_encodes_addresses_no_iri_may_hold(odd_addresses: Flask) -> None:
    from rdflib import URIRef
    from rdflib.namespace import FOAF

    from tests.exports.test_dcat import parse

    client = odd_addresses.test_client()
    for url, fmt in (("/api/v1/export/dcat.ttl", "turtle"), ("/api/v1/export/dcat.jsonld", "json-ld")):
        answer = client.get(url)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
        graph = parse(answer.get_data(as_text=True), fmt)
        pages = {str(o) for o in graph.objects(None, FOAF.page)}
        assert "https://example.org/docs/%7Bversion%7D/index.html" in pages
        assert "https://example.org/a%22b" in pages and "https://example.org/a%3Cb%3E" in pages
        emails = {str(o) for o in graph.objects(None, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail"))}
        assert {
            "mailto:%22quoted%22@example.org",
            "mailto:%3Cangle%3E@example.org",
            "mailto:a%26b%3Fc%3Dd@example.org",
        } <= emails


def test_an_address_that_is_no_http_address_is_left_out_with_a_logged_reason(
    odd_addresses: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from catalogue.exports import dcat
    from catalogue.exports.catalogue import Links, public_services

    assert dcat.iri("javascript:alert(1)") is None and dcat.iri("/relative/path") is None
    assert dcat.iri("https://example.org/a b") == "https://example.org/a%20b"
    assert dcat.iri("https://ex.example/é") == "https://ex.example/é"  # an IRI may hold non-ASCII letters
    # Stored before the schema refused it (or written by hand into the database): still no crash.
    with odd_addresses.app_context(), db.transaction() as session:
        record = replace(public_services(session)[0], documentation="javascript:alert(1)", endpoint_url="/v1")
    with caplog.at_level("WARNING", logger="catalogue.exports.dcat"):
        text = dcat.catalogue_rdf([record], Links("https://catalogue.example/"), datetime.now(UTC), "turtle")
    assert "javascript" not in text
    assert any(f"documentation of service {record.id} is left out" in r.getMessage() for r in caplog.records)
    assert any(f"endpoint URL of service {record.id} is left out" in r.getMessage() for r in caplog.records)


def test_the_command_line_turtle_export_has_no_traceback(odd_addresses: Flask) -> None:
    from catalogue.cli import main

    result = odd_addresses.test_cli_runner().invoke(main, ["export", "--format", "turtle"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "%7Bversion%7D" in result.output


# --- 6. CATALOGUE_BASE_URL fixes the host of absolute links ------------------------------------

LINKED = [
    "/api/v1/export/dcat.ttl",
    "/api/v1/export/dcat.jsonld",
    "/api/v1/export/catalogue.json",
    "/api/v1/export/catalogue.csv",
    "/api/v1/export/backstage.yaml",
    "/feeds/approved.atom",
    "/services/odd-address-0/catalog-info.yaml",
]


@pytest.mark.parametrize("url", LINKED)
def test_the_base_url_fixes_the_host_of_absolute_links(odd_addresses: Flask, url: str) -> None:
    from dataclasses import replace

    client = odd_addresses.test_client()
    config = odd_addresses.config["CATALOGUE"]
    odd_addresses.config["CATALOGUE"] = replace(config, base_url="https://catalogue.example.org/")
    try:
        answer = client.get(url, headers={"Host": "attacker.example"})
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert "attacker.example" not in text
        assert "https://catalogue.example.org/services/odd-address-0" in text
    finally:
        odd_addresses.config["CATALOGUE"] = config
    # Unset (development): links follow the request's host, as before (another host: answers are cached per host).
    assert "http://dev.example/" in client.get(url, headers={"Host": "dev.example"}).get_data(as_text=True)


def test_the_command_line_export_takes_the_base_url_from_the_environment(
    odd_addresses: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.cli import main

    monkeypatch.setenv("CATALOGUE_BASE_URL", "https://catalogue.example.org/")
    result = odd_addresses.test_cli_runner().invoke(main, ["export", "--format", "jsonld"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "https://catalogue.example.org/services/odd-address-0" in result.output and "localhost" not in result.output


# --- 5. (issue item 10) a CR or LF in the sign-in next= never gives a 500 ----------------------


@pytest.mark.parametrize(
    "next_page",
    [
        "/%0d%0aSet-Cookie:%20x=1",
        "/services%0aLocation:%20https://evil.example",
        "%0d%0a/services",
        "/%09/evil.example",
        "/\\evil.example",
        "/%5cevil.example",
    ],
)
def test_a_control_character_in_next_redirects_home(hardened: Flask, next_page: str) -> None:
    client = hardened.test_client()
    token = _CSRF.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    answer = client.post(
        f"/auth/sign-in?next={next_page}",
        data={"email": "harden@istat.example", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    assert "Set-Cookie: x" not in str(answer.headers)


def test_a_local_next_still_leads_back(hardened: Flask) -> None:
    client = hardened.test_client()
    token = _CSRF.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/auth/sign-in?next=/auth/tokens%3Fx%3D1",
        data={"email": "harden@istat.example", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.headers["Location"] == "/auth/tokens?x=1"


# --- 8. (issue item 13) 405 answers carry Allow; a required body is required ---------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/services"),
        ("put", "/api/v1/tokens"),
        ("post", "/api/v1/export/dcat.ttl"),
        ("patch", "/api/v1/search"),
        ("delete", "/api/v1/tokens"),
        ("put", "/api/v1/validate"),
    ],
)
def test_a_405_names_the_allowed_methods(client: FlaskClient, method: str, url: str) -> None:
    answer = getattr(client, method)(url)
    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers.get("Allow", "").split(",")}
    assert allowed & {"GET", "POST"}, answer.headers
    assert answer.mimetype == "application/problem+json"


def test_creating_a_token_without_a_body_is_a_400(hardened: Flask, client: FlaskClient) -> None:
    before = len(client.get("/api/v1/tokens", headers=_auth(hardened)).json)
    missing = client.post("/api/v1/tokens", headers=_auth(hardened))
    assert missing.status_code == 400 and missing.mimetype == "application/problem+json", missing.json
    wrong_type = client.post("/api/v1/tokens", data="name=x", content_type="text/plain", headers=_auth(hardened))
    assert wrong_type.status_code == 415 and wrong_type.mimetype == "application/problem+json"
    assert len(client.get("/api/v1/tokens", headers=_auth(hardened)).json) == before
    defaults = client.post("/api/v1/tokens", json={}, headers=_auth(hardened))
    assert defaults.status_code == 201  # an empty object is a body: every field takes its default
