"""Linked layers (issue 14, item 1): Definitions and Specifications stored once, referred to by id, linked.

Every test drives the real API on a real database (SQLite, or PostgreSQL with CATALOGUE_DATABASE_URL): two
seasonal adjustment programs of two organisations implement one Definition, the second by reference.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalogue.db import database_of
from catalogue.events import Event
from catalogue.services.models import LayerVersion, ServiceVersion

DEFINITION = {
    "id": "seasonal-adjustment",
    "version": "1.0.0",
    "name": "Seasonal adjustment",
    "purpose": "Removes seasonal and calendar effects from time series.",
    "gsbpm": ["6.1"],
    "inputs": [{"gsim": "Dimensional Data Set", "description": "Raw series"}],
    "outputs": [{"gsim": "Dimensional Data Set", "description": "Adjusted series"}],
}


def _descriptor(slug: str, owner: str, version: str = "1.0.0", **layers: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "cspa": "2.0",
        "id": slug,
        "version": version,
        "definition": copy.deepcopy(DEFINITION),
        "specification": {"protocol": "library"},
        "implementation": {"owner": owner, "licence": "EUPL-1.2", "technology": ["Java"]},
    }
    for kind, layer in layers.items():
        if layer is None:
            content.pop(kind, None)
        else:
            content[kind] = layer
    return content


def _post(client: FlaskClient, token: str, content: dict[str, Any], status: str = "submitted") -> Any:
    return client.post(f"/api/v1/services?status={status}", json=content, headers={"Authorization": f"Bearer {token}"})


def _approve(client: FlaskClient, reviewer: str, slug: str, version: str = "1.0.0") -> None:
    base = f"/api/v1/services/{slug}/versions/{version}"
    headers = {"Authorization": f"Bearer {reviewer}"}
    assert client.post(f"{base}/transitions", json={"to": "in_review"}, headers=headers).status_code == 200
    answer = client.post(f"{base}/reviews", json={"decision": "approved", "items": []}, headers=headers)
    assert answer.status_code == 201, answer.json


def _counts(app) -> tuple[int, int, int]:
    with database_of(app).transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(ServiceVersion)) or 0,
            session.scalar(select(func.count()).select_from(LayerVersion)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
        )


@pytest.fixture
def people(make_user) -> dict[str, str]:
    return {
        "nbb": make_user("submitter@nbb.example", "NBB", "submitter"),
        "census": make_user("submitter@census.example", "US-CENSUS", "submitter"),
        "istat": make_user("submitter@istat.example", "ISTAT", "submitter"),
        "reviewer": make_user("reviewer@cbs.example", "CBS", "reviewer"),
    }


@pytest.fixture
def published(client, people) -> dict[str, str]:
    """JDemetra+ of NBB approved, carrying the seasonal-adjustment Definition 1.0.0 inline."""
    answer = _post(client, people["nbb"], _descriptor("jdemetra-plus", "NBB"))
    assert answer.status_code == 201, answer.json
    _approve(client, people["reviewer"], "jdemetra-plus")
    return people


def test_inline_layers_are_stored_linked_and_named_in_the_version(client, app, people):
    answer = _post(client, people["nbb"], _descriptor("jdemetra-plus", "NBB"))
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["definition"] == {"owner": "NBB", "id": "seasonal-adjustment", "version": "1.0.0"}
    # The specification takes the descriptor's id and version when it names none.
    assert body["specification"] == {"owner": "NBB", "id": "jdemetra-plus", "version": "1.0.0"}
    assert body["bundle"]["definition"]["owner"] == "NBB" and "owner" not in body["descriptor"]["definition"]
    with database_of(app).transaction() as session:
        stored = session.scalars(select(Event).where(Event.kind == "layer.stored").order_by(Event.id)).all()
        assert [e.data["kind"] for e in stored] == ["definition", "specification"]
        specification = session.scalars(select(LayerVersion).where(LayerVersion.kind == "specification")).one()
        assert specification.specifies is not None and specification.specifies.slug == "seasonal-adjustment"


def test_the_same_layer_content_again_is_reused_not_stored_twice(client, app, people):
    assert _post(client, people["nbb"], _descriptor("jdemetra-plus", "NBB")).status_code == 201
    _versions, layers, _events = _counts(app)
    # A second NBB implementation with the same Definition: one more Specification, the Definition reused.
    assert _post(client, people["nbb"], _descriptor("jdemetra-cli", "NBB")).status_code == 201
    assert _counts(app)[1] == layers + 1


def test_a_reference_resolves_to_the_latest_public_version_and_fills_the_bundle(client, app, published):
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment"})
    answer = _post(client, published["census"], content)
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["definition"] == {"owner": "NBB", "id": "seasonal-adjustment", "version": "1.0.0"}
    assert body["descriptor"]["definition"] == {"ref": "seasonal-adjustment"}
    assert body["bundle"]["definition"]["name"] == "Seasonal adjustment"
    assert body["name"] == "Seasonal adjustment"
    # Compliance assessed the bundle: the referred definition's GSIM inputs count.
    gsim = next(i for i in body["compliance"]["items"] if i["id"] == "gsim-information")
    assert gsim["outcome"] == "pass", gsim
    with database_of(app).transaction() as session:
        version = session.scalars(select(ServiceVersion).where(ServiceVersion.version == "1.0.0")).all()
        assert {v.definition_version.slug for v in version if v.definition_version} == {"seasonal-adjustment"}


def test_the_api_lists_a_definition_with_its_specifications_and_implementations(client, published):
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment", "owner": "NBB"})
    assert _post(client, published["census"], content).status_code == 201
    _approve(client, published["reviewer"], "x13arima-seats")
    listed = client.get("/api/v1/definitions").json
    assert {(d["owner"], d["id"]) for d in listed} >= {("NBB", "seasonal-adjustment")}
    family = client.get("/api/v1/definitions/NBB/seasonal-adjustment").json
    assert family["name"] == "Seasonal adjustment"
    [version] = family["versions"]
    assert {(s["owner"], s["id"]) for s in version["specifications"]} == {
        ("NBB", "jdemetra-plus"),
        ("US-CENSUS", "x13arima-seats"),
    }
    assert {i["service"] for i in version["implementations"]} == {"jdemetra-plus", "x13arima-seats"}
    spec = client.get("/api/v1/specifications/US-CENSUS/x13arima-seats").json
    assert spec["versions"][0]["definition"] == {"owner": "NBB", "id": "seasonal-adjustment", "version": "1.0.0"}
    assert client.get("/api/v1/definitions/NBB/no-such-definition").status_code == 404


def test_the_family_pages_link_implementations_of_one_definition(client, published):
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment"})
    assert _post(client, published["census"], content).status_code == 201
    _approve(client, published["reviewer"], "x13arima-seats")
    page = client.get("/services/jdemetra-plus").get_data(as_text=True)
    assert "Other implementations of this definition" in page
    assert "/services/x13arima-seats/versions/1.0.0" in page
    assert "/definitions/NBB/seasonal-adjustment" in page and "/specifications/NBB/jdemetra-plus" in page
    family = client.get("/definitions/NBB/seasonal-adjustment").get_data(as_text=True)
    assert "/services/jdemetra-plus/versions/1.0.0" in family and "/services/x13arima-seats/versions/1.0.0" in family


def test_an_unpublished_implementation_is_not_shown_to_other_readers(client, published):
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment"})
    assert _post(client, published["census"], content).status_code == 201  # submitted, not approved
    anonymous = client.get("/api/v1/definitions/NBB/seasonal-adjustment").json
    assert {i["service"] for i in anonymous["versions"][0]["implementations"]} == {"jdemetra-plus"}
    # US-CENSUS's own specification is not public yet: only its members and reviewers see it.
    assert client.get("/api/v1/specifications/US-CENSUS/x13arima-seats").status_code == 404
    own = client.get(
        "/api/v1/specifications/US-CENSUS/x13arima-seats", headers={"Authorization": f"Bearer {published['census']}"}
    )
    assert own.status_code == 200
    assert "/services/x13arima-seats" not in client.get("/services/jdemetra-plus").get_data(as_text=True)


def _problems(answer: Any) -> list[tuple[str, str]]:
    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    return [(p["pointer"], p["message"]) for p in answer.json["errors"]]


def test_an_unpublished_layer_of_another_organisation_cannot_be_referred_to(client, app, people):
    assert _post(client, people["nbb"], _descriptor("jdemetra-plus", "NBB")).status_code == 201  # not approved
    before = _counts(app)
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment"})
    [(pointer, message)] = _problems(_post(client, people["census"], content))
    assert pointer == "/definition/ref" and "no definition 'seasonal-adjustment'" in message
    assert _counts(app) == before  # nothing stored


def test_an_unknown_reference_says_did_you_mean_with_its_line(client, published):
    text = (
        "cspa: '2.0'\nid: x13arima-seats\nversion: 1.0.0\ndefinition:\n  ref: seasonal-adjustmnt\n"
        "specification:\n  protocol: batch\nimplementation:\n  owner: US-CENSUS\n  licence: EUPL-1.2\n"
    )
    answer = client.post(
        "/api/v1/services",
        data=text,
        headers={"Authorization": f"Bearer {published['census']}", "Content-Type": "application/yaml"},
    )
    assert answer.status_code == 422
    [problem] = answer.json["errors"]
    assert problem["pointer"] == "/definition/ref" and problem["line"] == 5
    assert "did you mean 'seasonal-adjustment'?" in problem["message"]


def test_an_unknown_version_of_a_known_layer_lists_its_versions(client, published):
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment", "version": "9.0.0"})
    [(pointer, message)] = _problems(_post(client, published["census"], content))
    assert pointer == "/definition/version" and "its versions: 1.0.0" in message


def test_owner_written_in_an_inline_layer_is_an_error(client, people):
    definition = {**DEFINITION, "owner": "NBB"}
    content = _descriptor("jdemetra-plus", "NBB", definition=definition)
    [(pointer, message)] = _problems(_post(client, people["nbb"], content))
    assert pointer == "/definition/owner" and "only with ref" in message


def test_a_layer_version_must_be_a_semantic_version(client, app, people):
    before = _counts(app)
    content = _descriptor("jdemetra-plus", "NBB", definition={**DEFINITION, "version": "2024-spring"})
    [(pointer, message)] = _problems(_post(client, people["nbb"], content))
    assert pointer == "/definition/version" and "not a semantic version" in message
    assert _counts(app) == before


def test_validate_refuses_an_inline_owner_and_a_layer_version_as_submission_does(client, app):
    """The identity of an inline layer needs no catalogue: /api/v1/validate and `catalogue validate` say what a
    submission will refuse (they said valid before), and a draft keeps the errors in its report."""
    definition = {**DEFINITION, "owner": "CBS", "version": "2024-spring"}
    content = _descriptor("jdemetra-plus", "NBB", definition=definition)
    report = client.post("/api/v1/validate", json=content).json
    assert report["valid"] is False
    assert {e["pointer"] for e in report["errors"]} == {"/definition/owner", "/definition/version"}


def test_a_published_layer_never_changes_under_its_version(client, published):
    changed = {**DEFINITION, "purpose": "Something else entirely."}
    content = _descriptor("jdemetra-plus", "NBB", version="1.1.0", definition=changed)
    [(pointer, message)] = _problems(_post(client, published["nbb"], content))
    assert pointer == "/definition/version" and "new version" in message and "ref" in message
    # Raising the Definition's version is the way.
    content["definition"]["version"] = "1.1.0"
    assert _post(client, published["nbb"], content).status_code == 201


def test_an_unpublished_layer_may_be_replaced_and_each_version_keeps_its_bundle(client, app, people):
    assert _post(client, people["nbb"], _descriptor("jdemetra-plus", "NBB")).status_code == 201
    changed = {**DEFINITION, "purpose": "Adjusts series, second wording."}
    answer = _post(client, people["nbb"], _descriptor("jdemetra-cli", "NBB", definition=changed))
    assert answer.status_code == 201, answer.json
    first = client.get(
        "/api/v1/services/jdemetra-plus/versions/1.0.0", headers={"Authorization": f"Bearer {people['nbb']}"}
    ).json
    assert first["bundle"]["definition"]["purpose"] == DEFINITION["purpose"]
    with database_of(app).transaction() as session:
        layer = session.scalars(select(LayerVersion).where(LayerVersion.slug == "seasonal-adjustment")).one()
        assert layer.content["purpose"] == "Adjusts series, second wording."


def test_a_specification_referred_to_brings_its_definition(client, published):
    content = _descriptor(
        "jdemetra-fork", "US-CENSUS", definition=None, specification={"ref": "jdemetra-plus", "owner": "NBB"}
    )
    answer = _post(client, published["census"], content)
    assert answer.status_code == 201, answer.json
    assert answer.json["definition"] == {"owner": "NBB", "id": "seasonal-adjustment", "version": "1.0.0"}
    assert answer.json["specification"] == {"owner": "NBB", "id": "jdemetra-plus", "version": "1.0.0"}
    assert answer.json["bundle"]["definition"]["gsbpm"] == ["6.1"]


def test_a_definition_other_than_the_referred_specifications_is_an_error(client, app, published):
    other = _descriptor("other-thing", "NBB", definition={**DEFINITION, "id": "other-definition"})
    assert _post(client, published["nbb"], other).status_code == 201
    _approve(client, published["reviewer"], "other-thing")
    content = _descriptor(
        "jdemetra-fork",
        "US-CENSUS",
        definition={"ref": "other-definition"},
        specification={"ref": "jdemetra-plus"},
    )
    before = _counts(app)
    [(pointer, message)] = _problems(_post(client, published["census"], content))
    assert pointer == "/definition/ref" and "specifies the definition 'seasonal-adjustment'" in message
    assert _counts(app) == before


def test_a_layer_id_published_by_several_organisations_needs_an_owner(client, published):
    istat = _descriptor("istat-adjustment", "ISTAT")
    assert _post(client, published["istat"], istat).status_code == 201
    _approve(client, published["reviewer"], "istat-adjustment")
    content = _descriptor("x13arima-seats", "US-CENSUS", definition={"ref": "seasonal-adjustment"})
    [(pointer, message)] = _problems(_post(client, published["census"], content))
    assert pointer == "/definition/ref" and "ISTAT, NBB" in message and "owner" in message
    content["definition"]["owner"] = "ISTAT"
    answer = _post(client, published["census"], content)
    assert answer.status_code == 201 and answer.json["definition"]["owner"] == "ISTAT"


def test_an_own_layer_comes_first_without_owner(client, published):
    istat = _descriptor("istat-adjustment", "ISTAT")
    assert _post(client, published["istat"], istat).status_code == 201  # unpublished, but ISTAT's own
    content = _descriptor("istat-x13", "ISTAT", definition={"ref": "seasonal-adjustment"})
    answer = _post(client, published["istat"], content)
    assert answer.status_code == 201 and answer.json["definition"]["owner"] == "ISTAT"


def test_a_replaced_draft_leaves_no_layer_behind(client, app, people):
    content = _descriptor("jdemetra-plus", "NBB", definition={k: v for k, v in DEFINITION.items() if k != "version"})
    assert _post(client, people["nbb"], content, "draft").status_code == 201
    content["version"] = "1.0.1"
    assert _post(client, people["nbb"], content, "draft").status_code in (200, 201)
    with database_of(app).transaction() as session:
        versions = session.scalars(select(LayerVersion.version).where(LayerVersion.kind == "definition")).all()
    assert versions == ["1.0.1"]
