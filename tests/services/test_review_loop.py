"""The submitter–reviewer loop without a browser: drafts in any state of validity, the conversation of a
version (by name, in order, in pages and in the API), history sentences, My work, organisation pages, the
review queue's filters and the semantic-versioning guard."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import database_of
from tests.conftest import DATA, app_on_empty_database

PASSWORD = "a long enough test password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def loop_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path_factory.mktemp("loop")) as app:
        yield app


@pytest.fixture(scope="module")
def tokens(loop_app: Flask) -> dict[str, str]:
    people = {
        "owner": ("owner@istat.example", "ISTAT", "submitter", "Editing team"),
        "outsider": ("outsider@cbs.example", "CBS", "submitter", "Outside submitter"),
        "reviewer": ("reviewer@cbs.example", "CBS", "reviewer", "Methods reviewer"),
    }
    found = {}
    with database_of(loop_app).transaction() as session:
        for key, (email, org, role, name) in people.items():
            _user, token = accounts.create_user(session, email, org, role, display_name=name, password=PASSWORD)
            found[key] = token
    return found


def _text(slug: str, version: str = "1.0.0", change: Any = None) -> str:
    doc = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    doc["id"], doc["version"] = slug, version
    if change is not None:
        change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def _api(client: FlaskClient, token: str, method: str, url: str, **kwargs: Any) -> Any:
    return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _submit(client: FlaskClient, token: str, text: str, status: str = "submitted") -> Any:
    return _api(client, token, "POST", f"/api/v1/services?status={status}", data=text, content_type="application/yaml")


def _decide(client: FlaskClient, token: str, slug: str, version: str, decision: str, **extra: Any) -> Any:
    url = f"/api/v1/services/{slug}/versions/{version}"
    assert _api(client, token, "POST", f"{url}/transitions", json={"to": "in_review"}).status_code == 200
    return _api(client, token, "POST", f"{url}/reviews", json={"decision": decision, **extra})


def _sign_in(client: FlaskClient, email: str) -> None:
    token = _CSRF.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)
    answer = client.post("/auth/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302


def _csrf(client: FlaskClient, url: str) -> str:
    return _CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def _break_maturity(doc: dict[str, Any]) -> None:
    doc["implementation"]["maturity"] = "experimental"


# --- drafts -------------------------------------------------------------------------------------


def test_an_unfinished_draft_is_saved_with_its_report_and_cannot_be_submitted(loop_app, tokens) -> None:
    client = loop_app.test_client()
    saved = _submit(client, tokens["owner"], _text("unfinished", change=_break_maturity), "draft")
    assert saved.status_code == 201, saved.json
    assert saved.json["status"] == "draft"
    stored = _api(client, tokens["owner"], "GET", "/api/v1/services/unfinished/versions/1.0.0").json
    report = _api(client, tokens["owner"], "GET", "/api/v1/services/unfinished/versions/1.0.0")
    assert report.status_code == 200 and stored["status"] == "draft"
    # Submitting it, by a transition or by sending it again for review, names the same error.
    moved = _api(
        client,
        tokens["owner"],
        "POST",
        "/api/v1/services/unfinished/versions/1.0.0/transitions",
        json={"to": "submitted"},
    )
    assert moved.status_code == 422 and moved.json["errors"][0]["pointer"] == "/implementation/maturity"
    again = _submit(client, tokens["owner"], _text("unfinished", change=_break_maturity))
    assert again.status_code == 422 and "/implementation/maturity" in {e["pointer"] for e in again.json["errors"]}
    # Fixed and saved again, the same draft becomes submittable.
    fixed = _submit(client, tokens["owner"], _text("unfinished"), "draft")
    assert fixed.status_code == 201
    moved = _api(
        client,
        tokens["owner"],
        "POST",
        "/api/v1/services/unfinished/versions/1.0.0/transitions",
        json={"to": "submitted"},
    )
    assert moved.status_code == 200 and moved.json["status"] == "submitted"


def test_a_draft_needs_an_id_a_version_and_an_owner(loop_app, tokens) -> None:
    client = loop_app.test_client()

    def no_id(doc: dict[str, Any]) -> None:
        doc["id"] = "Not An Id"

    answer = _submit(client, tokens["owner"], _text("x", change=no_id), "draft")
    assert answer.status_code == 422
    assert answer.json["errors"][0] == {
        "pointer": "/id",
        "message": "a draft needs a valid id here",
        "source": "schema",
        "line": 2,
    }


def test_the_editor_saves_an_unfinished_draft_and_opens_it_again(loop_app, tokens) -> None:
    client = loop_app.test_client()
    _sign_in(client, "owner@istat.example")
    text = _text("editor-draft", change=_break_maturity)
    answer = client.post(
        "/submit", data={"descriptor": text, "action": "draft", "csrf_token": _csrf(client, "/submit")}
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "This draft is unfinished: 1 problem to fix" in page and "/implementation/maturity" in page
    editor = client.get("/submit?service=editor-draft&version=1.0.0").get_data(as_text=True)
    assert "maturity: experimental" in editor and "1 problem to fix below" in editor
    assert 'class="line-link" data-line="' in editor
    # Its own people find it on My work, with the next action.
    work = client.get("/my-work").get_data(as_text=True)
    assert "editor-draft" in work and "Finish the draft" in work
    # Another organisation's submitter may not open it in the editor.
    other = loop_app.test_client()
    _sign_in(other, "outsider@cbs.example")
    assert other.get("/submit?service=editor-draft&version=1.0.0").status_code == 404


# --- the conversation ---------------------------------------------------------------------------


def test_the_conversation_names_people_in_order_in_the_api_and_on_the_page(loop_app, tokens) -> None:
    client = loop_app.test_client()
    assert _submit(client, tokens["owner"], _text("talked-about")).status_code == 201
    decided = _decide(
        client,
        tokens["reviewer"],
        "talked-about",
        "1.0.0",
        "changes_requested",
        comment="Name the GSIM outputs precisely.",
        items=[{"criterion": "gsim-information", "verdict": "fail", "comment": "Outputs are vague."}],
    )
    assert decided.status_code == 201, decided.json
    assert (decided.json["reviewer"], decided.json["reviewer_organisation"]) == ("Methods reviewer", "CBS")
    reply = _api(
        client,
        tokens["owner"],
        "POST",
        "/api/v1/services/talked-about/versions/1.0.0/comments",
        json={"body": "Done in 1.1.0: outputs are now named."},
    )
    assert reply.status_code == 201 and reply.json["author"]["name"] == "Editing team"
    said = _api(client, tokens["owner"], "GET", "/api/v1/services/talked-about/versions/1.0.0/conversation").json
    assert [(m["kind"], m["author"]["name"], m["body"]) for m in said] == [
        ("submitted", "Editing team", ""),
        ("decision", "Methods reviewer", "Name the GSIM outputs precisely."),
        ("comment", "Editing team", "Done in 1.1.0: outputs are now named."),
    ]
    assert said[1]["items"] == [{"criterion": "gsim-information", "verdict": "fail", "comment": "Outputs are vague."}]
    # Someone of another organisation who may not review it may not write in it, and never sees it.
    refused = _api(
        client, tokens["outsider"], "POST", "/api/v1/services/talked-about/versions/1.0.0/comments", json={"body": "hi"}
    )
    assert refused.status_code == 404
    # The version page shows the conversation, the criterion's note, and the owner's reply form.
    _sign_in(client, "owner@istat.example")
    page = client.get("/services/talked-about/versions/1.0.0").get_data(as_text=True)
    conversation = page[page.index('id="conversation"') :]
    assert conversation.index("Methods reviewer") < conversation.index("Name the GSIM outputs precisely.")
    assert "Outputs are vague." in conversation and "Reply to the reviewer" in conversation
    assert "Methods reviewer (CBS) asked for changes to version 1.0.0." in page  # the history, as a sentence
    history = _api(client, tokens["owner"], "GET", "/api/v1/services/talked-about/history").json
    assert history[-1]["actor"] == "Editing team" and history[-1]["sentence"].startswith("Editing team (ISTAT) wrote")
    # An empty reply is summarised at the top of the page, the text kept.
    token = _CSRF.search(page).group(1)
    empty = client.post("/services/talked-about/versions/1.0.0/comments", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 422
    body = empty.get_data(as_text=True)
    assert 'id="error-summary"' in body and '<a href="#body">write a message</a>' in body
    # My work shows the requested changes with their next action.
    work = client.get("/my-work").get_data(as_text=True)
    assert "Read the review, reply and submit a new version" in work


def test_the_review_page_shows_the_descriptor_and_summarises_a_missing_comment(loop_app, tokens) -> None:
    client = loop_app.test_client()
    assert _submit(client, tokens["owner"], _text("reviewed-here")).status_code == 201
    url = "/api/v1/services/reviewed-here/versions/1.0.0/transitions"
    assert _api(client, tokens["reviewer"], "POST", url, json={"to": "in_review"}).status_code == 200
    _sign_in(client, "reviewer@cbs.example")
    page = client.get("/review/reviewed-here/1.0.0").get_data(as_text=True)
    assert "The descriptor under review" in page and "<summary>Implementation</summary>" in page
    assert 'href="/services/reviewed-here/versions/1.0.0"' in page
    token = _CSRF.search(page).group(1)
    answer = client.post(
        "/review/reviewed-here/1.0.0/decide", data={"decision": "rejected", "comment": "", "csrf_token": token}
    )
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert body.index('id="error-summary"') < body.index("The descriptor under review")
    assert '<a href="#comment">a comment is required unless you approve</a>' in body
    # The queue shows ids and filters.
    queue = client.get("/review/?organisation=ISTAT&mine=1").get_data(as_text=True)
    assert "<code>reviewed-here</code>" in queue and "under a minute" in queue
    assert "No version matches" in client.get("/review/?organisation=NOPE").get_data(as_text=True)


# --- organisation pages -------------------------------------------------------------------------


def test_the_organisation_page_lists_services_by_state_and_contacts(loop_app, tokens) -> None:
    client = loop_app.test_client()
    assert _submit(client, tokens["owner"], _text("org-listed")).status_code == 201
    public = client.get("/organisations/istat").get_data(as_text=True)
    assert "org-listed" not in public  # nothing of it is approved: anonymous readers see none of it
    _sign_in(client, "owner@istat.example")
    own = client.get("/organisations/ISTAT").get_data(as_text=True)
    assert "In review" in own and "org-listed" in own and "Contacts" in own
    assert client.get("/organisations/NOPE").status_code == 404


# --- the semantic-versioning guard --------------------------------------------------------------


def _drop_operation(doc: dict[str, Any]) -> None:
    paths = doc["specification"]["interface"]["openapi"]["paths"]
    first = next(iter(paths))
    operation = next(iter(paths[first].values()))
    doc["specification"]["operations"] = [
        o for o in doc["specification"]["operations"] if o["id"] != operation.get("operationId")
    ]
    del paths[first]


def _approved(client: FlaskClient, tokens: dict[str, str], slug: str, version: str, change: Any = None) -> None:
    assert _submit(client, tokens["owner"], _text(slug, version, change)).status_code == 201
    assert _decide(client, tokens["reviewer"], slug, version, "approved").status_code == 201


def test_a_breaking_change_needs_a_new_major_version(loop_app, tokens) -> None:
    client = loop_app.test_client()
    _approved(client, tokens, "guarded", "1.0.0")
    minor = _submit(client, tokens["owner"], _text("guarded", "1.1.0", _drop_operation))
    assert minor.status_code == 422
    finding = next(e for e in minor.json["errors"] if e["source"] == "semver")
    assert finding["pointer"] == "/version" and "needs version 2.0.0 or higher" in finding["message"]
    assert " removed" in finding["message"] and "What breaks:" in finding["message"]
    # As a draft it is kept, unfinished, with the finding in its report.
    draft = _submit(client, tokens["owner"], _text("guarded", "1.1.0", _drop_operation), "draft")
    assert draft.status_code == 201
    # With the major version raised it passes.
    major = _submit(client, tokens["owner"], _text("guarded", "2.0.0", _drop_operation))
    assert major.status_code == 201, major.json


def test_in_0_y_z_a_breaking_change_raises_y(loop_app, tokens) -> None:
    client = loop_app.test_client()
    _approved(client, tokens, "early", "0.3.0")
    patch = _submit(client, tokens["owner"], _text("early", "0.3.1", _drop_operation))
    assert patch.status_code == 422
    assert any("needs version 0.4.0 or higher" in e["message"] for e in patch.json["errors"])
    assert _submit(client, tokens["owner"], _text("early", "0.4.0", _drop_operation)).status_code == 201


def test_a_compatible_change_passes_as_a_minor_version(loop_app, tokens) -> None:
    client = loop_app.test_client()
    _approved(client, tokens, "compatible", "1.0.0")

    def describe(doc: dict[str, Any]) -> None:
        doc["definition"]["purpose"] = doc["definition"]["purpose"] + " Now described better."

    assert _submit(client, tokens["owner"], _text("compatible", "1.1.0", describe)).status_code == 201


def test_the_guard_may_warn_instead(loop_app, tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same database as the other tests (on PostgreSQL there is one per run): the setting is swapped for a while.
    config = loop_app.config["CATALOGUE"]
    monkeypatch.setitem(loop_app.config, "CATALOGUE", dataclasses.replace(config, semver_breaking="warning"))
    client = loop_app.test_client()
    _approved(client, tokens, "warned", "1.0.0")
    minor = _submit(client, tokens["owner"], _text("warned", "1.1.0", _drop_operation))
    assert minor.status_code == 201
    stored = _api(client, tokens["owner"], "GET", "/api/v1/services/warned/versions/1.1.0").json
    assert stored["status"] == "submitted"
    assert any(w["source"] == "semver" for w in stored["validation"]["warnings"])


def test_the_guard_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOGUE_SEMVER_BREAKING", "Warning")
    assert Config.from_env().semver_breaking == "warning"
    monkeypatch.delenv("CATALOGUE_SEMVER_BREAKING")
    assert Config.from_env().semver_breaking == "error"
    monkeypatch.setenv("CATALOGUE_SEMVER_BREAKING", "sometimes")
    with pytest.raises(ValueError, match="CATALOGUE_SEMVER_BREAKING must be one of error, warning"):
        Config.from_env()


@pytest.mark.parametrize(
    "shape",
    [
        {"definition": "not a mapping"},
        {"specification": ["not", "a", "mapping"]},
        {"definition": {"name": 7, "gsbpm": "5.1", "inputs": {"gsim": "x"}, "keywords": "one"}},
        {"implementation": {"owner": "ISTAT", "distributions": {"kind": "cran"}, "technology": "R"}},
        {"specification": {"interface": "nothing", "operations": "none"}},
        {"contacts": "nobody"},
    ],
)
def test_a_draft_of_any_shape_is_kept_searchable_and_shown(loop_app, tokens, shape: dict[str, Any]) -> None:
    client = loop_app.test_client()
    slug = "odd-" + re.sub(r"[^a-z]", "", str(sorted(shape)))[:20]

    def reshape(doc: dict[str, Any]) -> None:
        doc.update(shape)

    answer = _submit(client, tokens["owner"], _text(slug, change=reshape), "draft")
    assert answer.status_code in (200, 201), answer.json
    found = _api(client, tokens["owner"], "GET", f"/api/v1/search?q={slug}").json
    assert found["total"] >= 0
    _sign_in(client, "owner@istat.example")
    page = client.get(f"/services/{slug}/versions/1.0.0")
    assert page.status_code == 200 and "This draft is unfinished" in page.get_data(as_text=True)
    assert client.get("/my-work").status_code == 200
    assert client.get("/organisations/ISTAT").status_code == 200
