"""What readers see of a service with an unpublished version, who owns an id, and idempotence after approval.

Each test drives the real API on a real database (SQLite, or PostgreSQL with CATALOGUE_DATABASE_URL).
"""

from __future__ import annotations

import os
import re
import threading

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue.auth.models import Organisation
from catalogue.cli import main
from catalogue.db import database_of
from catalogue.exceptions import Conflict
from catalogue.services import workflow
from catalogue.services.models import Service

YAML = {"Content-Type": "application/yaml"}
SECRET_NAME = "Unpublished linkage rewrite"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **YAML}


def _with(text: str, **changes: object) -> str:
    doc = yaml.safe_load(text)
    for key, value in changes.items():
        if key == "name":
            doc["definition"]["name"] = value
        else:
            doc[key] = value
    return yaml.safe_dump(doc)


def _approve(client: FlaskClient, reviewer: str, slug: str, version: str) -> None:
    base = f"/api/v1/services/{slug}/versions/{version}"
    headers = {"Authorization": f"Bearer {reviewer}"}
    assert client.post(f"{base}/transitions", json={"to": "in_review"}, headers=headers).status_code == 200
    answer = client.post(f"{base}/reviews", json={"decision": "approved", "comment": "", "items": []}, headers=headers)
    assert answer.status_code == 201, answer.json


@pytest.fixture
def approved_with_draft(client, make_user, good_text) -> tuple[str, str]:
    """demo-linkage approved at 1.0.0, with 2.0.0 submitted (awaiting review): tokens of submitter, reviewer."""
    submitter = make_user()
    reviewer = make_user("reviewer@cbs.example", "CBS", "reviewer")
    assert client.post("/api/v1/services", data=good_text, headers=_auth(submitter)).status_code == 201
    _approve(client, reviewer, "demo-linkage", "1.0.0")
    newer = _with(good_text, version="2.0.0", name=SECRET_NAME)
    assert client.post("/api/v1/services", data=newer, headers=_auth(submitter)).status_code == 201
    return submitter, reviewer


def test_an_anonymous_reader_sees_as_latest_only_a_published_version(client, approved_with_draft):
    shown = client.get("/api/v1/services/demo-linkage").json
    assert (shown["version"], shown["latest_version"], shown["status"]) == ("1.0.0", "1.0.0", "approved")
    # Its organisation's members see the version awaiting review.
    submitter, _reviewer = approved_with_draft
    own = client.get("/api/v1/services/demo-linkage", headers={"Authorization": f"Bearer {submitter}"}).json
    assert (own["version"], own["latest_version"], own["status"]) == ("2.0.0", "2.0.0", "submitted")


@pytest.mark.parametrize("status", ["draft", "submitted", "in_review", "changes_requested", "rejected", "retired"])
def test_a_status_filter_lists_nothing_an_anonymous_reader_may_not_see(client, approved_with_draft, status):
    assert client.get(f"/api/v1/services?status={status}").json["items"] == []


def test_the_list_and_the_search_agree_on_approved(client, approved_with_draft):
    submitter, _reviewer = approved_with_draft
    for headers in ({}, {"Authorization": f"Bearer {submitter}"}):
        for status in ("approved", "submitted"):
            listed = client.get(f"/api/v1/services?status={status}", headers=headers).json["items"]
            found = client.get(f"/api/v1/search?status={status}", headers=headers).json["hits"]
            assert [s["id"] for s in listed] == [h["id"] for h in found]
    assert [s["id"] for s in client.get("/api/v1/services?status=approved").json["items"]] == ["demo-linkage"]


def _readable_urls(app: Flask) -> list[str]:
    """Every GET route of the app, its variables filled with the service, its published version and its
    unpublished one (routes whose variables name something else answer 404, which is fine)."""
    values = {"slug": "demo-linkage", "fmt": "json", "token_id": "1", "name": "x", "filename": "x"}
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        for version in ("1.0.0", "2.0.0"):
            url = rule.rule
            for argument in rule.arguments:
                value = version if argument == "version" else values.get(argument, "x")
                url = re.sub(rf"<(?:[^:<>]+:)?{argument}>", value, url)
            urls.add(url)
    return sorted(urls)


def test_no_read_route_shows_an_anonymous_reader_the_unpublished_version(app, client, approved_with_draft):
    urls = _readable_urls(app)
    assert {"/api/v1/services/demo-linkage", "/services/demo-linkage", "/api/v1/export/catalogue.json"} <= set(urls)
    seen = 0
    for url in urls:
        answer = client.get(url)
        assert answer.status_code < 500, url
        body = answer.get_data(as_text=True)
        assert SECRET_NAME not in body, url
        if answer.status_code == 200:  # a 404 may echo the version asked for; nothing else may name it
            assert "2.0.0" not in body, url
            assert "not the latest" not in body, url
        seen += answer.status_code == 200 and "demo-linkage" in body
    assert seen >= 10  # the sweep reached the service's pages, API, exports, feeds and badge


def test_identical_content_sent_again_after_approval_is_the_stored_version(client, make_user, good_text):
    submitter = make_user()
    reviewer = make_user("reviewer@cbs.example", "CBS", "reviewer")
    assert client.post("/api/v1/services", data=good_text, headers=_auth(submitter)).status_code == 201
    _approve(client, reviewer, "demo-linkage", "1.0.0")
    again = client.post("/api/v1/services", data=good_text, headers=_auth(submitter))
    assert again.status_code == 200, again.json
    assert (again.json["version"], again.json["status"]) == ("1.0.0", "approved")
    as_draft = client.post("/api/v1/services?status=draft", data=good_text, headers=_auth(submitter))
    assert as_draft.status_code == 200 and as_draft.json["status"] == "approved"


