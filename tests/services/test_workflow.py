"""The status model: every legal and illegal transition, who may make each, and crashes mid-way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, func, select

from catalogue import exceptions
from catalogue.auth import accounts
from catalogue.auth.actors import Actor
from catalogue.db import database_of, db
from catalogue.events import Event
from catalogue.exceptions import Conflict, InvalidRequest
from catalogue.services import descriptors, workflow
from catalogue.services.models import STATUSES, Review, Service, ServiceVersion

DATA = Path(__file__).parent.parent / "data"
SLUG = "demo-linkage"


def _text(version: str = "1.0.0") -> str:
    doc = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    doc["version"] = version
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
def people(app):
    """One person of each kind the rules tell apart, as registry actors (ids only: sessions are per call)."""
    specs = {
        "owner": ("owner@istat.example", "ISTAT", "submitter"),
        "colleague": ("colleague@istat.example", "ISTAT", "submitter"),
        "other": ("other@cbs.example", "CBS", "submitter"),
        "reviewer": ("reviewer@cbs.example", "CBS", "reviewer"),
        "own_reviewer": ("reviewer@istat.example", "ISTAT", "reviewer"),
        "admin": ("admin@unece.example", "UNECE", "admin"),
    }
    ids = {}
    with app.app_context(), db.transaction() as session:
        for key, (email, org, role) in specs.items():
            user, _ = accounts.create_user(session, email, org, role, token_days=None)
            ids[key] = user.id
    return ids


def _actor(session, people, who: str) -> Actor:
    from catalogue.auth.models import User

    return Actor(user=session.get(User, people[who]))


def _submit(app, people, who="owner", version="1.0.0", status="submitted"):
    with app.app_context(), db.transaction() as session:
        descriptor = descriptors.parse(_text(version), "yaml")
        workflow.submit_version(session, _actor(session, people, who), descriptor, "yaml", status)


def _move(app, people, who, to, version="1.0.0", comment="because"):
    with app.app_context(), db.transaction() as session:
        return workflow.transition(session, _actor(session, people, who), SLUG, version, to, comment).status


def _status(app, version="1.0.0") -> str:
    with app.app_context(), db.transaction() as session:
        row = session.scalar(select(ServiceVersion).where(ServiceVersion.version == version))
        return row.status


# The actor who makes each move: owners move their own versions, a reviewer of another organisation decides.
MOVER = {
    "draft": "owner",
    "submitted": "owner",
    "in_review": "reviewer",
    "approved": "reviewer",
    "changes_requested": "reviewer",
    "rejected": "reviewer",
    "deprecated": "owner",
    "retired": "owner",
}
# A legal path from a fresh draft to each status.
PATH = {
    "draft": [],
    "submitted": ["submitted"],
    "in_review": ["submitted", "in_review"],
    "approved": ["submitted", "in_review", "approved"],
    "changes_requested": ["submitted", "in_review", "changes_requested"],
    "rejected": ["submitted", "in_review", "rejected"],
    "deprecated": ["submitted", "in_review", "approved", "deprecated"],
    "retired": ["submitted", "in_review", "approved", "deprecated", "retired"],
}


def _reach(app, people, status: str) -> None:
    _submit(app, people, status="draft")
    for step in PATH[status]:
        _move(app, people, MOVER[step], step)
    assert _status(app) == status


def test_the_machine_is_complete():
    assert set(workflow.TRANSITIONS) == set(STATUSES) == set(PATH)
    for source, targets in workflow.TRANSITIONS.items():
        assert set(targets) <= set(STATUSES), source


@pytest.mark.parametrize(("source", "target"), [(s, t) for s in STATUSES for t in STATUSES])
def test_every_transition(app, people, source, target):
    _reach(app, people, source)
    events_before = _count(app, Event)
    if target in workflow.TRANSITIONS[source]:
        assert _move(app, people, MOVER[target], target) == target
        assert _status(app) == target
        with app.app_context(), db.transaction() as session:
            last = session.scalars(select(Event).order_by(Event.id.desc())).first()
            assert (last.kind, last.data["from"], last.data["to"]) == (f"version.{target}", source, target)
            assert last.actor_id == people[MOVER[target]]
    else:
        with pytest.raises(Conflict) as refused:
            _move(app, people, MOVER[target], target)
        assert refused.value.status == 409
        assert refused.value.extra["allowed"] == list(workflow.TRANSITIONS[source])
        assert _status(app) == source
        assert _count(app, Event) == events_before


def _count(app, model) -> int:
    with app.app_context(), db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_decision_other_than_approval_needs_a_comment(app, people):
    _reach(app, people, "in_review")
    for decision in ("changes_requested", "rejected"):
        with pytest.raises(InvalidRequest) as refused:
            _move(app, people, "reviewer", decision, comment="   ")
        assert refused.value.problems[0].pointer == "/comment"
    assert _status(app) == "in_review"
    assert _move(app, people, "reviewer", "approved", comment="") == "approved"
    assert _count(app, Review) == 1


def test_changes_requested_is_answered_by_a_new_version(app, people):
    _reach(app, people, "changes_requested")
    _submit(app, people, version="1.0.1")
    assert (_status(app, "1.0.0"), _status(app, "1.0.1")) == ("changes_requested", "submitted")
    with app.app_context(), db.transaction() as session:
        service = session.scalar(select(Service))
        assert service.status == "submitted" and service.latest_version.version == "1.0.1"
        assert service.public_version is None


def test_a_new_version_of_an_approved_service_is_reviewed_while_the_old_one_stays_public(app, people, client):
    _reach(app, people, "approved")
    _submit(app, people, version="1.1.0")
    assert client.get(f"/api/v1/services/{SLUG}").json["version"] == "1.0.0"
    _move(app, people, "reviewer", "in_review", "1.1.0")
    assert client.get(f"/api/v1/services/{SLUG}").json["version"] == "1.0.0"
    _move(app, people, "reviewer", "approved", "1.1.0")
    shown = client.get(f"/api/v1/services/{SLUG}").json
    assert (shown["version"], shown["status"]) == ("1.1.0", "approved")


def test_retiring_the_public_version_falls_back_to_an_earlier_approved_one(app, people, client):
    _reach(app, people, "approved")
    _submit(app, people, version="2.0.0")
    for step in ("in_review", "approved"):
        _move(app, people, MOVER[step], step, "2.0.0")
    for step in ("deprecated", "retired"):
        _move(app, people, "owner", step, "2.0.0")
    assert client.get(f"/api/v1/services/{SLUG}").json["version"] == "1.0.0"
    for step in ("deprecated", "retired"):
        _move(app, people, "owner", step, "1.0.0")
    assert client.get(f"/api/v1/services/{SLUG}").status_code == 404  # nothing public is left


def test_nothing_is_stacked_on_a_version_awaiting_review(app, people):
    _submit(app, people)
    with pytest.raises(Conflict) as refused:
        _submit(app, people, version="1.0.1")
    assert refused.value.extra["allowed"] == ["in_review"]


def test_a_draft_is_edited_in_place_until_submitted(app, people):
    _submit(app, people, status="draft")
    _submit(app, people, version="1.0.2", status="draft")  # a new number: still the same draft
    with app.app_context(), db.transaction() as session:
        versions = session.scalars(select(ServiceVersion)).all()
        assert [(v.version, v.status) for v in versions] == [("1.0.2", "draft")]
        kinds = session.scalars(select(Event.kind).where(Event.service_id.is_not(None)).order_by(Event.id)).all()
        assert kinds == ["version.created", "version.edited"]
    _submit(app, people, version="1.0.2", status="submitted")
    assert _status(app, "1.0.2") == "submitted"


# A version under review is hidden from other organisations' submitters: for them it does not exist.
@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("owner", exceptions.PermissionDenied),
        ("colleague", exceptions.PermissionDenied),
        ("other", exceptions.NotFound),
        ("own_reviewer", exceptions.PermissionDenied),
        ("reviewer", None),
        ("admin", None),
    ],
)
def test_who_may_decide(app, people, who, outcome):
    _reach(app, people, "in_review")
    if outcome is None:
        assert _move(app, people, who, "approved") == "approved"
    else:
        with pytest.raises(outcome):
            _move(app, people, who, "approved")
        assert _status(app) == "in_review"


def test_nobody_reviews_their_own_submission_not_even_an_admin(app, people):
    _submit(app, people, who="admin")
    with pytest.raises(exceptions.PermissionDenied, match="they submitted"):
        _move(app, people, "admin", "in_review")
    assert _move(app, people, "reviewer", "in_review") == "in_review"
    with pytest.raises(exceptions.PermissionDenied, match="they submitted"):
        _move(app, people, "admin", "approved")


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("owner", True),
        ("colleague", True),
        ("other", False),
        ("reviewer", False),
        ("own_reviewer", False),
        ("admin", True),
    ],
)
def test_who_may_deprecate(app, people, who, allowed):
    _reach(app, people, "approved")
    if allowed:
        assert _move(app, people, who, "deprecated") == "deprecated"
    else:
        with pytest.raises(exceptions.PermissionDenied):
            _move(app, people, who, "deprecated")


def _explode_on_event(session, _context, _instances):
    if any(isinstance(item, Event) for item in session.new):
        raise RuntimeError("the machine lost power while writing the audit trail")


@pytest.mark.parametrize("target", ["in_review", "approved"])
def test_a_crash_between_steps_leaves_the_previous_state(app, people, target, client):
    _reach(app, people, "in_review" if target == "approved" else "submitted")
    source = _status(app)
    before = (_count(app, Event), _count(app, Review))
    # The status is changed and flushed first; the crash comes when the Event is written, the last step.
    event.listen(database_of(app).sessionmaker, "before_flush", _explode_on_event)
    try:
        with pytest.raises(RuntimeError, match="lost power"):
            _move(app, people, MOVER[target], target)
    finally:
        event.remove(database_of(app).sessionmaker, "before_flush", _explode_on_event)
    assert _status(app) == source
    assert (_count(app, Event), _count(app, Review)) == before
    assert client.get(f"/api/v1/services/{SLUG}").status_code == 404  # still not public
    assert _move(app, people, MOVER[target], target) == target  # and the move works afterwards


def test_a_crash_after_the_last_step_but_before_commit_is_rolled_back(app, people):
    _reach(app, people, "in_review")
    with pytest.raises(RuntimeError), app.app_context(), db.transaction() as session:
        workflow.transition(session, _actor(session, people, "reviewer"), SLUG, "1.0.0", "approved")
        raise RuntimeError("the request died before it could commit")
    assert _status(app) == "in_review"
    assert _count(app, Review) == 0
