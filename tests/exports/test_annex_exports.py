"""The exports follow the new contract: Backstage Components and APIs by interface kind, DCAT-AP distributions
and software version, and the Annex 1 fields in the JSON and CSV catalogues."""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS

from catalogue.exports import backstage
from catalogue.exports.dcat import DCAT_VERSION

ANNEX = Path(__file__).parent.parent / "data" / "annex"
ADMS = Namespace("http://www.w3.org/ns/adms#")


def _as_istat(name: str) -> str:
    """An example descriptor, owned by the organisation of the workflow's submitter."""
    text = (ANNEX / name).read_text("utf-8")
    return re.sub(r"(?m)^  owner: .*$", "  owner: ISTAT", text)


def _slug(name: str) -> str:
    return yaml.safe_load((ANNEX / name).read_text("utf-8"))["id"]


def _publish_all(workflow) -> None:
    for name in ("sdcmicro-library.yaml", "banffprocessor-cli.yaml", "dotstat-container.yaml"):
        workflow.submit(_as_istat(name))
        workflow.approve(_slug(name), "1.0.0")


def _entities(client) -> dict[tuple[str, str], dict]:
    text = client.get("/api/v1/export/backstage.yaml").get_data(as_text=True)
    return {(e["kind"], e["metadata"]["name"]): e for e in yaml.safe_load_all(text)}


