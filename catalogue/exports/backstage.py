"""Each public service as Backstage entities (catalog-info.yaml), for organisations that run Backstage.

Backstage's system model (https://backstage.io/docs/features/software-catalog/system-model) has a
*Component* (a piece of software: a service, a website, a library) that *provides* *API*s. Each service is:

- one Component, named as the service: `spec.type` library for a library interface (one of Backstage's
  well-known types: service, website, library), command-line for a command-line program, service otherwise;
  it lists its APIs in `providesApis`, so Backstage draws the providesApi / apiProvidedBy relations;
- one API entity per interface Backstage can show, with the document as `spec.definition`: `openapi` and
  `asyncapi` (two of the types Backstage's descriptor format names: openapi, asyncapi, graphql, grpc), and
  `wsdl` for a SOAP service. WSDL is not among Backstage's own types; `spec.type` is free text and `wsdl` is
  the type the community WSDL plugin for Backstage's API docs renders, so a WSDL shows there when that plugin
  is installed and as plain text otherwise. The descriptor schema has no slot for GraphQL or gRPC
  documents, so no API entity of those types is made.

A service with none of those documents (a library, a command line, a batch job) is a Component alone: its CSPA
descriptor is linked from it. Every entity is owned by its organisation's Group (`spec.type` organization), which
the whole-catalogue export carries once per organisation, so Backstage draws ownedBy / ownerOf.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from catalogue.exports.catalogue import ExportedService, Links

API_VERSION = "backstage.io/v1alpha1"
MEDIA_TYPE = "application/yaml"

# Backstage lifecycles are free text, but its UI knows experimental, production and deprecated.
_LIFECYCLES = {"production": "production", "pilot": "experimental", "prototype": "experimental"}
_TAG = re.compile(r"[^a-z0-9+#]+")
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml writes the whole catalogue ~10x faster


def _tag(keyword: str) -> str:
    # Backstage tags: lower-case letters, digits, + and #, in words joined by "-", at most 63 characters.
    return _TAG.sub("-", keyword.lower()).strip("-")[:63].strip("-")


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


API_TYPES = {"openapi": "openapi", "asyncapi": "asyncapi", "wsdl": "wsdl"}
"""Interface kinds with a Backstage API type, and that type."""

COMPONENT_TYPES = {"library": "library", "command_line": "command-line"}
"""The Component type of a service without an API, by its interface kind (first match wins); else service."""


def _metadata(record: ExportedService, links: Links) -> dict[str, Any]:
    tags = sorted({t for t in (_tag(k) for k in record.keywords) if t})
    page_links = [{"url": links.service(record.id), "title": "CSPA Catalogue", "icon": "catalog"}]
    for title, url in (
        ("Documentation", record.documentation),
        ("Home page", record.homepage),
        ("Source", record.source),
    ):
        if url:
            page_links.append({"url": url, "title": title})
    page_links.append(
        {"url": links.version_file(record.id, record.version, "descriptor.json"), "title": "CSPA descriptor"}
    )
    annotations = {
        "cspa-catalogue/version": record.version,
        "cspa-catalogue/compliance-score": str(record.compliance_score),
        "cspa-catalogue/gsbpm": ",".join(record.gsbpm),
    }
    if record.software_version:
        annotations["cspa-catalogue/software-version"] = record.software_version
    return {
        "name": record.id,
        "title": record.name,
        "description": record.purpose,
        "tags": tags,
        "links": page_links,
        "annotations": annotations,
    }


def _common_spec(record: ExportedService) -> dict[str, Any]:
    lifecycle = (
        "deprecated" if record.status == "deprecated" else _LIFECYCLES.get(record.maturity or "", "experimental")
    )
    return {"lifecycle": lifecycle, "owner": f"group:default/{group_name(record.organisation)}"}


def group_name(organisation: str) -> str:
    """The Backstage Group entity name of an organisation (its catalogue code in lower case)."""
    return organisation.lower()


def groups(records: list[ExportedService], links: Links) -> list[dict[str, Any]]:
    """One Group per organisation that owns a public service, in code order."""
    names = {r.organisation: r.organisation_name or r.organisation for r in records}
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "Group",
            "metadata": {
                "name": group_name(code),
                "title": names[code],
                "links": [{"url": links.organisation(code), "title": "Services in the CSPA Catalogue"}],
            },
            "spec": {"type": "organization", "profile": {"displayName": names[code]}, "children": []},
        }
        for code in sorted(names)
    ]


def _definition(kind: str, document: Any) -> str:
    # A WSDL is XML text, kept as written; OpenAPI and AsyncAPI documents are written as YAML.
    return document if isinstance(document, str) else _yaml(document)


def api_names(record: ExportedService) -> list[tuple[str, str]]:
    """(entity name, interface kind) of each API entity of a service: the first is named as the service
    (Components and APIs have names of their own), the others get their kind as suffix."""
    kinds = [kind for kind in record.interfaces if kind in API_TYPES]
    return [(record.id if i == 0 else f"{record.id}-{kind.replace('_', '-')}", kind) for i, kind in enumerate(kinds)]


def entities(record: ExportedService, links: Links) -> list[dict[str, Any]]:
    """The Backstage entities of one service: its Component, then its APIs."""
    apis = api_names(record)
    if apis:
        component_type = "service"
    else:
        component_type = next(
            (COMPONENT_TYPES[kind] for kind in record.interfaces if kind in COMPONENT_TYPES),
            "library" if (record.protocol or "").lower() == "library" else "service",
        )
    component_spec: dict[str, Any] = {"type": component_type, **_common_spec(record)}
    if apis:
        component_spec["providesApis"] = [f"api:default/{name}" for name, _kind in apis]
    found = [
        {"apiVersion": API_VERSION, "kind": "Component", "metadata": _metadata(record, links), "spec": component_spec}
    ]
    for name, kind in apis:
        metadata = {**_metadata(record, links), "name": name}
        spec = {
            "type": API_TYPES[kind],
            **_common_spec(record),
            "definition": _definition(kind, record.interfaces[kind]),
        }
        found.append({"apiVersion": API_VERSION, "kind": "API", "metadata": metadata, "spec": spec})
    return found


def entity_yaml(record: ExportedService, links: Links) -> str:
    """One service's catalog-info.yaml: its entities as a multi-document YAML stream."""
    return _stream(entities(record, links))


def _stream(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        explicit_start=True,
    )


def catalogue_yaml(records: list[ExportedService], links: Links) -> str:
    """Every public service as one multi-document YAML stream, after the Groups that own them."""
    return yaml.dump_all(
        groups(records, links) + [found for r in records for found in entities(r, links)],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        explicit_start=True,
    )
