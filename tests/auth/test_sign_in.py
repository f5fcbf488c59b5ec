"""Sign-in with sessions, CSRF on every form, rate limiting, API tokens, administration pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from catalogue.auth import accounts, actors
from catalogue.auth.models import ApiToken, Organisation, User
from catalogue.db import db
from catalogue.events import Event

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(client, path: str) -> str:
    """The CSRF token of the form on path."""
    page = client.get(path)
    assert page.status_code == 200, path
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def add_user(app, email="owner@istat.example", org="ISTAT", role="submitter", password=PASSWORD) -> int:
    with app.app_context(), db.transaction() as session:
        user, _ = accounts.create_user(session, email, org, role, password=password, token_days=None)
        return user.id


def sign_in(client, email="owner@istat.example", password=PASSWORD, next_path=None):
    token = csrf(client, "/auth/sign-in")
    url = "/auth/sign-in" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def _events(app, kind: str) -> list[Event]:
    with app.app_context(), db.transaction() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)))


def test_sign_in_sets_a_safe_session_cookie(app, client):
    add_user(app)
    response = sign_in(client, next_path="/auth/tokens")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/tokens"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("cspa_session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite"} <= flags
    assert "samesite=lax" in cookie.lower()
    assert client.get("/auth/tokens").status_code == 200


def test_a_form_post_without_its_csrf_token_is_refused(app, client):
    add_user(app)
    response = client.post("/auth/sign-in", data={"email": "owner@istat.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/auth/tokens").status_code == 302  # still signed out
    sign_in(client)
    before = _count(app, ApiToken)
    assert client.post("/auth/tokens", data={"name": "ci", "days": "30"}).status_code == 400
    assert client.post("/auth/tokens", data={"name": "ci", "days": "30", "csrf_token": "forged"}).status_code == 400
    assert _count(app, ApiToken) == before


def _count(app, model) -> int:
    with app.app_context(), db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_wrong_password_and_unknown_user_get_the_same_answer(app, client):
    add_user(app)
    wrong = sign_in(client, password="not the password at all")
    unknown = sign_in(client, email="nobody@nowhere.example")
    assert wrong.status_code == unknown.status_code == 401
    message = "the e-mail address or password is wrong"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:alert(1)"])
def test_next_never_leaves_the_site(app, client, target):
    add_user(app)
    response = sign_in(client, next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_sign_out_needs_a_post_with_the_token(app, client):
    add_user(app)
    sign_in(client)
    assert client.get("/auth/sign-out").status_code == 405
    assert client.post("/auth/sign-out").status_code == 400
    assert client.get("/auth/tokens").status_code == 200
    assert client.post("/auth/sign-out", data={"csrf_token": csrf(client, "/auth/tokens")}).status_code == 302
    assert client.get("/auth/tokens").status_code == 302


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(app, client):
    user_id = add_user(app)
    sign_in(client)
    with app.app_context(), db.transaction() as session:
        accounts.update_user(session, actors.SYSTEM, user_id, active=False)
    assert client.get("/auth/tokens").status_code == 302
    assert sign_in(client).status_code == 401


def test_changing_the_password_ends_other_sessions(app):
    add_user(app)
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second)
    response = first.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "an even longer passphrase", "csrf_token": csrf(first, "/auth/password")},
    )
    assert response.status_code == 302
    assert first.get("/auth/tokens").status_code == 200
    assert second.get("/auth/tokens").status_code == 302
    assert _events(app, "user.password_changed")


def test_a_token_is_shown_once_stored_hashed_and_revocable(app, client):
    add_user(app)
    sign_in(client)
    page = client.post(
        "/auth/tokens",
        data={"name": "our CI", "days": "30", "scopes": ["read", "submit"], "csrf_token": csrf(client, "/auth/tokens")},
    )
    assert page.status_code == 201
    token = re.search(r'value="(cspa_[^"]+)"', page.get_data(as_text=True)).group(1)
    assert token not in client.get("/auth/tokens").get_data(as_text=True)  # shown once
    with app.app_context(), db.transaction() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == "our CI")).one()
        assert row.token_hash != token and token not in row.token_hash and row.expires_at is not None
        token_id = row.id
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tokens", headers=bearer).status_code == 200
    revoked = client.post(f"/auth/tokens/{token_id}/revoke", data={"csrf_token": csrf(client, "/auth/tokens")})
    assert revoked.status_code == 302
    assert client.get("/api/v1/tokens", headers=bearer).status_code == 401
    assert [e.data["prefix"] for e in _events(app, "token.revoked")] == [token[:12]]


def test_tokens_through_the_api(app, client, make_user):
    token = make_user()
    bearer = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/tokens", json={"name": "deploy", "days": 7}, headers=bearer)
    assert created.status_code == 201 and created.json["token"].startswith("cspa_")
    listed = client.get("/api/v1/tokens", headers=bearer).json
    assert [t["name"] for t in listed][:1] == ["deploy"] and all("token" not in t for t in listed)
    other = make_user("other@cbs.example", "CBS")
    assert (
        client.delete(f"/api/v1/tokens/{created.json['id']}", headers={"Authorization": f"Bearer {other}"}).status_code
        == 404
    )
    assert client.delete(f"/api/v1/tokens/{created.json['id']}", headers=bearer).status_code == 200
    new_bearer = {"Authorization": f"Bearer {created.json['token']}"}
    assert client.get("/api/v1/tokens", headers=new_bearer).status_code == 401
    assert client.post("/api/v1/tokens", json={"days": 9999}, headers=bearer).status_code == 422
    # An id past what the database's integer holds is simply not found (PostgreSQL would refuse the query).
    huge = client.delete("/api/v1/tokens/7212282100", headers=bearer)
    assert huge.status_code == 404 and huge.mimetype == "application/problem+json"


def test_admin_pages_are_for_admins(app, client):
    add_user(app)
    add_user(app, email="admin@unece.example", org="UNECE", role="admin")
    sign_in(client)
    before = len(_events(app, "permission.denied"))
    assert client.get("/admin/users").status_code == 403
    assert len(_events(app, "permission.denied")) == before + 1
    client.post("/auth/sign-out", data={"csrf_token": csrf(client, "/auth/tokens")})
    sign_in(client, email="admin@unece.example")
    token = csrf(client, "/admin/organisations")
    assert (
        client.post(
            "/admin/organisations", data={"code": "insee", "name": "INSEE", "country": "fr", "csrf_token": token}
        ).status_code
        == 302
    )
    response = client.post(
        "/admin/users",
        data={
            "email": "new@insee.example",
            "display_name": "New",
            "organisation": "INSEE",
            "role": "reviewer",
            "password": "a long enough password",
            "csrf_token": csrf(client, "/admin/users"),
        },
    )
    assert response.status_code == 302
    with app.app_context(), db.transaction() as session:
        user = session.scalars(select(User).where(User.email == "new@insee.example")).one()
        assert (user.role, user.organisation.code, user.organisation.country) == ("reviewer", "INSEE", "FR")
        user_id = user.id
        assert session.scalars(select(Organisation).where(Organisation.code == "INSEE")).one()
    response = client.post(
        f"/admin/users/{user_id}", data={"role": "submitter", "csrf_token": csrf(client, "/admin/users")}
    )
    assert response.status_code == 302
    with app.app_context(), db.transaction() as session:
        user = session.get(User, user_id)
        assert (user.role, user.active) == ("submitter", False)  # an unticked box switches the account off


def test_the_header_offers_what_the_role_may_do_and_says_what_happened(app, client):
    add_user(app, email="admin@unece.example", org="UNECE", role="admin")
    anonymous = client.get("/").get_data(as_text=True)
    assert 'href="/auth/sign-in"' in anonymous and 'href="/review/"' not in anonymous
    page = client.get(sign_in(client, email="admin@unece.example").headers["Location"]).get_data(as_text=True)
    assert "Signed in as admin." in page  # the flashed message
    for link in ('href="/review/"', 'href="/admin/users"', 'href="/auth/tokens"'):
        assert link in page
