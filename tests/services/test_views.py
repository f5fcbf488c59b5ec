"""The HTML pages through Flask's client: home, service pages, downloads, the submit page, and escaping of
whatever a descriptor's text fields hold."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from catalogue import reference
from catalogue.auth import accounts, actors
from catalogue.cli import main
from catalogue.db import db
from catalogue.events import Event
from catalogue.services import descriptors, workflow
from catalogue.services.interface import METHODS
from tests.conftest import DATA, app_on_empty_database

SEEDS = Path(__file__).resolve().parents[2] / "seed_services"
PASSWORD = "a long enough test password"
HTML = {"Accept": "text/html"}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path_factory.mktemp("views")) as app:
        result = app.test_cli_runner().invoke(main, ["seed"])
        assert result.exit_code == 0, result.output
        with app.app_context(), db.transaction() as session:
            accounts.create_user(
                session, "views@istat.example", "ISTAT", "submitter", password=PASSWORD, token_days=None
            )
            accounts.create_user(session, "views@cbs.example", "CBS", "submitter", password=PASSWORD, token_days=None)
        yield app


@pytest.fixture
def client(seeded: Flask) -> FlaskClient:
    return seeded.test_client()


def sign_in(client: FlaskClient, email: str) -> None:
    token = _TOKEN.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)
    answer = client.post("/auth/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)


class _Links(HTMLParser):
    """Collects attributes and script elements of a page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.hrefs.append(value)
            if name.startswith("on") or name == "style":
                self.handlers.append(f"{tag} {name}={value}")
        if tag == "script":
            self.scripts.append(dict(attrs))


def parse(html: str) -> _Links:
    links = _Links()
    links.feed(html)
    return links


# --- home ----------------------------------------------------------------------------------------


