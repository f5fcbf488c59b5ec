"""The checks of a descriptor's OpenAPI document: references, structure (the meta-schema) and semantics.

Everything that needs openapi_spec_validator or jsonschema-rs lives here, and only interfaces.openapi
imports this module, on the first descriptor with an OpenAPI document: together they cost a process
~21 MB, which a worker that only serves reads never pays.

OpenAPI 3.1 documents are checked against the OpenAPI Initiative's current published 3.1 schema, shipped in
catalogue/reference (see SOURCES.md there): the one openapi-spec-validator bundles is the 2022-10-07
iteration, which refuses valid documents (its Link Object names `body` where the specification says `server`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import referencing.exceptions
from jsonschema.exceptions import best_match
from openapi_spec_validator.schemas import schema_v2, schema_v30, schema_v32
from openapi_spec_validator.schemas.backend.jsonschema import (
    create_validator as python_schema_validator,
)
from openapi_spec_validator.schemas.backend.jsonschema_rs import (
    create_validator as rust_schema_validator,
)
from openapi_spec_validator.schemas.backend.jsonschema_rs import (
    has_jsonschema_rs_validators,
)
from openapi_spec_validator.validation import keywords as osv_keywords
from openapi_spec_validator.validation import validators as osv

from catalogue.exceptions import Problem
from catalogue.resources import OPENAPI_31_SCHEMA_FILE
from catalogue.services import json_pointer
from catalogue.services.interfaces.declared import INTERFACE_POINTER
from catalogue.services.json_pointer import join as join_pointer
from catalogue.services.readable import readable_message


class _RefusingHandler:
    """Claims a URI scheme and refuses it: the registry never fetches or opens a reference."""

    def __call__(self, uri: str) -> Any:
        # referencing declares `ref` through an attrs wrapper that mypy cannot read.
        raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


OPENAPI_POINTER = f"{INTERFACE_POINTER}/openapi"
_REFUSE = _RefusingHandler()
_NO_FETCH_HANDLERS = {scheme: _REFUSE for scheme in ("<all_urls>", "http", "https", "file", "ftp", "data", "")}


def _tag_errors(cls: type[Any]) -> type[Any]:
    """Wrap a keyword validator so errors it yields carry the pointer of what it was checking.

    The library reports semantic errors at `$` and names the place only inside the message; the
    SchemaPath each keyword validator receives knows where it is, so we record it on the error.
    """

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        where = None
        for arg in args:
            if hasattr(arg, "parts"):
                where = arg.parts
        for error in cls.__call__(self, *args, **kwargs):
            if where is not None and getattr(error, "catalogue_parts", None) is None:
                error.catalogue_parts = tuple(where)
            yield error

    tagged = type(cls.__name__, (cls,), {"__call__": __call__})
    return tagged


class _IdSet(set[int]):
    """The library keeps the ids of schemas it has seen in lists, so each lookup scans all of them
    (quadratic in the number of schemas); a set with the list's `append` keeps it linear."""

    append = set.add


@cache
def _draft4_meta_checker() -> Any:
    """jsonschema-rs validator of the draft-04 meta-schema (self-contained: nothing to resolve)."""
    from openapi_schema_validator import OAS30Validator

    return rust_schema_validator(dict(OAS30Validator.META_SCHEMA)) if has_jsonschema_rs_validators() else None


def _fast_schemas(cls: type[Any]) -> type[Any]:
    """Speed up the keyword validator of Schema Objects without changing what it reports."""

    def __init__(self: Any, registry: Any) -> None:
        cls.__init__(self, registry)
        self.visited_schema_ids = _IdSet()
        self.meta_checked_schema_ids = _IdSet()

    def _get_schema_checker(self: Any, schema: Any, schema_value: Any) -> Any:
        checker = cls._get_schema_checker(self, schema, schema_value)
        fast = _draft4_meta_checker() if issubclass(cls, osv_keywords.OpenAPIV30SchemaValidator) else None
        if fast is None:
            return checker

        def check(value: Any) -> None:
            # Valid schemas (nearly all) are confirmed by jsonschema-rs; the library's own checker
            # runs only on a failure, to raise the error it would have raised.
            if next(iter(fast.iter_errors(value)), None) is not None:
                checker(value)

        return check

    return type(cls.__name__, (cls,), {"__init__": __init__, "_get_schema_checker": _get_schema_checker})


def _build_validator_class(base: type[osv.SpecValidator]) -> type[osv.SpecValidator]:
    keyword_validators = {
        kw: _tag_errors(_fast_schemas(cls) if issubclass(cls, osv_keywords.SchemaValidator) else cls)
        for kw, cls in base.keyword_validators.items()
    }
    return type(
        "Catalogue" + base.__name__,
        (base,),
        {"resolver_handlers": _NO_FETCH_HANDLERS, "keyword_validators": keyword_validators},
    )


@dataclass(frozen=True)
class _Flavour:
    label: str
    spec_class: type[osv.SpecValidator]
    meta_schema: Any


def _published_31_schema() -> dict[str, Any]:
    """The OpenAPI Initiative's current published 3.1 schema (2025-11-23), from the file we ship."""
    schema: dict[str, Any] = json.loads(OPENAPI_31_SCHEMA_FILE.read_text("utf-8"))
    return schema


