"""What changed between two versions of a service descriptor, and whether the change breaks callers.

Pure functions over plain descriptor dicts: no Flask, no database. Odd input (values of the wrong
type, missing keys, references to nowhere) never raises; it is compared as far as it makes sense.

Descriptor fields (everything but the OpenAPI document):

- each change names a JSON pointer (RFC 6901) into the new descriptor, or into the old one for a
  removal, with its kind (added, removed, changed) and the old and new values;
- lists of plain values (gsbpm, keywords, technology, ...) are compared as collections: one change
  per item added or removed, so a reviewer reads "added 5.3" rather than two whole lists; order is
  ignored, since these lists are sets in all but name;
- lists of objects are matched by their natural key (operations by id, inputs and outputs by GSIM
  name, contacts by name), so moving an item is no change and editing one shows only what changed;
- any other list that differs is reported as one changed value.

Interface (the OpenAPI document, Swagger 2.0 or OpenAPI 3.x):

- an operation is (METHOD, path); path templates match whatever their parameters are called, as
  OpenAPI defines (`/pets/{id}` is `/pets/{petId}`), and path parameters match by position;
- only local references (`#/...`) are followed, each chain a bounded number of hops, and schemas
  are walked with a guard against cycles and a budget against blow-up;
- breaking, for a client written against the old version: an operation removed; a required
  parameter added or an optional one made required; a request body newly required; an explicit
  response status removed (not `default`, which promises no status, nor one a new range such as
  4XX still covers); a property removed from a response schema of a status kept; the type of a
  parameter, of a request-body property or of a response property changed; a request-body field
  newly required; an enum of a parameter or request-body property narrowed (a value removed);
- for the other interfaces (CSPA 2.0 lets a service be called through SOAP, a command line or a
  library): a WSDL operation removed; a command, a library function, class or method removed; an
  argument removed, or one added as or made required.
- not breaking: anything added but required parameters and bodies, a parameter removed (servers
  ignore what they no longer read), a path parameter renamed, an operationId changed (the URL
  clients call is the same).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from catalogue.reference import normalise_name
from catalogue.services import json_pointer, layers
from catalogue.services.validation import HTTP_METHODS

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"

# Kinds of change inside an operation.
PARAMETER_ADDED = "parameter-added"
PARAMETER_REMOVED = "parameter-removed"
PARAMETER_NOW_REQUIRED = "parameter-now-required"
PARAMETER_RENAMED = "parameter-renamed"
REQUEST_BODY_NOW_REQUIRED = "request-body-now-required"
RESPONSE_ADDED = "response-added"
RESPONSE_REMOVED = "response-removed"
RESPONSE_PROPERTY_REMOVED = "response-property-removed"
OPERATION_ID_CHANGED = "operation-id-changed"
PARAMETER_TYPE_CHANGED = "parameter-type-changed"
PARAMETER_ENUM_NARROWED = "parameter-enum-narrowed"
REQUEST_FIELD_NOW_REQUIRED = "request-field-now-required"
REQUEST_PROPERTY_TYPE_CHANGED = "request-property-type-changed"
REQUEST_ENUM_NARROWED = "request-enum-narrowed"
RESPONSE_PROPERTY_TYPE_CHANGED = "response-property-type-changed"
# Kinds of change in the other interfaces (WSDL, command line, library).
OPERATION_REMOVED = "operation-removed"
ARGUMENT_REMOVED = "argument-removed"
ARGUMENT_NOW_REQUIRED = "argument-now-required"

# Lists of objects matched by a key field; GSIM names match as the validator matches them.
_KEYED_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "/definition/inputs": ("gsim", normalise_name),
    "/definition/outputs": ("gsim", normalise_name),
    "/specification/operations": ("id", str),
    "/specification/input_messages": ("gsim", normalise_name),
    "/specification/output_messages": ("gsim", normalise_name),
    "/specification/methodologies": ("name", str),
    "/implementation/distributions": ("kind", str),
    "/contacts": ("name", str),
}

LAYERS = {
    "definition": "Definition",
    "specification": "Specification",
    "implementation": "Implementation",
    "contacts": "Contacts",
}
"""The parts of a descriptor a change is grouped under, in the order a reader meets them (CSPA 2.0 Annex 1:
the Definition, the Specification, the Implementation Description; then the contacts)."""
OTHER_LAYER = "Descriptor"
"""Where changes to the descriptor's own fields (id, version, cspa) are grouped."""

