"""The document's live parts: the GSBPM figure and the GSIM object pages, filled from the catalogue.

Counts and service lists come from the search engine (the same ``Searching.search`` the search API
answers with), so the figure always agrees with ``/api/v1/search``. Only approved services are shown:
the figure is a picture of what the catalogue offers, not of the review queue. Which GSIM objects a
service consumes and which it produces is read from the version the search hit names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalogue import reference
from catalogue.auth.actors import Actor
from catalogue.document import content
from catalogue.search.query import Searching, SearchRequest, SearchResult
from catalogue.services import permissions, reads

SHOWN_STATUS = "approved"
"""The status of the services the figure and the GSIM pages count and list."""

_PAGE = 100  # services asked of the search engine per page when listing


@dataclass(frozen=True)
class ServiceEntry:
    """A service as the document lists it: where to find it and the GSIM objects it consumes and produces."""

    slug: str
    name: str
    organisation: str
    purpose: str
    consumes: tuple[str, ...]
    produces: tuple[str, ...]


@dataclass(frozen=True)
class SubprocessEntry:
    """A GSBPM sub-process in the figure with the number of approved services serving it."""

    code: str
    name: str
    description: str
    count: int


@dataclass(frozen=True)
class PhaseEntry:
    """A GSBPM phase in the figure: its sub-processes and the number of approved services serving it."""

    code: str
    name: str
    description: str
    count: int
    subprocesses: tuple[SubprocessEntry, ...]


@dataclass(frozen=True)
class Mention:
    """A document section that links to a GSBPM code or GSIM object."""

    chapter: str
    chapter_title: str
    anchor: str
    title: str


@dataclass(frozen=True)
class Figure:
    """The whole GSBPM figure and, when a sub-process is chosen, the services serving it."""

    phases: tuple[PhaseEntry, ...]
    selected: str | None
    services: tuple[ServiceEntry, ...]
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class GsimObject:
    """One GSIM object with the approved services that consume it and those that produce it."""

    name: str
    group: str
    description: str
    consumers: tuple[ServiceEntry, ...]
    producers: tuple[ServiceEntry, ...]
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class GsimGroup:
    """A GSIM group with each of its objects and how many approved services consume or produce it."""

    name: str
    objects: tuple[tuple[str, str, int], ...]  # (name, description, services)


def _search(searching: Searching, actor: Actor, filters: dict[str, list[str]], page: int = 1) -> SearchResult:
    request = SearchRequest.build(filters={**filters, "status": [SHOWN_STATUS]}, page=page, per_page=_PAGE)
    return searching.search(request, permissions.visibility(actor))


def _counts(result: SearchResult, facet: str) -> dict[str, int]:
    return {value.value: value.count for value in result.facets.get(facet, [])}


def _gsim_names(items: object) -> tuple[str, ...]:
    names: list[str] = []
    for item in items if isinstance(items, list) else []:
        name = item.get("gsim") if isinstance(item, dict) else None
        if isinstance(name, str):
            canonical = reference.gsim().lookup(name) or name
            if canonical not in names:
                names.append(canonical)
    return tuple(names)


def services_for(
    searching: Searching, session: Session, actor: Actor, filters: dict[str, list[str]]
) -> list[ServiceEntry]:
    """Every approved service matching filters, in the search engine's order, with its GSIM inputs and outputs."""
    entries: list[ServiceEntry] = []
    page = 1
    while True:
        result = _search(searching, actor, filters, page)
        for hit in result.hits:
            definition = reads.get_version(session, actor, hit.id, hit.version).bundle.get("definition", {})
            entries.append(
                ServiceEntry(
                    hit.id,
                    hit.name,
                    hit.organisation,
                    hit.purpose,
                    _gsim_names(definition.get("inputs")),
                    _gsim_names(definition.get("outputs")),
                )
            )
        if page >= result.pages:
            return entries
        page += 1


def mentions(kind: str, key: str) -> tuple[Mention, ...]:
    """The document sections linking to a GSBPM code or GSIM object (by its reference key)."""
    found = []
    for chapter in content.chapters():
        for section in chapter.sections:
            if any(link.kind == kind and content.canonical(link) == key for link in content.find_links(section.body)):
                found.append(Mention(chapter.slug, chapter.title, section.anchor, section.title))
    return tuple(found)


def gsbpm_figure(searching: Searching, session: Session, actor: Actor, selected: str | None = None) -> Figure:
    """The GSBPM phases and sub-processes with service counts; the chosen sub-process's services listed.

    Raises KeyError when ``selected`` is not a GSBPM 5.1 sub-process code.
    """
    model = reference.gsbpm()
    if selected is not None and selected not in model.subprocesses:
        raise KeyError(selected)
    overall = _search(searching, actor, {})
    per_subprocess, per_phase = _counts(overall, "subprocess"), _counts(overall, "phase")
    phases = tuple(
        PhaseEntry(
            code,
            phase["name"],
            phase.get("description", ""),
            per_phase.get(code, 0),
            tuple(
                SubprocessEntry(
                    sub["code"], sub["name"], sub.get("description", ""), per_subprocess.get(sub["code"], 0)
                )
                for sub in phase["subprocesses"]
            ),
        )
        for code, phase in model.phases.items()
    )
    if selected is None:
        return Figure(phases, None, (), ())
    services = services_for(searching, session, actor, {"subprocess": [selected]})
    return Figure(phases, selected, tuple(services), mentions("gsbpm", selected))


def gsim_groups(searching: Searching, actor: Actor) -> list[GsimGroup]:
    """The GSIM groups and objects, each object with the number of approved services using it."""
    counts = _counts(_search(searching, actor, {}), "gsim")
    groups: dict[str, list[tuple[str, str, int]]] = {}
    for name, entry in reference.gsim().objects.items():
        groups.setdefault(entry["group"], []).append((name, str(entry.get("description", "")), counts.get(name, 0)))
    return [GsimGroup(name, tuple(objects)) for name, objects in groups.items()]


def gsim_object(searching: Searching, session: Session, actor: Actor, name: str) -> GsimObject | None:
    """The GSIM object called name (official spelling) with the services consuming and producing it, or None."""
    entry = reference.gsim().objects.get(name)
    if entry is None:
        return None
    services = services_for(searching, session, actor, {"gsim": [name]})
    return GsimObject(
        name=name,
        group=str(entry["group"]),
        description=str(entry.get("description", "")),
        consumers=tuple(s for s in services if name in s.consumes),
        producers=tuple(s for s in services if name in s.produces),
        mentions=mentions("gsim", name),
    )
