"""The public catalogue in DCAT-AP 3: one dcat:Catalog, each service a dcat:DataService (one with an
endpoint) or a dcat:Dataset of type Software (one without), so European data portals can harvest it (as
JSON-LD or Turtle)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from catalogue import reference
from catalogue.exports.catalogue import ExportedService, Links
from catalogue.services import distributions

SPDX_LICENCES = "http://spdx.org/licenses/"
ADMS = Namespace("http://www.w3.org/ns/adms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DCAT_AP_3 = URIRef("http://data.europa.eu/r5r/3.0.0")  # the profile the catalogue conforms to
# DCAT 3's dcat:version (https://www.w3.org/TR/vocab-dcat-3/#Property:resource_version), which rdflib's
# DCAT namespace (DCAT 2) does not define yet.
DCAT_VERSION = URIRef(str(DCAT) + "version")
# A service without an endpoint is software, DCMI type Software (https://www.dublincore.org/specifications/dublin-core/
# dcmi-terms/#section-7); DCAT 3 names the DCMI Type vocabulary for dct:type (https://www.w3.org/TR/vocab-dcat-3/
# #Property:resource_type).
SOFTWARE = URIRef("http://purl.org/dc/dcmitype/Software")
# The media type of the descriptor as IANA registers it, and the file type from the EU's authority table, the
# vocabularies DCAT-AP 3 names for dcat:mediaType and dct:format (https://semiceu.github.io/DCAT-AP/releases/
# 3.0.0/#controlled-vocs).
JSON_MEDIA_TYPE = URIRef("http://www.iana.org/assignments/media-types/application/json")
JSON_FILE_TYPE = URIRef("http://publications.europa.eu/resource/authority/file-type/JSON")
# The EU's planned-availability table, the vocabulary DCAT-AP 3 names for dcatap:availability: a version's
# descriptor never changes (stable); a package registry keeps a release available.
AVAILABILITY = "http://publications.europa.eu/resource/authority/planned-availability/"
ENGLISH = URIRef("http://publications.europa.eu/resource/authority/language/ENG")
INTERFACE_STANDARDS = {
    "openapi": ("https://spec.openapis.org/oas/latest.html", "OpenAPI Specification"),
    "asyncapi": ("https://www.asyncapi.com/docs/reference/specification/latest", "AsyncAPI Specification"),
    "wsdl": ("https://www.w3.org/TR/wsdl20/", "Web Services Description Language (WSDL)"),
}
"""The specification each interface kind of a data service follows (its dct:conformsTo)."""
_SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+$")

MEDIA_TYPES = {"jsonld": "application/ld+json", "turtle": "text/turtle"}
"""The media type of each serialisation."""

log = logging.getLogger(__name__)

# The characters RFC 3987 allows in no IRI, which Turtle cannot write between < and >: spaces and
# other controls, and < > " { } | \ ^ `. The descriptor schema accepts them in addresses (a
# documentation URL such as https://example.org/docs/{version}/ is common), so the export encodes them.
_NOT_IN_IRI = re.compile(r'[\x00-\x20\x7f<>"{}|\\^`]')
_IRI_SCHEMES = re.compile(r"^(https?|mailto):", re.IGNORECASE)


def iri(text: str) -> str | None:
    """text as an IRI every RDF format can write, or None when it is no http, https or mailto address.

    The rule: each character no IRI may hold is percent-encoded as its UTF-8 bytes (what a browser
    sends for the same link, so the address still leads where it did); an address whose scheme is not
    http, https or mailto is left out, since a harvester could not follow it.
    """
    encoded = _NOT_IN_IRI.sub(lambda m: quote(m.group(), safe=""), text.strip())
    return encoded if _IRI_SCHEMES.match(encoded) and len(encoded) > len("mailto:") else None


def mailto(email: str) -> str:
    """The mailto: IRI of an e-mail address, every character but @ and the unreserved ones
    percent-encoded (RFC 6068), so quotes or angle brackets in the address stay inside it."""
    return "mailto:" + quote(email.strip(), safe="@")


def _link(
    graph: Graph, subject: URIRef | BNode, predicate: URIRef, address: str, record: ExportedService, field: str
) -> None:
    """Add the triple (subject, predicate, address as an IRI), or log why the address is left out."""
    value = iri(address)
    if value is None:
        log.warning(
            "DCAT export: the %s of service %s is left out: %.200r is not an http, https or mailto address",
            field,
            record.id,
            address,
        )
        return
    graph.add((subject, predicate, URIRef(value)))


def _licence(graph: Graph, expression: str) -> URIRef | BNode:
    """One SPDX identifier is its SPDX URI; an expression (A OR B) or a LicenseRef- is a licence document
    labelled with the expression, as no single URI names it."""
    if _SPDX_ID.match(expression) and not expression.startswith("LicenseRef-"):
        node: URIRef | BNode = URIRef(SPDX_LICENCES + expression)
    else:
        node = BNode()
        graph.add((node, RDFS.label, Literal(expression)))
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    return node


def _distributions(graph: Graph, service: URIRef, record: ExportedService, links: Links) -> None:
    """Each typed distribution as a dcat:Distribution of the service's software.

    Software described as a dcat:Dataset lists its distributions with dcat:distribution. DCAT 3 gives
    dcat:distribution to datasets only, so a data service's distribution points to the service with
    dcat:accessService (DCAT 3, section 6.8) and the service lists it with dct:relation. accessURL is
    the package's page (or the download page), downloadURL the file of a download; the format names the
    ecosystem, the licence is the implementation's, dcat:version the version published there.
    """
    for index, (entry, item) in enumerate((entry, distributions.instruction(entry)) for entry in record.distributions):
        if item is None:
            continue
        node = URIRef(links.service(record.id) + f"#distribution-{index + 1}")
        graph.add((node, RDF.type, DCAT.Distribution))
        if (service, RDF.type, DCAT.Dataset) in graph:
            graph.add((service, DCAT.distribution, node))
        else:
            graph.add((node, DCAT.accessService, service))
            graph.add((service, DCTERMS.relation, node))
        graph.add((node, DCTERMS.title, Literal(f"{record.name} from {item.label}", lang="en")))
        description = (
            item.one_line if item.one_line and item.command else f"{record.name} as published on {item.label}."
        )
        graph.add((node, DCTERMS.description, Literal(description)))
        fmt = BNode()
        graph.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
        graph.add((fmt, RDFS.label, Literal(item.label)))
        graph.add((node, DCTERMS["format"], fmt))
        graph.add((node, DCATAP.availability, _availability(graph, "AVAILABLE")))
        if item.url:
            _link(graph, node, DCAT.accessURL, item.url, record, "distribution URL")
            if item.kind == "download":
                _link(graph, node, DCAT.downloadURL, item.url, record, "download URL")
        else:
            graph.add((node, DCAT.accessURL, URIRef(links.service(record.id))))
        if isinstance(entry.get("version"), str):
            graph.add((node, DCAT_VERSION, Literal(entry["version"])))
        if record.licence:
            graph.add((node, DCTERMS.license, _licence(graph, record.licence)))


def _availability(graph: Graph, code: str) -> URIRef:
    concept = URIRef(AVAILABILITY + code)
    graph.add((concept, RDF.type, SKOS.Concept))
    graph.add((concept, SKOS.prefLabel, Literal(code.lower(), lang="en")))
    return concept


def _publisher(graph: Graph, record: ExportedService, links: Links) -> URIRef:
    agent = URIRef(links.organisation(record.organisation))
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, FOAF.Organization))
    graph.add((agent, FOAF.name, Literal(record.organisation_name or record.organisation)))
    graph.add((agent, DCTERMS.identifier, Literal(record.organisation)))
    return agent


def _themes(graph: Graph, links: Links) -> URIRef:
    """The GSBPM 5.1 sub-processes as a SKOS concept scheme, the catalogue's theme taxonomy."""
    scheme = URIRef(links.to("document/gsbpm"))
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, DCTERMS.title, Literal("Generic Statistical Business Process Model (GSBPM) 5.1", lang="en")))
    for code, sub in reference.gsbpm().subprocesses.items():
        concept = URIRef(links.subprocess(code))
        graph.add((concept, RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.notation, Literal(code)))
        graph.add((concept, SKOS.prefLabel, Literal(sub.get("name", code), lang="en")))
        graph.add((concept, SKOS.inScheme, scheme))
    return scheme