FIELD_NAMES = {
    "ref": "reference to a layer in the catalogue",
    "owner": "owner",
    "gsbpm": "GSBPM sub-processes",
    "gsim": "GSIM object",
    "inputs": "inputs",
    "outputs": "outputs",
    "dependencies": "dependencies",
    "protocol": "protocol",
    "architectural_pattern": "architectural pattern",
    "input_messages": "input messages",
    "output_messages": "output messages",
    "methodologies": "applicable methodologies",
    "operations": "operations",
    "interface": "interface",
    "wsdl": "WSDL document",
    "asyncapi": "AsyncAPI document",
    "command_line": "command-line interface",
    "library": "library interface",
    "builder": "builder organisation",
    "software_version": "software version",
    "formats": "formats",
    "accepts": "formats accepted",
    "produces": "formats produced",
    "distributions": "distributions",
    "requirements": "technical requirements",
    "owner_name": "owner's name",
    "business_function": "business function",
}
"""Descriptor keys in plain words; a key not listed is shown with its underscores as spaces."""
_SCALARS = (str, int, float, bool, type(None))
_MAX_DEPTH = 64
_MAX_REF_HOPS = 32
# A schema graph of shared references can expand exponentially; past this many property paths a
# response is not compared, rather than reported with removals that are artefacts of the cut.
_MAX_PROPERTY_PATHS = 5000
_TEMPLATE = re.compile(r"\{([^{}/]*)\}")


# --- descriptor fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One descriptor field added, removed or changed, at a JSON pointer."""

    pointer: str
    kind: str
    old: Any = None
    new: Any = None

    @property
    def layer(self) -> str:
        """The part of the descriptor the change is in: Definition, Specification, Implementation, Contacts."""
        tokens = self._tokens()
        return LAYERS.get(tokens[0], OTHER_LAYER) if tokens else OTHER_LAYER

    def _tokens(self) -> list[str]:
        try:
            return json_pointer.tokens(self.pointer)
        except json_pointer.PointerError:  # every pointer here is built by _child; kept safe all the same
            return []

    @property
    def label(self) -> str:
        """The field in plain words, such as "distributions, item 1, version" or "software version"."""
        tokens = self._tokens()
        layer = tokens[0] if tokens and tokens[0] in LAYERS else None
        if layer is not None and len(tokens) > 1:
            tokens = tokens[1:]
        words = [f"item {int(t) + 1}" if t.isdigit() else FIELD_NAMES.get(t, t.replace("_", " ")) for t in tokens]
        return ", ".join(words) or "the whole descriptor"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "pointer": self.pointer,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "layer": self.layer,
            "label": self.label,
        }


@dataclass(frozen=True)
class DescriptorDiff:
    """Field changes between two descriptors, the OpenAPI document left out."""

    changes: tuple[FieldChange, ...] = ()

    def by_layer(self) -> list[tuple[str, list[FieldChange]]]:
        """The changes grouped by layer, layers in the reader's order (LAYERS), empty layers left out."""
        order = [*LAYERS.values(), OTHER_LAYER]
        groups: dict[str, list[FieldChange]] = {name: [] for name in order}
        for change in self.changes:
            groups[change.layer].append(change)
        return [(name, found) for name, found in groups.items() if found]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form: every change, and the same changes grouped by layer."""
        return {
            "changes": [change.to_dict() for change in self.changes],
            "layers": [
                {"layer": name, "changes": [change.to_dict() for change in found]} for name, found in self.by_layer()
            ],
        }


def _canonical(value: Any) -> str:
    """A text equal for equal JSON values; True and 1 differ, as they do in JSON."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        # Not JSON (mixed key types, nesting too deep): equal only to itself.
        return f"\0{id(value)}"


def _same(old: Any, new: Any) -> bool:
    return old is new or _canonical(old) == _canonical(new)


def _child(pointer: str, token: Any) -> str:
    return f"{pointer}/{json_pointer.escape(str(token))}"


def _diff_value(old: Any, new: Any, pointer: str, depth: int) -> Iterator[FieldChange]:
    if depth < _MAX_DEPTH and isinstance(old, dict) and isinstance(new, dict):
        yield from _diff_mapping(old, new, pointer, depth)
    elif depth < _MAX_DEPTH and isinstance(old, list) and isinstance(new, list):
        if pointer in _KEYED_LISTS:
            yield from _diff_keyed_list(old, new, pointer, depth)
        elif all(isinstance(item, _SCALARS) for item in old + new):
            yield from _diff_scalar_list(old, new, pointer)
        elif not _same(old, new):
            yield FieldChange(pointer, CHANGED, old, new)
    elif not _same(old, new):
        yield FieldChange(pointer, CHANGED, old, new)


def _diff_mapping(old: dict[Any, Any], new: dict[Any, Any], pointer: str, depth: int) -> Iterator[FieldChange]:
    for key, value in old.items():
        if key not in new:
            yield FieldChange(_child(pointer, key), REMOVED, old=value)
        else:
            yield from _diff_value(value, new[key], _child(pointer, key), depth + 1)
    for key, value in new.items():
        if key not in old:
            yield FieldChange(_child(pointer, key), ADDED, new=value)


