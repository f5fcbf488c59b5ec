"""The public catalogue as plain records, the one source every export format is built from.

Each record is what an anonymous reader sees of one service: its public (latest approved) version.
Every export (JSON, CSV, DCAT-AP, Backstage, Atom, badge) and both entry points (the routes and
`catalogue export`) build on `public_services`, so they never disagree about what is public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from catalogue import exceptions
from catalogue.auth import actors
from catalogue.events import Event
from catalogue.services import layers, permissions
from catalogue.services.distributions import Instruction, instructions
from catalogue.services.models import Service, ServiceVersion

APPROVAL_KINDS = ("version.approved", "version.submitted")
"""Event kinds that can make a version public: a review's approval, or a direct approval by the system."""


@dataclass(frozen=True)
class Links:
    """Absolute addresses on this registry, from its base URL (CATALOGUE_BASE_URL, the request's host, or --base-url)."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", self.base.rstrip("/") + "/")

    def to(self, path: str) -> str:
        """The absolute URL of a path on the registry."""
        return urljoin(self.base, path.lstrip("/"))

    def service(self, slug: str) -> str:
        """The service's page (also its identifier in DCAT and Atom)."""
        return self.to(f"services/{quote(slug)}")

    def version_file(self, slug: str, version: str, name: str) -> str:
        """A file of one version: descriptor.json, openapi.json, ..."""
        return self.to(f"services/{quote(slug)}/versions/{quote(version)}/{name}")

    def organisation(self, code: str) -> str:
        """The organisation's services in the catalogue search."""
        return self.to(f"search?organisation={quote(code)}")

    def subprocess(self, code: str) -> str:
        """The GSBPM sub-process's place in the CSPA document."""
        return self.to(f"document/gsbpm?sp={quote(code)}")


def request_links() -> Links:
    """The links of the current request: from CATALOGUE_BASE_URL when set, so a client's Host header cannot
    change the addresses a feed or export hands to others; otherwise (development) from the request's host."""
    return Links(current_app.config["CATALOGUE"].base_url or request.url_root)


@dataclass(frozen=True)
class Contact:
    """A person or team to contact about a service."""

    name: str
    email: str | None
    url: str | None


@dataclass(frozen=True)
class ExportedService:
    """One service as anonymous readers see it, in the terms every export needs."""

    id: str
    version: str
    status: str
    name: str
    purpose: str
    description: str
    keywords: list[str]
    gsbpm: list[str]
    organisation: str
    organisation_name: str
    country: str | None
    protocol: str | None
    operations: list[str]
    licence: str
    maturity: str | None
    technology: list[str]
    deployment: list[str]
    documentation: str | None
    homepage: str | None
    source: str | None
    contacts: list[Contact]
    compliance_score: int
    approved_at: datetime
    openapi: dict[str, Any] | None
    endpoint_url: str | None
    descriptor: dict[str, Any]
    # CSPA 2.0 Annex 1 fields (read from the bundle, so a layer given by reference counts the same).
    interfaces: dict[str, Any]
    """Each machine-readable interface the Specification gives, by kind (layers.INTERFACE_KINDS)."""
    dependencies: list[str]
    architectural_pattern: list[str]
    input_messages: list[dict[str, Any]]
    output_messages: list[dict[str, Any]]
    methodologies: list[str]
    builder: str | None
    software_version: str | None
    formats_accepted: list[str]
    formats_produced: list[str]
    distributions: list[dict[str, Any]]
    """The typed distributions as written (kind, package or group and artifact or image or url, version)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (without the descriptor and its OpenAPI document, which have their own URLs)."""
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "name": self.name,
            "purpose": self.purpose,
            "description": self.description,
            "keywords": self.keywords,
            "gsbpm": self.gsbpm,
            "organisation": self.organisation,
            "organisation_name": self.organisation_name,
            "country": self.country,
            "protocol": self.protocol,
            "operations": self.operations,
            "licence": self.licence,
            "maturity": self.maturity,
            "technology": self.technology,
            "deployment": self.deployment,
            "documentation": self.documentation,
            "homepage": self.homepage,
            "source": self.source,
            "contacts": [vars(c) for c in self.contacts],
            "compliance_score": self.compliance_score,
            "approved_at": self.approved_at,
            "endpoint_url": self.endpoint_url,
            "has_openapi": self.openapi is not None,
            "interface_kinds": list(self.interfaces),
            "dependencies": self.dependencies,
            "architectural_pattern": self.architectural_pattern,
            "input_messages": self.input_messages,
            "output_messages": self.output_messages,
            "methodologies": self.methodologies,
            "builder": self.builder,
            "software_version": self.software_version,
            "formats_accepted": self.formats_accepted,
            "formats_produced": self.formats_produced,
            "distributions": self.distributions,
            "install": [item.one_line for item in self.instructions()],
        }

    def instructions(self) -> list[Instruction]:
        """How to get the implementation, one line per distribution (the page's "Get it" box)."""
        return instructions({"implementation": {"distributions": self.distributions}})


