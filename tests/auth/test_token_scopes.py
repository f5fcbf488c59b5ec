"""API token scopes, and tokens that never grant more, nor live longer, than the credential that made them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from catalogue.auth import accounts, actors
from catalogue.auth.models import ApiToken, User
from catalogue.db import db
from tests import test_permissions as permission_matrix
from tests.auth.test_sign_in import PASSWORD, add_user, csrf, sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(client, parent: str, **body) -> tuple[int, dict]:
    """POST /api/v1/tokens with parent's token; the status and the answer."""
    response = client.post("/api/v1/tokens", json={"name": "test", **body}, headers=bearer(parent))
    return response.status_code, response.json


def token_of(app, role: str = "submitter", email: str = "owner@istat.example", org: str = "ISTAT") -> str:
    """A user of role with a password and a token of every scope the role allows."""
    with app.app_context(), db.transaction() as session:
        _user, token = accounts.create_user(session, email, org, role, password=PASSWORD, token_days=30)
    assert token is not None
    return token


def test_a_read_only_token_cannot_submit_and_the_refusal_names_the_missing_scope(app, client, good_text):
    full = token_of(app)
    status, made = make_token(client, full, scopes=["read"])
    assert status == 201 and made["scopes"] == ["read"]
    response = client.post("/api/v1/services", data=good_text, headers=bearer(made["token"]))
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert "'submit'" in response.json["detail"]
    # The same user's token with the scope submits.
    assert client.post("/api/v1/services", data=good_text, headers=bearer(full)).status_code == 201
    # And the read-only token reads what its owner sees: the organisation's own draft.
    assert client.get("/api/v1/services/demo-linkage", headers=bearer(made["token"])).status_code == 200


def test_a_token_without_read_sees_only_what_anonymous_readers_see(app, client, good_text):
    full = token_of(app)
    assert client.post("/api/v1/services", data=good_text, headers=bearer(full)).status_code == 201
    status, made = make_token(client, full, scopes=["submit"])
    assert status == 201
    assert client.get("/api/v1/services/demo-linkage", headers=bearer(full)).status_code == 200
    assert client.get("/api/v1/services/demo-linkage", headers=bearer(made["token"])).status_code == 404


def test_a_reviewer_token_without_review_cannot_see_the_queue(app, client):
    full = token_of(app, "reviewer", "reviewer@destatis.example", "DESTATIS")
    assert client.get("/api/v1/reviews", headers=bearer(full)).status_code == 200
    status, made = make_token(client, full, scopes=["read"])
    assert status == 201
    response = client.get("/api/v1/reviews", headers=bearer(made["token"]))
    assert response.status_code == 403 and "'review'" in response.json["detail"]


def test_a_token_grants_no_scope_beyond_its_owners_role(app, client):
    full = token_of(app)
    assert make_token(client, full)[1]["scopes"] == ["read", "submit"]  # the default: all the role allows
    for scope in ("review", "admin"):
        status, answer = make_token(client, full, scopes=["read", scope])
        assert status == 403, answer
        assert f"'{scope}'" in answer["detail"]
    status, answer = make_token(client, full, scopes=["everything"])
    assert status == 422
    status, answer = make_token(client, full, scopes=[])
    assert status == 422


def test_a_token_made_by_a_token_grants_no_more_and_lives_no_longer_than_its_parent(app, client, good_text):
    full = token_of(app)
    status, parent = make_token(client, full, scopes=["read"], days=1)
    assert status == 201
    status, answer = make_token(client, parent["token"], scopes=["read", "submit"])
    assert status == 403 and "'submit'" in answer["detail"]
    status, child = make_token(client, parent["token"], days=730)
    assert status == 201
    assert child["scopes"] == ["read"] and child["parent_id"] == parent["id"]
    with app.app_context(), db.transaction() as session:
        rows = {row.id: row for row in session.scalars(select(ApiToken))}
        assert rows[child["id"]].expires_at <= rows[parent["id"]].expires_at
        assert rows[parent["id"]].expires_at - rows[child["id"]].created_at < timedelta(days=1, minutes=1)
    status, grandchild = make_token(client, child["token"])
    assert status == 201
    assert client.get("/api/v1/tokens", headers=bearer(grandchild["token"])).status_code == 200
    # Revoking the parent revokes what it made, and what that made.
    assert client.delete(f"/api/v1/tokens/{parent['id']}", headers=bearer(full)).status_code == 200
    for token in (parent, child, grandchild):
        assert client.get("/api/v1/tokens", headers=bearer(token["token"])).status_code == 401
    listed = {row["id"]: row for row in client.get("/api/v1/tokens", headers=bearer(full)).json}
    assert all(listed[token["id"]]["revoked_at"] is not None for token in (parent, child, grandchild))