def test_home_shows_the_gsbpm_matrix_with_the_api_facet_counts(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    cells = dict(re.findall(r'data-code="([0-9.]+)".*?data-count="(\d+)"', page, re.DOTALL))
    assert set(cells) == set(reference.gsbpm().subprocesses)
    facets = client.get("/api/v1/search").json["facets"]["subprocess"]
    assert {code: int(n) for code, n in cells.items() if n != "0"} == {f["value"]: f["count"] for f in facets}
    assert 'href="/search?subprocess=5.4"' in page
    assert 'href="/document/"' in page


def test_home_lists_recently_approved_services_and_a_search_box(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert len(re.findall(r'<li class="card">', page)) == 6
    assert 'href="/services/' in page
    assert 'role="search"' in page and 'data-suggest="/api/v1/search/suggest"' in page
    assert f"{len(list(SEEDS.glob('*.yaml')))} approved services" in page


def test_pages_have_no_inline_script_style_or_handler(client: FlaskClient) -> None:
    for url in ("/", "/services/pxwebapi", "/services/relais/versions/1.0.0"):
        links = parse(client.get(url).get_data(as_text=True))
        assert links.handlers == []
        assert links.scripts and all(script.get("src") for script in links.scripts)


# --- service pages ------------------------------------------------------------------------------


def test_service_page_shows_the_three_layers_and_every_operation(client: FlaskClient) -> None:
    page = client.get("/services/pxwebapi").get_data(as_text=True)
    for section in ("definition", "specification", "implementation", "compliance", "history"):
        assert f'<section id="{section}" class="panel"' in page
    content = yaml.safe_load((SEEDS / "pxwebapi.yaml").read_text("utf-8"))
    paths = content["specification"]["interface"]["openapi"]["paths"]
    expected = [(m.upper(), p) for p, item in paths.items() for m in METHODS if m in item]
    shown = re.findall(
        r'<h4 id="op-[^"]+"><span class="method method-\w+">(\w+)</span> <code class="path">([^<]+)</code>', page
    )
    assert shown == expected
    assert 'class="ref-name">TablesResponse</span>' in page  # $ref followed to the component
    assert '<code class="prop">totalPages</code>' in page
    assert 'href="/document/gsim/Dimensional%20Data%20Set"' in page
    assert 'href="/search?subprocess=7.1"' in page and 'href="/document/gsbpm#sp-7.1"' in page


def test_service_page_links_each_criterion_to_the_document(client: FlaskClient) -> None:
    page = client.get("/services/relais").get_data(as_text=True)
    criteria = re.findall(r'<li class="criterion outcome-(\w+)">', page)
    assert len(criteria) >= 8
    assert re.search(r'<span class="ctitle"><a href="/document/[a-z0-9-]+#[a-z0-9-]+">', page)
    assert "CSPA compliance" in page


def test_service_page_shows_versions_and_history(client: FlaskClient) -> None:
    page = client.get("/services/relais").get_data(as_text=True)
    assert 'href="/services/relais/versions/1.0.0" aria-current="page"' in page
    assert re.search(r'<ol class="history">\s*<li><time datetime="', page)
    assert "The catalogue added version 1.0.0, approved." in page


@pytest.mark.parametrize(
    "url",
    [
        "/services/no-such-service",
        "/services/relais/versions/9.9.9",
        "/services/relais/versions/9.9.9/descriptor.yaml",
        "/services/relais/versions/1.0.0/openapi.txt",
    ],
)
def test_unknown_pages_are_404(client: FlaskClient, url: str) -> None:
    answer = client.get(url, headers=HTML)
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"


def test_descriptor_downloads_round_trip(client: FlaskClient) -> None:
    stored = client.get("/api/v1/services/pxwebapi/versions/1.0.0").json["descriptor"]
    as_yaml = client.get("/services/pxwebapi/versions/1.0.0/descriptor.yaml")
    assert as_yaml.mimetype == "application/yaml"
    assert as_yaml.headers["Content-Disposition"] == 'attachment; filename="pxwebapi-1.0.0.yaml"'
    assert as_yaml.get_data(as_text=True) == (SEEDS / "pxwebapi.yaml").read_text("utf-8")  # the text as submitted
    assert descriptors.parse(as_yaml.data, "yaml").content == stored
    as_json = client.get("/services/pxwebapi/versions/1.0.0/descriptor.json")
    assert json.loads(as_json.data) == stored
    openapi = client.get("/services/pxwebapi/versions/1.0.0/openapi.json")
    assert json.loads(openapi.data) == stored["specification"]["interface"]["openapi"]
    assert yaml.safe_load(client.get("/services/pxwebapi/versions/1.0.0/openapi.yaml").data) == json.loads(openapi.data)


def test_a_service_without_openapi_has_no_openapi_download(client: FlaskClient) -> None:
    slug = next(
        path.stem
        for path in sorted(SEEDS.glob("*.yaml"))
        if "openapi" not in (yaml.safe_load(path.read_text("utf-8"))["specification"].get("interface") or {})
    )
    page = client.get(f"/services/{slug}").get_data(as_text=True)
    assert "OpenAPI document:" not in page
    assert client.get(f"/services/{slug}/versions/1.0.0/openapi.json", headers=HTML).status_code == 404


# --- hostile descriptor text --------------------------------------------------------------------


@pytest.fixture
def hostile(seeded: Flask) -> str:
    """An approved service whose text fields carry script tags and javascript: links."""
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["id"] = "hostile"
    content["definition"]["name"] = "Evil <script>alert('name')</script>"
    content["definition"]["purpose"] = "Purpose <script>alert('purpose')</script> <img src=x onerror=alert(1)>"
    content["definition"]["description"] = (
        "Click [here](javascript:alert('md')) or <a href=\"javascript:alert('raw')\">there</a>.\n\n"
        "<script>alert('description')</script>\n\n<iframe src=\"https://example.org\"></iframe>"
    )
    content["definition"]["keywords"] = ["<b>bold</b>"]
    content["definition"]["outcomes"] = ["<svg onload=alert(1)>"]
    content["specification"]["operations"][0]["description"] = "<script>alert('op')</script>"
    content["specification"]["interface"]["openapi"]["paths"]["/linkages"]["post"]["summary"] = (
        "<script>alert('s')</script>"
    )
    content["specification"]["interface"]["openapi"]["paths"]["/linkages"]["post"]["description"] = (
        "[x](javascript:alert(2))"
    )
    with seeded.app_context(), db.transaction() as session:
        descriptor = descriptors.parse(json.dumps(content), "json")
        workflow.submit_version(session, actors.SYSTEM, descriptor, "json", status="approved")
    return "hostile"


def test_descriptor_text_is_escaped_and_sanitised(client: FlaskClient, hostile: str) -> None:
    answer = client.get(f"/services/{hostile}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "onerror=" not in page.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    assert "<iframe" not in page and "<svg" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    links = parse(page)
    assert not [href for href in links.hrefs if href.strip().lower().startswith("javascript:")]
    assert links.handlers == []
    assert all(script.get("src") for script in links.scripts)


# --- submit -------------------------------------------------------------------------------------


def test_submit_needs_a_signed_in_user(client: FlaskClient) -> None:
    answer = client.get("/submit")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/auth/sign-in?next=/submit")


def test_submit_page_offers_the_template(client: FlaskClient) -> None:
    sign_in(client, "views@istat.example")
    page = client.get("/submit").get_data(as_text=True)
    assert 'name="csrf_token"' in page and "<textarea" in page and 'value="draft"' in page
    template = client.get("/submit/template.yaml")
    assert template.headers["Content-Disposition"].startswith("attachment")
    report = client.post("/api/v1/validate", data=template.data, content_type="application/yaml").json
    assert report["valid"] is True, report["errors"]
    prefilled = client.get("/submit?start=template").get_data(as_text=True)
    assert "operationId: startRun" in prefilled


TEMPLATE_LEAVES_OUT = {
    # Identity and references: the template is one service with its layers inline.
    *((layer, name) for layer in ("definition", "specification") for name in ("id", "version", "ref", "owner")),
    # Only for an implementation of a Definition that several share: the template has one of its own.
    ("implementation", "name"),
    # The alternative to distributions, which the template shows.
    ("implementation", "installation"),
}


def test_the_template_to_start_from_shows_every_annex_1_field_and_meets_every_criterion() -> None:
    """Fails when a field is added to the schema's layers and not to the editor's starting template."""
    from catalogue import resources
    from catalogue.services import compliance, validation

    text = resources.DESCRIPTOR_TEMPLATE_FILE.read_bytes()
    content = yaml.safe_load(text)
    schema = json.loads(resources.SCHEMA_FILE.read_text("utf-8"))
    for layer in ("definition", "specification", "implementation"):
        for name, field in schema["properties"][layer]["properties"].items():
            if (layer, name) not in TEMPLATE_LEAVES_OUT and not field.get("deprecated"):
                assert name in content[layer], f"{layer}.{name}"
    descriptor = descriptors.parse(text, "yaml")
    report = validation.validate(descriptor)
    assert report.errors == [] and report.warnings == []
    assessment = compliance.assess(descriptor.content, report)
    assert [(i.id, i.outcome) for i in assessment.items if i.outcome != "pass"] == []


def test_submit_shows_problems_with_their_lines_without_javascript(client: FlaskClient) -> None:
    sign_in(client, "views@istat.example")
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    text = (DATA / "good.yaml").read_text("utf-8").replace("maturity: pilot", "maturity: experimental")
    line = text.splitlines().index("  maturity: experimental") + 1
    answer = client.post("/submit", data={"descriptor": text, "action": "submit", "csrf_token": token})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'data-line="{line}">Line {line}</a>' in page
    assert "/implementation/maturity" in page
    assert "maturity: experimental" in page  # the text is kept for fixing
    unreadable = client.post("/submit", data={"descriptor": "id: [unclosed\n", "action": "submit", "csrf_token": token})
    assert unreadable.status_code == 422 and "Line 2" in unreadable.get_data(as_text=True)


def test_submit_saves_a_draft_then_submits_it(client: FlaskClient, good_text: str) -> None:
    sign_in(client, "views@istat.example")
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    draft = client.post("/submit", data={"descriptor": good_text, "action": "draft", "csrf_token": token})
    assert draft.status_code == 303
    assert draft.headers["Location"] == "/services/demo-linkage/versions/1.0.0?saved=draft"
    page = client.get(draft.headers["Location"]).get_data(as_text=True)
    assert "Draft saved" in page and "status-draft" in page
    assert client.application.test_client().get("/services/demo-linkage", headers=HTML).status_code == 404  # not public
    submitted = client.post("/submit", data={"descriptor": good_text, "action": "submit", "csrf_token": token})
    assert submitted.status_code == 303
    assert "status-submitted" in client.get(submitted.headers["Location"]).get_data(as_text=True)


def test_submit_refuses_another_organisations_service_on_the_page(client: FlaskClient, good_text: str) -> None:
    sign_in(client, "views@cbs.example")
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    answer = client.post(
        "/submit", data={"descriptor": good_text, "action": "draft", "csrf_token": token}, headers=HTML
    )
    assert answer.status_code == 403
    page = answer.get_data(as_text=True)
    assert "your own organisation" in page and "id: demo-linkage" in page  # the text is kept for fixing
    with client.application.app_context(), db.transaction() as session:
        refusals = [event.data for event in session.scalars(select(Event).where(Event.kind == "permission.denied"))]
    assert any(data.get("action") == "submit" for data in refusals)  # and the refusal is on the trail


def test_submit_accepts_an_uploaded_json_file(client: FlaskClient, good_text: str) -> None:
    sign_in(client, "views@istat.example")
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    content = yaml.safe_load(good_text)
    content["id"], content["version"] = "uploaded-json", "0.1.0"
    upload = (BytesIO(json.dumps(content).encode()), "service.json")
    answer = client.post(
        "/submit",
        data={"file": upload, "descriptor": "", "action": "draft", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert client.get("/services/uploaded-json/versions/0.1.0/descriptor.json").json == json.loads(json.dumps(content))


def test_submit_post_without_csrf_token_is_refused(client: FlaskClient, good_text: str) -> None:
    sign_in(client, "views@istat.example")
    assert client.post("/submit", data={"descriptor": good_text, "action": "draft"}).status_code == 400


def test_an_uploaded_file_that_is_not_utf8_is_reported_with_its_line(client: FlaskClient) -> None:
    sign_in(client, "views@istat.example")
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    upload = (BytesIO(b"cspa: '2.0'\nid: caf\xe9\n"), "latin1.yaml")
    answer = client.post(
        "/submit", data={"file": upload, "action": "draft", "csrf_token": token}, content_type="multipart/form-data"
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "not valid UTF-8" in page and 'data-line="2">Line 2</a>' in page
