"""The one validator: descriptor schema, every kind of interface, and reference models.

The checks of each kind of interface (OpenAPI, WSDL, AsyncAPI, command line, library) live in
catalogue/services/interfaces/, one module per kind; this module calls them and cross-checks the
Specification's operations against them. The libraries that only validation needs (jsonschema,
openapi_spec_validator with jsonschema-rs and pydantic, license_expression) are imported on the first
validation, not with this module: the views import it for its constants and helpers, and a worker that only
serves reads then never carries them.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import semver

from catalogue import reference
from catalogue.exceptions import Problem
from catalogue.services import interfaces, json_pointer, layers, licences
from catalogue.services.descriptors import Descriptor
from catalogue.services.interfaces import openapi
from catalogue.services.interfaces.openapi import HTTP_METHODS
from catalogue.services.interfaces.openapi import POINTER as OPENAPI_POINTER
from catalogue.services.json_pointer import escape as pointer_escape
from catalogue.services.json_pointer import join as join_pointer
from catalogue.services.readable import brief as _brief
from catalogue.services.readable import readable_message

if TYPE_CHECKING:
    import jsonschema

__all__ = ["HTTP_METHODS", "OPENAPI_POINTER", "Report", "openapi_operations", "readable_message", "validate"]


@dataclass
class Report:
    """Everything wrong with a descriptor: errors block storage, warnings do not."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form stored with each version and returned by the API."""
        return {
            "valid": self.valid,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


# --- our descriptor schema -------------------------------------------------------------------


@cache
def descriptor_schema_validator() -> jsonschema.Draft202012Validator:
    """The compiled validator for schemas/cspa-service-descriptor.schema.json (never fetches)."""
    # Imported here, once: a process that never validates never loads jsonschema (see the module docstring).
    import jsonschema
    import referencing
    import referencing.exceptions

    from catalogue.resources import SCHEMA_FILE

    def refuse_retrieval(uri: str) -> referencing.Resource[Any]:
        # The ignores: referencing builds its classes with attrs through a wrapper mypy cannot read,
        # so it sees neither this field nor Registry's `retrieve`; both are documented and tested here.
        raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]

    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=refuse_retrieval)  # type: ignore[call-arg]
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _schema_problems(content: dict[str, Any]) -> Iterator[Problem]:
    for error in descriptor_schema_validator().iter_errors(content):
        pointer = join_pointer("", error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            patterns = list(error.schema.get("patternProperties", {}))
            for key in error.instance:
                if key not in allowed and not any(re.search(p, key) for p in patterns):
                    names = ", ".join(sorted(allowed))
                    yield Problem(
                        f"{pointer}/{pointer_escape(key)}",
                        f"unknown field {_brief(key)}; allowed here: {names}",
                        "schema",
                    )
            continue
        if error.validator == "pattern":
            message = f"{_brief(error.instance)} does not have the expected form (pattern {error.validator_value})"
        else:
            message = readable_message(error.message, error.instance)
        yield Problem(pointer, message, "schema")


# --- interfaces ------------------------------------------------------------------------------


def openapi_operations(doc: dict[str, Any]) -> dict[str, str]:
    """operationId → pointer of the operation, for every operation in an OpenAPI document."""
    return {op.name: op.pointer for op in openapi.operations(doc)}


# --- reference models --------------------------------------------------------------------------


def _part(content: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping under key, or an empty one when it is missing or of the wrong type (the schema reports that)."""
    value = content.get(key)
    return value if isinstance(value, dict) else {}


def _version_problems(content: dict[str, Any]) -> Iterator[Problem]:
    version = content.get("version")
    if isinstance(version, str) and not semver.Version.is_valid(version):
        yield Problem(
            "/version", f"{version!r} is not a semantic version such as 1.0.0 (MAJOR.MINOR.PATCH)", "reference"
        )


def _gsbpm_problems(definition: dict[str, Any]) -> Iterator[Problem]:
    codes = definition.get("gsbpm")
    if not isinstance(codes, list):
        return
    subprocesses = reference.gsbpm().subprocesses
    for i, code in enumerate(codes):
        # Codes of the wrong form are the schema's to report; here only well-formed unknown ones.
        if isinstance(code, str) and re.fullmatch(r"[1-8]\.[1-9]", code) and code not in subprocesses:
            yield Problem(f"/definition/gsbpm/{i}", f"{code!r} is not a GSBPM 5.1 sub-process", "reference")


_GSIM_PLACES = (
    ("definition", ("inputs", "outputs")),
    ("specification", ("input_messages", "output_messages")),
)
"""Where a descriptor names GSIM objects outside its interfaces: the Definition's inputs and outputs, and the
Specification's messages (CSPA 2.0 Annex 1); command-line files are checked with their interface."""


def _gsim_problems(content: dict[str, Any]) -> Iterator[Problem]:
    gsim = reference.gsim()
    for layer, sides in _GSIM_PLACES:
        part = _part(content, layer)
        for side in sides:
            items = part.get(side)
            for i, item in enumerate(items if isinstance(items, list) else ()):
                name = item.get("gsim") if isinstance(item, dict) else None
                if isinstance(name, str) and gsim.lookup(name) is None:
                    hint = gsim.suggest(name)
                    message = f"{name!r} is not a GSIM 1.2 object"
                    if hint:
                        message += f"; did you mean {hint!r}?"
                    yield Problem(f"/{layer}/{side}/{i}/gsim", message, "reference")


@cache
def _json_schema_checker() -> jsonschema.Draft202012Validator:
    """The JSON Schema 2020-12 meta-schema, which a message's inline schema must meet (never fetches: the
    meta-schemas ship with jsonschema)."""
    import jsonschema

    return jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)


def _message_schema_problems(schema: dict[str, Any], pointer: str) -> Iterator[Problem]:
    """An inline message schema is a JSON Schema whose references stay inside it: one pointing elsewhere is
    refused as everywhere in a descriptor, and never fetched or opened."""
    for error in _json_schema_checker().iter_errors(schema):
        text = readable_message(f"not a valid JSON Schema: {error.message}", error.instance)
        yield Problem(join_pointer(pointer, error.absolute_path), text, "reference")
    for path, text in json_pointer.unfollowed_references(schema, "schema"):
        yield Problem(join_pointer(pointer, (*path, "$ref")), text, "reference")


def _message_problems(specification: dict[str, Any]) -> Iterator[Problem]:
    """A message's format, when given, says something (blanks are no format: the schema counts them), and its
    inline schema, when given, is a valid JSON Schema with local references only (an address given instead of
    a schema is kept as written and never fetched)."""
    for side in ("input_messages", "output_messages"):
        items = specification.get(side)
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(item, dict):
                continue
            found = item.get("format")
            if isinstance(found, str) and not found.strip():
                message = "give the message's format, such as application/json or SDMX-ML 2.1"
                yield Problem(f"/specification/{side}/{i}/format", message, "reference")
            if isinstance(item.get("schema"), dict):
                yield from _message_schema_problems(item["schema"], f"/specification/{side}/{i}/schema")


def _reference_problems(content: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings against the reference models (semantic versions, GSBPM, GSIM, SPDX), of the inline
    layers' identity, and of the Specification's operations against its interfaces."""
    definition = _part(content, "definition")
    errors = [
        *_version_problems(content),
        *layers.inline_problems(content),
        *_gsbpm_problems(definition),
        *_gsim_problems(content),
        *licences.problems(_part(content, "implementation")),
    ]
    specification = _part(content, "specification")
    errors.extend(_message_problems(specification))
    operation_errors, warnings = interfaces.operation_problems(specification)
    warnings.extend(interfaces.protocol_warnings(specification))
    return errors + operation_errors, warnings


# --- the one entry point -----------------------------------------------------------------------

_CACHE_SIZE = 256
_cache: OrderedDict[str, tuple[list[Problem], list[Problem]]] = OrderedDict()
_cache_lock = threading.Lock()


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a descriptor."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check(content: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    errors = list(_schema_problems(content))
    errors.extend(interfaces.problems(_part(content, "specification")))
    reference_errors, warnings = _reference_problems(content)
    errors.extend(reference_errors)
    return errors, warnings


def clear_cache() -> None:
    """Forget every cached report (benchmarks measure cold validation with this)."""
    with _cache_lock:
        _cache.clear()


def validate(descriptor: Descriptor, digest: str | None = None) -> Report:
    """Check a parsed descriptor and report every problem at once, each with pointer and line.

    Reports are cached by content hash (without lines, which depend on the text), so validating
    unchanged content again costs one hash.
    """
    key = digest or content_hash(descriptor.content)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        cached = _check(descriptor.content)
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    errors, warnings = cached
    return Report(
        errors=[_with_line(p, descriptor) for p in errors],
        warnings=[_with_line(p, descriptor) for p in warnings],
    )


def _with_line(problem: Problem, descriptor: Descriptor) -> Problem:
    return Problem(problem.pointer, problem.message, problem.source, descriptor.line_for(problem.pointer))
