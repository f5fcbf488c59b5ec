"""The DCAT-AP Turtle export against the official DCAT-AP 3.0.0 SHACL shapes (tests/data/dcat-ap-3.0.0), with
pyshacl: no violation of the mandatory and range shapes, and of the recommended shapes only the warnings the
README lists (each about something a piece of statistical software does not have)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SH

from tests.exports.test_dcat import parse

SHAPES = Path(__file__).parent.parent / "data" / "dcat-ap-3.0.0"

ACCEPTED_WARNINGS = {
    # Software has no place or period it covers.
    (DCAT.Dataset, DCTERMS.spatial),
    (DCAT.Dataset, DCTERMS.temporal),
    (DCAT.Catalog, DCTERMS.spatial),
    # The descriptor says nothing of an organisation's kind (national office, project, ...) or a licence's.
    (FOAF.Agent, DCTERMS.type),
    (DCTERMS.LicenseDocument, DCTERMS.type),
    # Only the operator of an instance can say under which licence its catalogue metadata is published.
    (DCAT.Catalog, DCTERMS.license),
    # A descriptor without a contact (the schema makes contacts optional).
    (DCAT.Dataset, DCAT.contactPoint),
    (DCAT.DataService, DCAT.contactPoint),
    # A CSPA service works on the data its user gives it: it serves no dataset of a catalogue.
    (DCAT.DataService, DCAT.servesDataset),
    # A descriptor without keywords (optional in the schema).
    (DCAT.Dataset, DCAT.keyword),
    (DCAT.DataService, DCAT.keyword),
}
"""(class of the node, property) of the recommended-shape warnings the README lists and justifies."""


def shape_results(data: Graph, shapes: str) -> Counter[tuple[str, URIRef, URIRef]]:
    """(severity, class of the focus node, property) of each result of one shapes file, counted."""
    shapes_graph = Graph().parse(SHAPES / shapes, format="turtle")
    _conforms, report, _text = validate(data, shacl_graph=shapes_graph, inference="none", allow_warnings=True)
    found: Counter[tuple[str, URIRef, URIRef]] = Counter()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        focus = report.value(result, SH.focusNode)
        kinds = sorted(data.objects(focus, RDF.type), key=lambda k: k != FOAF.Agent)  # an Organization is an Agent
        path = report.value(result, SH.resultPath)
        found[(severity, kinds[0] if kinds else URIRef(""), path)] += 1
    return found


def assert_dcat_ap_3(data: Graph) -> None:
    """No violation of the mandatory and range shapes; only accepted warnings from the recommended ones."""
    for shapes in ("shapes.ttl", "range.ttl"):
        assert shape_results(data, shapes) == Counter(), shapes
    warnings = shape_results(data, "shapes_recommended.ttl")
    assert {(kind, path) for _severity, kind, path in warnings} <= ACCEPTED_WARNINGS, warnings
    assert {severity for severity, _kind, _path in warnings} <= {"Warning"}


@pytest.fixture(scope="module")
def turtle(seeded) -> Graph:
    response = seeded.test_client().get("/api/v1/export/dcat.ttl")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True), "turtle")


def test_the_seed_catalogue_conforms_to_dcat_ap_3(turtle):
    assert_dcat_ap_3(turtle)


def test_the_shapes_catch_what_they_should(turtle):
    """The check can fail: a data service without an endpoint, and a landing page not typed foaf:Document,
    are the two faults the export had before (dcat:endpointURL is mandatory; the range is foaf:Document)."""
    broken = Graph()
    for triple in turtle:
        broken.add(triple)
    service = next(iter(turtle.subjects(RDF.type, DCAT.Dataset)))
    broken.remove((service, RDF.type, DCAT.Dataset))
    broken.add((service, RDF.type, DCAT.DataService))
    for page in turtle.objects(service, DCAT.landingPage):
        broken.remove((page, RDF.type, FOAF.Document))
    assert (("Violation", DCAT.DataService, DCAT.endpointURL)) in shape_results(broken, "shapes.ttl")
    assert (("Violation", DCAT.DataService, DCAT.landingPage)) in shape_results(broken, "range.ttl")
