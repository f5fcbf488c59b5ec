"""The permission matrix: every endpoint and form × every kind of person, with the exact status, and
proof that a refused write changed nothing.

The world of each case: ISTAT owns `demo-linkage`, with 1.0.0 approved (public) and 1.1.0 submitted by an
ISTAT submitter and awaiting review; `demo-draft` is an ISTAT draft. People: anonymous, a submitter of ISTAT
(owner), a submitter of CBS (other), a reviewer of CBS (reviewer), a reviewer of ISTAT (own_reviewer) and an
admin of UNECE. API calls carry Bearer tokens; form posts carry a signed-in session and its CSRF token.
A test at the end fails when a route exists that the matrix does not cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from catalogue.auth import accounts, actors
from catalogue.auth.models import ApiToken, Organisation, User
from catalogue.db import db
from catalogue.events import Event
from catalogue.services import descriptors, workflow
from catalogue.services.models import Review, Service, ServiceVersion
from tests.conftest import app_from_snapshot

DATA = Path(__file__).parent / "data"
PEOPLE = ("anonymous", "owner", "other", "reviewer", "own_reviewer", "admin")
ACCOUNTS = {
    "owner": ("owner@istat.example", "ISTAT", "submitter"),
    "other": ("other@cbs.example", "CBS", "submitter"),
    "reviewer": ("reviewer@cbs.example", "CBS", "reviewer"),
    "own_reviewer": ("reviewer@istat.example", "ISTAT", "reviewer"),
    "admin": ("admin@unece.example", "UNECE", "admin"),
}
PASSWORD = "permission matrix password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@cache
def _password_hash() -> str:
    return generate_password_hash(PASSWORD)


def _descriptor(slug: str = "demo-linkage", version: str = "1.0.0", owner: str = "ISTAT") -> str:
    doc = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    doc.update(id=slug, version=version)
    doc["implementation"]["owner"] = owner
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass
class World:
    """Ids and tokens of the people and records every case starts from."""

    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)


def _build(app) -> World:
    world = World()
    with app.app_context(), db.transaction() as session:
        for who, (email, org, role) in ACCOUNTS.items():
            user, token = accounts.create_user(session, email, org, role, token_days=30)
            user.password_hash = _password_hash()  # one scrypt hash for every world: hashing is slow by design
            world.users[who] = user.id
            world.tokens[who] = token
            world.token_ids[who] = session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id)).one()
        owner = actors.Actor(user=session.get(User, world.users["owner"]))
        first = descriptors.parse(_descriptor(), "yaml")
        workflow.submit_version(session, actors.SYSTEM, first, "yaml", "approved")
        workflow.submit_version(
            session, owner, descriptors.parse(_descriptor(version="1.1.0"), "yaml"), "yaml", "submitted"
        )
        workflow.submit_version(session, owner, descriptors.parse(_descriptor("demo-draft"), "yaml"), "yaml", "draft")
    return world


def _snapshot(app) -> tuple[Any, ...]:
    """Everything a write could change, except the audit trail's record of refusals."""
    with app.app_context(), db.transaction() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Organisation, Service, ServiceVersion, Review, User, ApiToken)
        )
        statuses = tuple(
            session.execute(
                select(ServiceVersion.id, ServiceVersion.status, ServiceVersion.content_hash).order_by(
                    ServiceVersion.id
                )
            ).all()
        )
        users = tuple(
            session.execute(
                select(User.id, User.role, User.active, User.password_hash, User.session_version).order_by(User.id)
            ).all()
        )
        tokens = tuple(session.execute(select(ApiToken.id, ApiToken.revoked_at).order_by(ApiToken.id)).all())
        services = tuple(
            session.execute(
                select(Service.id, Service.status, Service.public_version_id, Service.latest_version_id).order_by(
                    Service.id
                )
            ).all()
        )
        events = session.scalar(select(func.count()).select_from(Event).where(Event.kind != "permission.denied"))
    return counts, statuses, users, tokens, services, events


