"""The three CSPA layers of a descriptor, told apart: which are described inline and which are referred to,
the identity (id and version) of each, and the descriptor as one bundle with every layer inline.

CSPA 2.0 Annex 1 links an Implementation Description to the Specification and Definition it implements, so
that one Definition can have several Specifications and one Specification several Implementations, by
different organisations. A descriptor therefore either describes a layer inline (the single-file form) or
refers to one already in the catalogue with ``{ref, version, owner}``. Everything that reads a descriptor
(compliance, the pages, search, exports) reads its *bundle*: the same shape with every layer inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import semver

from catalogue.exceptions import Problem

KINDS = ("definition", "specification")
"""The layers a descriptor may describe inline or refer to; the implementation is always its own."""

INTERFACE_KINDS = ("openapi", "wsdl", "asyncapi", "command_line", "library")
"""The forms of machine-readable interface a Specification may give, in the schema's order."""

INTERFACE_LABELS = {
    "openapi": "OpenAPI (REST)",
    "wsdl": "WSDL (SOAP)",
    "asyncapi": "AsyncAPI (messaging)",
    "command_line": "Command line",
    "library": "Library",
}
"""Each interface kind as readers know it (search facets, the starter form)."""


@dataclass(frozen=True)
class Reference:
    """A layer referred to by id: the version and owner are None when the descriptor leaves them open."""

    kind: str
    slug: str
    version: str | None
    owner: str | None

    @property
    def pointer(self) -> str:
        """Where the reference is written in the descriptor."""
        return f"/{self.kind}/ref"

    def __str__(self) -> str:
        version = f" version {self.version}" if self.version else ""
        owner = f" of {self.owner}" if self.owner else ""
        return f"{self.kind} {self.slug!r}{version}{owner}"


def _part(content: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = content.get(key)
    return value if isinstance(value, dict) else {}


def reference(content: Mapping[str, Any], kind: str) -> Reference | None:
    """The reference the descriptor makes for layer kind, or None when the layer is inline or absent."""
    layer = _part(content, kind)
    slug = layer.get("ref")
    if not isinstance(slug, str):
        return None
    version, owner = layer.get("version"), layer.get("owner")
    return Reference(
        kind, slug, version if isinstance(version, str) else None, owner if isinstance(owner, str) else None
    )


def references(content: Mapping[str, Any]) -> list[Reference]:
    """Every reference the descriptor makes, definition first."""
    return [ref for kind in KINDS if (ref := reference(content, kind)) is not None]


def identity(content: Mapping[str, Any], kind: str) -> tuple[str, str] | None:
    """(id, version) of an inline layer: its own, or by default the descriptor's. None for a reference or
    an absent layer."""
    layer = content.get(kind)
    if not isinstance(layer, dict) or "ref" in layer:
        return None
    slug = layer.get("id", content.get("id"))
    version = layer.get("version", content.get("version"))
    if not isinstance(slug, str) or not isinstance(version, str):
        return None
    return slug, version


def bundle(content: Mapping[str, Any], resolved: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The descriptor with every layer inline, in one shape whatever form it was written in.

    ``resolved`` maps a layer kind to the content of the layer its reference points to (the registry
    resolves references against the database; offline, a reference stays as written); a definition
    resolved for a descriptor that gives none is the one its referred specification specifies. Each inline layer
    gets its ``id`` and ``version`` filled in and its ``owner`` (the implementation's), and dependencies
    written in the Specification, where older descriptors put them, move to the Definition, where CSPA 2.0
    Annex 1 has them. The content passed in is not changed.
    """
    result: dict[str, Any] = dict(content)
    owner = _part(content, "implementation").get("owner")
    for kind in KINDS:
        found = (resolved or {}).get(kind)
        if kind not in content and found is None:
            continue
        if found is not None:
            result[kind] = dict(found)
            continue
        layer = dict(_part(content, kind))
        ident = identity(content, kind)
        if ident is not None:
            layer["id"], layer["version"] = ident
            if isinstance(owner, str):
                layer.setdefault("owner", owner)
        result[kind] = layer
    _move_dependencies(result)
    return result


def _move_dependencies(result: dict[str, Any]) -> None:
    specification = result.get("specification")
    if not isinstance(specification, dict) or "dependencies" not in specification or "ref" in specification:
        return
    moved = specification.pop("dependencies")
    definition = result.get("definition")
    if isinstance(definition, dict) and "ref" not in definition and isinstance(moved, list):
        kept = definition.get("dependencies")
        merged = list(kept) if isinstance(kept, list) else []
        merged.extend(item for item in moved if item not in merged)
        definition["dependencies"] = merged
        result["definition"] = definition


def display_name(bundled: Mapping[str, Any]) -> str:
    """What readers call the service: the implementation's own name when it gives one (several
    implementations of one Definition are told apart by it), otherwise its Definition's name."""
    own = _part(bundled, "implementation").get("name")
    if isinstance(own, str) and own.strip():
        return own
    name = _part(bundled, "definition").get("name")
    return name if isinstance(name, str) else ""


def interface_kinds(content: Mapping[str, Any]) -> list[str]:
    """The kinds of interface the descriptor's Specification gives (openapi, wsdl, ...), in the schema's order."""
    interface = _part(_part(content, "specification"), "interface")
    return [kind for kind in INTERFACE_KINDS if kind in interface]


def inline_problems(content: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with the identity of the layers described inline, without the catalogue: owner belongs to
    a reference (an inline layer is always the implementation's owner's), and a layer's own version is a
    semantic version like the descriptor's (references resolve to the latest by that order)."""
    problems = []
    for kind in KINDS:
        layer = _part(content, kind)
        version = layer.get("version")
        if isinstance(version, str) and not semver.Version.is_valid(version):
            message = f"{version[:40]!r} is not a semantic version such as 1.0.0 (MAJOR.MINOR.PATCH)"
            problems.append(Problem(f"/{kind}/version", message, "layers"))
        if "owner" in layer and "ref" not in layer:
            message = (
                f"owner is written only with ref: a {kind} described here belongs to the implementation's "
                f"owner; to use another organisation's {kind}, refer to it with ref"
            )
            problems.append(Problem(f"/{kind}/owner", message, "layers"))
    return problems
