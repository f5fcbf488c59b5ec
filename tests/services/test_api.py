"""The REST API end to end on a real database: submit, read back, the version rules, errors."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import event, func, select

from catalogue.auth import actors
from catalogue.auth.models import Organisation
from catalogue.db import database_of
from catalogue.events import Event
from catalogue.services import workflow
from catalogue.services.models import Service, ServiceVersion
from tests.conftest import running_app

YAML = {"Content-Type": "application/yaml"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **YAML}


def _counts() -> tuple[int, ...]:
    with database_of(running_app()).transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m)) for m in (Organisation, Service, ServiceVersion, Event)
        )


def _bump(text: str, **changes: object) -> str:
    doc = yaml.safe_load(text)
    doc.update(changes)
    return yaml.safe_dump(doc)


def test_submit_then_read_back(client, make_user, good_text):
    token = make_user()
    response = client.post("/api/v1/services", data=good_text, headers=_auth(token))
    assert response.status_code == 201, response.json
    assert response.headers["Location"] == "/api/v1/services/demo-linkage/versions/1.0.0"
    # Submitted, not approved: anonymous readers do not see it; its organisation's members do.
    assert client.get("/api/v1/services/demo-linkage").status_code == 404
    listed = client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"}).json
    assert [s["id"] for s in listed["items"]] == ["demo-linkage"]
    version = client.get(
        "/api/v1/services/demo-linkage/versions/1.0.0", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert version["descriptor"] == yaml.safe_load(good_text) | {
        "specification": version["descriptor"]["specification"]
    }
    assert version["descriptor"]["specification"]["interface"]["openapi"]["paths"]["/linkages"]["post"]["responses"][
        "200"
    ]
    assert version["validation"]["valid"] is True
    assert version["compliance"]["score"] == 100
    assert {i["id"] for i in version["compliance"]["items"]} >= {"gsbpm-aligned", "open-licence"}


def test_json_body_is_accepted(client, make_user, good_text):
    token = make_user()
    body = json.dumps(yaml.safe_load(good_text.replace("200:", '"200":')))
    response = client.post(
        "/api/v1/services", data=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.json


def test_without_token_is_401_and_stores_nothing(client, good_text):
    before = _counts()
    response = client.post("/api/v1/services", data=good_text, headers=YAML)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/v1/services", data=good_text, headers=_auth("cspa_wrong")).status_code == 401
    assert _counts() == before


def test_other_organisation_is_403(client, make_user, good_text):
    make_user()  # creates ISTAT
    token = make_user("someone@cbs.example", "CBS")
    before = _counts()
    response = client.post("/api/v1/services", data=good_text, headers=_auth(token))
    assert response.status_code == 403
    # Nothing stored but the refusal itself, on the audit trail.
    assert _counts() == (*before[:3], before[3] + 1)
    with database_of(client.application).transaction() as session:
        refusal = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert refusal is not None and refusal.kind == "permission.denied"
        assert refusal.data["action"] == "submit" and refusal.actor_id is not None


def test_identical_resubmission_is_idempotent(client, make_user, good_text):
    token = make_user()
    assert client.post("/api/v1/services", data=good_text, headers=_auth(token)).status_code == 201
    before = _counts()
    again = client.post("/api/v1/services", data=good_text, headers=_auth(token))
    assert again.status_code == 200
    assert again.json["version"] == "1.0.0"
    assert _counts() == before


def test_same_version_other_content_is_409(client, make_user, good_text):
    token = make_user()
    client.post("/api/v1/services", data=good_text, headers=_auth(token))
    before = _counts()
    changed = good_text.replace("Demo record linkage", "Another name")
    response = client.post("/api/v1/services", data=changed, headers=_auth(token))
    assert response.status_code == 409
    assert "immutable" in response.json["detail"]
    assert _counts() == before


def test_lower_version_is_409_and_higher_is_stored(client, make_user, good_text):
    token = make_user()
    reviewer = make_user("reviewer@cbs.example", "CBS", "reviewer")
    assert (
        client.post("/api/v1/services", data=_bump(good_text, version="1.2.0"), headers=_auth(token)).status_code == 201
    )
    # While 1.2.0 awaits its review nothing may be stacked on it.
    waiting = client.post("/api/v1/services", data=_bump(good_text, version="1.3.0"), headers=_auth(token))
    assert waiting.status_code == 409 and waiting.json["allowed"] == ["in_review"]
    for body in ({"to": "in_review"},):
        assert (
            client.post(
                "/api/v1/services/demo-linkage/versions/1.2.0/transitions",
                json=body,
                headers={"Authorization": f"Bearer {reviewer}"},
            ).status_code
            == 200
        )
    decided = client.post(
        "/api/v1/services/demo-linkage/versions/1.2.0/reviews",
        json={"decision": "changes_requested", "comment": "Name the GSIM outputs."},
        headers={"Authorization": f"Bearer {reviewer}"},
    )
    assert decided.status_code == 201, decided.json
    response = client.post("/api/v1/services", data=_bump(good_text, version="1.1.9"), headers=_auth(token))
    assert response.status_code == 409
    assert "not higher than the latest version 1.2.0" in response.json["detail"]
    assert (
        client.post("/api/v1/services", data=_bump(good_text, version="1.10.0"), headers=_auth(token)).status_code
        == 201
    )
    versions = client.get("/api/v1/services/demo-linkage/versions", headers={"Authorization": f"Bearer {token}"}).json
    assert [v["version"] for v in versions] == ["1.2.0", "1.10.0"]


def test_invalid_descriptor_is_422_with_every_error(client, make_user, good_text):
    token = make_user()
    before = _counts()
    bad = (
        good_text.replace('gsbpm: ["5.1"]', 'gsbpm: ["5.1", "4.9"]')
        .replace("version: 1.0.0", "version: one")
        .replace("EUPL-1.2", "EUPL")
    )
    response = client.post("/api/v1/services", data=bad, headers=_auth(token))
    assert response.status_code == 422
    body = response.json
    assert response.mimetype == "application/problem+json"
    found = {(e["pointer"], e["line"], e["source"]) for e in body["errors"]}
    assert ("/definition/gsbpm/1", 7, "reference") in found
    assert ("/version", 3, "reference") in found
    assert ("/implementation/licence", 34, "reference") in found
    assert _counts() == before


def test_unreadable_body_is_400_with_line(client, make_user):
    token = make_user()
    response = client.post("/api/v1/services", data="a: 1\na: 2\n", headers=_auth(token))
    assert response.status_code == 400
    assert response.json["errors"][0] == {
        "pointer": "/a",
        "line": 2,
        "message": "duplicate key 'a'",
        "source": "syntax",
    }


def test_unsupported_media_type_is_415(client, make_user, good_text):
    token = make_user()
    response = client.post(
        "/api/v1/services",
        data=good_text,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_oversized_body_is_413(client, app, good_text):
    limit = app.config["CATALOGUE"].max_descriptor_bytes
    response = client.post("/api/v1/validate", data=good_text + "#" * (limit + 100_000), headers=YAML)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_failed_submit_leaves_no_rows(client, make_user, good_text):
    """A failure in the middle of the transaction (here: writing the Event) rolls back everything."""
    token = make_user()
    before = _counts()

    def explode(*_args):
        raise RuntimeError("forced failure while writing the event")

    event.listen(Event, "before_insert", explode)
    try:
        response = client.post("/api/v1/services", data=good_text, headers=_auth(token))
    finally:
        event.remove(Event, "before_insert", explode)
    assert response.status_code == 500
    assert _counts() == before


def test_validate_reports_without_storing(client, good_text):
    before = _counts()
    response = client.post("/api/v1/validate", data=good_text, headers=YAML)
    assert response.status_code == 200
    assert response.json["valid"] is True
    assert response.json["compliance"]["score"] == 100
    bad = client.post("/api/v1/validate", data=good_text.replace("Unit Data Set", "Unit Dataset2"), headers=YAML)
    assert bad.json["valid"] is False
    assert bad.json["errors"][0]["line"] == 11
    assert _counts() == before


def test_list_filters(client, app, make_user, good_text):
    from catalogue.services import descriptors

    with database_of(app).transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptors.parse(good_text), "yaml", status="approved")
        other = yaml.safe_load(good_text)
        other.update(id="demo-imputation")
        other["definition"]["gsbpm"] = ["5.4"]
        other["implementation"]["owner"] = "CBS"
        workflow.submit_version(
            session, actors.SYSTEM, descriptors.parse(yaml.safe_dump(other)), "yaml", status="approved"
        )

    def ids(query: str) -> list[str]:
        return [s["id"] for s in client.get("/api/v1/services" + query).json["items"]]

    assert ids("") == ["demo-imputation", "demo-linkage"]
    assert ids("?gsbpm=5.4") == ["demo-imputation"]
    assert ids("?gsbpm=5") == ["demo-imputation", "demo-linkage"]
    assert ids("?gsbpm=4") == []
    assert ids("?organisation=istat") == ["demo-linkage"]
    assert ids("?status=submitted") == []
    page = client.get("/api/v1/services?per_page=1&page=2").json
    assert page["total"] == 2 and [s["id"] for s in page["items"]] == ["demo-linkage"]
    bad = client.get("/api/v1/services?page=zero")
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "/page"


def test_schema_is_served(client):
    response = client.get("/schemas/cspa-service-descriptor.schema.json")
    body = json.loads(response.get_data())
    response.close()
    assert response.status_code == 200
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_reads_are_conditional(client, make_user, good_text):
    token = make_user()
    assert client.post("/api/v1/services", data=good_text, headers=_auth(token)).status_code == 201
    bearer = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/services/demo-linkage", headers=bearer)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/api/v1/services/demo-linkage", headers={**bearer, "If-None-Match": etag}).status_code == 304
    assert (
        client.get("/api/v1/services/demo-linkage", headers={**bearer, "If-Modified-Since": modified}).status_code
        == 304
    )
    # Another reader may see another representation: the tag depends on who asks.
    assert client.get("/api/v1/services/demo-linkage", headers={"If-None-Match": etag}).status_code == 404
    # A change anywhere gives a new tag.
    assert (
        client.post("/api/v1/services", data=_bump(good_text, id="demo-two"), headers=_auth(token)).status_code == 201
    )
    again = client.get("/api/v1/services/demo-linkage", headers={**bearer, "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
