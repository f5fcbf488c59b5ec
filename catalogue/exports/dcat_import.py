"""Harvesting the other way: a DCAT-AP catalogue (another instance's export, say) read into descriptors, each
stored as a draft through the same path as any descriptor (bulk_import.import_text).

The source is a file, or one http or https URL on a host the operator allowed (CATALOGUE_IMPORT_HOSTS). That
URL is the only thing ever fetched: redirects are refused, and a JSON-LD document whose @context is not inline
is refused rather than having its context fetched. What is read is bounded (MAX_SIZE_FACTOR times the
descriptor limit) and each descriptor made from it is then held to the descriptor limits.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from catalogue.auth import actors
from catalogue.exports.dcat import ADMS, DCAT_VERSION, SPDX_LICENCES, VCARD
from catalogue.services import bulk_import, descriptors

MAX_SIZE_FACTOR = 16
"""A catalogue may be this many times the size of one descriptor (32 MiB with the default 2 MiB)."""
TIMEOUT_SECONDS = 20
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+")


class ImportRefused(Exception):
    """The source cannot be read at all: nothing was imported."""


@dataclass(frozen=True)
class Source:
    """The bytes of a DCAT-AP catalogue and their RDF format (turtle or json-ld)."""

    data: bytes
    fmt: str


def _format(name: str, content_type: str = "") -> str:
    if "json" in content_type or name.lower().endswith((".jsonld", ".json")):
        return "json-ld"
    return "turtle"


def read_source(source: str, allowed_hosts: tuple[str, ...], max_bytes: int) -> Source:
    """The catalogue at source: a file, or an http or https URL on an allowed host; ImportRefused says why not."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch(source, allowed_hosts, max_bytes)
    if re.match(r"^[a-z][a-z0-9+.-]+:", source, re.IGNORECASE) and not Path(source).exists():
        raise ImportRefused(f"only http and https addresses or files can be read, not {scheme}:")
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImportRefused(f"{path.name} is {size} bytes; the limit is {max_bytes} bytes")
        return Source(path.read_bytes(), _format(path.name))
    except OSError as error:
        raise ImportRefused(f"cannot read {path.name}: {error.strerror}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect would fetch another URL
        return None


def _fetch(url: str, allowed_hosts: tuple[str, ...], max_bytes: int) -> Source:
    host = (urlsplit(url).hostname or "").lower()
    if not allowed_hosts:
        raise ImportRefused("no host is allowed: set CATALOGUE_IMPORT_HOSTS to the hosts you import from")
    if host not in allowed_hosts:
        raise ImportRefused(f"{host or 'that address'} is not among the allowed hosts ({', '.join(allowed_hosts)})")
    request = urllib.request.Request(url, headers={"Accept": "text/turtle, application/ld+json;q=0.9"})
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        # The scheme is http or https and the host allowed (checked above): no file: or other scheme reaches here.
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
            data = response.read(max_bytes + 1)
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        raise ImportRefused(f"{url} answered {error.code} {error.reason} (redirects are not followed)") from None
    except (urllib.error.URLError, OSError) as error:
        raise ImportRefused(f"{url} could not be read: {getattr(error, 'reason', error)}") from None
    if len(data) > max_bytes:
        raise ImportRefused(f"{url} sent more than {max_bytes} bytes, the limit")
    return Source(data, _format(urlsplit(url).path, content_type))


def _remote_contexts(value: Any) -> bool:
    if isinstance(value, dict):
        context = value.get("@context")
        contexts = context if isinstance(context, list) else [context]
        if any(isinstance(c, str) for c in contexts):
            return True
        return any(_remote_contexts(v) for k, v in value.items() if k != "@context")
    if isinstance(value, list):
        return any(_remote_contexts(v) for v in value)
    return False


def graph_of(source: Source) -> Graph:
    """The RDF graph of the source, never fetching anything: a JSON-LD @context must be inline."""
    try:
        if source.fmt == "json-ld" and _remote_contexts(json.loads(source.data)):
            raise ImportRefused("the JSON-LD @context must be inline: a remote context is never fetched")
        with warnings.catch_warnings():  # rdflib's JSON-LD parser warns about its own use of ConjunctiveGraph
            warnings.simplefilter("ignore", DeprecationWarning)
            return Graph().parse(data=source.data, format=source.fmt)
    except ImportRefused:
        raise
    except Exception as error:  # noqa: BLE001 - rdflib raises many kinds: each means the text is not that format
        raise ImportRefused(f"not a {source.fmt} document: {str(error).splitlines()[0][:300]}") from None


def _text(graph: Graph, node: Node, predicate: URIRef) -> str | None:
    value = graph.value(node, predicate)
    return str(value).strip() if value is not None and str(value).strip() else None


def _licence(graph: Graph, node: Node) -> str | None:
    licence = graph.value(node, DCTERMS.license)
    if isinstance(licence, URIRef) and str(licence).startswith(SPDX_LICENCES):
        return str(licence).removeprefix(SPDX_LICENCES)
    return _text(graph, licence, RDFS.label) if licence is not None else None


def _contacts(graph: Graph, node: Node) -> list[dict[str, str]]:
    found = []
    for kind in graph.objects(node, DCAT.contactPoint):
        name = _text(graph, kind, VCARD.fn)
        if not name:
            continue
        contact = {"name": name}
        email = _text(graph, kind, VCARD.hasEmail)
        if email and email.startswith("mailto:"):
            contact["email"] = unquote(email.removeprefix("mailto:"))
        url = _text(graph, kind, VCARD.hasURL)
        if url:
            contact["url"] = url
        found.append(contact)
    return sorted(found, key=lambda c: (c["name"], c.get("email", ""), c.get("url", "")))


def _implementation(graph: Graph, node: Node) -> dict[str, Any]:
    publisher = graph.value(node, DCTERMS.publisher)
    implementation: dict[str, Any] = {
        "owner": _text(graph, publisher, DCTERMS.identifier) if publisher is not None else None,
        "owner_name": _text(graph, publisher, FOAF.name) if publisher is not None else None,
        "licence": _licence(graph, node),
        "software_version": _text(graph, node, DCAT_VERSION),
    }
    # The export writes documentation and home page both as foaf:page: the first (by address) is taken as the
    # documentation and the second as the home page.
    pages = sorted(str(p) for p in graph.objects(node, FOAF.page))
    for field, page in zip(("documentation", "homepage"), pages, strict=False):
        implementation[field] = page
    return {k: v for k, v in implementation.items() if v is not None}


def descriptor_of(graph: Graph, node: Node) -> dict[str, Any]:
    """The descriptor a DCAT-AP dataset or data service says: its id, version, Definition (name, purpose,
    keywords, GSBPM themes), Implementation (owner, licence, software version, pages), endpoint and contacts."""
    identifier = _text(graph, node, DCTERMS.identifier) or str(node).rstrip("/").rsplit("/", 1)[-1]
    version = _text(graph, node, ADMS.version) or ""
    definition: dict[str, Any] = {
        "name": _text(graph, node, DCTERMS.title),
        "purpose": _text(graph, node, DCTERMS.description),
        "keywords": sorted({str(k) for k in graph.objects(node, DCAT.keyword)}),
        "gsbpm": sorted({str(n) for t in graph.objects(node, DCAT.theme) for n in graph.objects(t, SKOS.notation)}),
    }
    descriptor: dict[str, Any] = {
        "cspa": "2.0",
        "id": identifier,
        "version": version if _SEMVER.match(version) else "1.0.0",
        "definition": {k: v for k, v in definition.items() if v},
        "implementation": _implementation(graph, node),
    }
    endpoint = graph.value(node, DCAT.endpointURL)
    if endpoint is not None:
        # DCAT says where the service answers, not what it offers: the OpenAPI document records the address.
        title = definition["name"] or identifier
        descriptor["specification"] = {
            "protocol": "REST",
            "interface": {
                "openapi": {
                    "openapi": "3.1.0",
                    "info": {"title": title, "version": descriptor["version"]},
                    "servers": [{"url": str(endpoint)}],
                    "paths": {},
                }
            },
        }
    contacts = _contacts(graph, node)
    if contacts:
        descriptor["contacts"] = contacts
    return descriptor


def resources(graph: Graph) -> list[Node]:
    """The datasets and data services of the graph, by address."""
    found = set(graph.subjects(RDF.type, DCAT.Dataset)) | set(graph.subjects(RDF.type, DCAT.DataService))
    return sorted(found, key=str)


def import_catalogue(source: Source, actor: actors.Actor, limits: descriptors.Limits) -> list[bulk_import.Outcome]:
    """Every dataset and data service of the catalogue stored as a draft, each in its own transaction."""
    graph = graph_of(source)
    outcomes = []
    for node in resources(graph):
        descriptor = descriptor_of(graph, node)
        name = descriptor["id"] if _SLUG.match(descriptor["id"]) else str(node)
        text = json.dumps(descriptor, ensure_ascii=False).encode("utf-8")
        outcomes.append(bulk_import.import_text(name, text, "json", actor, "draft", limits))
    return outcomes
