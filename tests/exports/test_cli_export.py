"""`catalogue export --format ...` writes the documents the routes serve (one builder for both)."""

from __future__ import annotations

import json

import pytest
from rdflib.compare import isomorphic

from catalogue.cli import main
from tests.exports.test_dcat import parse


@pytest.fixture
def published(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.approve("demo-linkage", "1.0.0")
    workflow.submit(good_text.replace("id: demo-linkage", "id: second-linkage"))
    workflow.approve("second-linkage", "1.0.0")


def _export(app, fmt: str, tmp_path) -> str:
    out = tmp_path / f"export.{fmt}"
    result = app.test_cli_runner().invoke(
        main, ["export", "--format", fmt, "--base-url", "https://stats.example.org/", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out.read_bytes().decode("utf-8")  # as written: CSV lines end in CRLF (RFC 4180)


@pytest.mark.parametrize(("fmt", "path"), [("csv", "catalogue.csv"), ("backstage", "backstage.yaml")])
def test_text_exports_equal_the_routes(app, client, published, tmp_path, fmt, path):
    served = client.get(f"/api/v1/export/{path}", base_url="https://stats.example.org").get_data(as_text=True)
    assert _export(app, fmt, tmp_path) == served


def test_json_export_equals_the_route_but_for_its_time(app, client, published, tmp_path):
    served = client.get("/api/v1/export/catalogue.json", base_url="https://stats.example.org").json
    written = json.loads(_export(app, "json", tmp_path))
    assert written.pop("generated_at") and served.pop("generated_at")
    assert written == served and [s["id"] for s in written["services"]] == ["demo-linkage", "second-linkage"]


@pytest.mark.parametrize(
    ("fmt", "path", "rdf"), [("jsonld", "dcat.jsonld", "json-ld"), ("turtle", "dcat.ttl", "turtle")]
)
def test_dcat_exports_are_the_same_graph_as_the_routes(app, client, published, tmp_path, fmt, path, rdf):
    served = client.get(f"/api/v1/export/{path}", base_url="https://stats.example.org").get_data(as_text=True)
    assert isomorphic(parse(_export(app, fmt, tmp_path), rdf), parse(served, rdf))


def test_the_default_export_is_still_every_version(app, published, tmp_path):
    out = tmp_path / "all.json"
    result = app.test_cli_runner().invoke(main, ["export", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [s["id"] for s in json.loads(out.read_text("utf-8"))["services"]] == ["demo-linkage", "second-linkage"]
