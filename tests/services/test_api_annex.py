"""The API's answers and its own OpenAPI document show the new fields: interface kinds, software version,
distributions and the "Get it" lines, and the diff grouped by layer."""

from __future__ import annotations

import yaml
from flask import Flask

from tests.conftest import DATA

ANNEX = DATA / "annex"


def _submit(client, token: str, text: str, status: str = "draft"):
    response = client.post(
        "/api/v1/services",
        query_string={"status": status},
        data=text.encode(),
        content_type="application/yaml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 201), response.json
    return response.json


def test_a_version_and_its_service_show_interface_kinds_software_version_and_get_it(app: Flask, make_user) -> None:
    client = app.test_client()
    token = make_user("annex@statistik-austria.example", "STATISTIK-AUSTRIA", "submitter")
    body = _submit(client, token, (ANNEX / "sdcmicro-library.yaml").read_text("utf-8"))
    assert body["interface_kinds"] == ["library"]
    assert body["software_version"] == "5.7.8"
    assert body["get_it"] == [
        {
            "kind": "cran",
            "label": "CRAN (R)",
            "command": 'install.packages("sdcMicro")',
            "one_line": 'install.packages("sdcMicro")',
            "url": None,
        }
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    service = client.get("/api/v1/services/sdcmicro-library", headers=bearer).json
    assert service["interface_kinds"] == ["library"] and service["distributions"] == ["cran"]
    assert service["gsbpm"] == ["6.4"]


def test_the_diff_groups_changes_by_layer(app: Flask, make_user) -> None:
    client = app.test_client()
    token = make_user("annex@statistik-austria.example", "STATISTIK-AUSTRIA", "submitter")
    text = (ANNEX / "sdcmicro-library.yaml").read_text("utf-8")
    _submit(client, token, text, status="submitted")
    reviewer = {"Authorization": f"Bearer {make_user('reviewer@cbs.example', 'CBS', 'reviewer')}"}
    base = "/api/v1/services/sdcmicro-library/versions/1.0.0"
    assert client.post(f"{base}/transitions", json={"to": "in_review"}, headers=reviewer).status_code == 200
    review = {"decision": "approved", "comment": "checked"}
    assert client.post(f"{base}/reviews", json=review, headers=reviewer).status_code == 201
    content = yaml.safe_load(text)
    content["version"] = "1.1.0"
    content["implementation"]["software_version"] = "5.7.9"
    _submit(client, token, yaml.safe_dump(content))
    response = client.get(
        "/api/v1/services/sdcmicro-library/versions/1.1.0/diff",
        query_string={"against": "1.0.0"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.json
    diff = response.json
    assert [(g["layer"], [c["label"] for c in g["changes"]]) for g in diff["descriptor"]["layers"]] == [
        ("Implementation", ["software version"]),
        ("Descriptor", ["version"]),
    ]


def test_the_registry_openapi_describes_the_new_fields(client) -> None:
    document = client.get("/api/openapi.json").json
    schemas = document["components"]["schemas"]
    assert {"interface_kinds", "software_version", "get_it"} <= set(schemas["VersionDetail"]["properties"])
    assert {"interface_kinds", "distributions"} <= set(schemas["Service"]["properties"])
    assert schemas["Distribution"]["properties"]["kind"]["enum"] == [
        "cran",
        "pypi",
        "maven",
        "npm",
        "nuget",
        "container",
        "download",
    ]
    body = schemas["DescriptorBody"]
    assert "definition" not in body.get("required", [])  # a Specification given by reference needs none
    assert {"ref", "version", "owner"} <= set(schemas["DescriptorSpecification"]["properties"])
    assert {"software_version", "distributions", "builder"} <= set(schemas["DescriptorImplementation"]["properties"])
    export = schemas["ExportedService"]["properties"]
    assert {"interface_kinds", "distributions", "install", "software_version", "methodologies"} <= set(export)