def _diff_scalar_list(old: list[Any], new: list[Any], pointer: str) -> Iterator[FieldChange]:
    """Items added and removed, counting repeats; order is ignored."""
    # The type name keeps True apart from 1 and 1.0, which Python counts as equal.
    unmatched = Counter((type(item).__name__, item) for item in new)
    unmatched.subtract((type(item).__name__, item) for item in old)
    surplus_old = Counter({key: -n for key, n in unmatched.items() if n < 0})
    surplus_new = Counter({key: n for key, n in unmatched.items() if n > 0})
    for index, item in enumerate(old):
        key = (type(item).__name__, item)
        if surplus_old[key] > 0:
            surplus_old[key] -= 1
            yield FieldChange(_child(pointer, index), REMOVED, old=item)
    for index, item in enumerate(new):
        key = (type(item).__name__, item)
        if surplus_new[key] > 0:
            surplus_new[key] -= 1
            yield FieldChange(_child(pointer, index), ADDED, new=item)


def _index_by_key(
    items: list[Any], field: str, normalise: Callable[[str], str]
) -> tuple[dict[tuple[str, int], int], list[int]]:
    """(key, occurrence) → index for items with a text key, and the indexes of the others."""
    keyed: dict[tuple[str, int], int] = {}
    loose: list[int] = []
    seen: Counter[str] = Counter()
    for index, item in enumerate(items):
        key = item.get(field) if isinstance(item, dict) else None
        if not isinstance(key, str):
            loose.append(index)
            continue
        norm = normalise(key)
        # A repeated key pairs its n-th occurrence in the old list with its n-th in the new.
        keyed[(norm, seen[norm])] = index
        seen[norm] += 1
    return keyed, loose


def _diff_keyed_list(old: list[Any], new: list[Any], pointer: str, depth: int) -> Iterator[FieldChange]:
    field, normalise = _KEYED_LISTS[pointer]
    old_keyed, old_loose = _index_by_key(old, field, normalise)
    new_keyed, new_loose = _index_by_key(new, field, normalise)
    for key, old_index in old_keyed.items():
        new_index = new_keyed.get(key)
        if new_index is None:
            yield FieldChange(_child(pointer, old_index), REMOVED, old=old[old_index])
        else:
            yield from _diff_value(old[old_index], new[new_index], _child(pointer, new_index), depth + 1)
    # Items without a key can only be recognised whole.
    remaining = Counter(_canonical(new[i]) for i in new_loose)
    for index in old_loose:
        text = _canonical(old[index])
        if remaining[text] > 0:
            remaining[text] -= 1
        else:
            yield FieldChange(_child(pointer, index), REMOVED, old=old[index])
    for key, new_index in new_keyed.items():
        if key not in old_keyed:
            yield FieldChange(_child(pointer, new_index), ADDED, new=new[new_index])
    for index in new_loose:
        text = _canonical(new[index])
        if remaining[text] > 0:
            remaining[text] -= 1
            yield FieldChange(_child(pointer, index), ADDED, new=new[index])


def _openapi_document(content: Any) -> Any:
    specification = content.get("specification") if isinstance(content, dict) else None
    interface = specification.get("interface") if isinstance(specification, dict) else None
    return interface.get("openapi") if isinstance(interface, dict) else None


def _without_openapi(content: Any) -> dict[Any, Any]:
    """The descriptor minus its OpenAPI document (and minus an interface left empty by that)."""
    if not isinstance(content, dict):
        return {}
    specification = content.get("specification")
    if not isinstance(specification, dict) or not isinstance(specification.get("interface"), dict):
        return content
    interface = {k: v for k, v in specification["interface"].items() if k != "openapi"}
    specification = {k: v for k, v in specification.items() if k != "interface"}
    if interface:
        specification["interface"] = interface
    return {**content, "specification": specification}


def diff_descriptors(old: Any, new: Any) -> DescriptorDiff:
    """Field changes from old to new, the OpenAPI document excluded; a non-mapping counts as empty."""
    return DescriptorDiff(tuple(_diff_value(_without_openapi(old), _without_openapi(new), "", 0)))


# --- interface ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationChange:
    """One thing that changed inside an operation, and whether it breaks existing callers."""

    kind: str
    subject: str
    breaking: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"kind": self.kind, "subject": self.subject, "breaking": self.breaking, "message": self.message}


@dataclass(frozen=True)
class OperationSummary:
    """An operation added or removed: (METHOD, path) and its operationId, if any."""

    method: str
    path: str
    operation_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"method": self.method, "path": self.path, "operation_id": self.operation_id}


