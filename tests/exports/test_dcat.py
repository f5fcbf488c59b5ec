"""DCAT-AP 3: the catalogue parses with rdflib; every public service is a dcat:DataService (one with an
endpoint) or a dcat:Dataset of type Software (one without, as every seed service), with title, description,
publisher and licence."""

from __future__ import annotations

import warnings

import pytest
import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS

from tests.test_seed import SEEDS

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SEED_IDS = sorted(yaml.safe_load(p.read_text("utf-8"))["id"] for p in SEEDS)


def parse(text: str, fmt: str) -> Graph:
    """text parsed by rdflib. Its JSON-LD parser builds a ConjunctiveGraph internally, which rdflib 7
    itself deprecates; that warning is about rdflib's code, not ours or the document."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=text, format=fmt)


@pytest.fixture(scope="module")
def graphs(seeded) -> dict[str, Graph]:
    client = seeded.test_client()
    found = {}
    for fmt, path, media_type in (
        ("turtle", "dcat.ttl", "text/turtle"),
        ("json-ld", "dcat.jsonld", "application/ld+json"),
    ):
        response = client.get(f"/api/v1/export/{path}")
        assert response.status_code == 200
        assert response.mimetype == media_type
        found[fmt] = parse(response.get_data(as_text=True), fmt)
    return found


@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_every_seed_service_is_a_data_service_with_the_required_properties(graphs, fmt):
    graph = graphs[fmt]
    catalogues = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert catalogues == [URIRef("http://localhost/")]
    services = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert not set(graph.subjects(RDF.type, DCAT.DataService))  # no seed service has a public endpoint
    assert services == set(graph.objects(catalogues[0], DCAT.dataset))
    assert sorted(str(graph.value(s, DCTERMS.identifier)) for s in services) == SEED_IDS
    for service in services:
        assert graph.value(service, DCTERMS.title), service
        assert graph.value(service, DCTERMS.description), service
        publisher = graph.value(service, DCTERMS.publisher)
        assert (publisher, RDF.type, FOAF.Agent) in graph
        assert graph.value(publisher, FOAF.name), publisher
        assert graph.value(service, DCTERMS.type) == URIRef("http://purl.org/dc/dcmitype/Software")
        descriptor = f"{service}/versions/{graph.value(service, URIRef('http://www.w3.org/ns/adms#version'))}"
        assert URIRef(descriptor + "/descriptor.json") in set(graph.objects(service, DCAT.distribution))
        assert graph.value(service, DCTERMS.modified).datatype == URIRef("http://www.w3.org/2001/XMLSchema#dateTime")
        assert graph.value(service, DCTERMS.license) is not None, service
        for theme in graph.objects(service, DCAT.theme):
            assert (theme, RDF.type, SKOS.Concept) in graph


def test_turtle_and_json_ld_say_the_same(graphs):
    assert isomorphic(graphs["turtle"], graphs["json-ld"])


def test_licences_themes_keywords_and_endpoint_descriptions(graphs):
    graph = graphs["turtle"]
    relais = URIRef("http://localhost/services/relais")
    # RELAIS describes the shared "Record linkage" Definition; the service's title is its own implementation name.
    assert graph.value(relais, DCTERMS.title) == Literal("RELAIS", lang="en")
    # "EUPL-1.1 OR EUPL-1.2" is an expression: a licence document labelled with it, not an SPDX URI.
    licence = graph.value(relais, DCTERMS.license)
    assert not isinstance(licence, URIRef)
    assert str(graph.value(licence, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))) == "EUPL-1.1 OR EUPL-1.2"
    assert set(graph.objects(relais, DCAT.theme)) == {URIRef("http://localhost/document/gsbpm?sp=5.1")}
    assert Literal("record linkage", lang="en") in set(graph.objects(relais, DCAT.keyword))
    # No endpoint: software, with its CSPA descriptor as a distribution.
    assert any(str(d).endswith("/descriptor.json") for d in graph.objects(relais, DCAT.distribution))
    mit = [
        s
        for s in graph.subjects(RDF.type, DCAT.Dataset)
        if graph.value(s, DCTERMS.license) == URIRef("http://spdx.org/licenses/MIT")
    ]
    licences = [yaml.safe_load(path.read_text("utf-8"))["implementation"]["licence"] for path in SEEDS]
    assert len(mit) == licences.count("MIT") > 1  # as many as the seed files say, not a number fixed here


def test_the_described_documents_are_served(seeded_client, graphs):
    graph = graphs["turtle"]
    for service in list(graph.subjects(RDF.type, DCAT.Dataset))[:5] + [URIRef("http://localhost/services/pxwebapi")]:
        for distribution in graph.objects(service, DCAT.distribution):
            if str(distribution).startswith("http://localhost/"):
                target = str(distribution).removeprefix("http://localhost")
                assert seeded_client.get(target).status_code == 200, target
        assert seeded_client.get(str(service).removeprefix("http://localhost")).status_code == 200


def test_urls_are_absolute_from_the_request_host(seeded_client):
    text = seeded_client.get("/api/v1/export/dcat.ttl", base_url="https://stats.example.org").get_data(as_text=True)
    graph = parse(text, "turtle")
    services = list(graph.subjects(RDF.type, DCAT.Dataset))
    assert services and all(str(s).startswith("https://stats.example.org/services/") for s in services)
    assert "http://localhost" not in text
