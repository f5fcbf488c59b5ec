"""Signing out, a password change and switching an account off end sessions: a copied cookie opens nothing."""

from __future__ import annotations

from catalogue.auth import accounts, actors
from catalogue.db import db
from tests.auth.test_sign_in import PASSWORD, _events, add_user, csrf, sign_in

COOKIE = "cspa_session"


def _copy_of_cookie(source, app):
    """Another browser holding a copy of source's session cookie, taken now."""
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None, "not signed in"
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def test_a_cookie_copied_before_sign_out_gets_no_access_after(app, client):
    add_user(app)
    assert sign_in(client).status_code == 302
    copy = _copy_of_cookie(client, app)
    assert copy.get("/auth/tokens").status_code == 200  # the copy works while the session lasts
    assert client.post("/auth/sign-out", data={"csrf_token": csrf(client, "/auth/tokens")}).status_code == 302
    assert client.get("/auth/tokens").status_code == 302
    assert copy.get("/auth/tokens").status_code == 302
    assert copy.get("/auth/password").status_code == 302
    assert _events(app, "user.signed_out")
    # Signing in again opens a new session; the old copy stays dead.
    assert sign_in(client).status_code == 302
    assert client.get("/auth/tokens").status_code == 200
    assert copy.get("/auth/tokens").status_code == 302


def test_a_password_change_ends_every_other_session_even_a_copied_cookie(app, client):
    add_user(app)
    sign_in(client)
    copy = _copy_of_cookie(client, app)
    response = client.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "a brand new passphrase", "csrf_token": csrf(client, "/auth/password")},
    )
    assert response.status_code == 302
    assert client.get("/auth/tokens").status_code == 200  # the session that changed it stays
    assert copy.get("/auth/tokens").status_code == 302


def test_switching_an_account_off_ends_its_sessions_and_switching_it_on_does_not_revive_them(app, client):
    user_id = add_user(app)
    sign_in(client)
    copy = _copy_of_cookie(client, app)
    with app.app_context(), db.transaction() as session:
        accounts.update_user(session, actors.SYSTEM, user_id, active=False)
    assert copy.get("/auth/tokens").status_code == 302
    with app.app_context(), db.transaction() as session:
        accounts.update_user(session, actors.SYSTEM, user_id, active=True)
    assert client.get("/auth/tokens").status_code == 302
    assert copy.get("/auth/tokens").status_code == 302
