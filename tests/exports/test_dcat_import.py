"""`catalogue import --from-dcat`: a DCAT-AP catalogue read into drafts. The round trip export, then import,
keeps every field the two sides share; what is read is bounded, and nothing but the one URL given is fetched."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from rdflib import Literal
from rdflib.namespace import DCAT, DCTERMS, RDF
from sqlalchemy import select

from catalogue.cli import main
from catalogue.db import db
from catalogue.exports import dcat_import
from catalogue.services.models import Service, ServiceVersion
from tests.exports.test_dcat import parse

COPY = "-copy"


@pytest.fixture(scope="module")
def round_trip(seeded, tmp_path_factory):
    """The seed catalogue's Turtle export, each service renamed <id>-copy (so the drafts do not meet the
    approved originals), imported through the command line; (exported records, imported descriptors)."""
    client = seeded.test_client()
    records = {r["id"]: r for r in client.get("/api/v1/export/catalogue.json").json["services"]}
    graph = parse(client.get("/api/v1/export/dcat.ttl").get_data(as_text=True), "turtle")
    for kind in (DCAT.Dataset, DCAT.DataService):
        for node in list(graph.subjects(RDF.type, kind)):
            slug = str(graph.value(node, DCTERMS.identifier))
            graph.set((node, DCTERMS.identifier, Literal(slug + COPY)))
    path = tmp_path_factory.mktemp("dcat") / "other-instance.ttl"
    path.write_text(graph.serialize(format="turtle"), "utf-8")
    result = seeded.test_cli_runner().invoke(main, ["import", "--from-dcat", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{len(records)} imported, 0 unchanged, 0 refused" in result.output
    with seeded.app_context(), db.transaction() as session:
        rows = session.execute(
            select(Service.slug, ServiceVersion.status, ServiceVersion.descriptor_text).join(
                ServiceVersion, ServiceVersion.service_id == Service.id
            )
        ).all()
    imported = {slug.removesuffix(COPY): json.loads(text) for slug, status, text in rows if slug.endswith(COPY)}
    assert {status for slug, status, _text in rows if slug.endswith(COPY)} == {"draft"}
    return records, imported


def test_every_exported_service_comes_back_as_a_draft_with_the_shared_fields(round_trip):
    records, imported = round_trip
    assert set(imported) == set(records)
    for slug, record in records.items():
        descriptor = imported[slug]
        definition, implementation = descriptor["definition"], descriptor["implementation"]
        assert descriptor["version"] == record["version"], slug
        assert definition["name"] == record["name"] and definition["purpose"] == record["purpose"], slug
        assert sorted(definition.get("keywords", [])) == sorted(set(record["keywords"])), slug
        assert definition.get("gsbpm", []) == sorted(record["gsbpm"]), slug
        assert implementation["owner"] == record["organisation"], slug
        assert implementation.get("owner_name") == record["organisation_name"], slug
        assert implementation["licence"] == record["licence"], slug
        assert implementation.get("software_version") == record["software_version"], slug
        pages = {implementation.get("documentation"), implementation.get("homepage")} - {None}
        assert pages == {record["documentation"], record["homepage"]} - {None}, slug
        contacts = sorted(
            ({k: v for k, v in c.items() if v} for c in record["contacts"]),
            key=lambda c: (c["name"], c.get("email", "")),
        )
        assert descriptor.get("contacts", []) == contacts, slug


def test_urls_only_on_allowed_hosts_and_only_http(tmp_path):
    limit = 1024
    with pytest.raises(dcat_import.ImportRefused, match="CATALOGUE_IMPORT_HOSTS"):
        dcat_import.read_source("https://other.example.org/api/v1/export/dcat.ttl", (), limit)
    with pytest.raises(dcat_import.ImportRefused, match="not among the allowed hosts"):
        dcat_import.read_source("https://evil.example.net/dcat.ttl", ("other.example.org",), limit)
    for address in ("file:///etc/passwd", "ftp://other.example.org/dcat.ttl", "gopher://x/"):
        with pytest.raises(dcat_import.ImportRefused, match="only http and https"):
            dcat_import.read_source(address, ("other.example.org",), limit)
    big = tmp_path / "big.ttl"
    big.write_bytes(b"#" * (limit + 1))
    with pytest.raises(dcat_import.ImportRefused, match="the limit is 1024 bytes"):
        dcat_import.read_source(str(big), (), limit)


def test_a_remote_json_ld_context_is_refused_not_fetched():
    document = {"@context": "https://w3id.org/some/context.jsonld", "@id": "https://x.example/", "name": "x"}
    source = dcat_import.Source(json.dumps(document).encode(), "json-ld")
    with pytest.raises(dcat_import.ImportRefused, match="never fetched"):
        dcat_import.graph_of(source)
    with pytest.raises(dcat_import.ImportRefused, match="not a turtle document"):
        dcat_import.graph_of(dcat_import.Source(b"this is { not turtle", "turtle"))


@pytest.mark.enable_socket
def test_the_one_url_given_is_read_and_a_redirect_is_not_followed():
    """A real HTTP server on the loopback address: the catalogue at the URL is read; a redirect (which would
    fetch another address) is refused."""
    body = b"@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<https://x.example/> a dcat:Catalog .\n"
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path == "/moved.ttl":
                self.send_response(302)
                self.send_header("Location", "/elsewhere.ttl")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        source = dcat_import.read_source(f"{base}/dcat.ttl", ("127.0.0.1",), 1024)
        assert source == dcat_import.Source(body, "turtle")
        with pytest.raises(dcat_import.ImportRefused, match="302"):
            dcat_import.read_source(f"{base}/moved.ttl", ("127.0.0.1",), 1024)
        with pytest.raises(dcat_import.ImportRefused, match="more than 10 bytes"):
            dcat_import.read_source(f"{base}/dcat.ttl", ("127.0.0.1",), 10)
    finally:
        server.shutdown()
        server.server_close()
    assert requests == ["/dcat.ttl", "/moved.ttl", "/dcat.ttl"]  # never /elsewhere.ttl


def test_the_command_says_why_it_reads_nothing(seeded):
    runner = seeded.test_cli_runner()
    refused = runner.invoke(main, ["import", "--from-dcat", "https://other.example.org/api/v1/export/dcat.ttl"])
    assert refused.exit_code == 1 and "set CATALOGUE_IMPORT_HOSTS" in refused.output
    neither = runner.invoke(main, ["import"])
    assert neither.exit_code == 2 and "one of the two" in neither.output