@dataclass(frozen=True)
class OperationDiff:
    """An operation present in both versions, with what changed in it (path as in the new one)."""

    method: str
    path: str
    operation_id: str | None
    old_operation_id: str | None
    changes: tuple[OperationChange, ...]

    @property
    def breaking(self) -> bool:
        """True when any change breaks existing callers."""
        return any(change.breaking for change in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "method": self.method,
            "path": self.path,
            "operation_id": self.operation_id,
            "old_operation_id": self.old_operation_id,
            "breaking": self.breaking,
            "changes": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class InterfaceDiff:
    """Operations added, removed and changed between two OpenAPI documents."""

    added: tuple[OperationSummary, ...] = ()
    removed: tuple[OperationSummary, ...] = ()
    changed: tuple[OperationDiff, ...] = ()
    other: tuple[OperationChange, ...] = ()
    """Changes to the WSDL, command-line and library interfaces (diff_other_interfaces)."""

    @property
    def breaking(self) -> bool:
        """True when an operation was removed or a change breaks existing callers."""
        return (
            bool(self.removed)
            or any(operation.breaking for operation in self.changed)
            or any(change.breaking for change in self.other)
        )

    def breaking_changes(self) -> list[str]:
        """Each change that breaks callers, in words naming its operation: "DELETE /runs/{id} (cancelRun)
        removed", "POST /runs: query parameter k: type integer is now string"."""
        found = [
            f"{op.method} {op.path}{f' ({op.operation_id})' if op.operation_id else ''} removed" for op in self.removed
        ]
        for op in self.changed:
            name = f"{op.method} {op.path}{f' ({op.operation_id})' if op.operation_id else ''}"
            found.extend(f"{name}: {change.message}" for change in op.changes if change.breaking)
        found.extend(change.message for change in self.other if change.breaking)
        return found

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "breaking": self.breaking,
            "added": [operation.to_dict() for operation in self.added],
            "removed": [operation.to_dict() for operation in self.removed],
            "changed": [operation.to_dict() for operation in self.changed],
            "other": [change.to_dict() for change in self.other],
        }


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str
    required: bool
    type: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Operation:
    """One operation read from a document, references resolved."""

    method: str
    path: str
    operation_id: str | None
    parameters: dict[tuple[str, str], _Parameter]
    body_required: bool | None  # None: the operation takes no request body
    responses: dict[str, Any]
    body: Any = None  # the request body's schemas (a list), for its fields' types, enums and required ones


def _lookup(doc: Any, ref: str) -> Any:
    """The value a local reference points to, or None (remote references are never followed)."""
    try:
        return json_pointer.follow(doc, ref)
    except json_pointer.PointerError:
        return None


def _resolve(doc: Any, node: Any) -> dict[str, Any]:
    """node with its chain of $refs followed, local siblings kept; {} when it leads nowhere."""
    siblings: dict[str, Any] = {}
    seen: set[str] = set()
    for _ in range(_MAX_REF_HOPS):
        if not isinstance(node, dict):
            return {}
        ref = node.get("$ref")
        if not isinstance(ref, str):
            # Fields beside a $ref win over the target's (OpenAPI 3.1 summary/description).
            return {**node, **siblings}
        if ref in seen:
            return {}
        seen.add(ref)
        siblings = {**{k: v for k, v in node.items() if k != "$ref"}, **siblings}
        node = _lookup(doc, ref)
    return {}


def _status(key: Any) -> str:
    """A response key as text, ranges in capitals ("2xx" → "2XX") as OpenAPI writes them."""
    text = str(key)
    return text.upper() if re.fullmatch(r"[1-5]xx", text, re.IGNORECASE) else text


def _template_path(path: str) -> str:
    return _TEMPLATE.sub("{}", path)


def _shape(doc: Any, parameter: dict[str, Any]) -> tuple[str | None, tuple[str, ...] | None]:
    """A parameter's type and enum, from its schema (OpenAPI 3) or from itself (Swagger 2.0)."""
    schema = _resolve(doc, parameter.get("schema")) if "schema" in parameter else parameter
    kind, enum = schema.get("type"), schema.get("enum")
    return (
        json.dumps(kind) if isinstance(kind, list) else (kind if isinstance(kind, str) else None),
        tuple(sorted(_canonical(v) for v in enum)) if isinstance(enum, list) else None,
    )


