"""The one validator: descriptor schema, OpenAPI structure and semantics, and reference models."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
import semver
from jsonschema.exceptions import best_match
from license_expression import get_spdx_licensing
from openapi_spec_validator.schemas import schema_v2, schema_v30, schema_v31, schema_v32
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

from catalogue import reference
from catalogue.services.descriptors import Descriptor, pointer_escape
from catalogue.services.report import Problem

OPENAPI_POINTER = "/specification/interface/openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


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


def _pointer(base: str, parts: Any) -> str:
    return base + "".join("/" + pointer_escape(str(part)) for part in parts)


_MESSAGE_CHARS = 500


def _brief(value: Any) -> str:
    """A short repr: a 10,000-character name or a list of 20,000 keywords is not echoed back whole."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:40]!r}… ({len(value)} characters)"
    if isinstance(value, (list, dict)) and len(repr(value)) > 80:
        kind = "items" if isinstance(value, list) else "keys"
        return f"{'[…]' if isinstance(value, list) else '{…}'} ({len(value)} {kind})"
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "…"


def _readable(message: str, instance: Any) -> str:
    """The library's message with the checked value shortened, and never longer than a paragraph."""
    if len(message) > _MESSAGE_CHARS:
        message = message.replace(repr(instance), _brief(instance))
    return message if len(message) <= _MESSAGE_CHARS else message[: _MESSAGE_CHARS - 1] + "…"


# --- our descriptor schema -------------------------------------------------------------------


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)