def catalogue_graph(records: list[ExportedService], links: Links, generated_at: datetime) -> Graph:
    """The RDF graph: the catalogue, its data services, their publishers, contacts, licences and themes."""
    graph = Graph()
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("vcard", VCARD),
        ("skos", SKOS),
        ("adms", ADMS),
        ("dcatap", DCATAP),
    ):
        graph.bind(prefix, namespace)
    catalogue = URIRef(links.base)
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal("CSPA Catalogue", lang="en")))
    graph.add(
        (
            catalogue,
            DCTERMS.description,
            Literal(
                "Statistical services built to the Common Statistical Production Architecture (CSPA 2.0), "
                "shared by national and international statistical organisations.",
                lang="en",
            ),
        )
    )
    graph.add((catalogue, FOAF.homepage, URIRef(links.base)))
    graph.add((URIRef(links.base), RDF.type, FOAF.Document))
    graph.add((catalogue, DCTERMS.conformsTo, DCAT_AP_3))
    graph.add((catalogue, DCTERMS.language, ENGLISH))
    graph.add((ENGLISH, RDF.type, DCTERMS.LinguisticSystem))
    issued = min((r.approved_at for r in records), default=generated_at)
    graph.add((catalogue, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.dateTime)))
    modified = max((r.approved_at for r in records), default=generated_at)
    graph.add((catalogue, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
    operator = URIRef(links.to("#operator"))
    graph.add((operator, RDF.type, FOAF.Agent))
    graph.add((operator, FOAF.name, Literal("CSPA Catalogue")))
    graph.add((catalogue, DCTERMS.publisher, operator))
    graph.add((catalogue, DCAT.themeTaxonomy, _themes(graph, links)))
    for record in records:
        _resource(graph, catalogue, record, links)
    return graph


def is_data_service(record: ExportedService) -> bool:
    """Whether the service is a dcat:DataService: only one that runs at an address a client can call.

    DCAT-AP 3.0 makes dcat:endpointURL mandatory on a dcat:DataService (its mandatory shape, minCount 1).
    Software that each organisation installs and runs itself (a library, a command-line program, an API
    published as code with no public server) has no such address, so it is described as a dcat:Dataset of
    DCMI type Software instead, with its packages and its CSPA descriptor as distributions.
    """
    return record.endpoint_url is not None and iri(record.endpoint_url) is not None


def _document(
    graph: Graph, subject: URIRef, predicate: URIRef, address: str | None, record: ExportedService, field: str
) -> None:
    """A page (landing page, documentation, home page) as a foaf:Document, the range DCAT-AP 3 gives it; an
    address that is no http, https or mailto address is left out, with the reason logged."""
    if not address:
        return
    value = iri(address)
    if value is None:
        _link(graph, subject, predicate, address, record, field)  # logs why, adds nothing
        return
    graph.add((URIRef(value), RDF.type, FOAF.Document))
    graph.add((subject, predicate, URIRef(value)))


def _resource(graph: Graph, catalogue: URIRef, record: ExportedService, links: Links) -> None:
    """One service: a dcat:DataService listed with dcat:service, or a dcat:Dataset listed with dcat:dataset."""
    subject = URIRef(links.service(record.id))
    if is_data_service(record):
        graph.add((catalogue, DCAT.service, subject))
        graph.add((subject, RDF.type, DCAT.DataService))
        _link(graph, subject, DCAT.endpointURL, record.endpoint_url or "", record, "endpoint URL")
        description_file = "openapi.json" if record.openapi is not None else "descriptor.json"
        graph.add(
            (subject, DCAT.endpointDescription, URIRef(links.version_file(record.id, record.version, description_file)))
        )
        for kind in record.interfaces:
            if kind in INTERFACE_STANDARDS:
                graph.add((subject, DCTERMS.conformsTo, _standard(graph, kind)))
    else:
        if record.endpoint_url:  # an address no client could call: logged, and the service described as software
            _link(graph, subject, DCAT.endpointURL, record.endpoint_url, record, "endpoint URL")
        graph.add((catalogue, DCAT.dataset, subject))
        graph.add((subject, RDF.type, DCAT.Dataset))
        graph.add((SOFTWARE, RDF.type, SKOS.Concept))
        graph.add((SOFTWARE, SKOS.prefLabel, Literal("Software", lang="en")))
        graph.add((subject, DCTERMS.type, SOFTWARE))
        _descriptor_distribution(graph, subject, record, links)
    graph.add((subject, DCTERMS.identifier, Literal(record.id)))
    graph.add((subject, DCTERMS.title, Literal(record.name, lang="en")))
    graph.add((subject, DCTERMS.description, Literal(record.purpose, lang="en")))
    graph.add((subject, DCTERMS.publisher, _publisher(graph, record, links)))
    graph.add((subject, ADMS.version, Literal(record.version)))
    if record.software_version:
        # DCAT-AP 3 maps "version info" to dcat:version (DCAT 3, section 11); the descriptor's own version
        # stays adms:version.
        graph.add((subject, DCAT_VERSION, Literal(record.software_version)))
    _distributions(graph, subject, record, links)
    _document(graph, subject, DCAT.landingPage, links.service(record.id), record, "landing page")
    if record.licence:
        graph.add((subject, DCTERMS.license, _licence(graph, record.licence)))
    for keyword in record.keywords:
        graph.add((subject, DCAT.keyword, Literal(keyword, lang="en")))
    for code in record.gsbpm:
        graph.add((subject, DCAT.theme, URIRef(links.subprocess(code))))
    graph.add((subject, DCTERMS.modified, Literal(record.approved_at.isoformat(), datatype=XSD.dateTime)))
    for field, page in (("documentation", record.documentation), ("homepage", record.homepage)):
        _document(graph, subject, FOAF.page, page, record, field)
    _contacts(graph, subject, record)


def _contacts(graph: Graph, subject: URIRef, record: ExportedService) -> None:
    for person in record.contacts:
        node = BNode()
        graph.add((node, RDF.type, VCARD.Kind))
        graph.add((node, VCARD.fn, Literal(person.name)))
        if person.email:
            _link(graph, node, VCARD.hasEmail, mailto(person.email), record, "contact e-mail")
        if person.url:
            _link(graph, node, VCARD.hasURL, person.url, record, "contact URL")
        graph.add((subject, DCAT.contactPoint, node))


def _standard(graph: Graph, kind: str) -> URIRef:
    """The specification an interface kind follows, as a dct:Standard."""
    uri, title = INTERFACE_STANDARDS[kind]
    node = URIRef(uri)
    graph.add((node, RDF.type, DCTERMS.Standard))
    graph.add((node, DCTERMS.title, Literal(title, lang="en")))
    return node


def _descriptor_distribution(graph: Graph, subject: URIRef, record: ExportedService, links: Links) -> None:
    """The CSPA descriptor of the public version, a JSON distribution whose address never changes (a
    version, once approved, is never rewritten)."""
    address = links.version_file(record.id, record.version, "descriptor.json")
    node = URIRef(address)
    graph.add((subject, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, Literal(f"CSPA service descriptor, version {record.version}", lang="en")))
    graph.add(
        (
            node,
            DCTERMS.description,
            Literal("The service's CSPA 2.0 descriptor as published in the CSPA Catalogue.", lang="en"),
        )
    )
    graph.add((node, DCAT.accessURL, URIRef(address)))
    graph.add((node, DCAT.downloadURL, URIRef(address)))
    graph.add((node, DCATAP.availability, _availability(graph, "STABLE")))
    graph.add((node, DCAT.mediaType, JSON_MEDIA_TYPE))
    graph.add((JSON_MEDIA_TYPE, RDF.type, DCTERMS.MediaType))
    graph.add((node, DCTERMS.format, JSON_FILE_TYPE))
    graph.add((JSON_FILE_TYPE, RDF.type, DCTERMS.MediaTypeOrExtent))
    if record.licence:
        graph.add((node, DCTERMS.license, _licence(graph, record.licence)))


def serialise(graph: Graph, fmt: str) -> str:
    """The graph as JSON-LD (fmt "jsonld") or Turtle (fmt "turtle")."""
    if fmt == "jsonld":
        context = {
            "dcat": str(DCAT),
            "dct": str(DCTERMS),
            "foaf": str(FOAF),
            "vcard": str(VCARD),
            "skos": str(SKOS),
            "adms": str(ADMS),
            "xsd": str(XSD),
            "rdfs": str(RDFS),
        }
        return graph.serialize(format="json-ld", context=context, indent=2)
    return graph.serialize(format="turtle")


def catalogue_rdf(records: list[ExportedService], links: Links, generated_at: datetime, fmt: str) -> str:
    """The whole public catalogue as DCAT-AP 3, in JSON-LD or Turtle."""
    return serialise(catalogue_graph(records, links, generated_at), fmt)