def _parameters(doc: Any, path: str, *lists: Any) -> tuple[dict[tuple[str, str], _Parameter], bool | None, list[Any]]:
    """Parameters by (slot, location), later lists overriding earlier; the 2.0 body's required and schema."""
    slots = _TEMPLATE.findall(path)
    found: dict[tuple[str, str], _Parameter] = {}
    body_required: bool | None = None
    body: list[Any] = []
    for entries in lists:
        for entry in entries if isinstance(entries, list) else ():
            parameter = _resolve(doc, entry)
            name, location = parameter.get("name"), parameter.get("in")
            if not isinstance(name, str) or not isinstance(location, str):
                continue
            if location == "body":
                body_required = parameter.get("required") is True
                body = [parameter.get("schema")]
                continue
            if location == "path":
                # Path parameters match by place in the template, so renaming one changes no URL.
                slot = f"#{slots.index(name)}" if name in slots else name
                required = True
            else:
                slot = name.casefold() if location == "header" else name
                required = parameter.get("required") is True
            found[(slot, location)] = _Parameter(name, location, required, *_shape(doc, parameter))
    return found, body_required, body


def _body_schemas(doc: Any, request_body: Any) -> list[Any]:
    """The schemas of an OpenAPI 3 request body, one per media type."""
    content = _resolve(doc, request_body).get("content")
    return [m.get("schema") for m in content.values() if isinstance(m, dict)] if isinstance(content, dict) else []


def _operations(doc: Any) -> dict[tuple[str, str], _Operation]:
    """Every operation of a document by (METHOD, templated path), references resolved."""
    found: dict[tuple[str, str], _Operation] = {}
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        return found
    for path, raw_item in paths.items():
        if not isinstance(path, str):
            continue
        item = _resolve(doc, raw_item)
        for method in HTTP_METHODS:
            operation = _resolve(doc, item.get(method))
            if not operation:
                continue
            parameters, body_required, body = _parameters(
                doc, path, item.get("parameters"), operation.get("parameters")
            )
            if "requestBody" in operation:
                body_required = _resolve(doc, operation["requestBody"]).get("required") is True
                body = _body_schemas(doc, operation["requestBody"])
            responses = operation.get("responses")
            operation_id = operation.get("operationId")
            found.setdefault(
                (method.upper(), _template_path(path)),
                _Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=operation_id if isinstance(operation_id, str) else None,
                    parameters=parameters,
                    body_required=body_required,
                    responses={_status(k): v for k, v in responses.items()} if isinstance(responses, dict) else {},
                    body=body,
                ),
            )
    return found


class _PropertyWalk:
    """Property paths of a schema ("name", "owner.name", "[].id"), local references followed."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.paths: set[str] = set()
        self.visited: set[tuple[int, str]] = set()
        self.complete = True
        # What each path holds ("" is the schema itself): its type, its enum, and whether it is required.
        # Every type a path holds over media types and branches, in sorted order, so that no document order
        # (PostgreSQL's JSONB reorders keys) decides which one is compared.
        self.types: dict[str, str] = {}
        self.enums: dict[str, tuple[str, ...]] = {}
        self.required: set[str] = set()

    def walk(self, schema: Any, prefix: str = "", active: frozenset[str] = frozenset(), depth: int = 0) -> None:
        """Add the property paths of schema under prefix; active holds the $refs being expanded."""
        if not isinstance(schema, dict) or (id(schema), prefix) in self.visited:
            return
        if depth > _MAX_DEPTH or len(self.paths) > _MAX_PROPERTY_PATHS:
            self.complete = False
            return
        self.visited.add((id(schema), prefix))
        self._note(schema, prefix)
        ref = schema.get("$ref")
        # A reference already being expanded is a recursive schema: its properties are listed once.
        if isinstance(ref, str) and ref not in active:
            self.walk(_lookup(self.doc, ref), prefix, active | {ref}, depth + 1)
        for keyword in ("allOf", "anyOf", "oneOf"):
            branches = schema.get(keyword)
            for branch in branches if isinstance(branches, list) else ():
                self.walk(branch, prefix, active, depth + 1)
        properties = schema.get("properties")
        for name, sub in properties.items() if isinstance(properties, dict) else ():
            path = f"{prefix}.{name}" if prefix else str(name)
            self.paths.add(path)
            self.walk(sub, path, active, depth + 1)
        self.walk(schema.get("items"), prefix + "[]", active, depth + 1)

    def _note(self, schema: dict[str, Any], prefix: str) -> None:
        """Keep the type and enum schema gives prefix, and which of its properties it requires."""
        kind, enum, required = schema.get("type"), schema.get("enum"), schema.get("required")
        if isinstance(kind, str | list):
            known = set(self.types[prefix].split(" or ")) if prefix in self.types else set()
            known.add(kind if isinstance(kind, str) else json.dumps(sorted(map(str, kind))))
            self.types[prefix] = " or ".join(sorted(known))
        if isinstance(enum, list):
            self.enums[prefix] = tuple(sorted(_canonical(v) for v in enum))
        for name in required if isinstance(required, list) else ():
            self.required.add(f"{prefix}.{name}" if prefix else str(name))


def _walked(doc: Any, schemas: list[Any]) -> _PropertyWalk:
    walk = _PropertyWalk(doc)
    for schema in schemas:
        walk.walk(schema)
    return walk


def _response_walk(doc: Any, response: Any) -> _PropertyWalk:
    """A response's schemas walked over all its media types (walk.complete says whether it finished)."""
    resolved = _resolve(doc, response)
    content = resolved.get("content")
    media = [m.get("schema") for m in content.values() if isinstance(m, dict)] if isinstance(content, dict) else []
    return _walked(doc, [resolved.get("schema"), *media])  # the first: Swagger 2.0


