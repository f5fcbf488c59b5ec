"""Starting a descriptor from a form: the form offers what the schema and reference models allow, and what it
builds opens in the editor with its problems; nothing is stored until the submitter saves."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from catalogue import reference
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
    assert response.status_code == 200 and "thing(s) to finish below" in page
    assert "/definition" in page and 'class="problem"' in page
    assert client.post("/submit/start", data={"id": "x"}).status_code == 400  # no CSRF token
    with app.app_context(), db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
