"""Problem type URIs (RFC 9457) are pages this catalogue serves: one per type, for people, under the catalogue's
own base URL, so a client's Host header does not change them once CATALOGUE_BASE_URL is set."""

from __future__ import annotations

import dataclasses

from markupsafe import escape
from werkzeug.exceptions import default_exceptions

from catalogue.errors import problem_types
from catalogue.exceptions import RegistryError


def test_every_problem_the_api_answers_with_has_a_page(app, client):
    with app.app_context():
        kinds = problem_types()
    # Each refusal of the registry, the descriptor and database problems, and werkzeug's HTTP errors.
    assert {"validation-failed", "conflict", "not-found", "unauthenticated", "permission-denied"} <= set(kinds)
    assert {"descriptor-too-large", "unreadable-descriptor", "database-unavailable", "method-not-allowed"} <= set(kinds)
    # Every HTTP error and every refusal has its type (a refusal and an HTTP error of one name share it).
    assert {kind.status for kind in kinds.values()} >= set(default_exceptions)
    assert {cls.title for cls in RegistryError.__subclasses__()} <= {kind.title for kind in kinds.values()}
    index = client.get("/problems/")
    assert index.status_code == 200 and index.mimetype == "text/html"
    for name, kind in kinds.items():
        assert f'href="/problems/{name}"' in index.get_data(as_text=True)
        page = client.get(f"/problems/{name}")
        assert page.status_code == 200 and page.mimetype == "text/html", name
        text = page.get_data(as_text=True)
        assert f"<h1>{escape(kind.title)}</h1>" in text and f"http://localhost/problems/{name}" in text


def test_a_problem_s_type_leads_to_its_page(client):
    answer = client.get("/api/v1/services/no-such-service")
    assert answer.status_code == 404 and answer.json["type"] == "http://localhost/problems/not-found"
    page = client.get(answer.json["type"].removeprefix("http://localhost"))
    assert page.status_code == 200 and "visible only to their organisation" in page.get_data(as_text=True)
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 401 and refused.json["type"].endswith("/problems/unauthenticated")
    assert client.get("/problems/no-such-problem").status_code == 404


def test_the_type_uri_is_under_the_configured_base_url_whatever_the_host(app, client):
    app.config["CATALOGUE"] = dataclasses.replace(app.config["CATALOGUE"], base_url="https://catalogue.example.org")
    answer = client.get("/api/v1/services/no-such-service", base_url="http://other-host.example")
    assert answer.json["type"] == "https://catalogue.example.org/problems/not-found"