def _where(path: str) -> str:
    return f"property {path}" if path else "schema"


def _type_changes(before: _PropertyWalk, after: _PropertyWalk, subject: str, kind: str) -> Iterator[OperationChange]:
    """A type changed at a path both walks have: a client sends or reads the old type."""
    for path in sorted(before.types.keys() & after.types.keys()):
        if before.types[path] != after.types[path]:
            where = f"{subject} {_where(path)}"
            yield OperationChange(kind, where, True, f"{where}: type {before.types[path]} is now {after.types[path]}")


def _outermost(paths: set[str]) -> list[str]:
    """The paths with no ancestor in the set: "owner" stands for "owner.name" removed with it."""
    return sorted(
        path
        for path in paths
        if not any(path[:i] in paths for i in range(1, len(path)) if path[i] == "." or path.startswith("[]", i))
    )


def _status_covered(status: str, responses: dict[str, Any]) -> bool:
    return len(status) == 3 and status[0].isdigit() and f"{status[0]}XX" in responses


def _narrowed(before: tuple[str, ...] | None, after: tuple[str, ...] | None) -> list[str]:
    """The values an enum no longer allows (none when it had no enum, or allows them all)."""
    if before is None or after is None:
        return [] if after is None else ["any value not listed"]
    return [value for value in before if value not in after]


def _parameter_shape_changes(subject: str, old: _Parameter, new: _Parameter) -> Iterator[OperationChange]:
    if old.type is not None and new.type is not None and old.type != new.type:
        yield OperationChange(PARAMETER_TYPE_CHANGED, subject, True, f"{subject}: type {old.type} is now {new.type}")
    dropped = _narrowed(old.enum, new.enum)
    if dropped:
        yield OperationChange(
            PARAMETER_ENUM_NARROWED, subject, True, f"{subject} no longer accepts {', '.join(dropped)}"
        )


def _parameter_changes(old: _Operation, new: _Operation) -> Iterator[OperationChange]:
    for key, parameter in old.parameters.items():
        now = new.parameters.get(key)
        subject = f"{parameter.location} parameter {parameter.name}"
        if now is None:
            yield OperationChange(PARAMETER_REMOVED, subject, False, f"{subject} removed")
            continue
        if parameter.location == "path" and now.name != parameter.name:
            yield OperationChange(PARAMETER_RENAMED, subject, False, f"{subject} renamed to {now.name}")
        elif now.required and not parameter.required:
            yield OperationChange(PARAMETER_NOW_REQUIRED, subject, True, f"{subject} is now required")
        yield from _parameter_shape_changes(subject, parameter, now)
    for key, parameter in new.parameters.items():
        if key not in old.parameters:
            subject = f"{parameter.location} parameter {parameter.name}"
            required = " (required)" if parameter.required else ""
            # A path parameter newly declared fills a segment the template already had: no new URL.
            breaking = parameter.required and parameter.location != "path"
            yield OperationChange(PARAMETER_ADDED, subject, breaking, f"{subject} added{required}")


def _response_changes(old_doc: Any, old: _Operation, new_doc: Any, new: _Operation) -> Iterator[OperationChange]:
    for status, response in old.responses.items():
        subject = f"response {status}"
        if status not in new.responses:
            breaking = status != "default" and not _status_covered(status, new.responses)
            yield OperationChange(RESPONSE_REMOVED, subject, breaking, f"{subject} removed")
            continue
        before = _response_walk(old_doc, response)
        after = _response_walk(new_doc, new.responses[status])
        if before.complete and after.complete:
            yield from _type_changes(before, after, subject, RESPONSE_PROPERTY_TYPE_CHANGED)
            for path in _outermost(before.paths - after.paths):
                yield OperationChange(
                    RESPONSE_PROPERTY_REMOVED,
                    f"{subject} property {path}",
                    True,
                    f"property {path} removed from {subject}",
                )
    for status in new.responses:
        if status not in old.responses:
            yield OperationChange(RESPONSE_ADDED, f"response {status}", False, f"response {status} added")