@cache
def descriptor_schema_validator() -> jsonschema.Draft202012Validator:
    """The compiled validator for schemas/cspa-service-descriptor.schema.json (never fetches)."""
    from catalogue import SCHEMA_DIR

    schema = json.loads((SCHEMA_DIR / "cspa-service-descriptor.schema.json").read_text("utf-8"))
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_retrieval)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _schema_problems(content: dict[str, Any]) -> Iterator[Problem]:
    for error in descriptor_schema_validator().iter_errors(content):
        pointer = _pointer("", error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            patterns = list(error.schema.get("patternProperties", {}))
            for key in error.instance:
                if key not in allowed and not any(re.search(p, key) for p in patterns):
                    names = ", ".join(sorted(allowed))
                    yield Problem(f"{pointer}/{pointer_escape(key)}", f"unknown field {_brief(key)}; allowed here: {names}", "schema")
            continue
        if error.validator == "pattern":
            message = f"{_brief(error.instance)} does not have the expected form (pattern {error.validator_value})"
        else:
            message = _readable(error.message, error.instance)
        yield Problem(pointer, message, "schema")


# --- OpenAPI -----------------------------------------------------------------------------------


class _RefusingHandler:
    """Claims a URI scheme and refuses it: the registry never fetches or opens a reference."""

    def __call__(self, uri: str) -> Any:
        raise referencing.exceptions.NoSuchResource(ref=uri)


_REFUSE = _RefusingHandler()
_NO_FETCH_HANDLERS = {scheme: _REFUSE for scheme in ("<all_urls>", "http", "https", "file", "ftp", "data", "")}


def _tag_errors(cls: type) -> type:
    """Wrap a keyword validator so errors it yields carry the pointer of what it was checking.

    The library reports semantic errors at `$` and names the place only inside the message; the
    SchemaPath each keyword validator receives knows where it is, so we record it on the error.
    """

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        where = None
        for arg in args:
            if hasattr(arg, "parts"):
                where = arg.parts
        for error in super(tagged, self).__call__(*args, **kwargs):
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


def _fast_schemas(cls: type) -> type:
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


@cache
def _flavours() -> dict[str, _Flavour]:
    return {
        "2.0": _Flavour("Swagger 2.0", _build_validator_class(osv.OpenAPIV2SpecValidator), schema_v2),
        "3.0": _Flavour("OpenAPI 3.0", _build_validator_class(osv.OpenAPIV30SpecValidator), schema_v30),
        "3.1": _Flavour("OpenAPI 3.1", _build_validator_class(osv.OpenAPIV31SpecValidator), schema_v31),
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


def _resolve_local(doc: Any, ref: str) -> tuple[bool, Any]:
    target = doc
    if ref in ("#", "#/"):
        return True, doc
    if not ref.startswith("#/"):
        return False, None
    for raw in ref[2:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        from urllib.parse import unquote

        token = unquote(token)
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return False, None
    return True, target


def _scan_refs(doc: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    todo: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while todo:
        item, path = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield path, ref
            todo.extend((v, path + (k,)) for k, v in item.items())
        elif isinstance(item, list):
            todo.extend((v, path + (i,)) for i, v in enumerate(item))


def _ref_problems(doc: dict[str, Any]) -> tuple[list[Problem], list[tuple[Any, ...]]]:
    """Refuse every reference that is not local, unresolvable or a pure cycle, before the library runs."""
    problems: list[Problem] = []
    bad: list[tuple[Any, ...]] = []
    for path, ref in _scan_refs(doc):
        pointer = _pointer(OPENAPI_POINTER, path) + "/$ref"
        if not ref.startswith("#"):
            problems.append(
                Problem(pointer, f"the reference {ref!r} points outside the document; only local references (#/...) are allowed, and it was not fetched or opened", "openapi")
            )
            bad.append(path)
            continue
        found, target = _resolve_local(doc, ref)
        if not found:
            problems.append(Problem(pointer, f"the reference {ref!r} does not resolve to anything in the document", "openapi"))
            bad.append(path)
            continue
        seen = {ref}
        while isinstance(target, dict) and isinstance(target.get("$ref"), str) and len(target) == 1:
            nxt = target["$ref"]
            if nxt in seen:
                problems.append(Problem(pointer, f"the reference {ref!r} is part of a cycle of references that never reaches a definition", "openapi"))
                bad.append(path)
                break
            seen.add(nxt)
            found, target = _resolve_local(doc, nxt)
            if not found:
                break
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
    return _pointer(OPENAPI_POINTER, parts)


def _meta_message(error: Any) -> tuple[str, str]:
    if error.context:
        error = best_match(error.context)
    return _pointer(OPENAPI_POINTER, error.absolute_path), _readable(error.message, error.instance)


def _openapi_problems(doc: dict[str, Any]) -> list[Problem]:
    version = _detect_version(doc)
    if version is None:
        return [Problem(OPENAPI_POINTER, 'no recognised OpenAPI version: give `openapi: "3.0.3"` (or 3.1.x) or `swagger: "2.0"`', "openapi")]
    problems, bad = _ref_problems(doc)
    if bad:
        doc = copy.deepcopy(doc)
        for path in bad:
            _replace_at(doc, path, {})
    fast, clear = _meta_validators(version)
    if fast is None or next(iter(fast.iter_errors(doc)), None) is not None:
        for error in clear.iter_errors(doc):
            pointer, message = _meta_message(error)
            problems.append(Problem(pointer, message, "openapi"))
    structural = bool(problems)
    spec = _flavours()[version].spec_class(doc)
    try:
        # Only the semantic pass: the meta-schema pass ran above. The library's cached
        # iter_errors would keep every document alive, so the root validator is called directly.
        for error in spec.root_validator(spec.schema_path):
            problems.append(Problem(_semantic_pointer(error), _readable(error.message, None), "openapi-semantics"))
    except RecursionError:
        problems.append(Problem(OPENAPI_POINTER, "the document nests or refers to itself too deeply to be checked", "openapi"))
    except Exception as exc:  # noqa: BLE001 - the library raises KeyError, Unresolvable and others
        if not structural:
            problems.append(Problem(OPENAPI_POINTER, f"the document could not be checked completely: {type(exc).__name__}: {exc}", "openapi"))
    return problems


def openapi_operations(doc: dict[str, Any]) -> dict[str, str]:
    """operationId → pointer of the operation, for every operation in an OpenAPI document."""
    found: dict[str, str] = {}
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return found
    for url, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                found.setdefault(operation["operationId"], _pointer(OPENAPI_POINTER, ("paths", url, method)))
    return found


# --- reference models --------------------------------------------------------------------------


def _reference_problems(content: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    version = content.get("version")
    if isinstance(version, str) and not semver.Version.is_valid(version):
        errors.append(Problem("/version", f"{version!r} is not a semantic version such as 1.0.0 (MAJOR.MINOR.PATCH)", "reference"))
    definition = content.get("definition") if isinstance(content.get("definition"), dict) else {}
    gsbpm = reference.gsbpm()
    codes = definition.get("gsbpm")
    if isinstance(codes, list):
        for i, code in enumerate(codes):
            # Codes of the wrong form are the schema's to report; here only well-formed unknown ones.
            if isinstance(code, str) and re.fullmatch(r"[1-8]\.[1-9]", code) and code not in gsbpm.subprocesses:
                errors.append(Problem(f"/definition/gsbpm/{i}", f"{code!r} is not a GSBPM 5.1 sub-process", "reference"))
    gsim = reference.gsim()
    for side in ("inputs", "outputs"):
        items = definition.get(side)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            name = item.get("gsim") if isinstance(item, dict) else None
            if isinstance(name, str) and gsim.lookup(name) is None:
                hint = gsim.suggest(name)
                message = f"{name!r} is not a GSIM 1.2 object"
                if hint:
                    message += f"; did you mean {hint!r}?"
                errors.append(Problem(f"/definition/{side}/{i}/gsim", message, "reference"))
    implementation = content.get("implementation") if isinstance(content.get("implementation"), dict) else {}
    licence = implementation.get("licence")
    if isinstance(licence, str) and licence:
        problem = _licence_problem(licence)
        if problem:
            errors.append(Problem("/implementation/licence", problem, "reference"))
    specification = content.get("specification") if isinstance(content.get("specification"), dict) else {}
    interface = specification.get("interface") if isinstance(specification.get("interface"), dict) else {}
    doc = interface.get("openapi")
    operations = specification.get("operations")
    declared = openapi_operations(doc) if isinstance(doc, dict) else {}
    if isinstance(operations, list):
        listed = set()
        for i, op in enumerate(operations):
            op_id = op.get("id") if isinstance(op, dict) else None
            if not isinstance(op_id, str):
                continue
            listed.add(op_id)
            if not isinstance(doc, dict):
                errors.append(Problem(f"/specification/operations/{i}/id", f"operation {op_id!r} is listed but the specification has no OpenAPI interface to define it", "reference"))
            elif op_id not in declared:
                hint = difflib.get_close_matches(op_id, list(declared), n=1)
                message = f"operation {op_id!r} is not an operationId of the OpenAPI document"
                if hint:
                    message += f"; did you mean {hint[0]!r}?"
                errors.append(Problem(f"/specification/operations/{i}/id", message, "reference"))
        for op_id, pointer in declared.items():
            if op_id not in listed:
                warnings.append(Problem(pointer, f"the OpenAPI operation {op_id!r} is not listed in specification.operations", "reference"))
    return errors, warnings


@cache
def _spdx() -> Any:
    """The SPDX licence index, loaded once per process (building it costs ~25 ms)."""
    return get_spdx_licensing()


@lru_cache(maxsize=1024)
def _licence_problem(expression: str) -> str | None:
    info = _spdx().validate(expression)
    unknown = [s for s in info.invalid_symbols if not str(s).startswith("LicenseRef-")]
    if unknown or (info.errors and not info.invalid_symbols):
        return f"{expression!r} is not an SPDX licence identifier or expression (see spdx.org/licenses), such as EUPL-1.2 or GPL-3.0-or-later"
    return None


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
    specification = content.get("specification")
    interface = specification.get("interface") if isinstance(specification, dict) else None
    doc = interface.get("openapi") if isinstance(interface, dict) else None
    if isinstance(doc, dict):
        errors.extend(_openapi_problems(doc))
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