@cache
def _flavours() -> dict[str, _Flavour]:
    return {
        "2.0": _Flavour("Swagger 2.0", _build_validator_class(osv.OpenAPIV2SpecValidator), schema_v2),
        "3.0": _Flavour("OpenAPI 3.0", _build_validator_class(osv.OpenAPIV30SpecValidator), schema_v30),
        "3.1": _Flavour("OpenAPI 3.1", _build_validator_class(osv.OpenAPIV31SpecValidator), _published_31_schema()),
        "3.2": _Flavour("OpenAPI 3.2", _build_validator_class(osv.OpenAPIV32SpecValidator), schema_v32),
    }


@cache
def _meta_validators(version: str) -> tuple[Any, Any]:
    """(fast, clear) meta-schema validators: jsonschema-rs when present, and jsonschema for messages."""
    meta = dict(_flavours()[version].meta_schema)
    fast = rust_schema_validator(meta) if has_jsonschema_rs_validators() else None
    return fast, python_schema_validator(meta)


def _detect_version(doc: dict[str, Any]) -> str | None:
    if doc.get("swagger") == "2.0":
        return "2.0"
    value = doc.get("openapi")
    if isinstance(value, str):
        match = re.fullmatch(r"3\.([0-2])\.\d+(-.+)?", value)
        if match:
            return f"3.{match.group(1)}"
    return None


def _in_a_cycle(doc: dict[str, Any], ref: str, target: Any) -> bool:
    """Whether following ref, through targets that are nothing but another reference, comes back round."""
    seen = {ref}
    while isinstance(target, dict) and isinstance(target.get("$ref"), str) and len(target) == 1:
        following = target["$ref"]
        if following in seen:
            return True
        seen.add(following)
        try:
            target = json_pointer.follow(doc, following)
        except json_pointer.PointerError:
            return False  # reported where that reference is written
    return False


def _ref_problem(doc: dict[str, Any], ref: str) -> str | None:
    """What is wrong with one reference, or None when it leads to a definition in the document."""
    try:
        target = json_pointer.follow(doc, ref)
    except json_pointer.NotLocal:
        return (
            f"the reference {ref!r} points outside the document; only local references (#/...) are allowed, "
            "and it was not fetched or opened"
        )
    except json_pointer.PointerError:
        return f"the reference {ref!r} does not resolve to anything in the document"
    if _in_a_cycle(doc, ref, target):
        return f"the reference {ref!r} is part of a cycle of references that never reaches a definition"
    return None


def _ref_problems(doc: dict[str, Any]) -> tuple[list[Problem], list[tuple[Any, ...]]]:
    """Refuse every reference that is not local, unresolvable or a pure cycle, before the library runs."""
    problems: list[Problem] = []
    bad: list[tuple[Any, ...]] = []
    for path, ref in json_pointer.references(doc):
        message = _ref_problem(doc, ref)
        if message is not None:
            problems.append(Problem(join_pointer(OPENAPI_POINTER, path) + "/$ref", message, "openapi"))
            bad.append(path)
    return problems, bad


def _replace_at(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    target = doc
    for part in path[:-1]:
        target = target[part]
    if path:
        target[path[-1]] = value


def _semantic_pointer(error: Any) -> str:
    parts = getattr(error, "catalogue_parts", None)
    if parts is None:
        return OPENAPI_POINTER
    return join_pointer(OPENAPI_POINTER, parts)


def _meta_message(error: Any) -> tuple[str, str]:
    if error.context:
        error = best_match(error.context)
    return join_pointer(OPENAPI_POINTER, error.absolute_path), readable_message(error.message, error.instance)


def problems(doc: dict[str, Any]) -> list[Problem]:
    """Every problem of an OpenAPI (or Swagger 2.0) document; no reference is ever fetched or opened."""
    version = _detect_version(doc)
    if version is None:
        message = 'no recognised OpenAPI version: give `openapi: "3.0.3"` (or 3.1.x) or `swagger: "2.0"`'
        return [Problem(OPENAPI_POINTER, message, "openapi")]
    found, bad = _ref_problems(doc)
    if bad:
        doc = copy.deepcopy(doc)
        for path in bad:
            _replace_at(doc, path, {})
    fast, clear = _meta_validators(version)
    if fast is None or next(iter(fast.iter_errors(doc)), None) is not None:
        for error in clear.iter_errors(doc):
            pointer, message = _meta_message(error)
            found.append(Problem(pointer, message, "openapi"))
    structural = bool(found)
    spec = _flavours()[version].spec_class(doc)
    try:
        # Only the semantic pass: the meta-schema pass ran above. The library's cached
        # iter_errors would keep every document alive, so the root validator is called directly.
        for error in spec.root_validator(spec.schema_path):
            message = readable_message(error.message, None)
            found.append(Problem(_semantic_pointer(error), message, "openapi-semantics"))
    except RecursionError:
        message = "the document nests or refers to itself too deeply to be checked"
        found.append(Problem(OPENAPI_POINTER, message, "openapi"))
    except Exception as exc:  # noqa: BLE001 - the library raises KeyError, Unresolvable and others
        if not structural:
            message = f"the document could not be checked completely: {type(exc).__name__}: {exc}"
            found.append(Problem(OPENAPI_POINTER, message, "openapi"))
    return found