def _operation_changes(old_doc: Any, old: _Operation, new_doc: Any, new: _Operation) -> Iterator[OperationChange]:
    if old.operation_id != new.operation_id:
        yield OperationChange(
            OPERATION_ID_CHANGED, "operationId", False, f"operationId {old.operation_id} is now {new.operation_id}"
        )
    yield from _parameter_changes(old, new)
    if new.body_required and not old.body_required:
        yield OperationChange(REQUEST_BODY_NOW_REQUIRED, "request body", True, "request body is now required")
    yield from _request_body_changes(old_doc, old, new_doc, new)
    yield from _response_changes(old_doc, old, new_doc, new)


def _request_body_changes(old_doc: Any, old: _Operation, new_doc: Any, new: _Operation) -> Iterator[OperationChange]:
    """What a client sending the old body now gets refused for: a field newly required, a type changed, an enum
    narrowed."""
    if not new.body or not old.body:
        return  # a body newly required is one change (above); a body newly accepted breaks nobody
    before, after = _walked(old_doc, old.body or []), _walked(new_doc, new.body)
    if not (before.complete and after.complete):
        return
    for path in sorted(after.required - before.required):
        subject = f"request body field {path}"
        yield OperationChange(REQUEST_FIELD_NOW_REQUIRED, subject, True, f"{subject} is now required")
    yield from _type_changes(before, after, "request body", REQUEST_PROPERTY_TYPE_CHANGED)
    for path in sorted(before.enums.keys() | after.enums.keys()):
        dropped = _narrowed(before.enums.get(path), after.enums.get(path))
        if dropped and (path in before.paths or path == "") and path in (after.paths | {""}):
            subject = f"request body {_where(path)}"
            yield OperationChange(
                REQUEST_ENUM_NARROWED, subject, True, f"{subject} no longer accepts {', '.join(dropped)}"
            )


def _summary(operation: _Operation) -> OperationSummary:
    return OperationSummary(operation.method, operation.path, operation.operation_id)


def _order(key: tuple[str, str]) -> tuple[str, int]:
    method, path = key
    return path, HTTP_METHODS.index(method.lower())


def diff_interfaces(old_openapi: Any, new_openapi: Any) -> InterfaceDiff:
    """Operations added, removed and changed from old to new; a missing document has no operations."""
    old_operations = _operations(old_openapi)
    new_operations = _operations(new_openapi)
    added = [_summary(new_operations[k]) for k in sorted(new_operations.keys() - old_operations.keys(), key=_order)]
    removed = [_summary(old_operations[k]) for k in sorted(old_operations.keys() - new_operations.keys(), key=_order)]
    changed = []
    for key in sorted(old_operations.keys() & new_operations.keys(), key=_order):
        old, new = old_operations[key], new_operations[key]
        changes = tuple(_operation_changes(old_openapi, old, new_openapi, new))
        if changes:
            changed.append(OperationDiff(new.method, new.path, new.operation_id, old.operation_id, changes))
    return InterfaceDiff(tuple(added), tuple(removed), tuple(changed))


# --- the other interfaces: WSDL, command line, library ---------------------------------------


def _named(items: Any) -> dict[str, dict[str, Any]]:
    """The entries of a list of objects by their name (entries without one are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found.setdefault(item["name"], item)
    return found


def _argument_changes(subject: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[OperationChange]:
    """A caller of subject with the old arguments fails when one is gone or a new one is required."""
    before, after = _named(old.get("arguments")), _named(new.get("arguments"))
    for name in sorted(before.keys() - after.keys()):
        yield OperationChange(
            ARGUMENT_REMOVED, f"{subject} argument {name}", True, f"argument {name} of {subject} removed"
        )
    for name, argument in sorted(after.items()):
        if argument.get("required") is True and (name not in before or before[name].get("required") is not True):
            what = "added as required" if name not in before else "is now required"
            yield OperationChange(
                ARGUMENT_NOW_REQUIRED, f"{subject} argument {name}", True, f"argument {name} of {subject} {what}"
            )


def _callables_changes(noun: str, old: Any, new: Any, prefix: str = "") -> Iterator[OperationChange]:
    """Commands, functions or methods removed, and their arguments' changes."""
    before, after = _named(old), _named(new)
    for name in sorted(before):
        subject = f"{noun} {prefix}{name}"
        if name not in after:
            yield OperationChange(OPERATION_REMOVED, subject, True, f"{subject} removed")
        else:
            yield from _argument_changes(subject, before[name], after[name])


def _wsdl_operations(text: Any) -> set[str] | None:
    """The names of a WSDL's operations, or None when they are not all known."""
    from catalogue.services.interfaces import wsdl

    if not isinstance(text, str):
        return None
    reading = wsdl.read(text)
    return {operation.name for operation in reading.operations} if reading.complete else None