def test_backstage_components_by_interface_kind_and_their_apis(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.approve("demo-linkage", "1.0.0")
    _publish_all(workflow)
    entities = _entities(client)
    assert entities[("Component", "sdcmicro-library")]["spec"]["type"] == "library"
    assert entities[("Component", "banffprocessor-cli")]["spec"]["type"] == "command-line"
    explorer = entities[("Component", "dotstat-data-explorer")]
    assert explorer["spec"]["type"] == "service"
    assert explorer["spec"]["providesApis"] == ["api:default/dotstat-data-explorer"]
    api = entities[("API", "dotstat-data-explorer")]
    assert api["spec"]["type"] == "openapi"
    assert yaml.safe_load(api["spec"]["definition"])["paths"]["/healthcheck"]["get"]["operationId"] == "healthcheck"
    assert ("API", "sdcmicro-library") not in entities and ("API", "banffprocessor-cli") not in entities
    annotations = entities[("Component", "sdcmicro-library")]["metadata"]["annotations"]
    assert annotations["cspa-catalogue/software-version"] == "5.7.8"
    # Every provided API exists as an entity: Backstage would otherwise show a dangling relation.
    for (kind, _name), entity in entities.items():
        for ref in entity["spec"].get("providesApis", []) if kind == "Component" else []:
            assert ("API", ref.rsplit("/", 1)[1]) in entities


def test_messaging_and_soap_services_provide_asyncapi_and_wsdl_api_entities(client, workflow):
    """A messaging service's AsyncAPI document and a SOAP service's WSDL each become an API entity of their type."""
    compliance = ANNEX.parent / "compliance"
    for name in ("messaging.yaml", "soap.yaml"):
        text = (compliance / name).read_text("utf-8")
        workflow.submit(text)
        workflow.approve(yaml.safe_load(text)["id"], "1.0.0")
    entities = _entities(client)
    for slug, api_type in (("linkage-messaging", "asyncapi"), ("linkage-soap", "wsdl")):
        assert entities[("Component", slug)]["spec"]["type"] == "service"
        assert entities[("Component", slug)]["spec"]["providesApis"] == [f"api:default/{slug}"]
        assert entities[("API", slug)]["spec"]["type"] == api_type
    asyncapi = yaml.safe_load(entities[("API", "linkage-messaging")]["spec"]["definition"])
    assert asyncapi["asyncapi"].startswith(("2.", "3.0")) and asyncapi["channels"]
    wsdl = entities[("API", "linkage-soap")]["spec"]["definition"]
    assert "portType" in wsdl and wsdl.lstrip().startswith("<")


def test_every_interface_kind_has_a_backstage_rendering():
    """Fails when a new interface kind is added without deciding whether it is an API or a Component type."""
    from catalogue.services import layers

    assert set(layers.INTERFACE_KINDS) == set(backstage.API_TYPES) | set(backstage.COMPONENT_TYPES)


def _graph(client) -> Graph:
    text = client.get("/api/v1/export/dcat.ttl").get_data(as_text=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Graph().parse(data=text, format="turtle")


def test_dcat_distributions_with_access_and_download_urls_licence_format_and_version(client, workflow):
    _publish_all(workflow)
    graph = _graph(client)
    # None of them has a public endpoint: each is software, a dcat:Dataset listing its distributions.
    services = {str(s).rsplit("/", 1)[1]: s for s in graph.subjects(RDF.type, DCAT.Dataset)}
    library = services["sdcmicro-library"]
    assert (library, DCAT_VERSION, Literal("5.7.8")) in graph
    assert (library, ADMS.version, Literal("1.0.0")) in graph
    (cran,) = [d for d in graph.objects(library, DCAT.distribution) if "#distribution-" in str(d)]
    assert (cran, RDF.type, DCAT.Distribution) in graph
    assert str(graph.value(cran, DCTERMS.description)) == 'install.packages("sdcMicro")'
    assert (cran, DCTERMS.license, URIRef("http://spdx.org/licenses/GPL-2.0-only")) in graph
    assert str(graph.value(graph.value(cran, DCTERMS["format"]), RDFS.label)) == "CRAN (R)"
    banff = services["banffprocessor-cli"]
    (pypi,) = [d for d in graph.objects(banff, DCAT.distribution) if "#distribution-" in str(d)]
    assert (pypi, DCAT_VERSION, Literal("2.0.0")) in graph
    explorer = services["dotstat-data-explorer"]
    kinds = {
        str(graph.value(d, DCTERMS.description)): d
        for d in graph.objects(explorer, DCAT.distribution)
        if "#distribution-" in str(d)
    }
    assert "docker pull siscc/dotstatsuite-data-explorer:master" in kinds
    (download,) = [d for text, d in kinds.items() if text.endswith(" as published on download page.")] or [None]
    page = URIRef("https://sis-cc.gitlab.io/dotstatsuite-documentation/install-docker/as-container/")
    assert (download, DCAT.downloadURL, page) in graph and (download, DCAT.accessURL, page) in graph


def test_json_and_csv_catalogues_carry_the_annex_1_fields(client, workflow):
    _publish_all(workflow)
    services = {s["id"]: s for s in client.get("/api/v1/export/catalogue.json").json["services"]}
    library = services["sdcmicro-library"]
    assert library["interface_kinds"] == ["library"]
    assert library["software_version"] == "5.7.8"
    assert library["builder"] == "Statistics Austria with the sdcTools contributors"
    assert library["dependencies"] == ["R 4 or later"]
    assert library["methodologies"] == ["Microaggregation", "Post-randomisation method (PRAM)"]
    assert library["input_messages"][0]["gsim"] == "Unit Data Set"
    assert library["formats_accepted"] == ["R data frame", "text/csv"]
    assert library["distributions"] == [{"kind": "cran", "package": "sdcMicro"}]
    assert library["install"] == ['install.packages("sdcMicro")']
    assert services["banffprocessor-cli"]["interface_kinds"] == ["command_line"]
    rows = {
        r["id"]: r
        for r in csv.DictReader(io.StringIO(client.get("/api/v1/export/catalogue.csv").get_data(as_text=True)))
    }
    assert rows["sdcmicro-library"]["install"] == 'install.packages("sdcMicro")'
    assert rows["banffprocessor-cli"]["install"] == "pip install banffprocessor==2.0.0"
    assert rows["sdcmicro-library"]["software_version"] == "5.7.8"
    assert rows["dotstat-data-explorer"]["interface_kinds"] == "openapi"
