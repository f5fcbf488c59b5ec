"""The registry's own OpenAPI 3.1 document: generated from the marshmallow schemas, valid, complete."""

from __future__ import annotations

import re
import warnings

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi_3_1(client):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. two schemas with one name would be silently renamed
        response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_api_route_is_described(app, client):
    spec = client.get("/api/openapi.json").json
    described = {
        (method.upper(), path) for path, item in spec["paths"].items() for method in item if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in described, f"{method} {path} is not in /api/openapi.json"


def test_errors_are_documented_as_problem_json(client):
    spec = client.get("/api/openapi.json").json
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default) == ["application/problem+json"]
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    # And the errors really are that shape.
    answer = client.get("/api/v1/services/no-such-service")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    assert set(answer.json) <= set(problem) and isinstance(answer.json["status"], int)


def test_the_document_is_rendered_as_a_readable_page(client):
    spec = client.get("/api/openapi.json").json
    operations = [
        (method.upper(), path) for path, item in spec["paths"].items() for method in item if method != "parameters"
    ]
    page = client.get("/api/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert html.count('<article class="operation"') == len(operations)
    for method, path in operations:
        assert f'<code class="path">{path}</code>' in html, (method, path)
    assert "Problem" in html  # error schemas are shown as trees too


def test_every_json_request_body_is_a_described_shape(client):
    # A bare {"type": "object"} lets any client and any fuzzer guess; each JSON body names its fields.
    spec = client.get("/api/openapi.json").json
    components = spec["components"]["schemas"]
    bodies = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                if not media.endswith("json"):
                    continue
                reference = content["schema"].get("$ref", "")
                assert reference.startswith("#/components/schemas/"), f"{method} {path}: {content['schema']}"
                shape = components[reference.rsplit("/", 1)[1]]
                assert shape.get("properties"), f"{method} {path}: {reference} names no field"
                bodies += 1
    assert bodies >= 5
    descriptor = components["DescriptorBody"]
    assert {"cspa", "id", "version", "implementation"} <= set(descriptor["required"])
    # The Definition may be left out when the Specification is given by reference (the descriptor schema).
    assert "definition" in descriptor["properties"] and "definition" not in descriptor["required"]


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def test_every_operation_has_an_id_a_summary_and_its_security(client):
    spec = client.get("/api/openapi.json").json
    assert spec["servers"] and spec["servers"][0]["url"]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    ids = [operation["operationId"] for _method, _path, operation in _operations(spec)]
    assert len(ids) == len(set(ids)) == len(_operations(spec))
    for method, path, operation in _operations(spec):
        assert operation["summary"].strip(), (method, path)
        assert operation["security"] in ([{"bearerAuth": []}], [{"bearerAuth": []}, {}]), (method, path)
        assert "401" in operation["responses"], (method, path)
    submit = spec["paths"]["/api/v1/services"]["post"]
    assert submit["operationId"] == "submitService"
    assert submit["externalDocs"]["url"] == "/schemas/cspa-service-descriptor.schema.json"
    assert submit["requestBody"]["content"]["application/json"]["example"]["id"] == "demo-linkage"


def test_the_operations_marked_as_needing_a_token_refuse_an_anonymous_request(seeded):
    """The security each operation declares is what the API does: 401 without a token exactly where the
    document says a token is required (an optional one is never asked for)."""
    client = seeded.test_client()
    spec = client.get("/api/openapi.json").json
    fill = {"slug": "relais", "version": "1.0.0", "owner": "ISTAT", "token_id": "1"}
    for method, path, operation in _operations(spec):
        url = re.sub(r"{([a-z_]+)}", lambda m: fill[m.group(1)], path)
        example = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        answer = client.open(url, method=method, json=example if method == "POST" else None)
        required = operation["security"] == [{"bearerAuth": []}]
        assert (answer.status_code == 401) == required, (method, path, answer.status_code)


def test_the_example_descriptor_is_valid(client):
    from catalogue.openapi import example_descriptor

    answer = client.post("/api/v1/validate", data=example_descriptor(), content_type="application/yaml")
    assert answer.status_code == 200 and answer.json["valid"], answer.json


def test_the_diff_answer_is_the_shape_the_document_gives(app, client, make_user, good_text):
    """GET .../diff returns a plain dict; the VersionDiff schema the document gives for it must fit it."""
    import yaml
    from jsonschema import Draft202012Validator

    submitter = {"Authorization": f"Bearer {make_user()}"}
    reviewer = {"Authorization": f"Bearer {make_user('reviewer@cbs.example', 'CBS', 'reviewer')}"}
    base = "/api/v1/services/demo-linkage/versions"
    sent = client.post("/api/v1/services", data=good_text, content_type="application/yaml", headers=submitter)
    assert sent.status_code == 201, sent.json
    assert client.post(f"{base}/1.0.0/transitions", json={"to": "in_review"}, headers=reviewer).status_code == 200
    decision = {"decision": "approved", "comment": "checked"}
    assert client.post(f"{base}/1.0.0/reviews", json=decision, headers=reviewer).status_code == 201
    content = yaml.safe_load(good_text)
    content["version"] = "2.0.0"  # a breaking change raises the major version
    content["definition"]["purpose"] = "Links the records of two data sets."
    content["specification"]["interface"]["openapi"]["paths"] = {}  # runLinkage removed: a breaking change
    content["specification"]["operations"] = []
    sent = client.post("/api/v1/services", json=content, headers=submitter)
    assert sent.status_code == 201, sent.json
    diff = client.get(f"{base}/2.0.0/diff", headers=submitter)
    assert diff.status_code == 200, diff.json
    assert diff.json["interface"]["removed"] and diff.json["descriptor"]["changes"]
    spec = client.get("/api/openapi.json").json
    response = spec["paths"]["/api/v1/services/{slug}/versions/{version}/diff"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/VersionDiff"}
    Draft202012Validator(spec["components"]["schemas"]["VersionDiff"]).validate(diff.json)


def test_a_request_makes_no_argument_schema_of_its_own(client, monkeypatch):
    # webargs makes a new schema (a deep copy of every field) for each request when a route is given a schema
    # class; given an instance, it reuses it. The routes read most often must not pay that on every request.
    from marshmallow import Schema

    made: list[str] = []
    original = Schema.__init__

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        original(self, *args, **kwargs)

    client.get("/api/v1/search?q=seasonal")  # anything made once, on first use, is made here
    client.get("/api/v1/services?page=1")
    monkeypatch.setattr(Schema, "__init__", counting)
    for path in ("/api/v1/search?q=editing", "/api/v1/search/suggest?q=se", "/api/v1/services?page=2"):
        assert client.get(path).status_code == 200
    assert not [name for name in made if name.endswith("Args")]