def diff_other_interfaces(old_interface: Any, new_interface: Any) -> tuple[OperationChange, ...]:
    """What breaks callers of a WSDL, command-line or library interface: operations, commands, functions,
    classes and methods removed; arguments removed, or added as or made required."""
    old = old_interface if isinstance(old_interface, dict) else {}
    new = new_interface if isinstance(new_interface, dict) else {}
    changes: list[OperationChange] = []
    before, after = _wsdl_operations(old.get("wsdl")), _wsdl_operations(new.get("wsdl"))
    if before is not None and (after is not None or "wsdl" not in new):
        for name in sorted(before - (after or set())):
            changes.append(
                OperationChange(OPERATION_REMOVED, f"WSDL operation {name}", True, f"WSDL operation {name} removed")
            )
    old_cli, new_cli = old.get("command_line"), new.get("command_line")
    if isinstance(old_cli, dict):
        new_commands = new_cli.get("commands") if isinstance(new_cli, dict) else []
        changes.extend(_callables_changes("command", old_cli.get("commands"), new_commands))
    old_lib, new_lib = old.get("library"), new.get("library")
    if isinstance(old_lib, dict):
        new_lib = new_lib if isinstance(new_lib, dict) else {}
        changes.extend(_callables_changes("function", old_lib.get("functions"), new_lib.get("functions")))
        old_classes, new_classes = _named(old_lib.get("classes")), _named(new_lib.get("classes"))
        for name, cls in sorted(old_classes.items()):
            if name not in new_classes:
                changes.append(OperationChange(OPERATION_REMOVED, f"class {name}", True, f"class {name} removed"))
            else:
                changes.extend(
                    _callables_changes("method", cls.get("methods"), new_classes[name].get("methods"), f"{name}.")
                )
    return tuple(changes)


def _interface_of(content: Any) -> Any:
    spec = content.get("specification") if isinstance(content, dict) else None
    return spec.get("interface") if isinstance(spec, dict) else None


# --- both --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionDiff:
    """Everything that changed between two versions of a descriptor."""

    descriptor: DescriptorDiff
    interface: InterfaceDiff

    @property
    def breaking(self) -> bool:
        """True when the interface changed in a way that breaks existing callers."""
        return self.interface.breaking

    def summary(self) -> str:
        """One line for people, such as "2 operations added, 1 removed (breaking); 3 field changes"."""
        counts = [
            (len(self.interface.added), "added"),
            (len(self.interface.removed), "removed"),
            (len(self.interface.changed), "changed"),
        ]
        phrases: list[str] = []
        other = sum(1 for change in self.interface.other if change.breaking)
        for n, verb in counts:
            if n:
                # The noun goes with the first count only: "2 operations added, 1 removed".
                noun = "" if phrases else (" operation" if n == 1 else " operations")
                phrases.append(f"{n}{noun} {verb}")
        parts = []
        if other:
            phrases.append(f"{other} breaking {'change' if other == 1 else 'changes'} to the other interfaces")
        if phrases:
            parts.append(", ".join(phrases) + (" (breaking)" if self.breaking else ""))
        fields = len(self.descriptor.changes)
        if fields:
            parts.append(f"{fields} field change{'' if fields == 1 else 's'}")
        return "; ".join(parts) or "no changes"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form returned by the API."""
        return {
            "breaking": self.breaking,
            "summary": self.summary(),
            "descriptor": self.descriptor.to_dict(),
            "interface": self.interface.to_dict(),
        }


def _comparable(content: Any) -> Any:
    """The bundle of a descriptor, without the identity the bundle fills in by default (a layer's id, version
    and owner, when the descriptor leaves them to its own): a new descriptor version is then one change, not
    three, while dependencies written in the Specification compare with those in the Definition."""
    if not isinstance(content, dict):
        return content
    bundled = layers.bundle(content)
    for kind in layers.KINDS:
        written, layer = content.get(kind), bundled.get(kind)
        if isinstance(written, dict) and isinstance(layer, dict) and "ref" not in written:
            bundled[kind] = {k: v for k, v in layer.items() if k in written or k not in ("id", "version", "owner")}
    return bundled


def diff_versions(old: Any, new: Any) -> VersionDiff:
    """Compare two descriptors as bundles (layers.bundle: every layer in one shape, so dependencies moved
    from the Specification to the Definition are no change): their fields, and the operations of their
    OpenAPI documents."""
    old, new = _comparable(old), _comparable(new)
    interface = diff_interfaces(_openapi_document(old), _openapi_document(new))
    other = diff_other_interfaces(_interface_of(old), _interface_of(new))
    return VersionDiff(descriptor=diff_descriptors(old, new), interface=replace(interface, other=other))
