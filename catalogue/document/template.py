"""The descriptor template chapter, generated from the ``description``s of the published JSON Schema.

The schema in ``schemas/`` is the one source of truth for what a descriptor holds: the validator
checks against it and this module writes the template chapter from it, so the two never disagree.
Every string taken from the schema is escaped here, because the result is inserted after sanitising.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogue.resources import SCHEMA_FILE

IDENTIFICATION = "identification"  # anchor of the section gathering the top-level scalar fields
REFERENCE_NOTE = (
    " This layer may instead be a reference to one already in the catalogue: write only ref (its id), and"
    " optionally version and owner; the catalogue then reads the layer it names (CSPA 2.0 Annex 1 links an"
    " Implementation Description to the Specification and Definition it implements)."
)
"""Said of each layer that may be written as a reference (the schema's ``ref`` property)."""


@dataclass(frozen=True)
class Field:
    """One field of the descriptor: dotted path (``[]`` for list items), whether required, its shape."""

    path: str
    required: bool
    kind: str
    description: str
    constraints: tuple[str, ...]

    @property
    def anchor(self) -> str:
        """A stable id for the field, e.g. ``field-definition-inputs-gsim``."""
        return "field-" + "-".join(part for part in self.path.replace("[]", "").split(".") if part).replace("_", "-")


@dataclass(frozen=True)
class TemplateSection:
    """A group of fields shown under one heading: the descriptor's identification or one of its layers."""

    anchor: str
    title: str
    description: str
    fields: tuple[Field, ...]
    required: bool = True


def load_schema(path: Path | None = None) -> dict[str, Any]:
    """The descriptor JSON Schema (SCHEMA_FILE unless told) as a dict, read on each call so edits show at once."""
    return json.loads((path or SCHEMA_FILE).read_text("utf-8"))  # type: ignore[no-any-return]


def _resolve(node: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``); a description beside the ref wins over the target's."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return node
    target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _kind(node: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    if "const" in node:
        return f"always {json.dumps(node['const'])}"
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        items = _resolve(node.get("items", {}), schema)
        return f"list of {_kind(items, schema)}"
    names = {
        "string": "text",
        "object": "group of fields",
        "integer": "whole number",
        "number": "number",
        "boolean": "true or false",
    }
    if isinstance(kind, str):
        return names.get(kind, kind)
    return "any value"


def _constraints(node: Mapping[str, Any]) -> tuple[str, ...]:
    said = []
    if "pattern" in node:
        said.append(f"matches {node['pattern']}")
    if "minLength" in node and node["minLength"] > 1:
        said.append(f"at least {node['minLength']} characters")
    if "maxLength" in node:
        said.append(f"at most {node['maxLength']} characters")
    if "minItems" in node:
        said.append(f"at least {node['minItems']} {'item' if node['minItems'] == 1 else 'items'}")
    if "maxItems" in node:
        said.append(f"at most {node['maxItems']} items")
    if node.get("uniqueItems"):
        said.append("no repeats")
    return tuple(said)


def _shared_description(node: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """The description of the shared definition a ``$ref`` points at (a use-site description hides it)."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return ""
    return str(schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}).get("description", "")).strip()


def _required(node: Mapping[str, Any]) -> set[str]:
    """The fields node requires, counting those a conditional requires of the usual form: a layer written
    inline (the ``else`` of "if it is a reference"), or the Definition unless the Specification refers."""
    found = set(node.get("required", []))
    for branch in ("then", "else"):
        part = node.get(branch)
        if isinstance(part, Mapping):
            found.update(part.get("required", []))
    return found


def _required_when(node: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Fields required only for some values of a discriminator (``allOf`` of ``if {kind: const} then
    {required}``, as a distribution's package for cran, pypi, npm and nuget), as field → the values."""
    found: dict[str, dict[str, list[str]]] = {}
    for rule in node.get("allOf", []):
        if not isinstance(rule, Mapping):
            continue
        tests = rule.get("if", {}).get("properties", {}) if isinstance(rule.get("if"), Mapping) else {}
        then = rule.get("then", {})
        for key, test in tests.items():
            if isinstance(test, Mapping) and "const" in test and isinstance(then, Mapping):
                for name in then.get("required", []):
                    found.setdefault(name, {}).setdefault(key, []).append(str(test["const"]))
    return found


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _properties(
    node: Mapping[str, Any], schema: Mapping[str, Any], path: str, required_here: set[str]
) -> Iterator[Field]:
    when = _required_when(node)
    for name, child in node.get("properties", {}).items():
        for found in _fields(child, schema, f"{path}.{name}", name in required_here):
            if found.path == f"{path}.{name}" and name in when:
                note = "Required when " + " and ".join(f"{k} is {_or_list(v)}" for k, v in when[name].items()) + "."
                found = Field(
                    found.path, found.required, found.kind, f"{found.description} {note}".strip(), found.constraints
                )
            yield found


def _fields(node: Mapping[str, Any], schema: Mapping[str, Any], path: str, required: bool) -> Iterator[Field]:
    notes = []
    shared = _shared_description(node, schema)
    if shared and shared != str(node.get("description", "")).strip():
        notes.append(shared)
    items = node.get("items")
    if isinstance(items, Mapping) and (each := str(_resolve(items, schema).get("description", "")).strip()):
        notes.append(f"Each item: {each}")
    node = _resolve(node, schema)
    description = " ".join([str(node.get("description", "")).strip(), *notes]).strip()
    yield Field(path, required, _kind(node, schema), description, _constraints(node))
    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        items = _resolve(node["items"], schema)
        yield from _properties(items, schema, f"{path}[]", _required(items))
    yield from _properties(node, schema, path, _required(node))


def _title(name: str, description: str) -> str:
    """A layer's title is what its description names before the colon ("Statistical Service Definition: ...")."""
    head, colon, _ = description.partition(":")
    if colon and 0 < len(head) <= 80:
        return head.strip()
    return name.replace("_", " ").capitalize()


def template_sections(schema: Mapping[str, Any]) -> list[TemplateSection]:
    """The template as sections: top-level scalar fields first, then one section per layer or list."""
    required = _required(schema)
    scalars: list[Field] = []
    groups: list[TemplateSection] = []
    for name, raw in schema.get("properties", {}).items():
        node = _resolve(raw, schema)
        found = list(_fields(node, schema, name, name in required))
        if len(found) == 1:
            scalars.extend(found)
            continue
        description = str(node.get("description", "")).strip()
        if "ref" in node.get("properties", {}):
            description += REFERENCE_NOTE
        # The group's own row would repeat the section's paragraph; its flag moves into the section.
        groups.append(
            TemplateSection(
                f"template-{name.replace('_', '-')}",
                _title(name, description),
                description,
                tuple(found[1:]),
                found[0].required,
            )
        )
    top = TemplateSection(
        IDENTIFICATION, "The descriptor as a whole", str(schema.get("description", "")).strip(), tuple(scalars)
    )
    return [top, *groups]


def _field_html(field: Field) -> str:
    flag = (
        '<span class="field-required">required</span>'
        if field.required
        else '<span class="field-optional">optional</span>'
    )
    constraints = (
        f'<span class="field-constraints">{html.escape("; ".join(field.constraints))}</span>'
        if field.constraints
        else ""
    )
    description = html.escape(field.description) or "<em>No description.</em>"
    return (
        f'<dt id="{field.anchor}"><code>{html.escape(field.path)}</code> {flag}</dt>'
        f'<dd><span class="field-kind">{html.escape(field.kind)}</span> {description} {constraints}</dd>'
    )


def render_template(schema: Mapping[str, Any], audiences: tuple[str, ...], audience: str | None = None) -> str:
    """The template chapter body as HTML: a section per group of fields, each field with its description."""
    classes = " ".join(f"audience-{a}" for a in audiences)
    hidden = " hidden" if audience is not None and audience not in audiences else ""
    parts = []
    for section in template_sections(schema):
        parts.append(
            f'<section id="{section.anchor}" class="{classes}"{hidden}>'
            f'<h2>{html.escape(section.title)} <a class="heading-anchor" href="#{section.anchor}" '
            f'aria-label="Permanent link to this section">#</a></h2>'
            f"<p>{html.escape(section.description)}{'' if section.required else ' (optional)'}</p>"
            f'<dl class="fields">{"".join(_field_html(f) for f in section.fields)}</dl></section>'
        )
    return "".join(parts)