def _section(content: dict[str, Any], key: str) -> dict[str, Any]:
    value = content.get(key)
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def endpoint_url(document: dict[str, Any] | None) -> str | None:
    """Where the service answers, as its OpenAPI document says: the first absolute server URL
    (OpenAPI 3) or scheme, host and basePath (Swagger 2.0); None when it gives none."""
    if not isinstance(document, dict):
        return None
    servers = document.get("servers")
    if isinstance(servers, list):
        for server in servers:
            url = server.get("url") if isinstance(server, dict) else None
            # A templated or relative server URL names no one address a harvester could call.
            if isinstance(url, str) and url.startswith(("http://", "https://")) and "{" not in url:
                return url
    host = document.get("host")
    if isinstance(host, str) and host:
        schemes = document.get("schemes")
        scheme = "https" if not isinstance(schemes, list) or "https" in schemes or not schemes else str(schemes[0])
        base = document.get("basePath")
        return f"{scheme}://{host}{base if isinstance(base, str) else ''}"
    return None


def approval_times(session: Session, versions: list[ServiceVersion]) -> dict[int, datetime]:
    """When each version became public: its latest approval event, else its creation time.

    A reviewer's approval records "version.approved"; the system (seed loader, bulk import) stores
    a version directly as approved, which records "version.submitted" with status "approved".
    """
    times = {v.id: v.created_at for v in versions}
    if not versions:
        return times
    rows = session.execute(
        select(Event.version_id, Event.kind, Event.data, Event.created_at)
        .where(Event.version_id.in_(list(times)), Event.kind.in_(APPROVAL_KINDS))
        .order_by(Event.id)
    )
    for version_id, kind, data, created_at in rows:
        if kind == "version.approved" or (data or {}).get("status") == "approved":
            times[version_id] = created_at
    return times


def _organisation_name(service: Service, implementation: dict[str, Any]) -> str:
    """The registry's name of the owner, unless it only repeats the code (organisations created with a
    user get their code as name): then the name the descriptor gives."""
    organisation = service.organisation
    if organisation.name and organisation.name != organisation.code:
        return organisation.name
    named = implementation.get("owner_name")
    return named if isinstance(named, str) and named else organisation.code


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [dict(item) for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _record(service: Service, version: ServiceVersion, approved_at: datetime) -> ExportedService:
    content = version.bundle
    definition = _section(content, "definition")
    specification = _section(content, "specification")
    implementation = _section(content, "implementation")
    interface = _section(specification, "interface")
    document = interface.get("openapi")
    document = document if isinstance(document, dict) else None
    formats = _section(implementation, "formats")
    operations = [str(op["id"]) for op in specification.get("operations") or [] if isinstance(op, dict) and "id" in op]
    contacts = [
        Contact(str(c.get("name", "")), c.get("email"), c.get("url"))
        for c in content.get("contacts") or []
        if isinstance(c, dict)
    ]
    return ExportedService(
        id=service.slug,
        version=version.version,
        status=version.status,
        name=version.name,
        purpose=str(definition.get("purpose", "")),
        description=str(definition.get("description", "")),
        keywords=_strings(definition.get("keywords")),
        gsbpm=_strings(definition.get("gsbpm")),
        organisation=service.organisation.code,
        organisation_name=_organisation_name(service, implementation),
        country=service.organisation.country,
        protocol=specification.get("protocol"),
        operations=operations,
        licence=str(implementation.get("licence", "")),
        maturity=implementation.get("maturity"),
        technology=_strings(implementation.get("technology")),
        deployment=_strings(implementation.get("deployment")),
        documentation=implementation.get("documentation"),
        homepage=implementation.get("homepage"),
        source=implementation.get("source"),
        contacts=contacts,
        compliance_score=version.compliance_score,
        approved_at=approved_at,
        openapi=document,
        endpoint_url=endpoint_url(document),
        descriptor=version.descriptor,
        interfaces={kind: interface[kind] for kind in layers.interface_kinds(content)},
        dependencies=_strings(definition.get("dependencies")),
        architectural_pattern=_strings(specification.get("architectural_pattern")),
        input_messages=_dicts(specification.get("input_messages")),
        output_messages=_dicts(specification.get("output_messages")),
        methodologies=[str(m["name"]) for m in _dicts(specification.get("methodologies")) if "name" in m],
        builder=_text(implementation.get("builder")),
        software_version=_text(implementation.get("software_version")),
        formats_accepted=_strings(formats.get("accepts")),
        formats_produced=_strings(formats.get("produces")),
        distributions=_dicts(implementation.get("distributions")),
    )


def public_services(session: Session, slug: str | None = None) -> list[ExportedService]:
    """Every service anonymous readers see, at its public version, by id (or only slug's, if given)."""
    query = (
        permissions.visible_services(actors.ANONYMOUS)
        .options(joinedload(Service.organisation), joinedload(Service.public_version))
        .order_by(Service.slug)
    )
    if slug is not None:
        query = query.where(Service.slug == slug)
    services = session.scalars(query).unique().all()
    shown = [(s, permissions.shown_version(s, actors.ANONYMOUS)) for s in services]
    pairs = [(s, v) for s, v in shown if v is not None]
    times = approval_times(session, [v for _s, v in pairs])
    return [_record(s, v, times[v.id]) for s, v in pairs]


def public_service(session: Session, slug: str) -> ExportedService:
    """One service as anonymous readers see it, or exceptions.NotFound."""
    found = public_services(session, slug)
    if not found:
        raise exceptions.NotFound(f"no service with id {slug!r}")
    return found[0]