def test_a_token_whose_parent_expired_is_refused(app, client):
    full = token_of(app)
    status, child = make_token(client, full)
    assert status == 201
    with app.app_context(), db.transaction() as session:
        parent = session.get(ApiToken, child["parent_id"])
        assert parent is not None
        parent.expires_at = parent.created_at  # the parent has run out; the child's own date is still ahead
    assert client.get("/api/v1/tokens", headers=bearer(child["token"])).status_code == 401


def test_a_password_change_revokes_every_token_and_the_page_says_so_before(app, client):
    token = token_of(app)
    assert client.get("/api/v1/tokens", headers=bearer(token)).status_code == 200
    sign_in(client)
    page = client.get("/auth/password").get_data(as_text=True)
    assert "every API token of yours is revoked" in page
    response = client.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "a brand new passphrase", "csrf_token": csrf(client, "/auth/password")},
    )
    assert response.status_code == 302
    assert client.get("/api/v1/tokens", headers=bearer(token)).status_code == 401


def test_a_role_change_revokes_the_tokens_the_new_role_does_not_allow(app, client):
    full = token_of(app)  # read and submit
    status, child = make_token(client, full, scopes=["read"])
    assert status == 201
    with app.app_context(), db.transaction() as session:
        user = session.scalars(select(User)).one()
        reader = accounts.create_token(session, actors.Actor(user=user), 30, "reader", ["read"])
        accounts.update_user(session, actors.SYSTEM, user.id, role="reviewer")
    assert client.get("/api/v1/tokens", headers=bearer(full)).status_code == 401  # a reviewer may not submit
    assert client.get("/api/v1/tokens", headers=bearer(child["token"])).status_code == 401  # revoked with its parent
    assert client.get("/api/v1/tokens", headers=bearer(reader)).status_code == 200  # reading is still allowed


def test_one_person_holds_at_most_twenty_active_tokens(app, client):
    full = token_of(app)  # the first of twenty
    for _ in range(accounts.MAX_ACTIVE_TOKENS - 1):
        assert make_token(client, full)[0] == 201
    status, answer = make_token(client, full)
    assert status == 409
    assert "20 active API tokens" in answer["detail"] and "revoke one" in answer["detail"]
    # Revoking one makes room again.
    listed = client.get("/api/v1/tokens", headers=bearer(full)).json
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(full)).status_code == 200
    assert make_token(client, full)[0] == 201


def test_the_tokens_page_creates_a_token_with_the_scopes_chosen(app, client):
    add_user(app)
    sign_in(client)
    page = client.get("/auth/tokens").get_data(as_text=True)
    assert "What it may do" in page and 'value="submit"' in page
    response = client.post(
        "/auth/tokens",
        data={"name": "reader", "days": "30", "scopes": ["read"], "csrf_token": csrf(client, "/auth/tokens")},
    )
    assert response.status_code == 201
    with app.app_context(), db.transaction() as session:
        assert session.scalars(select(ApiToken.scopes).where(ApiToken.name == "reader")).one() == "read"
    # A submitter's page cannot grant admin.
    response = client.post(
        "/auth/tokens",
        data={"name": "greedy", "days": "30", "scopes": ["admin"], "csrf_token": csrf(client, "/auth/tokens")},
    )
    assert response.status_code == 403


_WRITES = [
    case
    for case in permission_matrix.CASES
    if case.writes and not case.form and "/tokens" not in case.path and 200 <= case.expect["admin"] < 300
]


@pytest.mark.parametrize("case", _WRITES, ids=lambda case: case.name)
def test_every_write_of_the_api_needs_a_scope_beyond_read(app, client, case):
    """An admin may do each of these; the admin's read-only token may do none (a new route is checked too)."""
    world = permission_matrix._build(app)
    status, reader = make_token(client, world.tokens["admin"], scopes=["read"])
    assert status == 201
    headers = bearer(reader["token"])
    if isinstance(case.body, str):
        response = client.open(
            case.path, method=case.method, data=case.body, headers={**headers, "Content-Type": "application/yaml"}
        )
    else:
        response = client.open(case.path, method=case.method, json=case.body, headers=headers)
    assert response.status_code == 403, (case.name, response.json)
    assert "lacks the scope" in response.json["detail"]
