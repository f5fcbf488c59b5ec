"""A service's OpenAPI document as readers see it: operations with their parameters, request body and
responses, and schemas as trees with local ``#/...`` references followed.

Only references inside the document are followed (the validator refuses any other, and nothing is ever
fetched). A reference met again on its own path is shown as a cycle; trees stop at a depth and the whole
page at a number of nodes, so a hostile or huge document cannot blow up a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalogue.services import json_pointer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DEPTH = 8
MAX_NODES = 2000
_CONSTRAINTS = (
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
    "example",
)
_COMBINERS = (("allOf", "all of"), ("oneOf", "one of"), ("anyOf", "any of"))


@dataclass
class SchemaNode:
    """One schema (or property) in a readable tree."""

    name: str | None
    type: str
    required: bool = False
    description: str = ""
    ref: str | None = None  # the component name, when this schema was reached through $ref
    constraints: list[str] = field(default_factory=list)
    children: list[SchemaNode] = field(default_factory=list)
    note: str = ""  # why the tree stops here (a cycle, the depth limit, an unresolvable reference)


@dataclass
class Parameter:
    """A parameter of an operation."""

    name: str
    location: str
    required: bool
    description: str
    schema: SchemaNode | None


@dataclass
class Content:
    """A body of one media type."""

    media_type: str
    schema: SchemaNode | None


@dataclass
class Response:
    """One response of an operation."""

    status: str
    description: str
    content: list[Content]


@dataclass
class Operation:
    """One operation: method, path, what it takes and what it answers."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    deprecated: bool
    parameters: list[Parameter]
    request_body: list[Content]
    request_body_description: str
    request_body_required: bool
    responses: list[Response]

    @property
    def anchor(self) -> str:
        """A fragment id for the operation, stable across renderings."""
        raw = self.operation_id or f"{self.method}-{self.path}"
        return "op-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)


class _Reader:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.nodes = 0

    def resolve(self, value: Any) -> tuple[Any, str | None, str]:
        """value with a local $ref replaced by its target: (target, component name, note)."""
        if not isinstance(value, dict) or "$ref" not in value:
            return value, None, ""
        ref = value["$ref"]
        if not isinstance(ref, str) or not json_pointer.is_local(ref):
            return {}, None, f"reference {ref!r} is not local and is not followed"
        try:
            target = json_pointer.follow(self.document, ref)
        except json_pointer.PointerError:
            return {}, None, f"reference {ref} points to nothing"
        return target, _component_name(ref), ""

    def schema(
        self, value: Any, name: str | None = None, required: bool = False, trail: tuple[str, ...] = (), depth: int = 0
    ) -> SchemaNode:
        """The readable tree of one schema, its references followed until a cycle or a limit."""
        self.nodes += 1
        ref = value.get("$ref") if isinstance(value, dict) else None
        resolved, component, note = self.resolve(value)
        node = SchemaNode(name=name, type="", required=required, ref=component, note=note)
        if isinstance(ref, str) and ref in trail:
            node.type, node.note = component or "object", f"refers back to {component} (shown above)"
            return node
        if not isinstance(resolved, dict):
            node.type = "any"
            return node
        node.type = _type_name(resolved)
        node.description = str(resolved.get("description") or resolved.get("title") or "")
        node.constraints = _constraints(resolved)
        if depth >= MAX_DEPTH or self.nodes >= MAX_NODES:
            if _has_children(resolved):
                node.note = node.note or "shown to this depth only; download the OpenAPI document for the rest"
            return node
        self._add_children(node, resolved, (*trail, ref) if isinstance(ref, str) else trail, depth + 1)
        return node

    def _add_children(self, node: SchemaNode, schema: dict[str, Any], trail: tuple[str, ...], depth: int) -> None:
        """The properties, items, combined schemas and additional properties of schema, as node's children."""
        self._add_properties(node, schema, trail, depth)
        if "items" in schema:
            node.children.append(self.schema(schema["items"], "items", False, trail, depth))
        for combiner, label in _COMBINERS:
            options = schema.get(combiner)
            if isinstance(options, list):
                node.children.extend(self.schema(sub, f"({label})", False, trail, depth) for sub in options)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            node.children.append(self.schema(extra, "(any other key)", False, trail, depth))

    def _add_properties(self, node: SchemaNode, schema: dict[str, Any], trail: tuple[str, ...], depth: int) -> None:
        """One child per property, marked when required, until the page's node budget runs out."""
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return
        required = schema.get("required")
        needed = set(required or []) if isinstance(required, list) else set()
        for key, sub in properties.items():
            if self.nodes >= MAX_NODES:
                node.note = "shortened; download the OpenAPI document for the rest"
                break
            node.children.append(self.schema(sub, str(key), key in needed, trail, depth))

    def parameter(self, value: Any, trail: tuple[str, ...] = ()) -> Parameter | None:
        resolved, _name, _note = self.resolve(value)
        if not isinstance(resolved, dict) or "name" not in resolved:
            return None
        schema = resolved.get("schema")
        if schema is None and "type" in resolved:  # Swagger 2.0 puts the type on the parameter itself
            schema = {k: v for k, v in resolved.items() if k in ("type", "format", "items", "enum", "default")}
        return Parameter(
            name=str(resolved["name"]),
            location=str(resolved.get("in", "")),
            required=bool(resolved.get("required")),
            description=str(resolved.get("description") or ""),
            schema=self.schema(schema) if schema is not None else None,
        )

    def contents(self, value: Any) -> list[Content]:
        if not isinstance(value, dict):
            return []
        found = []
        for media_type, body in value.items():
            schema = body.get("schema") if isinstance(body, dict) else None
            found.append(Content(str(media_type), self.schema(schema) if schema is not None else None))
        return found

    def operations(self) -> list[Operation]:
        paths = self.document.get("paths")
        if not isinstance(paths, dict):
            return []
        found = []
        for path, item in paths.items():
            item, _name, _note = self.resolve(item)
            if not isinstance(item, dict):
                continue
            shared = _list_at(item, "parameters")
            for method in METHODS:
                spec = item.get(method)
                if isinstance(spec, dict):
                    found.append(self.operation(str(path), method, spec, shared))
        return found

    def operation(self, path: str, method: str, spec: dict[str, Any], shared: list[Any]) -> Operation:
        own = _list_at(spec, "parameters")
        parameters: dict[tuple[str, str], Parameter] = {}
        body: list[Content] = []
        body_description, body_required = "", False
        for raw in [*shared, *own]:  # an operation's own parameter overrides the path's of the same name
            resolved, _name, _note = self.resolve(raw)
            if isinstance(resolved, dict) and resolved.get("in") == "body":  # Swagger 2.0 body parameter
                body = [Content("body", self.schema(resolved.get("schema", {})))]
                body_description, body_required = str(resolved.get("description") or ""), bool(resolved.get("required"))
                continue
            parameter = self.parameter(raw)
            if parameter is not None:
                parameters[(parameter.location, parameter.name)] = parameter
        request_body, _name, _note = self.resolve(spec.get("requestBody"))
        if isinstance(request_body, dict):
            body = self.contents(request_body.get("content"))
            body_description = str(request_body.get("description") or "")
            body_required = bool(request_body.get("required"))
        responses = []
        raw_responses = spec.get("responses")
        for status, raw in raw_responses.items() if isinstance(raw_responses, dict) else ():
            response, _name, note = self.resolve(raw)
            if not isinstance(response, dict):
                continue
            content = self.contents(response.get("content"))
            if not content and "schema" in response:  # Swagger 2.0
                content = [Content("body", self.schema(response["schema"]))]
            responses.append(Response(str(status), str(response.get("description") or note), content))
        return Operation(
            method=method.upper(),
            path=path,
            operation_id=str(spec.get("operationId") or ""),
            summary=str(spec.get("summary") or ""),
            description=str(spec.get("description") or ""),
            deprecated=bool(spec.get("deprecated")),
            parameters=list(parameters.values()),
            request_body=body,
            request_body_description=body_description,
            request_body_required=body_required,
            responses=responses,
        )


