"""A visitor who has not signed in gets no session cookie: the sign-in form's CSRF token is in the form only."""

from __future__ import annotations

import re

import pytest

from tests.auth.test_sign_in import PASSWORD, add_user

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _form_token(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    assert not page.headers.getlist("Set-Cookie"), f"opening {path} set a cookie"
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", ["/auth/sign-in", "/auth/forgot-password", "/", "/search?q=linkage"])
def test_opening_a_page_sets_no_cookie_for_a_visitor(client, path):
    page = client.get(path)
    assert page.status_code == 200
    assert not page.headers.getlist("Set-Cookie"), page.headers.getlist("Set-Cookie")


def test_a_visitor_signs_in_with_the_token_of_the_form(app, client):
    add_user(app)
    token = _form_token(client, "/auth/sign-in")
    wrong = client.post(
        "/auth/sign-in", data={"email": "owner@istat.example", "password": "not it", "csrf_token": token}
    )
    assert wrong.status_code == 401 and not wrong.headers.getlist("Set-Cookie")
    token = _form_token(client, "/auth/sign-in")
    done = client.post(
        "/auth/sign-in",
        data={"email": "owner@istat.example", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert done.status_code == 302
    assert any(h.startswith("cspa_session=") for h in done.headers.getlist("Set-Cookie"))
    assert client.get("/auth/tokens").status_code == 200


def test_a_visitor_token_is_refused_from_another_site_forged_or_once_signed_in(app, client):
    add_user(app)
    token = _form_token(client, "/auth/sign-in")
    data = {"email": "owner@istat.example", "password": PASSWORD, "csrf_token": token}
    for headers in ({"Origin": "https://elsewhere.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        assert client.post("/auth/sign-in", data=data, headers=headers).status_code == 400, headers
    assert client.post("/auth/sign-in", data={**data, "csrf_token": token[:-2] + "xx"}).status_code == 400
    assert client.get("/auth/tokens").status_code == 302  # still signed out
    assert client.post("/auth/sign-in", data=data).status_code == 302
    # Signed in, a form needs the token bound to the session: a visitor token no longer does.
    refused = client.post("/auth/tokens", data={"name": "ci", "days": "30", "scopes": ["read"], "csrf_token": token})
    assert refused.status_code == 400
