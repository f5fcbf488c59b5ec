"""The one-query token check of answers from memory (accounts.token_reader) agrees with the full check
(accounts.authenticate_token) on what a token's holder may read, whatever state the token is in."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from catalogue.auth import accounts
from catalogue.auth.models import ApiToken, User
from catalogue.conditional import audience, token_audience
from catalogue.db import database_of, utcnow
from catalogue.exceptions import Unauthenticated
from catalogue.services.permissions import visibility


def _full(app, token: str) -> str | None:
    """The audience by the full check, as the app finds it (None: the app answers 401)."""
    with database_of(app).sessionmaker() as session:
        try:
            return audience(visibility(accounts.authenticate_token(session, token)))
        except Unauthenticated:
            return None


def _change(app, token: str, **values) -> None:
    """Set values on the token's row, or on its user's where the name is the user's."""
    with database_of(app).transaction() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.prefix == token[:12])).one()
        for name, value in values.items():
            setattr(row.user if hasattr(User, name) and not hasattr(ApiToken, name) else row, name, value)


def _tokens(app) -> dict[str, str]:
    with database_of(app).transaction() as session:
        _user, submitter = accounts.create_user(session, "sub@istat.example", "ISTAT", "submitter")
        _user, reviewer = accounts.create_user(session, "rev@cbs.example", "CBS", "reviewer")
        parent = accounts.authenticate_token(session, str(submitter))
        child = accounts.create_token(session, parent, days=30, scopes=["read"])
        _user, reader = accounts.create_user(session, "read@insee.example", "INSEE", "submitter")
        unread = accounts.create_token(session, accounts.authenticate_token(session, str(reader)), scopes=["submit"])
    return {
        "submitter": str(submitter),
        "reviewer": str(reviewer),
        "child": child,
        "no read scope": unread,
    }


@pytest.mark.parametrize(
    "case",
    ["valid", "revoked", "expired", "user switched off", "parent revoked", "parent expired", "unknown"],
)
def test_the_fast_check_agrees_with_the_full_one(app, case):
    tokens = _tokens(app)
    audience_of = token_audience(app)
    if case == "revoked":
        _change(app, tokens["submitter"], revoked_at=utcnow())
    elif case == "expired":
        _change(app, tokens["reviewer"], expires_at=utcnow() - timedelta(seconds=1))
    elif case == "user switched off":
        _change(app, tokens["reviewer"], active=False)
    elif case == "parent revoked":
        _change(app, tokens["submitter"], revoked_at=utcnow())
    elif case == "parent expired":
        _change(app, tokens["submitter"], expires_at=utcnow() - timedelta(seconds=1))
    elif case == "unknown":
        tokens["forged"] = "cspa_" + "x" * 43
    found = {name: audience_of(f"Bearer {token}") for name, token in tokens.items()}
    assert found == {name: _full(app, token) for name, token in tokens.items()}
    if case == "valid":
        # Each kind of reader has its own audience: the organisation's, everything, the public.
        assert found["submitter"].startswith("org:") and found["child"] == found["submitter"]
        assert found["reviewer"] != found["submitter"] and found["no read scope"] != found["submitter"]
    else:
        assert None in found.values()


def test_a_malformed_header_has_no_audience(app):
    audience_of = token_audience(app)
    assert audience_of("Basic abc") is None
    assert audience_of("Bearer   ") is None


def _remembers(app) -> bool:
    """Whether the database can tell a thread that nothing was committed (a SQLite file: CatalogueClock.stamp)."""
    return database_of(app).engine.url.get_backend_name() == "sqlite"


def test_a_valid_token_is_looked_up_once_while_nothing_changes(app):
    tokens = _tokens(app)
    audience_of = token_audience(app)
    first = {name: audience_of(f"Bearer {token}") for name, token in tokens.items()}
    asked = audience_of.queries
    for _ in range(3):
        assert {name: audience_of(f"Bearer {token}") for name, token in tokens.items()} == first
    assert audience_of.queries == (asked if _remembers(app) else asked * 4)
    # An unknown token is asked about every time: nothing about it is kept.
    for _ in range(2):
        assert audience_of("Bearer cspa_" + "y" * 43) is None
    assert audience_of.queries == (asked if _remembers(app) else asked * 4) + 2


@pytest.mark.parametrize(
    "case", ["revoked", "expired", "user switched off", "role changed", "parent revoked", "revoked by the app"]
)
def test_a_remembered_token_is_checked_again_after_any_change(app, case):
    tokens = _tokens(app)
    audience_of = token_audience(app)
    before = {name: audience_of(f"Bearer {token}") for name, token in tokens.items()}
    if case == "revoked":
        _change(app, tokens["reviewer"], revoked_at=utcnow())
    elif case == "expired":
        _change(app, tokens["reviewer"], expires_at=utcnow() - timedelta(seconds=1))
    elif case == "user switched off":
        _change(app, tokens["reviewer"], active=False)
    elif case == "role changed":
        _change(app, tokens["reviewer"], role="submitter")
    elif case == "parent revoked":
        _change(app, tokens["submitter"], revoked_at=utcnow())
    else:  # the use-case a holder calls: the token and the ones it made
        with database_of(app).transaction() as session:
            holder = accounts.authenticate_token(session, tokens["submitter"])
            accounts.revoke_token(session, holder, holder.token_id)
    after = {name: audience_of(f"Bearer {token}") for name, token in tokens.items()}
    assert after == {name: _full(app, token) for name, token in tokens.items()}
    assert after != before


def test_a_remembered_token_stops_at_its_expiry_without_any_change(app):
    tokens = _tokens(app)
    _change(app, tokens["child"], expires_at=utcnow() + timedelta(seconds=1))
    audience_of = token_audience(app)
    assert audience_of(f"Bearer {tokens['child']}") is not None
    time.sleep(1.2)
    assert audience_of(f"Bearer {tokens['child']}") is None
    assert _full(app, tokens["child"]) is None


def test_a_token_is_valid_until_the_earliest_expiry_above_it(app):
    tokens = _tokens(app)
    soon = utcnow() + timedelta(minutes=5)
    _change(app, tokens["submitter"], expires_at=soon)
    with database_of(app).engine.connect() as connection:
        child = accounts.token_reader(connection, tokens["child"])
        parent = accounts.token_reader(connection, tokens["submitter"])
        later = accounts.token_reader(connection, tokens["reviewer"])
    assert child is not None and parent is not None and later is not None
    assert child.until == parent.until and abs(parent.until - soon) < timedelta(seconds=1)
    assert later.until is not None and later.until > soon + timedelta(days=1)  # its own expiry, far off


def test_the_full_check_of_a_token_is_one_statement(app):
    tokens = _tokens(app)
    engine = database_of(app).engine
    statements: list[str] = []
    here = threading.get_ident()

    def count(_connection, _cursor, statement, *_args) -> None:
        # Only this thread's: the index catches up with the events of the tokens' writes in a thread of its own.
        if threading.get_ident() == here:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with database_of(app).sessionmaker() as session:
            actor = accounts.authenticate_token(session, tokens["reviewer"])
            assert actor.user is not None and actor.user.role == "reviewer" and actor.user.active
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
