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
    return Choices(
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
    }
    operations = []
    for line in _lines(form.get("operations", "")):
        op_id, _, description = line.partition(":")
        operations.append({"id": op_id.strip(), "description": description.strip()})
    specification: dict[str, Any] = {"protocol": form.get("protocol", "")}
    openapi_text = form.get("openapi", "").strip()
    if openapi_text:
        try:
            document = yaml.safe_load(openapi_text)
        except yaml.YAMLError:
            document = None
        # A document that does not read stays as text, so the validator points at it rather than losing it.
        specification["interface"] = {"openapi": document if isinstance(document, dict) else openapi_text}
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