def _list_at(mapping: dict[str, Any], key: str) -> list[Any]:
    """The list under key, or an empty one when there is none."""
    value = mapping.get(key)
    return value if isinstance(value, list) else []


def _component_name(ref: str) -> str:
    """What a reference is called on the page: its last name, decoded (``#/…/Ok%20Reply`` → ``Ok Reply``)."""
    return json_pointer.last_token(ref) or ref


def _type_name(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        items = schema["items"]
        inner = _component_name(items["$ref"]) if isinstance(items.get("$ref"), str) else items.get("type", "any")
        return f"array of {inner}"
    if kind:
        return str(kind)
    if "properties" in schema:
        return "object"
    for combiner, label in _COMBINERS:
        if combiner in schema:
            return label
    return "any"


def _constraints(schema: dict[str, Any]) -> list[str]:
    found = [
        f"{key}: {schema[key]}" for key in _CONSTRAINTS if key in schema and not isinstance(schema[key], dict | list)
    ]
    if isinstance(schema.get("enum"), list):
        found.append(
            "one of: " + ", ".join(str(v) for v in schema["enum"][:20]) + (" …" if len(schema["enum"]) > 20 else "")
        )
    if schema.get("nullable"):
        found.append("may be null")
    return found


def _has_children(schema: dict[str, Any]) -> bool:
    return any(key in schema for key in ("properties", "items", "allOf", "oneOf", "anyOf", "additionalProperties"))


def operations(document: Any) -> list[Operation]:
    """The operations of an OpenAPI (3.x) or Swagger (2.0) document, in document order."""
    if not isinstance(document, dict):
        return []
    return _Reader(document).operations()


# --- the other kinds of interface -------------------------------------------------------------------


@dataclass
class Message:
    """A message of an AsyncAPI document, with its payload as a readable tree."""

    name: str
    description: str
    payload: SchemaNode | None


@dataclass
class Channel:
    """An AsyncAPI channel: where messages go, and which."""

    name: str
    address: str
    description: str
    messages: list[Message]


@dataclass
class AsyncOperation:
    """An AsyncAPI operation: what the service sends or receives (3.0), or publish/subscribe (2.x), on a channel."""

    name: str
    action: str
    channel: str
    summary: str
    messages: list[Message]

    @property
    def anchor(self) -> str:
        """A fragment id for the operation, stable across renderings."""
        return "async-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in self.name)


@dataclass
class AsyncInterface:
    """An AsyncAPI document as readers see it."""

    title: str
    version: str
    channels: list[Channel]
    operations: list[AsyncOperation]


def _text(value: Any) -> str:
    return str(value) if isinstance(value, (str, int, float)) else ""


class _AsyncReader(_Reader):
    def message(self, value: Any, fallback: str, depth: int = 0) -> list[Message]:
        resolved, component, _note = self.resolve(value)
        # A message that is one of messages that refer back to it would never end: a few levels are plenty.
        if not isinstance(resolved, dict) or depth > 3 or self.nodes >= MAX_NODES:
            return []
        if isinstance(resolved.get("oneOf"), list):  # 2.x: one of several messages
            return [m for option in resolved["oneOf"][:50] for m in self.message(option, fallback, depth + 1)]
        payload = resolved.get("payload")
        if isinstance(payload, dict) and "schemaFormat" in payload and "schema" in payload:  # 3.0 multi-format
            payload = payload["schema"]
        name = _text(resolved.get("name") or resolved.get("title") or component or fallback)
        description = _text(resolved.get("summary") or resolved.get("description"))
        return [Message(name, description, self.schema(payload) if payload is not None else None)]

    def messages(self, value: Any) -> list[Message]:
        if isinstance(value, dict):
            return [m for key, item in list(value.items())[:100] for m in self.message(item, str(key))]
        if isinstance(value, list):
            return [m for item in value[:100] for m in self.message(item, "")]
        return []

    def channels(self) -> list[Channel]:
        found = []
        raw = self.document.get("channels")
        for name, item in raw.items() if isinstance(raw, dict) else ():
            channel, _component, _note = self.resolve(item)
            if not isinstance(channel, dict):
                continue
            address = _text(channel.get("address", name))
            description = _text(channel.get("description") or channel.get("summary"))
            found.append(Channel(str(name), address, description, self.messages(channel.get("messages"))))
        return found

    def operations_v2(self) -> list[AsyncOperation]:
        found = []
        raw = self.document.get("channels")
        for name, item in raw.items() if isinstance(raw, dict) else ():
            channel, _component, _note = self.resolve(item)
            for action in ("publish", "subscribe"):
                spec = channel.get(action) if isinstance(channel, dict) else None
                if isinstance(spec, dict):
                    summary = _text(spec.get("summary") or spec.get("description"))
                    op_name = _text(spec.get("operationId")) or str(name)
                    found.append(
                        AsyncOperation(op_name, action, str(name), summary, self.message(spec.get("message"), ""))
                    )
        return found

    def operations_v3(self) -> list[AsyncOperation]:
        found = []
        raw = self.document.get("operations")
        for name, item in raw.items() if isinstance(raw, dict) else ():
            spec, _component, _note = self.resolve(item)
            if not isinstance(spec, dict):
                continue
            ref = spec.get("channel", {}).get("$ref") if isinstance(spec.get("channel"), dict) else None
            channel_name = (json_pointer.last_token(ref) or "") if isinstance(ref, str) else ""
            summary = _text(spec.get("summary") or spec.get("description"))
            found.append(
                AsyncOperation(
                    str(name), _text(spec.get("action")), channel_name, summary, self.messages(spec.get("messages"))
                )
            )
        return found


def asyncapi_interface(document: Any) -> AsyncInterface | None:
    """An AsyncAPI 2.x or 3.0 document's channels and operations with their messages, for the service page."""
    if not isinstance(document, dict):
        return None
    reader = _AsyncReader(document)
    info = document.get("info")
    info = info if isinstance(info, dict) else {}
    v2 = str(document.get("asyncapi", "")).startswith("2.")
    return AsyncInterface(
        title=_text(info.get("title")),
        version=_text(info.get("version")),
        channels=[] if v2 else reader.channels(),
        operations=reader.operations_v2() if v2 else reader.operations_v3(),
    )


def other_interfaces(interface: Any) -> dict[str, Any]:
    """The interfaces other than OpenAPI, ready for the service page: WSDL operations, an AsyncAPI reading, and
    the command-line and library descriptions as the descriptor gives them (its schema shapes them)."""
    # Imported here: the WSDL reader is the only part of the checks a page needs.
    from catalogue.services.interfaces import wsdl

    if not isinstance(interface, dict):
        return {}
    found: dict[str, Any] = {}
    if isinstance(interface.get("wsdl"), str):
        found["wsdl"] = list(wsdl.read(interface["wsdl"]).operations)
    if isinstance(interface.get("asyncapi"), dict):
        found["asyncapi"] = asyncapi_interface(interface["asyncapi"])
    for kind in ("command_line", "library"):
        if isinstance(interface.get(kind), dict):
            found[kind] = interface[kind]
    return found
