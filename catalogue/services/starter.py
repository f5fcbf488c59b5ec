"""A descriptor started from a form: the fields a submitter fills in, turned into descriptor YAML to finish in
the editor. The choices offered (protocols, deployments, maturities, GSBPM, GSIM) come from the published
JSON Schema and the reference models, so the form never drifts from what the validator accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from catalogue import reference, resources

SCHEMA_FILE = resources.SCHEMA_FILE


@dataclass(frozen=True)
class Choices:
    """What the form offers in its lists."""

    protocols: list[str]
    deployments: list[str]
    maturities: list[str]
    gsbpm: list[tuple[str, list[tuple[str, str]]]]  # (phase title, [(code, name)])
    gsim: list[str]
    interface_kinds: list[str]
    """The forms of interface the Specification may give (specification.interface's properties)."""
    distribution_kinds: list[str]
    """Where an implementation can be published ($defs/distribution kind)."""
    distribution_fields: dict[str, list[str]]
    """Per distribution kind, the fields it needs (the schema's if/then), for the form's kind-dependent fields."""

    def kinds_needing(self, field: str) -> list[str]:
        """The distribution kinds that need field (package: cran, pypi, npm, nuget; image: container; ...)."""
        return [kind for kind in self.distribution_kinds if field in self.distribution_fields.get(kind, [])]


def _property(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    node = schema
    for name in path:
        node = node["properties"][name]
    return node


@cache
def choices() -> Choices:
    """The form's lists, read from the schema and the reference models."""
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    model = reference.gsbpm()
    phases = [
        (
            f"{phase['code']} {phase['name']}",
            [(code, sub["name"]) for code, sub in model.subprocesses.items() if sub["phase"] == phase["code"]],
        )
        for phase in model.phases.values()
    ]
    distribution = schema["$defs"]["distribution"]
    needs: dict[str, list[str]] = {}
    for rule in distribution.get("allOf", []):
        kind = rule["if"]["properties"]["kind"]["const"]
        needs[kind] = list(rule["then"].get("required", []))
    return Choices(
        interface_kinds=list(_property(schema, "specification", "interface")["properties"]),
        distribution_kinds=list(distribution["properties"]["kind"]["enum"]),
        distribution_fields=needs,
        protocols=list(_property(schema, "specification", "protocol")["enum"]),
        deployments=list(_property(schema, "implementation", "deployment")["items"]["enum"]),
        maturities=list(_property(schema, "implementation", "maturity")["enum"]),
        gsbpm=phases,
        gsim=sorted(reference.gsim().objects),
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    return [word.strip() for word in re.split(r"[,\n]", text) if word.strip()]


def _named_lines(text: str) -> list[dict[str, str]]:
    """Lines written as "name: what it does", as objects with a name and, when given, a description."""
    found = []
    for line in _lines(text):
        name, _, description = line.partition(":")
        item = {"name": name.strip()}
        if description.strip():
            item["description"] = description.strip()
        found.append(item)
    return found


def _document(text: str) -> Any:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        document = None
    # A document that does not read stays as text, so the validator points at it rather than losing it.
    return document if isinstance(document, dict) else text


def _interface(form: Mapping[str, Any]) -> dict[str, Any]:
    """The Specification's interface from the form: a pasted document (OpenAPI or AsyncAPI as YAML or JSON,
    WSDL as XML), or a library or command-line description built from its own fields."""
    kind = form.get("interface_kind", "") or "openapi"
    text = form.get("openapi", "").strip()
    if kind == "library":
        library: dict[str, Any] = {
            "language": form.get("library_language", "").strip(),
            "package": form.get("library_package", "").strip(),
            "functions": _named_lines(form.get("library_functions", "")),
        }
        return {"library": {k: v for k, v in library.items() if v not in ("", [])}}
    if kind == "command_line":
        program = form.get("cli_program", "").strip()
        commands = _named_lines(form.get("cli_commands", "")) or ([{"name": program}] if program else [])
        return {"command_line": {k: v for k, v in {"program": program, "commands": commands}.items() if v}}
    if not text:
        return {}
    return {kind: text if kind == "wsdl" else _document(text)}


_DISTRIBUTION_FIELDS = ("package", "group", "artifact", "image", "version", "url")


def _distribution(form: Mapping[str, Any]) -> dict[str, str] | None:
    kind = form.get("distribution_kind", "").strip()
    if not kind:
        return None
    found = {"kind": kind}
    needs = choices().distribution_fields.get(kind, [])
    for name in _DISTRIBUTION_FIELDS:
        value = form.get(f"distribution_{name}", "").strip()
        # Only the fields of the chosen kind (and the optional version and url): a package typed before the
        # kind was changed to container is not carried along.
        if value and (name in needs or name in ("version", "url")):
            found[name] = value
    return found


def descriptor_text(form: Mapping[str, Any], getlist: Any) -> str:
    """Descriptor YAML from the posted form (getlist(name) gives a multi-valued field's values).

    Nothing is checked here: the editor and the validator say what is missing or wrong, with lines.
    """
    definition: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "purpose": form.get("purpose", "").strip(),
        "gsbpm": getlist("gsbpm"),
        "business_function": form.get("business_function", "").strip(),
        "outcomes": _lines(form.get("outcomes", "")),
        "inputs": [{"gsim": name} for name in getlist("inputs")],
        "outputs": [{"gsim": name} for name in getlist("outputs")],
        "dependencies": _lines(form.get("dependencies", "")),
    }
    operations = []
    for line in _lines(form.get("operations", "")):
        op_id, _, description = line.partition(":")
        operations.append({"id": op_id.strip(), "description": description.strip()})
    specification: dict[str, Any] = {"protocol": form.get("protocol", "")}
    interface = _interface(form)
    if interface:
        specification["interface"] = interface
    if operations:
        specification["operations"] = operations
    implementation: dict[str, Any] = {
        "owner": form.get("owner", "").strip().upper(),
        "technology": _words(form.get("technology", "")),
        "licence": form.get("licence", "").strip(),
        "deployment": getlist("deployment"),
        "documentation": form.get("documentation", "").strip(),
        "source": form.get("source", "").strip(),
        "maturity": form.get("maturity", ""),
        "software_version": form.get("software_version", "").strip(),
        "distributions": [found] if (found := _distribution(form)) else [],
    }
    contact = {key: form.get(f"contact_{key}", "").strip() for key in ("name", "email")}
    descriptor = {
        "cspa": "2.0",
        "id": form.get("id", "").strip(),
        "version": form.get("version", "").strip() or "0.1.0",
        "definition": {k: v for k, v in definition.items() if v not in ("", [])},
        "specification": specification,
        "implementation": {k: v for k, v in implementation.items() if v not in ("", [])},
        "contacts": [{k: v for k, v in contact.items() if v}] if any(contact.values()) else [],
    }
    return yaml.safe_dump(descriptor, sort_keys=False, allow_unicode=True, width=100)
