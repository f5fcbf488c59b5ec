"""DCAT-AP properties that come from the descriptor: endpoint URL, contact point, SPDX licence, publisher."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from catalogue.exports import dcat_import
from tests.exports.test_dcat import VCARD, parse
from tests.exports.test_dcat_ap_shapes import assert_dcat_ap_3


def test_endpoint_url_contact_point_and_spdx_licence_from_the_descriptor(client, workflow, good_text):
    text = good_text.replace(
        '      info: {title: Linkage, version: "1.0"}\n',
        '      info: {title: Linkage, version: "1.0"}\n      servers: [{url: "https://api.example.org/linkage"}]\n',
    )
    text = text.replace(
        "{name: Linkage team, url: https://example.org/contact}",
        "{name: Linkage team, email: linkage@istat.example, url: https://example.org/contact}",
    )
    workflow.submit(text)
    workflow.approve("demo-linkage", "1.0.0")
    graph = parse(client.get("/api/v1/export/dcat.ttl").get_data(as_text=True), "turtle")
    service = URIRef("http://localhost/services/demo-linkage")
    # An endpoint a client can call: a data service, with the OpenAPI document and its standard.
    assert (service, RDF.type, DCAT.DataService) in graph
    assert (URIRef("http://localhost/"), DCAT.service, service) in graph
    assert graph.value(service, DCAT.endpointURL) == URIRef("https://api.example.org/linkage")
    assert str(graph.value(service, DCAT.endpointDescription)).endswith("/versions/1.0.0/openapi.json")
    assert graph.value(service, DCTERMS.conformsTo) == URIRef("https://spec.openapis.org/oas/latest.html")
    assert graph.value(service, DCTERMS.license) == URIRef("http://spdx.org/licenses/EUPL-1.2")
    contact = graph.value(service, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in graph
    assert graph.value(contact, VCARD.fn) == Literal("Linkage team")
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:linkage@istat.example")
    assert_dcat_ap_3(graph)
    # Read back (catalogue import --from-dcat), the data service keeps its endpoint and is a valid descriptor.
    descriptor = dcat_import.descriptor_of(graph, service)
    servers = descriptor["specification"]["interface"]["openapi"]["servers"]
    assert servers == [{"url": "https://api.example.org/linkage"}]
    assert descriptor["contacts"] == [
        {"name": "Linkage team", "email": "linkage@istat.example", "url": "https://example.org/contact"}
    ]
    report = client.post("/api/v1/validate", json=descriptor).json
    assert report["valid"], report["errors"]
    publisher = graph.value(service, DCTERMS.publisher)
    assert graph.value(publisher, FOAF.name) == Literal("Italian National Institute of Statistics")