def test_an_import_of_an_unchanged_approved_file_is_unchanged(app, tmp_path, good_text):
    folder = tmp_path / "descriptors"
    folder.mkdir()
    (folder / "a.yaml").write_text(good_text)
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["import", str(folder), "--status", "approved"]).exit_code == 0
    again = runner.invoke(main, ["import", str(folder)])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "0 imported, 1 unchanged, 0 refused"


# --- who owns an id ------------------------------------------------------------------------------


def _cbs_text(good_text: str) -> str:
    doc = yaml.safe_load(good_text)
    doc["implementation"]["owner"] = "CBS"
    doc["implementation"]["owner_name"] = "Statistics Netherlands"
    return yaml.safe_dump(doc)


def test_another_organisations_private_draft_answers_as_an_unused_id(client, make_user, good_text):
    istat = make_user()
    cbs = make_user("submitter@cbs.example", "CBS")
    other = _cbs_text(good_text)
    unused = client.post("/api/v1/services?status=draft", data=_with(other, id="never-used"), headers=_auth(cbs))
    assert client.post("/api/v1/services?status=draft", data=good_text, headers=_auth(istat)).status_code == 201
    taken = client.post("/api/v1/services?status=draft", data=other, headers=_auth(cbs))
    assert (taken.status_code, unused.status_code) == (201, 201)
    assert set(taken.json) == set(unused.json) and taken.json["service"] == "demo-linkage"
    # Each organisation sees its own draft under the id, and nobody else's.
    for token, owner in ((istat, "ISTAT"), (cbs, "CBS")):
        shown = client.get("/api/v1/services/demo-linkage", headers={"Authorization": f"Bearer {token}"}).json
        assert shown["organisation"] == owner
    assert client.get("/api/v1/services/demo-linkage").status_code == 404


def test_the_first_approved_keeps_the_id_and_a_draft_blocks_nobody(client, make_user, good_text):
    istat = make_user()
    cbs = make_user("submitter@cbs.example", "CBS")
    reviewer = make_user("reviewer@ine.example", "INE", "reviewer")
    # ISTAT holds a private draft of the id; CBS submits the same id and is approved first.
    assert client.post("/api/v1/services?status=draft", data=good_text, headers=_auth(istat)).status_code == 201
    assert client.post("/api/v1/services", data=_cbs_text(good_text), headers=_auth(cbs)).status_code == 201
    _approve(client, reviewer, "demo-linkage", "1.0.0")
    public = client.get("/api/v1/services/demo-linkage").json
    assert (public["organisation"], public["version"]) == ("CBS", "1.0.0")
    # Now the id is reserved: ISTAT hears why (the approved service is public), and its draft cannot be approved.
    refused = client.post("/api/v1/services", data=_with(good_text, version="1.1.0"), headers=_auth(istat))
    assert refused.status_code == 409 and "approved service" in refused.json["detail"]
    # The URL stays CBS's for everyone but ISTAT's own members, who still reach their draft to rename it.
    own = client.get("/api/v1/services/demo-linkage", headers={"Authorization": f"Bearer {istat}"}).json
    assert own["organisation"] == "ISTAT"
    hits = client.get("/api/v1/search?q=linkage").json["hits"]
    assert [(h["id"], h["organisation"]) for h in hits] == [("demo-linkage", "CBS")]


@pytest.mark.skipif(
    not os.environ.get("CATALOGUE_DATABASE_URL", "").startswith("postgresql"),
    reason="two approvals writing at the same moment need two open write transactions, which only PostgreSQL runs "
    "(SQLite has one writer at a time); CI runs this on PostgreSQL",
)
def test_two_approvals_of_one_id_at_the_same_moment_give_one_holder_and_a_409(app, client, make_user, good_text):
    istat, cbs = make_user(), make_user("submitter@cbs.example", "CBS")
    assert client.post("/api/v1/services", data=good_text, headers=_auth(istat)).status_code == 201
    assert client.post("/api/v1/services", data=_cbs_text(good_text), headers=_auth(cbs)).status_code == 201
    sessions = database_of(app).sessionmaker

    def service_of(session: Session, code: str) -> Service:
        query = select(Service).join(Organisation).where(Service.slug == "demo-linkage", Organisation.code == code)
        return session.scalars(query).one()

    outcome: list[BaseException | None] = []

    def approve_istat() -> None:
        with sessions() as second:
            try:
                workflow.reserve_id(second, service_of(second, "ISTAT"))
                second.flush()
                second.commit()
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - the thread hands whatever it met to the test
                outcome.append(exc)

    with sessions() as first:
        workflow.reserve_id(first, service_of(first, "CBS"))
        first.flush()
        racer = threading.Thread(target=approve_istat)
        racer.start()
        racer.join(0.5)  # ISTAT's approval is under way while CBS's has not committed yet
        first.commit()
    racer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    with sessions() as check:
        holders = check.scalars(select(Service).where(Service.reserved_slug == "demo-linkage")).all()
        assert [holder.organisation.code for holder in holders] == ["CBS"]