def _refusals(app) -> int:
    with app.app_context(), db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.kind == "permission.denied")) or 0


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One endpoint or form: how to call it, and the status each person gets."""

    name: str
    method: str
    path: str
    expect: dict[str, int]
    form: bool = False  # an HTML form: session + CSRF token instead of a Bearer token
    body: Any = None
    writes: bool = True


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(PEOPLE, status)


def _by(anonymous, owner, other, reviewer, own_reviewer, admin) -> dict[str, int]:
    return dict(zip(PEOPLE, (anonymous, owner, other, reviewer, own_reviewer, admin), strict=True))


V = "/api/v1/services/demo-linkage/versions"
CASES = [
    # reading the API
    Case("list services", "GET", "/api/v1/services", _all(200), writes=False),
    Case("read a public service", "GET", "/api/v1/services/demo-linkage", _all(200), writes=False),
    Case("read a draft service", "GET", "/api/v1/services/demo-draft", _by(404, 200, 404, 200, 200, 200), writes=False),
    Case("list versions", "GET", V, _all(200), writes=False),
    Case("read the public version", "GET", f"{V}/1.0.0", _all(200), writes=False),
    Case("read a version in review", "GET", f"{V}/1.1.0", _by(404, 200, 404, 200, 200, 200), writes=False),
    Case("reviews of a version", "GET", f"{V}/1.1.0/reviews", _by(404, 200, 404, 200, 200, 200), writes=False),
    Case("diff of a version", "GET", f"{V}/1.1.0/diff", _by(404, 200, 404, 200, 200, 200), writes=False),
    Case(
        "conversation of a version", "GET", f"{V}/1.1.0/conversation", _by(404, 200, 404, 200, 200, 200), writes=False
    ),
    Case("organisation page", "GET", "/organisations/ISTAT", _all(200), writes=False),
    Case("history", "GET", "/api/v1/services/demo-linkage/history", _all(200), writes=False),
    Case("review queue", "GET", "/api/v1/reviews", _by(401, 403, 403, 200, 200, 200), writes=False),
    Case("search", "GET", "/api/v1/search?q=linkage", _all(200), writes=False),
    # Layers: a Definition or Specification is public once a public version implements it.
    Case("list definitions", "GET", "/api/v1/definitions", _all(200), writes=False),
    Case("read a public definition", "GET", "/api/v1/definitions/ISTAT/demo-linkage", _all(200), writes=False),
    Case(
        "read a draft's definition",
        "GET",
        "/api/v1/definitions/ISTAT/demo-draft",
        _by(404, 200, 404, 200, 200, 200),
        writes=False,
    ),
    Case("list specifications", "GET", "/api/v1/specifications", _all(200), writes=False),
    Case("read a public specification", "GET", "/api/v1/specifications/ISTAT/demo-linkage", _all(200), writes=False),
    Case(
        "read a draft's specification",
        "GET",
        "/api/v1/specifications/ISTAT/demo-draft",
        _by(404, 200, 404, 200, 200, 200),
        writes=False,
    ),
    Case(
        "a draft's definition page",
        "GET",
        "/definitions/ISTAT/demo-draft",
        _by(404, 200, 404, 200, 200, 200),
        form=True,
        writes=False,
    ),
    Case("suggest", "GET", "/api/v1/search/suggest?q=lin", _all(200), writes=False),
    Case("validate", "POST", "/api/v1/validate", _all(200), body=_descriptor(), writes=False),
    Case("list own tokens", "GET", "/api/v1/tokens", _by(401, 200, 200, 200, 200, 200), writes=False),
    # writing through the API
    Case(
        "submit a new ISTAT service",
        "POST",
        "/api/v1/services",
        _by(401, 201, 403, 403, 403, 201),
        body=_descriptor("demo-new"),
    ),
    Case(
        "stack a version on one in review",
        "POST",
        "/api/v1/services",
        _by(401, 409, 403, 403, 403, 409),
        body=_descriptor(version="1.2.0"),
    ),
    Case(
        "start a review", "POST", f"{V}/1.1.0/transitions", _by(401, 403, 404, 200, 403, 200), body={"to": "in_review"}
    ),
    Case(
        "approve without review",
        "POST",
        f"{V}/1.1.0/reviews",
        _by(401, 403, 404, 409, 403, 409),
        body={"decision": "approved"},
    ),
    Case(
        "submit a draft",
        "POST",
        "/api/v1/services/demo-draft/versions/1.0.0/transitions",
        _by(401, 200, 404, 403, 403, 200),
        body={"to": "submitted"},
    ),
    Case(
        "deprecate the public version",
        "POST",
        f"{V}/1.0.0/transitions",
        _by(401, 200, 403, 403, 403, 200),
        body={"to": "deprecated"},
    ),
    Case("create a token", "POST", "/api/v1/tokens", _by(401, 201, 201, 201, 201, 201), body={"days": 5}),
    # The owner's submitters reply, reviewers who may review it comment; the owner's own reviewers may not.
    Case(
        "comment on a version",
        "POST",
        f"{V}/1.1.0/comments",
        _by(401, 201, 404, 201, 403, 201),
        body={"body": "A note on this version."},
    ),
    Case("revoke the owner's token", "DELETE", "/api/v1/tokens/{owner_token}", _by(401, 200, 404, 404, 404, 200)),
    # pages that only some may read
    Case("review queue page", "GET", "/review/", _by(302, 403, 403, 200, 200, 200), form=True, writes=False),
    Case(
        "review page", "GET", "/review/demo-linkage/1.1.0", _by(302, 200, 404, 200, 200, 200), form=True, writes=False
    ),
    Case("users page", "GET", "/admin/users", _by(302, 403, 403, 403, 403, 200), form=True, writes=False),
    Case(
        "organisations page", "GET", "/admin/organisations", _by(302, 403, 403, 403, 403, 200), form=True, writes=False
    ),
    Case("tokens page", "GET", "/auth/tokens", _by(302, 200, 200, 200, 200, 200), form=True, writes=False),
    Case("my work page", "GET", "/my-work", _by(302, 200, 200, 200, 200, 200), form=True, writes=False),
    Case("password page", "GET", "/auth/password", _by(302, 200, 200, 200, 200, 200), form=True, writes=False),
    Case(
        "notifications page",
        "GET",
        "/account/notifications",
        _by(302, 200, 200, 200, 200, 200),
        form=True,
        writes=False,
    ),
    Case("invitations page", "GET", "/admin/invitations", _by(302, 403, 403, 403, 403, 200), form=True, writes=False),
    # forms
    Case("start-review form", "POST", "/review/demo-linkage/1.1.0/start", _by(302, 403, 404, 302, 403, 302), form=True),
    Case(
        "decision form",
        "POST",
        "/review/demo-linkage/1.1.0/decide",
        _by(302, 403, 404, 409, 403, 409),
        form=True,
        body={"decision": "approved"},
    ),
    Case(
        "reply form",
        "POST",
        "/services/demo-linkage/versions/1.1.0/comments",
        _by(302, 303, 404, 303, 403, 303),
        form=True,
        body={"body": "A reply to the review."},
    ),
    Case(
        "submit form",
        "POST",
        "/submit",
        _by(302, 303, 403, 403, 403, 303),
        form=True,
        body={"descriptor": _descriptor("demo-form"), "action": "submit"},
    ),
    Case(
        "start-from-a-form form",
        "POST",
        "/submit/start",
        _by(302, 200, 200, 200, 200, 200),
        form=True,
        body={"id": "from-form", "name": "From a form"},
        writes=False,
    ),
    Case(
        "create-token form",
        "POST",
        "/auth/tokens",
        _by(302, 201, 201, 201, 201, 201),
        form=True,
        body={"name": "x", "days": "5", "scopes": "read"},
    ),
    Case(
        "revoke-token form", "POST", "/auth/tokens/{owner_token}/revoke", _by(302, 302, 404, 404, 404, 302), form=True
    ),
    Case(
        "password form",
        "POST",
        "/auth/password",
        _by(302, 302, 302, 302, 302, 302),
        form=True,
        body={"current": PASSWORD, "new": "a brand new long password"},
    ),
    # An unknown link is refused to everyone alike; a real one is the holder's permission.
    Case(
        "password-link form",
        "POST",
        "/auth/account/not-a-token",
        _by(404, 404, 404, 404, 404, 404),
        form=True,
        body={"new": "a long enough password", "again": "a long enough password"},
    ),
    Case(
        "notifications form",
        "POST",
        "/account/notifications",
        _by(302, 302, 302, 302, 302, 302),
        form=True,
        body={"kinds": "decision"},
    ),
    Case(
        "invitation form",
        "POST",
        "/admin/invitations",
        _by(302, 403, 403, 403, 403, 302),
        form=True,
        body={"email": "invited@istat.example", "organisation": "ISTAT", "role": "submitter"},
    ),
    Case(
        "add-user form",
        "POST",
        "/admin/users",
        _by(302, 403, 403, 403, 403, 302),
        form=True,
        body={
            "email": "n@istat.example",
            "organisation": "ISTAT",
            "role": "submitter",
            "password": "long enough password",
        },
    ),
    Case(
        "update-user form",
        "POST",
        "/admin/users/{owner_user}",
        _by(302, 403, 403, 403, 403, 302),
        form=True,
        body={"role": "reviewer", "active": "y"},
    ),
    Case(
        "add-organisation form",
        "POST",
        "/admin/organisations",
        _by(302, 403, 403, 403, 403, 302),
        form=True,
        body={"code": "INSEE", "name": "INSEE"},
    ),
    Case(
        "sign-in form",
        "POST",
        "/auth/sign-in",
        _all(401),
        form=True,
        # An account of its own for each person: one account's failures are limited (tests/auth/test_sign_in_limits.py).
        body={"email": "{who}@y.example", "password": "wrong"},
        writes=False,
    ),
    # Signing out ends every session of the person (a write); without a session it changes nothing.
    Case("sign-out form", "POST", "/auth/sign-out", _all(302), form=True),
]


def _signed_in_client(app, world: World, who: str):
    client = app.test_client()
    if who != "anonymous":
        with app.app_context(), db.transaction() as session:
            user = session.get(User, world.users[who])
            session_id = user.get_id()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = session_id
            flask_session["_fresh"] = True
    return client


def _call(app, world: World, case: Case, who: str):
    path = case.path.format(owner_token=world.token_ids["owner"], owner_user=world.users["owner"])
    if case.form:
        client = _signed_in_client(app, world, who)
        page = client.get("/auth/sign-in")
        token = _CSRF.search(page.get_data(as_text=True)).group(1)
        if case.method == "GET":
            return client.get(path)
        body = {name: value.format(who=who) for name, value in (case.body or {}).items()}
        return client.open(path, method=case.method, data={**body, "csrf_token": token})
    client = app.test_client()
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {world.tokens[who]}"}
    if isinstance(case.body, str):
        return client.open(
            path, method=case.method, data=case.body, headers={**headers, "Content-Type": "application/yaml"}
        )
    return client.open(path, method=case.method, json=case.body, headers=headers)


def _check(app, world: World, case: Case, who: str) -> None:
    before, refusals = _snapshot(app), _refusals(app)
    response = _call(app, world, case, who)
    expected = case.expect[who]
    assert response.status_code == expected, (who, response.status_code, response.get_data(as_text=True)[:400])
    signed_out = who == "anonymous" and expected == 302
    if signed_out and case.name != "sign-out form":
        assert "/auth/sign-in" in response.headers["Location"]
    if expected >= 400 or signed_out or not case.writes:
        assert _snapshot(app) == before, f"{case.name} by {who} changed something"
    else:
        assert _snapshot(app) != before, f"{case.name} by {who} was allowed but changed nothing"
    if expected == 403:
        assert _refusals(app) == refusals + 1, f"the refusal of {case.name} to {who} is not on the audit trail"


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[Flask, World]]:
    """An app on the world of the cases, and that world: built once per test process, then copied (building it
    in each of the 170 tests took about half of their time)."""
    with app_from_snapshot(tmp_path, "permission-world", _build) as (app, world):
        yield app, world


@pytest.mark.parametrize("case", [c for c in CASES if not c.writes], ids=lambda case: case.name)
def test_reads(built, case):
    app, world = built
    for who in PEOPLE:
        _check(app, world, case, who)


# Each person meets a write on a world of their own, so an allowed write cannot change what the next one meets.
@pytest.mark.parametrize(
    ("case", "who"),
    [(c, who) for c in CASES if c.writes for who in PEOPLE],
    ids=lambda value: value.name if isinstance(value, Case) else value,
)
def test_writes(built, case, who):
    app, world = built
    _check(app, world, case, who)


# Routes that are not about permissions: static files, schemas, documents anyone may read.
_PUBLIC_READS = re.compile(
    r"^/(static|schemas|document|feeds|search|services|definitions|specifications|api/openapi|api/v1/export"
    r"|problems|healthz|readyz|favicon)"
    r"|^/$|^/api/$|^/auth/sign-in$|^/submit$|^/submit/start$|^/submit/template.yaml$"
    # Anyone may ask for a password link or open one: the link is the permission (tests/auth/test_account_links.py).
    r"|^/auth/forgot-password$|^/auth/account/<token>$"
)


_ANYONE_POSTS = re.compile(r"^/auth/forgot-password$")
"""Forms anyone may send, with the same answer for everyone; limited per address asked for, so a matrix of six
people asking for one address meets the limit (tests/auth/test_account_links.py checks the answers)."""


def test_the_matrix_covers_every_route(app):
    covered = {(case.method, re.sub(r"/[^/]*\{[^}]+\}[^/]*", "/<>", case.path.split("?")[0])) for case in CASES}
    missing = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "<>", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET" and _PUBLIC_READS.match(rule.rule):
                continue
            if method == "POST" and _ANYONE_POSTS.match(rule.rule):
                continue
            concrete = {
                (m, re.sub(r"/(demo-linkage|demo-draft|1\.[01]\.0|demo-new|ISTAT|not-a-token)(?=/|$)", "/<>", p))
                for m, p in covered
            }
            if (method, path) not in concrete:
                missing.append(f"{method} {rule.rule}")
    assert not missing, "routes without a row in the permission matrix: " + ", ".join(missing)
