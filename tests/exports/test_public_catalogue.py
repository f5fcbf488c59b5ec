"""The exports of the seeded catalogue, as anonymous readers get them: JSON, CSV, Backstage, Atom and badges.

(DCAT-AP has its own module; tests that change the catalogue live in the per-format modules.)"""

from __future__ import annotations

import csv
import io

import yaml
from defusedxml import ElementTree

from catalogue.exports.schemas import CatalogueExportSchema
from catalogue.exports.tabular import CSV_COLUMNS, LIST_SEPARATOR
from tests.exports.test_backstage import REQUIRED, _entities
from tests.exports.test_badge import _texts
from tests.exports.test_dcat import SEED_IDS
from tests.exports.test_feed import A, _feed


def test_json_export_lists_every_seed_service_in_its_own_schema(seeded_client):
    response = seeded_client.get("/api/v1/export/catalogue.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.json
    assert CatalogueExportSchema().validate(body) == {}
    ids = [s["id"] for s in body["services"]]
    assert ids == SEED_IDS
    assert body["count"] == len(ids)
    relais = next(s for s in body["services"] if s["id"] == "relais")
    assert relais["organisation"] == "ISTAT" and relais["status"] == "approved"
    assert relais["url"] == "http://localhost/services/relais"
    assert relais["openapi_url"] is None and relais["gsbpm"] == ["5.1"]
    px = next(s for s in body["services"] if s["id"] == "pxwebapi")
    assert px["openapi_url"] == f"http://localhost/services/pxwebapi/versions/{px['version']}/openapi.json"
    assert "GetTableData" in px["operations"]


def test_csv_export_has_a_header_and_one_row_per_service_with_lists_joined(seeded_client):
    response = seeded_client.get("/api/v1/export/catalogue.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    json_services = seeded_client.get("/api/v1/export/catalogue.json").json["services"]
    assert [r["id"] for r in rows] == [s["id"] for s in json_services]
    assert tuple(rows[0]) == CSV_COLUMNS
    relais = next(r for r in rows if r["id"] == "relais")
    expected = next(s for s in json_services if s["id"] == "relais")
    assert relais["keywords"] == LIST_SEPARATOR.join(expected["keywords"])
    assert relais["technology"] == "Java; R; MySQL"
    assert relais["compliance_score"] == str(expected["compliance_score"])


def test_the_export_routes_are_described_in_the_registry_openapi(seeded_client):
    paths = seeded_client.get("/api/openapi.json").json["paths"]
    assert paths["/api/v1/export/catalogue.json"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/CatalogueExport"}
    for path, media_type in (
        ("catalogue.csv", "text/csv"),
        ("dcat.jsonld", "application/ld+json"),
        ("dcat.ttl", "text/turtle"),
        ("backstage.yaml", "application/yaml"),
    ):
        assert media_type in paths[f"/api/v1/export/{path}"]["get"]["responses"]["200"]["content"]


def test_every_seed_service_is_a_component_with_the_required_keys(seeded_client):
    entities = _entities(seeded_client)
    assert [e["metadata"]["name"] for e in entities if e["kind"] == "Component"] == SEED_IDS
    # One Group per organisation owns its services: every owner reference resolves.
    groups = {f"group:default/{e['metadata']['name']}" for e in entities if e["kind"] == "Group"}
    assert {e["spec"]["owner"] for e in entities if e["kind"] != "Group"} == groups
    for entity in [e for e in entities if e["kind"] != "Group"]:
        assert REQUIRED <= set(entity)
        assert entity["apiVersion"] == "backstage.io/v1alpha1" and entity["kind"] in ("Component", "API")
        metadata, spec = entity["metadata"], entity["spec"]
        assert metadata["title"] and metadata["description"]
        assert all(t == t.lower() and " " not in t and len(t) <= 63 for t in metadata["tags"])
        assert metadata["links"][0]["url"].startswith("http://localhost/services/")
        assert spec["lifecycle"] in ("experimental", "production", "deprecated")
        assert spec["owner"].startswith("group:default/")
        if entity["kind"] == "API":
            assert isinstance(spec["definition"], str)
            if spec["type"] == "wsdl":  # a WSDL is XML, the other kinds YAML or JSON
                assert ElementTree.fromstring(spec["definition"]).tag.endswith("definitions")
            else:
                assert yaml.safe_load(spec["definition"])


def test_the_definition_is_the_openapi_document_where_there_is_one(seeded_client):
    entities = {(e["kind"], e["metadata"]["name"]): e for e in _entities(seeded_client)}
    px, relais = entities[("API", "pxwebapi")], entities[("Component", "relais")]
    version = px["metadata"]["annotations"]["cspa-catalogue/version"]
    served = seeded_client.get(f"/services/pxwebapi/versions/{version}/openapi.yaml")
    assert px["spec"]["type"] == "openapi"
    assert yaml.safe_load(px["spec"]["definition"]) == yaml.safe_load(served.get_data(as_text=True))
    assert entities[("Component", "pxwebapi")]["spec"]["providesApis"] == ["api:default/pxwebapi"]
    # A library has no API Backstage could render: it is a Component of type library, linking its descriptor.
    assert ("API", "relais") not in entities
    assert relais["spec"]["type"] == "library" and "providesApis" not in relais["spec"]
    assert relais["spec"]["owner"] == "group:default/istat"
    assert "record-linkage" in relais["metadata"]["tags"]
    assert any(link["title"] == "CSPA descriptor" for link in relais["metadata"]["links"])


def test_catalog_info_of_one_service_is_its_entities_in_the_whole_export(seeded_client):
    whole = [e for e in _entities(seeded_client) if e["metadata"]["name"] == "pxwebapi"]
    response = seeded_client.get("/services/pxwebapi/catalog-info.yaml")
    assert response.status_code == 200
    assert list(yaml.safe_load_all(response.get_data(as_text=True))) == whole
    assert [e["kind"] for e in whole] == ["Component", "API"]
    assert seeded_client.get("/services/no-such-service/catalog-info.yaml").status_code == 404


def test_the_feed_has_the_required_atom_elements(seeded_client):
    root = _feed(seeded_client)
    for name in ("id", "title", "updated"):
        assert root.find(f"{A}{name}").text
    assert root.find(f"{A}id").text.startswith("urn:uuid:")
    assert root.find(f"{A}link[@rel='self']").get("href") == "http://localhost/feeds/approved.atom"
    entries = root.findall(f"{A}entry")
    assert sorted(e.find(f"{A}link").get("href").rsplit("/", 1)[1] for e in entries) == SEED_IDS
    for entry in entries:
        for name in ("id", "title", "updated", "summary"):
            assert entry.find(f"{A}{name}").text, name
        assert entry.find(f"{A}author/{A}name").text
        assert entry.find(f"{A}id").text.startswith("urn:uuid:")
    assert len({e.find(f"{A}id").text for e in entries}) == len(entries)


def test_badge_shows_status_and_score_of_the_public_version(seeded_client):
    score = seeded_client.get("/api/v1/services/relais").json
    response = seeded_client.get("/services/relais/badge.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["ETag"].startswith('"')
    exported = next(
        s for s in seeded_client.get("/api/v1/export/catalogue.json").json["services"] if s["id"] == "relais"
    )
    texts = _texts(response)
    assert texts[1] == "CSPA" and texts[3] == f"approved · {exported['compliance_score']}%"
    assert score  # the service is public
