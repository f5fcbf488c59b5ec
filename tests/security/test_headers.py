"""Every route of the app, HTML page or API, answers with the security headers and a strict CSP;
the pages a reader sees carry nothing that policy would block."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from catalogue import create_app, security
from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import db
from catalogue.document.content import chapters
from tests.conftest import close_app
from tests.security.markup import live_markup

# A value for every URL parameter, so each rule is requested at a page that exists.
SEED_VALUES = {
    "slug": "pxwebapi",
    "owner": "SCB",  # pxwebapi's Definition and Specification are stored under its owner
    "version": "1.0.0",
    "fmt": "yaml",
    "token_id": "1",
    "user_id": "1",
    "name": "Data Set",
    "token": "not-a-token",  # an account link's token: an unknown one is a 404 page with the same headers
    "code": "SCB",
}
QUERY = {"/api/v1/search/suggest": "?q=lin", "/search": "?q=linkage"}
FILES = {"static": "catalogue.css", "schema_file": "cspa-service-descriptor.schema.json"}

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(seeded: Flask) -> FlaskClient:
    """A new admin, signed in (session cookie for pages) and sending its token (for the API).

    A new one per test: the writes of the url-map walk may revoke its token or change its password.
    """
    email = f"admin-{next(_ADMINS)}@istat.example"
    with seeded.app_context(), db.transaction() as session:
        _user, token = accounts.create_user(session, email, "ISTAT", "admin", password=PASSWORD)
    client = seeded.test_client()
    form = client.get("/auth/sign-in").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert found, "no CSRF token on the sign-in form"
    signed_in = client.post("/auth/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)})
    assert signed_in.status_code == 302, signed_in.status_code
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


_ADMINS = itertools.count(1)


def _url(rule: Rule) -> str:
    values: dict[str, str] = {}
    for argument in rule.arguments:
        if rule.defaults and argument in rule.defaults:
            values[argument] = rule.defaults[argument]  # fixed by the rule itself (definitions, specifications)
        elif argument == "filename":
            values[argument] = FILES[rule.endpoint]
        elif rule.endpoint.startswith("document.") and argument == "slug":
            values[argument] = chapters()[0].slug
        elif rule.endpoint.startswith("problems.") and argument == "name":
            values[argument] = "not-found"  # a problem type page
        else:
            assert argument in SEED_VALUES, f"give a seed value for <{argument}> of {rule.rule}"
            values[argument] = SEED_VALUES[argument]
    url = rule.build(values)[1]  # type: ignore[index]
    return url + QUERY.get(url, "")


def _requests(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, _url(rule)))
    # Reads first: the writes include revoking the admin's own token.
    return sorted(found, key=lambda request: request[0] != "GET")


# GET routes that rightly answer other than 200 at their seed values.
NOT_200 = {
    "/api/v1/services/pxwebapi/versions/1.0.0/diff": 404,  # a first version has nothing to compare with
    "/auth/account/not-a-token": 404,
}


def _assert_secure(response, where: str) -> None:  # type: ignore[no-untyped-def]
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{where}: {name}"
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in CSP_DIRECTIVES:
        assert directive in csp, f"{where}: CSP lacks {directive}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), where


def test_every_route_carries_the_headers(seeded: Flask, admin: FlaskClient) -> None:
    anonymous = seeded.test_client()
    requests = _requests(seeded)
    assert len(requests) > 40  # the whole url map, not a handful
    for method, url in requests:
        for client in (anonymous, admin):
            response = client.open(url, method=method)
            response.close()  # a file sent from static/ stays open until the response is closed
            _assert_secure(response, f"{method} {url}")
            assert response.status_code < 500, f"{method} {url}: {response.status_code}"
            if method == "GET" and client is admin:
                # The seed values reach real pages, so the headers are checked on them, not on 404s.
                assert response.status_code == NOT_200.get(url, 200), f"{method} {url}: {response.status_code}"


def test_errors_carry_the_headers_too(seeded: Flask) -> None:
    client = seeded.test_client()
    for response in (
        client.get("/no/such/page"),
        client.get("/api/v1/no-such-thing"),
        client.post("/api/v1/validate", data=b"x" * (3 * 1024 * 1024), content_type="application/yaml"),
        client.post("/api/v1/validate", data=b"{", content_type="application/json"),
    ):
        assert response.status_code in (400, 404, 413)
        _assert_secure(response, str(response.status_code))


def test_pages_have_nothing_the_policy_blocks(seeded: Flask, admin: FlaskClient) -> None:
    checked = 0
    for method, url in _requests(seeded):
        if method != "GET":
            continue
        response = admin.get(url)
        response.close()
        if response.mimetype != "text/html":
            continue
        checked += 1
        found = live_markup(response.get_data(as_text=True))
        assert not found, f"{url}: {found}"
    assert checked >= 10


def test_strict_transport_security_only_over_https_or_in_production(
    seeded: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last in this module: a second app rebinds the one database binding the seeded app uses."""
    client = seeded.test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == security.STRICT_TRANSPORT_SECURITY
    # Production behind a TLS-terminating proxy sees plain HTTP and still sends it.
    (tmp_path / "production").mkdir()
    monkeypatch.setenv("CATALOGUE_INSTANCE_PATH", str(tmp_path / "production"))
    monkeypatch.setenv("CATALOGUE_ENV", "production")
    monkeypatch.setenv("CATALOGUE_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("CATALOGUE_ALLOW_SQLITE", "1")
    production = create_app(Config.from_env())
    with production.app_context():
        db.create_all()
    try:
        response = production.test_client().get("/")
    finally:
        close_app(production)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == security.STRICT_TRANSPORT_SECURITY
